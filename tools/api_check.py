"""Public Python API check for both packages: no breaking change ships without a major bump.

    .venv/bin/python tools/api_check.py                 compare with the last release (CI runs this)
    .venv/bin/python tools/api_check.py --against REF   compare with any commit, tag or branch

Baseline: the newest release in CHANGELOG.md, at the commit it was cut from (the
"Commit: <sha>" line under its heading, written by tools/release.py). Both packages,
`mijnklantportaal` (wrapper/) and `mijnklantportaal_api` (generated/), are read at that commit
(`git archive`, then griffe, as for the working tree) and compared with the working tree. A
clone that lacks the commit (a shallow one) fetches it from `origin`; if that fails, the check
fails and says how to get it.

The comparison covers every public module, class, function (parameters, defaults given or
not, types, return type) and attribute (with its type annotation), walking re-exports into
private modules as users see them. Breaking: anything removed, a changed kind, a removed or
newly required parameter, a parameter turned keyword-only or positional-only, a type changed
in a way that is not a widening (parameters) or narrowing (attributes, return values).
Two things are not breaks:

- `Self` in a method's signature is the class it is read on: `MijnKlantportaal.with_options`
  returning `Self` is the same promise as returning `MijnKlantportaal`.
- A public module folded into its package: when package P re-exported names from its
  submodule P.m (the package was the facade, its `__all__` naming what m defines) and m is
  gone, but every public name m had is public in P, the objects did not go away. They are
  compared where they now live (P.X against the old P.m.X, so a changed signature still
  counts), and the module itself is reported as moved, not as a break: code that imported
  from P.m must import from P.

Breaking changes pass only when the release they go into is a major one: the version in
wrapper/mijnklantportaal/_version.py is already a major above the baseline, or CHANGELOG.md's
"## Unreleased" section carries a bump=major marker (./generate.sh writes one for breaking
spec changes; write `<!-- bump=major -->` by hand for breaking wrapper changes).
Exit codes: 0 ok, 1 breaking without a major bump (or no baseline), 2 usage/tool error.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from changelog import format_version, read_version, releases, unreleased_bump

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"mijnklantportaal": "wrapper", "mijnklantportaal_api": "generated"}
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


class BaselineError(Exception):
    """The release to compare with cannot be found or read; the message says what to do."""


# --------------------------------------------------------------------------- reading an API

_SELF = re.compile(r"\b(?:typing(?:_extensions)?\.)?Self\b")


def _ann(value: object, owner: str | None) -> str | None:
    """An annotation as text; `Self` in a class's member is that class's name."""
    if value is None:
        return None
    text = str(value)
    return _SELF.sub(owner, text) if owner is not None else text


def _entry(obj: Any, owner: str | None) -> Entry:
    kind = obj.kind.value
    if kind == "function":
        if "property" in obj.labels:
            return {"kind": "attribute", "annotation": _ann(obj.returns, owner)}
        return {
            "kind": "function",
            "parameters": [
                {
                    "name": p.name,
                    "kind": p.kind.value if p.kind is not None else "positional or keyword",
                    "annotation": _ann(p.annotation, owner),
                    "default": _ann(p.default, None),
                }
                for p in obj.parameters
                if p.name not in ("self", "cls")
            ],
            "returns": _ann(obj.returns, owner),
        }
    if kind == "attribute":
        return {"kind": "attribute", "annotation": _ann(obj.annotation, owner)}
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


def _reexported_modules(module: Any, package: str) -> list[str]:
    """The modules of `package` whose objects `module` re-exports under a public name."""
    found: set[str] = set()
    for _, member in _public_names(module):
        if not member.is_alias:
            continue
        try:
            target = member.final_target
        except Exception:  # unresolvable alias: nothing to say about where it comes from
            continue
        if target.path.startswith(package + ".") and target.kind.value != "module":
            found.add(target.module.path)
    return sorted(found)


def walk(root: Any, package: str) -> Snapshot:
    """The public API of a griffe module, keyed by the dotted path a user would write."""
    found: Snapshot = {}

    def visit(obj: Any, path: str, chain: frozenset[str], owner: str | None) -> None:
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
        found[path] = _entry(obj, owner)
        kind = obj.kind.value
        if kind == "module":
            found[path]["canonical"] = obj.path
            found[path]["reexports_from"] = _reexported_modules(obj, package)
        if kind in ("module", "class"):
            member_owner = path.rsplit(".", 1)[-1] if kind == "class" else None
            for name, member in _public_names(obj):
                visit(member, f"{path}.{name}", chain | {obj.path}, member_owner)

    visit(root, package, frozenset(), None)
    return found


def load_tree(root: Path) -> dict[str, Snapshot]:
    """The public API of both packages in a checkout (or an extracted commit) at `root`."""
    import griffe

    paths = [str(root / d) for d in PACKAGES.values()]
    result: dict[str, Snapshot] = {}
    for package in PACKAGES:
        module = griffe.load(
            package, search_paths=paths, resolve_aliases=True, resolve_external=False
        )
        result[package] = walk(module, package)
    return result


def _git(repo: Path, *args: str, binary: bool = False) -> subprocess.CompletedProcess[Any]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=not binary, timeout=300
    )


def has_commit(repo: Path, commit: str) -> bool:
    return _git(repo, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def ensure_commit(repo: Path, commit: str, what: str) -> None:
    """Make sure `commit` is in the clone: fetch it from origin if it is not (a shallow or
    single-branch clone); else raise BaselineError saying how to get it."""
    if has_commit(repo, commit):
        return
    tried: list[str] = []
    if _git(repo, "remote", "get-url", "origin").returncode == 0:
        print(f"api_check: {what} is not in this clone; fetching it from origin", file=sys.stderr)
        fetch = _git(repo, "fetch", "--quiet", "--no-tags", "origin", commit)
        tried.append(f"git fetch origin {commit}: {fetch.stderr.strip() or 'done'}")
        shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
        if not has_commit(repo, commit) and shallow:
            fetch = _git(repo, "fetch", "--quiet", "--no-tags", "--unshallow", "origin")
            tried.append(f"git fetch --unshallow origin: {fetch.stderr.strip() or 'done'}")
    if has_commit(repo, commit):
        return
    shallow = _git(repo, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    raise BaselineError(
        f"{what} is not in this clone"
        + (" (a shallow clone)" if shallow else "")
        + ", so there is nothing to compare the public API with.\n"
        + "".join(f"  tried: {line}\n" for line in tried)
        + "  Clone with full history (no --depth), or fetch it: git fetch origin "
        + commit
        + "\n  If CHANGELOG.md names a commit that does not exist, correct its 'Commit:' line."
    )


def load_at_commit(repo: Path, commit: str) -> dict[str, Snapshot]:
    """The public API of both packages as committed at `commit` (read with `git archive`,
    leaving the repository's branches and worktrees alone)."""
    archive = _git(repo, "archive", "--format=tar", commit, *PACKAGES.values(), binary=True)
    if archive.returncode != 0:
        message = archive.stderr.decode("utf-8", "replace").strip()
        raise BaselineError(f"cannot read {', '.join(PACKAGES.values())} at {commit}: {message}")
    with tempfile.TemporaryDirectory(prefix="api-check-") as scratch:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(scratch, filter="data")
        return load_tree(Path(scratch))


def version_at(repo: Path, commit: str) -> str:
    shown = _git(repo, "show", f"{commit}:{VERSION_FILE.as_posix()}")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', shown.stdout, re.MULTILINE)
    if shown.returncode != 0 or match is None:
        raise BaselineError(f"{commit} has no readable {VERSION_FILE}: {shown.stderr.strip()}")
    return match.group(1)


@dataclass(frozen=True)
class Baseline:
    name: str  # how the report names it
    version: str
    commit: str


def last_release(repo: Path) -> Baseline:
    """The newest release CHANGELOG.md records, with the commit it was cut from."""
    changelog = repo / "CHANGELOG.md"
    if not changelog.exists():
        raise BaselineError(
            "no CHANGELOG.md: nothing records the last release to compare the public API with"
        )
    recorded = releases(changelog.read_text(encoding="utf-8"))
    if not recorded:
        raise BaselineError(
            "CHANGELOG.md records no release ('## X.Y.Z' section): nothing to compare with.\n"
            "  Record the first one with its commit, or compare with a commit: --against REF"
        )
    newest = recorded[0]
    version = format_version(newest.version)
    if newest.commit is None:
        raise BaselineError(
            f"CHANGELOG.md's release {version} does not name the commit it was cut from.\n"
            f"  Add the line 'Commit: <full sha>' under its heading (tools/release.py writes it)."
        )
    return Baseline(f"release {version} (commit {newest.commit[:12]})", version, newest.commit)


def given_ref(repo: Path, ref: str) -> Baseline:
    resolved = _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if resolved.returncode != 0:
        raise BaselineError(f"--against {ref}: no such commit, tag or branch in {repo}")
    commit = resolved.stdout.strip()
    return Baseline(f"{ref} (commit {commit[:12]})", version_at(repo, commit), commit)


# --------------------------------------------------------------------------- comparison

Severity = Literal["breaking", "moved", "added"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    path: str
    message: str

    @property
    def breaking(self) -> bool:
        return self.severity == "breaking"

    def __str__(self) -> str:
        label = {"breaking": "BREAKING", "moved": "moved", "added": "added"}[self.severity]
        return f"{label}: {self.path}: {self.message}"


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


def folded_modules(old: Snapshot, new: Snapshot) -> dict[str, str]:
    """Removed modules whose package was their facade and still has every name they had:
    {old module path: the package path its names are now read from}."""
    folded: dict[str, str] = {}
    for path, entry in old.items():
        if entry["kind"] != "module" or path in new or "." not in path:
            continue
        parent = path.rpartition(".")[0]
        if old.get(parent, {}).get("kind") != "module" or new.get(parent, {}).get("kind") != (
            "module"
        ):
            continue
        if entry.get("canonical") not in old[parent].get("reexports_from", ()):
            continue  # the package never offered this module's objects itself
        prefix = path + "."
        names = {p[len(prefix) :] for p in old if p.startswith(prefix)}
        if all(f"{parent}.{name}" in new for name in names if "." not in name):
            folded[path] = parent
    return folded


def compare(old: Snapshot, new: Snapshot) -> list[Finding]:
    findings: list[Finding] = []
    folded = folded_modules(old, new)

    def now_at(path: str) -> str:
        for module, parent in folded.items():
            if path.startswith(module + "."):
                return parent + path[len(module) :]
        return path

    seen: set[str] = set()
    for path in sorted(old):
        if path in folded:
            findings.append(
                Finding(
                    "moved",
                    path,
                    f"module folded into {folded[path]}, which has every public name it had "
                    f"(code importing from {path} must import from {folded[path]})",
                )
            )
            continue
        where = now_at(path)
        label = path if where == path else f"{where} (was {path})"
        if where not in new:
            findings.append(Finding("breaking", label, f"{old[path]['kind']} removed"))
            continue
        seen.add(where)
        findings += _compare_entry(label, old[path], new[where])
    for path in sorted(new.keys() - old.keys() - seen):
        findings.append(Finding("added", path, f"{new[path]['kind']} added"))
    return findings


def _compare_entry(path: str, o: Entry, n: Entry) -> list[Finding]:
    if o["kind"] != n["kind"]:
        return [Finding("breaking", path, f"kind changed: {o['kind']} -> {n['kind']}")]
    findings: list[Finding] = []
    if o["kind"] == "attribute" and _type_change(
        o.get("annotation"), n.get("annotation"), widening_ok=False
    ):
        findings.append(
            Finding(
                "breaking",
                path,
                f"attribute type changed: {o['annotation']} -> {n['annotation']}",
            )
        )
    if o["kind"] == "class":
        for base in sorted(set(o["bases"]) - set(n["bases"])):
            findings.append(Finding("breaking", path, f"base class {base} removed"))
    if o["kind"] == "function":
        findings += _compare_function(path, o, n)
    return findings


def _compare_function(path: str, o: Entry, n: Entry) -> list[Finding]:
    findings: list[Finding] = []

    def broke(message: str) -> None:
        findings.append(Finding("breaking", path, message))

    old_params = {p["name"]: p for p in o["parameters"]}
    new_params = {p["name"]: p for p in n["parameters"]}
    variadic = {"variadic positional", "variadic keyword"}
    takes_kwargs = any(p["kind"] == "variadic keyword" for p in n["parameters"])
    for name, p in old_params.items():
        if name not in new_params:
            if p["kind"] not in variadic and not takes_kwargs:
                broke(f"parameter {name!r} removed")
            continue
        q = new_params[name]
        if p["kind"] != q["kind"] and not (
            p["kind"] == "positional or keyword" and q["kind"] in variadic
        ):
            if not (q["kind"] == "positional or keyword"):  # becoming more flexible is fine
                broke(f"parameter {name!r} changed kind: {p['kind']} -> {q['kind']}")
        if p["default"] is not None and q["default"] is None and q["kind"] not in variadic:
            broke(f"parameter {name!r} is now required")
        if _type_change(p["annotation"], q["annotation"], widening_ok=True):
            broke(f"parameter {name!r} type changed: {p['annotation']} -> {q['annotation']}")
    for name, q in new_params.items():
        if name not in old_params and q["default"] is None and q["kind"] not in variadic:
            broke(f"required parameter {name!r} added")
    positional = ("positional only", "positional or keyword")
    old_pos = [p["name"] for p in o["parameters"] if p["kind"] in positional]
    new_pos = [p["name"] for p in n["parameters"] if p["kind"] in positional]
    if new_pos[: len(old_pos)] != old_pos and set(old_pos) <= set(new_pos):
        broke(f"positional parameters reordered: {old_pos} -> {new_pos}")
    if _type_change(o["returns"], n["returns"], widening_ok=False):
        broke(f"return type changed: {o['returns']} -> {n['returns']}")
    return findings


# --------------------------------------------------------------------------- the check


def _major(version: str) -> int:
    return int(version.lstrip("v").split(".")[0])


def check(repo: Path, baseline: Baseline) -> int:
    current_version = format_version(read_version(repo / VERSION_FILE))
    ensure_commit(repo, baseline.commit, f"{baseline.name}'s commit")
    old = load_at_commit(repo, baseline.commit)
    current = load_tree(repo)
    findings: list[Finding] = []
    for package in PACKAGES:
        findings += compare(old.get(package, {}), current[package])
    breaking = [f for f in findings if f.severity == "breaking"]
    moved = [f for f in findings if f.severity == "moved"]
    added = [f for f in findings if f.severity == "added"]
    print(
        f"api_check: public API of {', '.join(PACKAGES)} {current_version} "
        f"vs {baseline.name}, version {baseline.version}"
    )
    for finding in breaking + moved:
        print(f"  {finding}")
    if added:
        print(
            f"  {len(added)} addition(s): "
            + ", ".join(f.path for f in added[:8])
            + (" ..." if len(added) > 8 else "")
        )
    if not breaking:
        print("api_check: no breaking changes")
        return 0
    changelog_path = repo / "CHANGELOG.md"
    declared = (
        unreleased_bump(changelog_path.read_text(encoding="utf-8"))
        if changelog_path.exists()
        else None
    )
    if _major(current_version) > _major(baseline.version) or declared == "major":
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
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Check the public Python API against the last release (CHANGELOG.md)."
    )
    parser.add_argument(
        "--against",
        metavar="REF",
        help="compare with this commit, tag or branch instead of the last release",
    )
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repo: Path = args.repo.resolve()
    try:
        baseline = given_ref(repo, args.against) if args.against else last_release(repo)
        return check(repo, baseline)
    except BaselineError as exc:
        print(f"api_check: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
