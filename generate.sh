#!/usr/bin/env bash
# Regenerates generated/ from openapi.yaml. The only way generated/ changes.
#
#   ./generate.sh           validate openapi.yaml, regenerate, swap the result into generated/
#   ./generate.sh --check   regenerate into a temp dir and compare with the committed tree;
#                           exit 1 naming the files that differ. Never touches the work tree.
#
# Tools (openapi-python-client, ruff, openapi-spec-validator) come from the exact pins in
# tools/generate-requirements.txt, installed into a private venv (.tools/, or
# $MIJNKLANTPORTAAL_TOOLS_VENV) the first time they are needed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="$repo/openapi.yaml"
out_dir="$repo/generated"
package="mijnklantportaal_api"
requirements="$repo/tools/generate-requirements.txt"
config="$repo/tools/openapi-python-client.yml"
tools_venv="${MIJNKLANTPORTAAL_TOOLS_VENV:-$repo/.tools/venv}"

die() { echo "generate.sh: $*" >&2; exit 1; }

mode=generate
case "${1:-}" in
  "") ;;
  --check) mode=check ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "generate.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

ensure_tools() {
  local stamp="$tools_venv/.requirements.sha256" want
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
  echo "generate.sh: installing pinned generator tools into $tools_venv" >&2
  rm -rf "$tools_venv"
  "${PYTHON:-python3}" -m venv "$tools_venv" || die "cannot create the tool venv at $tools_venv"
  "$tools_venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-virtualenv -r "$requirements" >&2 || die "installing tools/generate-requirements.txt failed"
  echo "$want" > "$stamp"
}

# The generator skips its post hooks silently (and exits 0) when ruff is not on PATH, which
# changes the output; so ruff is checked, and put first on PATH, before anything runs.
check_ruff() {
  local want have
  want="$(grep -E '^ruff==' "$requirements" | cut -d= -f3)"
  have="$("$tools_venv/bin/ruff" --version 2>/dev/null | cut -d' ' -f2)" || true
  [[ "$have" == "$want" ]] || die "ruff $want expected in $tools_venv, found '${have:-none}'; delete $tools_venv and rerun"
}

# generate_into DIR: writes DIR/README.md, DIR/openapi.yaml and DIR/$package from $spec.
generate_into() {
  local dest="$1" work
  work="$(mktemp -d "$repo/.generate-tmp.XXXXXX")"
  "$tools_venv/bin/python" "$repo/tools/validate_spec.py" "$spec" || { rm -rf "$work"; return 1; }
  # Run from a directory with no ruff config above it in the repo, with a fixed hash seed
  # and the pinned tools first on PATH: output must not depend on the machine.
  if ! (cd "$work" && PATH="$tools_venv/bin:$PATH" PYTHONHASHSEED=0 \
        "$tools_venv/bin/openapi-python-client" generate --path "$spec" --config "$config" \
        --meta none --fail-on-warning --output-path "$work/$package" > "$work.log" 2>&1); then
    cat "$work.log" >&2
    rm -rf "$work" "$work.log"
    echo "generate.sh: openapi-python-client rejected $spec (output above); generated/ is unchanged" >&2
    return 1
  fi
  rm -f "$work.log"
  [[ -f "$work/$package/__init__.py" ]] || { rm -rf "$work"; echo "generate.sh: the generator produced no package" >&2; return 1; }
  find "$work" -name __pycache__ -type d -prune -exec rm -rf {} +
  touch "$work/$package/py.typed"
  cp "$spec" "$work/openapi.yaml"
  cat > "$work/README.md" <<'MD'
# Generated code: do not edit

Everything in this directory is written by `./generate.sh` from `../openapi.yaml`
with openapi-python-client and ruff at the versions pinned in
`../tools/generate-requirements.txt`. Hand edits are lost on the next run and make
`./generate.sh --check` (run in CI) fail.

- `mijnklantportaal_api/`: the generated low-level package.
- `openapi.yaml`: the exact spec the package was generated from.

To change anything here, change `../openapi.yaml` (or the generator config in
`../tools/`) and run `./generate.sh`.
MD
  mv "$work" "$dest"
}

ensure_tools
check_ruff
[[ -f "$spec" ]] || die "no spec at $spec"

scratch="$(mktemp -d "$repo/.generate-tmp.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
generate_into "$scratch/new" || die "nothing was changed"

if [[ "$mode" == check ]]; then
  if diffs="$(diff -rq "$out_dir" "$scratch/new" 2>&1)"; then
    echo "generate.sh --check: generated/ matches openapi.yaml"
    exit 0
  fi
  echo "generate.sh --check: generated/ is out of date with openapi.yaml and the generator pins:" >&2
  echo "$diffs" | sed -e "s|$scratch/new|<fresh>|g" -e "s|$repo/||g" -e 's/^/  /' >&2
  echo "Fix: run ./generate.sh and commit generated/ together with openapi.yaml (never edit generated/ by hand)." >&2
  exit 1
fi

# Swap the fresh tree in whole, so files of removed schemas or operations do not linger.
if [[ -d "$out_dir" ]]; then mv "$out_dir" "$scratch/old"; fi
mv "$scratch/new" "$out_dir"
echo "generate.sh: regenerated generated/ from openapi.yaml"
