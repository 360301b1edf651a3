#!/usr/bin/env bash
# Regenerates generated/ (the low-level package, openapi-python-client) and
# wrapper/mijnklantportaal/_generated/ (the wrapper's models, resources and fake data,
# tools/gen_wrapper.py with spec-map.toml) from openapi.yaml. The only way either changes.
#
#   ./generate.sh           validate openapi.yaml, regenerate, swap the result into generated/
#   ./generate.sh --spec PATH_OR_URL
#                           take in a new vendor spec: fetch it, validate it, regenerate from it,
#                           and only then copy it to openapi.yaml and swap generated/ in
#   ./generate.sh --check   regenerate both into a temp dir and compare with the committed
#                           trees; exit 1 naming the files that differ. Never writes anything.
#
# Whenever the spec differs from generated/openapi.yaml (the spec the committed code came
# from), a change report (tools/spec_diff.py) is printed: what changed, whether it breaks
# clients, the semver bump it needs and what to edit. Except under --check it is also
# appended to CHANGELOG.md under "## Unreleased" (once per spec pair). Any failure leaves
# openapi.yaml, both generated trees and CHANGELOG.md as they were. See docs/updating-the-spec.md.
#
# Tools (openapi-python-client, ruff, openapi-spec-validator) come from the exact pins in
# tools/generate-requirements.txt, installed into a private venv (.tools/, or
# $MIJNKLANTPORTAAL_TOOLS_VENV) the first time they are needed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="$repo/openapi.yaml"
out_dir="$repo/generated"
wrapper_out="$repo/wrapper/mijnklantportaal/_generated"
spec_map="$repo/spec-map.toml"
package="mijnklantportaal_api"
requirements="$repo/tools/generate-requirements.txt"
config="$repo/tools/openapi-python-client.yml"
tools_venv="${MIJNKLANTPORTAAL_TOOLS_VENV:-$repo/.tools/venv}"

die() { echo "generate.sh: $*" >&2; exit 1; }

changelog="$repo/CHANGELOG.md"
version_file="$repo/wrapper/mijnklantportaal/_version.py"

