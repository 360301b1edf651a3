"""Public Python API check for both packages: no breaking change ships without a major bump.

    .venv/bin/python tools/api_check.py                    check (CI runs this)
    .venv/bin/python tools/api_check.py --update-snapshot  rewrite tools/public-api.json from
                                                           the current code (no tag yet; or
                                                           after a deliberate API change)

Baseline: the latest `v*` git tag when there is one; else the committed snapshot
tools/public-api.json (griffe check passes silently without a tag, so it is not used then).

- With a tag: `griffe check` runs for `mijnklantportaal` (wrapper/) and `mijnklantportaal_api`
  (generated/) against the tag, and the snapshot comparison below runs on the tag's code
  (loaded with griffe from git), because griffe does not report attribute type changes.
- Without a tag: the snapshot comparison runs against tools/public-api.json.

The snapshot records every public module, class, function (parameters, defaults, types,
return type) and attribute (with its type annotation), walking re-exports into private
modules as users see them. Breaking: anything removed, a changed kind, a removed or newly
required parameter, a parameter turned keyword-only or positional-only, a type changed in a
way that is not a widening (parameters) or narrowing (attributes, return values).

Breaking changes pass only when the release they go into is a major one: the version in
wrapper/mijnklantportaal/_version.py is already a major above the baseline, or CHANGELOG.md's
"## Unreleased" section carries a bump=major marker (./generate.sh writes one for breaking
spec changes; write `<!-- bump=major -->` by hand for breaking wrapper changes).
Exit codes: 0 ok, 1 breaking without a major bump (or no baseline), 2 usage/tool error.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from changelog import read_version, unreleased_bump

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"mijnklantportaal": "wrapper", "mijnklantportaal_api": "generated"}
SNAPSHOT = REPO / "tools" / "public-api.json"
VERSION_FILE = Path("wrapper/mijnklantportaal/_version.py")
KEEP_DUNDERS = {
    "__init__",
    "__call__",
    "__enter__",
    "__exit__",
    "__aenter__",
    "__aexit__",
    "__iter__",
    "__getitem__",
}

Entry = dict[str, Any]
Snapshot = dict[str, Entry]


# --------------------------------------------------------------------------- snapshot


def _ann(value: object) -> str | None:
    return None if value is None else str(value)


def _entry(obj: Any) -> Entry:
    kind = obj.kind.value
    if kind == "function":
        if "property" in obj.labels:
            return {"kind": "attribute", "annotation": _ann(obj.returns)}
        return {
            "kind": "function",
            "parameters": [
                {
                    "name": p.name,
                    "kind": p.kind.value if p.kind is not None else "positional or keyword",
                    "annotation": _ann(p.annotation),
                    "default": _ann(p.default),
                }
                for p in obj.parameters
                if p.name not in ("self", "cls")
            ],
            "returns": _ann(obj.returns),
        }
    if kind == "attribute":
        return {"kind": "attribute", "annotation": _ann(obj.annotation)}
    if kind == "class":
        return {"kind": "class", "bases": sorted(str(b) for b in obj.bases)}
    return {"kind": kind}


def _public_names(obj: Any) -> Iterator[tuple[str, Any]]:
    """Public members: griffe's rule for modules (`__all__`, else non-underscore names that
    are not imports), the name rule (plus a few dunders) for classes, inherited ones included."""
    # A class's API includes what it inherits: moving a method into a base class is no change.
    members = obj.all_members if obj.kind.value == "class" else obj.members
    for name, member in members.items():
        if obj.kind.value == "module":
            if member.is_public:
                yield name, member
        elif not name.startswith("_") or name in KEEP_DUNDERS:
            yield name, member


def walk(root: Any, package: str) -> Snapshot:
    """The public API of a griffe module, keyed by the dotted path a user would write."""
    found: Snapshot = {}

    def visit(obj: Any, path: str, chain: frozenset[str]) -> None:
        if obj.is_alias:
            try:
                target = obj.final_target
            except Exception:  # unresolvable or cyclic alias: record where it points
                found[path] = {"kind": "alias", "target": obj.target_path}
                return
            if not target.path.startswith(package + ".") and target.path != package:
                found[path] = {"kind": "alias", "target": target.path}
                return
            obj = target
        if obj.path in chain:
            return
        found[path] = _entry(obj)
        if obj.kind.value in ("module", "class"):
            for name, member in _public_names(obj):
                visit(member, f"{path}.{name}", chain | {obj.path})

    visit(root, package, frozenset())
    return found


def load_current(repo: Path) -> dict[str, Snapshot]:
    import griffe

    paths = [str(repo / d) for d in PACKAGES.values()]
    result: dict[str, Snapshot] = {}
    for package in PACKAGES:
        module = griffe.load(
            package, search_paths=paths, resolve_aliases=True, resolve_external=False
        )
        result[package] = walk(module, package)
    return result


def load_at_ref(repo: Path, ref: str) -> dict[str, Snapshot]:
    import griffe

    result: dict[str, Snapshot] = {}
    for package, directory in PACKAGES.items():
        module = griffe.load_git(
            package, ref=ref, repo=repo, search_paths=[directory], resolve_aliases=True
        )
        result[package] = walk(module, package)
    return result


# --------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Finding:
    breaking: bool
    path: str
    message: str

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'added'}: {self.path}: {self.message}"


def _union(annotation: str | None) -> set[str] | None:
    """Top-level members of a `A | B | None` annotation (None when unknown or not a union)."""
    if annotation is None:
        return None
    parts: list[str] = []
    depth, current = 0, ""
    for char in annotation:
        depth += char in "[("
        depth -= char in "])"
        if char == "|" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    normalised = {
        re.sub(r"\s+", "", p).replace("Optional[", "").rstrip("]")
        if p.startswith("Optional[")
        else re.sub(r"\s+", "", p)
        for p in parts
    }
    return normalised


def _type_change(old: str | None, new: str | None, *, widening_ok: bool) -> bool:
    """Whether changing a type annotation from old to new breaks users."""
    if old == new or old is None:
        return False  # no change, or the old code promised nothing
    if new is None:
        return widening_ok is False  # a return/attribute type dropped: treat as unknown
    o, n = _union(old), _union(new)
    assert o is not None and n is not None
    return not (o <= n if widening_ok else n <= o)


def compare(old: Snapshot, new: Snapshot) -> list[Finding]:
    findings: list[Finding] = []
    for path in sorted(old.keys() - new.keys()):
        findings.append(Finding(True, path, f"{old[path]['kind']} removed"))
    for path in sorted(new.keys() - old.keys()):
        findings.append(Finding(False, path, f"{new[path]['kind']} added"))
    for path in sorted(old.keys() & new.keys()):
        o, n = old[path], new[path]
        if o["kind"] != n["kind"]:
            findings.append(Finding(True, path, f"kind changed: {o['kind']} -> {n['kind']}"))
            continue
        if o["kind"] == "attribute" and _type_change(
            o.get("annotation"), n.get("annotation"), widening_ok=False
        ):
            findings.append(
                Finding(
                    True, path, f"attribute type changed: {o['annotation']} -> {n['annotation']}"
                )
            )
        if o["kind"] == "class":
            for base in sorted(set(o["bases"]) - set(n["bases"])):
                findings.append(Finding(True, path, f"base class {base} removed"))
        if o["kind"] == "function":
            findings += _compare_function(path, o, n)
    return findings


def _compare_function(path: str, o: Entry, n: Entry) -> list[Finding]:
    findings: list[Finding] = []
    old_params = {p["name"]: p for p in o["parameters"]}
    new_params = {p["name"]: p for p in n["parameters"]}
    variadic = {"variadic positional", "variadic keyword"}
    takes_kwargs = any(p["kind"] == "variadic keyword" for p in n["parameters"])
    for name, p in old_params.items():
        if name not in new_params:
            if p["kind"] not in variadic and not takes_kwargs:
                findings.append(Finding(True, path, f"parameter {name!r} removed"))
            continue
        q = new_params[name]
        if p["kind"] != q["kind"] and not (
            p["kind"] == "positional or keyword" and q["kind"] in variadic
        ):
            if not (q["kind"] == "positional or keyword"):  # becoming more flexible is fine
                findings.append(
                    Finding(
                        True, path, f"parameter {name!r} changed kind: {p['kind']} -> {q['kind']}"
                    )
                )
        if p["default"] is not None and q["default"] is None and q["kind"] not in variadic:
            findings.append(Finding(True, path, f"parameter {name!r} is now required"))
        if _type_change(p["annotation"], q["annotation"], widening_ok=True):
            findings.append(
                Finding(
                    True,
                    path,
                    f"parameter {name!r} type changed: {p['annotation']} -> {q['annotation']}",
                )
            )
    for name, q in new_params.items():
        if name not in old_params and q["default"] is None and q["kind"] not in variadic:
            findings.append(Finding(True, path, f"required parameter {name!r} added"))
    old_pos = [
        p["name"]
        for p in o["parameters"]
        if p["kind"] in ("positional only", "positional or keyword")
    ]
    new_pos = [
        p["name"]
        for p in n["parameters"]
        if p["kind"] in ("positional only", "positional or keyword")
    ]
    if new_pos[: len(old_pos)] != old_pos and set(old_pos) <= set(new_pos):
        findings.append(
            Finding(True, path, f"positional parameters reordered: {old_pos} -> {new_pos}")
        )
    if _type_change(o["returns"], n["returns"], widening_ok=False):
        findings.append(
            Finding(True, path, f"return type changed: {o['returns']} -> {n['returns']}")
        )
    return findings


# --------------------------------------------------------------------------- baseline / CLI


def latest_tag(repo: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "tag", "--list", "v*", "--sort=-v:refname"],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    tags = [t for t in out.split() if re.fullmatch(r"v\d+\.\d+\.\d+", t)]
    return tags[0] if tags else None


def _major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def _parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split("."))


def _released_versions(changelog_path: Path) -> list[tuple[int, ...]]:
    if not changelog_path.exists():
        return []
    text = changelog_path.read_text(encoding="utf-8")
    return [_parse(m.group(1)) for m in re.finditer(r"^## v?(\d+\.\d+\.\d+)\b", text, re.MULTILINE)]


def write_snapshot(repo: Path, path: Path) -> None:
    version = ".".join(map(str, read_version(repo / VERSION_FILE)))
    data = {
        "_comment": "Public API baseline for tools/api_check.py while no v* tag exists. Refresh: .venv/bin/python tools/api_check.py --update-snapshot",
        "version": version,
        "packages": load_current(repo),
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def griffe_check(repo: Path, tag: str) -> tuple[bool, str]:
    """Run `griffe check` for both packages against `tag`; (any breakage, output)."""
    outputs: list[str] = []
    broke = False
    for package, directory in PACKAGES.items():
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "griffe",
                "check",
                package,
                "-s",
                directory,
                "--against",
                tag,
                "--no-color",
                "-f",
                "oneline",
            ],
            cwd=repo,
            capture_output=True,
            text=True,
        )
        text = (result.stdout + result.stderr).strip()
        if result.returncode not in (0, 1):
            raise RuntimeError(f"griffe check {package} failed ({result.returncode}): {text}")
        broke |= result.returncode == 1
        if text:
            outputs.append(f"griffe check {package} --against {tag}:\n{text}")
    return broke, "\n".join(outputs)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Check the public Python API against the last release."
    )
    parser.add_argument(
        "--update-snapshot",
        action="store_true",
        help=f"rewrite {SNAPSHOT.relative_to(REPO)} from the current code",
    )
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo: Path = args.repo.resolve()
    snapshot_path = repo / "tools" / "public-api.json"
    if args.update_snapshot:
        write_snapshot(repo, snapshot_path)
        print(f"api_check: wrote {snapshot_path.relative_to(repo)}; commit it")
        return 0

    current_version = ".".join(map(str, read_version(repo / VERSION_FILE)))
    current = load_current(repo)
    tag = latest_tag(repo)
    griffe_broke, griffe_output = False, ""
    if tag is not None:
        baseline_name, baseline_version = f"tag {tag}", tag.lstrip("v")
        griffe_broke, griffe_output = griffe_check(repo, tag)
        baseline = load_at_ref(repo, tag)
    elif snapshot_path.exists():
        data = json.loads(snapshot_path.read_text(encoding="utf-8"))
        baseline_name, baseline_version = (
            f"snapshot {snapshot_path.relative_to(repo)}",
            data["version"],
        )
        baseline = data["packages"]
        released = _released_versions(repo / "CHANGELOG.md")
        if released and max(released) > _parse(baseline_version):
            newest = ".".join(map(str, max(released)))
            print(
                f"api_check: CHANGELOG.md records release {newest}, but no v* tag is visible and the\n"
                f"  snapshot is of {baseline_version}. Fetch the tags (a shallow clone has none:\n"
                "  git fetch --tags), or tag the release, so the check compares with what was released.",
                file=sys.stderr,
            )
            return 1
    else:
        print(
            "api_check: no v* tag and no tools/public-api.json: nothing to compare the public API with.\n"
            "  Create the baseline: .venv/bin/python tools/api_check.py --update-snapshot (and commit it)",
            file=sys.stderr,
        )
        return 1

    findings: list[Finding] = []
    for package in PACKAGES:
        findings += compare(baseline.get(package, {}), current[package])
    breaking = [f for f in findings if f.breaking]
    added = [f for f in findings if not f.breaking]
    print(
        f"api_check: public API of {', '.join(PACKAGES)} {current_version} vs {baseline_name} ({baseline_version})"
    )
    if griffe_output:
        print(griffe_output)
    for finding in breaking:
        print(f"  {finding}")
    if added:
        print(
            f"  {len(added)} addition(s)"
            + (": " + ", ".join(f.path for f in added[:8]) if added else "")
            + (" ..." if len(added) > 8 else "")
        )
    if not breaking and not griffe_broke:
        print("api_check: no breaking changes")
        return 0
    changelog_path = repo / "CHANGELOG.md"
    declared = (
        unreleased_bump(changelog_path.read_text(encoding="utf-8"))
        if changelog_path.exists()
        else None
    )
    if _major(current_version) > _major(baseline_version) or declared == "major":
        why = (
            f"version {current_version}"
            if declared != "major"
            else "CHANGELOG.md's Unreleased section declares bump=major"
        )
        print(f"api_check: breaking changes, allowed: the next release is a major one ({why})")
        return 0
    print(
        "api_check: breaking public API changes without a major version bump.\n"
        "  Either undo them, or make the next release major: record the change in CHANGELOG.md\n"
        "  under '## Unreleased' with a '<!-- bump=major -->' line (./generate.sh writes one for\n"
        "  breaking spec changes). See docs/updating-the-spec.md.",
        file=sys.stderr,
    )
    if tag is None:
        print(
            "  No release is tagged yet: if the snapshot predates a change that was never released,\n"
            "  refresh it instead: .venv/bin/python tools/api_check.py --update-snapshot",
            file=sys.stderr,
        )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