mode=generate
source=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --check) mode=check ;;
    --spec)
      [[ $# -ge 2 && -n "$2" ]] || { echo "generate.sh: --spec needs a file path or URL" >&2; exit 2; }
      source="$2"; shift ;;
    --spec=*) source="${1#--spec=}"; [[ -n "$source" ]] || { echo "generate.sh: --spec needs a file path or URL" >&2; exit 2; } ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "generate.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [[ "$mode" == check && -n "$source" ]]; then
  echo "generate.sh: --check compares the committed tree with openapi.yaml; it takes no --spec" >&2; exit 2
fi

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

# generate_into DIR SPEC: writes DIR/README.md, DIR/openapi.yaml and DIR/$package from SPEC,
# and the wrapper's generated package into DIR.wrapper (the second step, tools/gen_wrapper.py).
generate_into() {
  local dest="$1" spec="$2" work
  work="$(mktemp -d "$repo/.generate-tmp.XXXXXX")"
  "$tools_venv/bin/python" "$repo/tools/validate_spec.py" "$spec" || { rm -rf "$work"; return 1; }
  # Run from a directory with no ruff config above it in the repo, with a fixed hash seed
  # and the pinned tools first on PATH: output must not depend on the machine.
  if ! (cd "$work" && PATH="$tools_venv/bin:$PATH" PYTHONHASHSEED=0 \
        "$tools_venv/bin/openapi-python-client" generate --path "$spec" --config "$config" \
        --meta none --fail-on-warning --output-path "$work/$package" > "$work.log" 2>&1); then
    cat "$work.log" >&2
    rm -rf "$work" "$work.log"
    echo "generate.sh: openapi-python-client rejected ${shown_spec:-$spec} (output above); generated/ is unchanged" >&2
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
  # The second step: the wrapper's per-spec code, formatted by the same pinned ruff.
  # It reads the low-level module and argument names from what openapi-python-client wrote.
  if ! PYTHONHASHSEED=0 "$tools_venv/bin/python" "$repo/tools/gen_wrapper.py" "$spec" "$spec_map" \
        "$work.wrapper" --low-level "$work/$package" --ruff "$tools_venv/bin/ruff"; then
    rm -rf "$work" "$work.wrapper"
    echo "generate.sh: tools/gen_wrapper.py could not build the wrapper from ${shown_spec:-$spec} (see above)" >&2
    return 1
  fi
  find "$work.wrapper" -name __pycache__ -type d -prune -exec rm -rf {} +
  # Last: both fresh packages must import (in a scratch copy, before anything is swapped in).
  if ! "$tools_venv/bin/python" -B -I "$repo/tools/import_check.py" "$work" \
        "$repo/wrapper/mijnklantportaal" "$work.wrapper"; then
    rm -rf "$work" "$work.wrapper"
    echo "generate.sh: the code generated from ${shown_spec:-$spec} does not import (see above)" >&2
    return 1
  fi
  mv "$work" "$dest"
  mv "$work.wrapper" "$dest.wrapper"
}

# report SPEC [CHANGELOG]: print the change report from generated/openapi.yaml to SPEC, if they
# differ; with CHANGELOG, also append it there. Fails (and the caller changes nothing) when the
# differ cannot read either spec.
report() {
  local new_spec="$1" log="${2:-}" args=()
  [[ -f "$out_dir/openapi.yaml" ]] || { echo "generate.sh: no generated/openapi.yaml to compare with; no change report"; return 0; }
  cmp -s "$out_dir/openapi.yaml" "$new_spec" && return 0
  args=("$out_dir/openapi.yaml" "$new_spec")
  [[ -f "$version_file" ]] && args+=(--version-file "$version_file")
  [[ -n "$log" ]] && args+=(--changelog "$log")
  echo
  "$tools_venv/bin/python" "$repo/tools/spec_diff.py" "${args[@]}" || { echo "generate.sh: the change report failed" >&2; return 1; }
  echo
}

ensure_tools
check_ruff

scratch="$(mktemp -d "$repo/.generate-tmp.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

shown_spec=""
if [[ -n "$source" ]]; then
  # Take in a new spec: fetch and validate it in scratch/, under the name the user gave.
  "$tools_venv/bin/python" "$repo/tools/fetch_spec.py" "$source" "$scratch/incoming.yaml" \
    || die "nothing was changed (openapi.yaml, generated/ and CHANGELOG.md are as they were)"
  spec="$scratch/incoming.yaml"
  shown_spec="$source"
  if ! problem="$("$tools_venv/bin/python" "$repo/tools/validate_spec.py" "$spec" 2>&1)"; then
    echo "${problem//$spec/$source}" >&2
    die "rejected $source; nothing was changed (openapi.yaml, generated/ and CHANGELOG.md are as they were)"
  fi
fi
[[ -f "$spec" ]] || die "no spec at $spec"

generate_into "$scratch/new" "$spec" || die "nothing was changed"

if [[ "$mode" == check ]]; then
  report "$spec" || exit 1
  # __pycache__ is ignored: imports write it, git ignores it, and it is not generated code.
  stale=0
  if ! diffs="$(diff -rq -x __pycache__ "$out_dir" "$scratch/new" 2>&1)"; then stale=1; fi
  if ! wrapper_diffs="$(diff -rq -x __pycache__ "$wrapper_out" "$scratch/new.wrapper" 2>&1)"; then
    stale=1
    diffs="${diffs:+$diffs
}$wrapper_diffs"
  fi
  if [[ "$stale" == 0 ]]; then
    echo "generate.sh --check: generated/ and wrapper/mijnklantportaal/_generated/ match openapi.yaml"
    exit 0
  fi
  echo "generate.sh --check: generated code is out of date with openapi.yaml, spec-map.toml and the generator pins:" >&2
  echo "$diffs" | sed -e "s|$scratch/new.wrapper|<fresh wrapper>|g" -e "s|$scratch/new|<fresh>|g" -e "s|$repo/||g" -e 's/^/  /' >&2
  echo "Fix: run ./generate.sh and commit generated/ and wrapper/mijnklantportaal/_generated/ together with openapi.yaml (never edit generated code by hand)." >&2
  exit 1
fi

# Everything is prepared in scratch/ first (report into a copy of CHANGELOG.md); only then are
# openapi.yaml, generated/ and CHANGELOG.md replaced, so a failure before here changes nothing.
if [[ -f "$changelog" ]]; then cp -p "$changelog" "$scratch/CHANGELOG.md"; fi
report "$spec" "$scratch/CHANGELOG.md" || die "nothing was changed"
if [[ -n "$source" ]]; then
  cp "$spec" "$scratch/openapi.yaml.new"
  mv "$scratch/openapi.yaml.new" "$repo/openapi.yaml"
  echo "generate.sh: openapi.yaml is now $source"
fi
# Swap the fresh trees in whole, so files of removed schemas or operations do not linger;
# if the second swap fails, the first is undone, so the two trees never disagree.
if [[ -d "$out_dir" ]]; then mv "$out_dir" "$scratch/old"; fi
mv "$scratch/new" "$out_dir"
if [[ -d "$wrapper_out" ]]; then
  mv "$wrapper_out" "$scratch/old.wrapper" || {
    mv "$out_dir" "$scratch/new"; [[ -d "$scratch/old" ]] && mv "$scratch/old" "$out_dir"
    die "cannot replace $wrapper_out; nothing was changed"
  }
fi
mv "$scratch/new.wrapper" "$wrapper_out" || {
  [[ -d "$scratch/old.wrapper" ]] && mv "$scratch/old.wrapper" "$wrapper_out"
  mv "$out_dir" "$scratch/new"; [[ -d "$scratch/old" ]] && mv "$scratch/old" "$out_dir"
  die "cannot move the fresh wrapper code into $wrapper_out; nothing was changed"
}
if [[ -f "$scratch/CHANGELOG.md" ]] && ! cmp -s "$scratch/CHANGELOG.md" "$changelog"; then
  mv "$scratch/CHANGELOG.md" "$changelog"
fi
echo "generate.sh: regenerated generated/ and wrapper/mijnklantportaal/_generated/ from openapi.yaml"
