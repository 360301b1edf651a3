"""tools/api_check.py (public Python API vs the last release's commit) and tools/release.py
(semver, and the commit each release is cut from)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from _support import copy_repo

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import api_check  # noqa: E402
import release  # noqa: E402
from api_check import Finding, compare  # noqa: E402
from changelog import releases  # noqa: E402


def fn(*params: dict[str, Any], returns: str | None = "None") -> dict[str, Any]:
    return {"kind": "function", "parameters": list(params), "returns": returns}


def param(
    name: str,
    annotation: str | None = "str",
    default: str | None = None,
    kind: str = "positional or keyword",
) -> dict[str, Any]:
    return {"name": name, "kind": kind, "annotation": annotation, "default": default}


def attr(annotation: str | None) -> dict[str, Any]:
    return {"kind": "attribute", "annotation": annotation}


def breaking(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f.message for f in compare(old, new) if f.breaking]


# -- the comparison rules ------------------------------------------------------------


def test_attribute_type_change_is_breaking() -> None:
    assert breaking({"m.C.q": attr("int | Unset")}, {"m.C.q": attr("float | Unset")}) == [
        "attribute type changed: int | Unset -> float | Unset"
    ]


def test_attribute_type_narrowing_is_fine_widening_is_not() -> None:
    assert breaking({"m.C.q": attr("str | Unset")}, {"m.C.q": attr("str")}) == []
    assert breaking({"m.C.q": attr("str")}, {"m.C.q": attr("str | None")}) != []


def test_removed_object_and_changed_kind_are_breaking() -> None:
    old = {"m.C": {"kind": "class", "bases": []}, "m.f": fn()}
    assert breaking(old, {"m.f": attr("int")}) == [
        "class removed",
        "kind changed: function -> attribute",
    ]


def test_additions_are_reported_but_not_breaking() -> None:
    findings = compare({}, {"m.g": fn()})
    assert findings == [Finding("added", "m.g", "function added")]


def test_function_parameter_rules() -> None:
    old = {"m.f": fn(param("a"), param("b", default="1"))}
    assert breaking(old, {"m.f": fn(param("a"))}) == ["parameter 'b' removed"]
    assert breaking(old, {"m.f": fn(param("a"), param("b"))}) == ["parameter 'b' is now required"]
    assert breaking(old, {"m.f": fn(param("a"), param("b", default="1"), param("c"))}) == [
        "required parameter 'c' added"
    ]
    assert (
        breaking(old, {"m.f": fn(param("a"), param("b", default="1"), param("c", default="None"))})
        == []
    )
    keyword_only = fn(param("a", kind="keyword-only"), param("b", default="1"))
    assert "parameter 'a' changed kind: positional or keyword -> keyword-only" in breaking(
        old, {"m.f": keyword_only}
    )


def test_parameter_types_may_widen_and_returns_may_narrow() -> None:
    old = {"m.f": fn(param("a", "str"), returns="Invoice | None")}
    assert breaking(old, {"m.f": fn(param("a", "str | int"), returns="Invoice")}) == []
    assert breaking(old, {"m.f": fn(param("a", "int"), returns="Invoice | None")}) == [
        "parameter 'a' type changed: str -> int"
    ]
    assert breaking(old, {"m.f": fn(param("a", "str"), returns="Invoice | Error | None")}) == [
        "return type changed: Invoice | None -> Invoice | Error | None"
    ]


def test_the_api_of_this_checkout_records_attribute_types() -> None:
    current = api_check.load_tree(REPO)
    generated = current["mijnklantportaal_api"]
    assert generated["mijnklantportaal_api.models.Invoice.is_paid"] == attr("bool | Unset")
    assert "mijnklantportaal.Invoice" in current["mijnklantportaal"]
    assert not any(".__future__" in path or path.endswith(".annotations") for path in generated)


# -- reading an API with griffe: Self and folded modules ----------------------------------


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """A tiny pair of packages under ``root`` (wrapper/ and generated/, as in this repo)."""
    files = {"generated/mijnklantportaal_api/__init__.py": "", **files}
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def findings_between(tmp_path: Path, old: dict[str, str], new: dict[str, str]) -> list[str]:
    before = api_check.load_tree(write_tree(tmp_path / "old", old))["mijnklantportaal"]
    after = api_check.load_tree(write_tree(tmp_path / "new", new))["mijnklantportaal"]
    return [str(f) for f in compare(before, after) if f.severity != "added"]


CLIENT = """
    from typing import Self
    __all__ = ["Client"]
    class Base:
        def copy(self) -> {returns}:
            return self
    class Client(Base):
        def __enter__(self) -> Self:
            return self
"""


def test_self_is_the_class_it_is_read_on(tmp_path: Path) -> None:
    # with_options moved into a base class and now returns Self: the same promise.
    old = {"wrapper/mijnklantportaal/__init__.py": CLIENT.format(returns="Client")}
    new = {"wrapper/mijnklantportaal/__init__.py": CLIENT.format(returns="Self")}
    assert findings_between(tmp_path, old, new) == []
    # Another return type is still a change the check sees.
    other = {"wrapper/mijnklantportaal/__init__.py": CLIENT.format(returns="int")}
    assert findings_between(tmp_path / "b", old, other) == [
        "BREAKING: mijnklantportaal.Client.copy: return type changed: Client -> int"
    ]


# mijnklantportaal.resources in 0.1.0: a package re-exporting its submodule's classes.
FACADE_PACKAGE = {
    "wrapper/mijnklantportaal/__init__.py": "",
    "wrapper/mijnklantportaal/things/__init__.py": """
        from mijnklantportaal.things.impl import Thing
        __all__ = ["Thing"]
    """,
    "wrapper/mijnklantportaal/things/impl.py": """
        __all__ = ["Thing", "ThingHelper"]
        class Thing:
            def get(self, thing_id: str) -> str:
                return thing_id
        class ThingHelper:
            pass
    """,
}


def folded(body: str) -> dict[str, str]:
    """Today's shape: one module re-exporting a private module's classes."""
    return {
        "wrapper/mijnklantportaal/__init__.py": "",
        "wrapper/mijnklantportaal/things.py": (
            "from mijnklantportaal._things import *  # noqa\n"
            "from mijnklantportaal._things import __all__ as __all__\n"
        ),
        "wrapper/mijnklantportaal/_things.py": body,
    }


def test_a_module_folded_into_its_facade_package_is_moved_not_removed(tmp_path: Path) -> None:
    same = """
        __all__ = ["Thing", "ThingHelper"]
        class Thing:
            def get(self, thing_id: str) -> str:
                return thing_id
        class ThingHelper:
            pass
    """
    assert findings_between(tmp_path, FACADE_PACKAGE, folded(same)) == [
        "moved: mijnklantportaal.things.impl: module folded into mijnklantportaal.things, "
        "which has every public name it had (code importing from mijnklantportaal.things.impl "
        "must import from mijnklantportaal.things)"
    ]


def test_a_folded_module_is_compared_where_its_names_now_live(tmp_path: Path) -> None:
    changed = """
        __all__ = ["Thing", "ThingHelper"]
        class Thing:
            def get(self, thing_id: int) -> str:
                return str(thing_id)
        class ThingHelper:
            pass
    """
    found = findings_between(tmp_path, FACADE_PACKAGE, folded(changed))
    assert (
        "BREAKING: mijnklantportaal.things.Thing.get (was mijnklantportaal.things.impl.Thing.get): "
        "parameter 'thing_id' type changed: str -> int"
    ) in found


def test_a_module_whose_names_did_not_all_survive_is_removed(tmp_path: Path) -> None:
    lost_helper = """
        __all__ = ["Thing"]
        class Thing:
            def get(self, thing_id: str) -> str:
                return thing_id
    """
    found = findings_between(tmp_path, FACADE_PACKAGE, folded(lost_helper))
    assert "BREAKING: mijnklantportaal.things.impl: module removed" in found
    assert "BREAKING: mijnklantportaal.things.impl.ThingHelper: class removed" in found


def test_a_module_its_package_never_re_exported_is_removed(tmp_path: Path) -> None:
    # Without the facade, the submodule was the only way to the class: its removal breaks.
    old = {**FACADE_PACKAGE, "wrapper/mijnklantportaal/things/__init__.py": "__all__ = []\n"}
    same = FACADE_PACKAGE["wrapper/mijnklantportaal/things/impl.py"]
    found = findings_between(tmp_path, old, folded(same))
    assert "BREAKING: mijnklantportaal.things.impl: module removed" in found


@pytest.mark.skipif(
    not api_check.has_commit(REPO, "39acad82bae485687e47894c3d7517688e56b006"),
    reason="not a git checkout with the 0.1.0 release commit (an sdist or a shallow clone)",
)
def test_0_1_0_vs_this_checkout_has_no_false_breaks() -> None:
    """The changes since 0.1.0 that a plain comparison would call breaking, and are not:
    with_options moved to the clients' base class returning Self; and resources/invoices.py,
    whose classes are generated into mijnklantportaal.resources now, kept as a module that
    re-exports them (so 0.1.0's import path works and nothing is even "moved")."""
    old = api_check.load_at_commit(REPO, "39acad82bae485687e47894c3d7517688e56b006")
    new = api_check.load_tree(REPO)
    assert old["mijnklantportaal"]["mijnklantportaal.MijnKlantportaal.with_options"]["returns"] == (
        "MijnKlantportaal"
    )
    assert new["mijnklantportaal"]["mijnklantportaal.MijnKlantportaal.with_options"]["returns"] == (
        "MijnKlantportaal"
    )
    assert "mijnklantportaal.resources.invoices.Invoices.get" in old["mijnklantportaal"]
    assert "mijnklantportaal.resources.invoices.Invoices.get" in new["mijnklantportaal"]
    findings = [f for package in old for f in compare(old[package], new[package])]
    assert [str(f) for f in findings if f.severity != "added"] == []


# -- the whole check, in a temp git repository ------------------------------------------


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def record_release(repo: Path, version: str, commit: str) -> None:
    """CHANGELOG.md's newest release is ``version``, cut from ``commit``."""
    log = repo / "CHANGELOG.md"
    log.write_text(
        log.read_text().replace(
            "## Unreleased\n", f"## Unreleased\n\n## {version} - 2026-12-01\n\nCommit: {commit}\n"
        )
    )


@pytest.fixture
def released(tmp_path: Path) -> Path:
    """A copy of this checkout as a git repository whose last release is its first commit."""
    repo = copy_repo(tmp_path / "repo", "tools", "generated", "wrapper", "CHANGELOG.md")
    git(repo, "init", "-q")
    first = commit_all(repo, "the code of 0.1.0")
    record_release(repo, "0.1.0", first)
    commit_all(repo, "Release 0.1.0")
    return repo


def run_check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(repo / "tools" / "api_check.py"), "--repo", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def retype_quantity(repo: Path) -> None:
    """A hand edit in the copy that only an attribute type check notices."""
    model = repo / "generated" / "mijnklantportaal_api" / "models" / "invoice_line.py"
    text = model.read_text()
    assert "    quantity: int | Unset = UNSET\n" in text
    model.write_text(
        text.replace("    quantity: int | Unset = UNSET\n", "    quantity: float | Unset = UNSET\n")
    )


def test_the_newest_release_and_its_commit_are_read_from_the_changelog() -> None:
    text = (
        "# Changelog\n\n## Unreleased\n\n- x\n\n## 0.10.0 - 2027-01-02\n\n"
        f"Commit: {'b' * 40}\n\n- y\n\n## 0.9.1 - 2026-12-01\n\nCommit: {'a' * 40}\n\n"
        "## 0.1.0\n\nFirst release.\n"
    )
    found = releases(text)
    assert [(r.version, r.commit) for r in found] == [
        ((0, 10, 0), "b" * 40),
        ((0, 9, 1), "a" * 40),
        ((0, 1, 0), None),
    ]


def test_an_unchanged_api_passes_and_an_addition_is_no_break(released: Path) -> None:
    result = run_check(released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vs release 0.1.0 (commit " in result.stdout
    assert "api_check: no breaking changes" in result.stdout
    (released / "wrapper" / "mijnklantportaal" / "zz_test_extra.py").write_text(
        '"""A new public module."""\n\n\ndef zz_test_helper(value: int = 0) -> int:\n    return value\n'
    )
    added = run_check(released)
    assert added.returncode == 0, added.stdout + added.stderr
    assert "mijnklantportaal.zz_test_extra.zz_test_helper" in added.stdout
    assert "BREAKING" not in added.stdout


def test_a_break_fails_unless_the_next_release_is_major(released: Path) -> None:
    retype_quantity(released)
    result = run_check(released)
    assert result.returncode == 1
    assert (
        "BREAKING: mijnklantportaal_api.models.InvoiceLine.quantity: attribute type changed: "
        "int | Unset -> float | Unset"
    ) in result.stdout
    assert "without a major version bump" in result.stderr
    # A declared major bump lets it through ...
    log = released / "CHANGELOG.md"
    text = log.read_text()
    log.write_text(text.replace("## Unreleased\n", "## Unreleased\n\n<!-- bump=major -->\n", 1))
    allowed = run_check(released)
    assert allowed.returncode == 0, allowed.stderr
    assert "allowed: the next release is a major one" in allowed.stdout
    # ... a minor one does not ...
    log.write_text(text.replace("## Unreleased\n", "## Unreleased\n\n<!-- bump=minor -->\n", 1))
    assert run_check(released).returncode == 1
    # ... and neither does a patch version; a version already a major above the release does.
    version = released / "wrapper" / "mijnklantportaal" / "_version.py"
    original = version.read_text()
    version.write_text(original.replace('"0.1.0"', '"0.1.1"'))
    assert run_check(released).returncode == 1
    version.write_text(original.replace('"0.1.0"', '"1.0.0"'))
    major = run_check(released)
    assert major.returncode == 0, major.stderr
    assert "allowed: the next release is a major one (version 1.0.0)" in major.stdout


def test_a_removed_method_is_a_break(released: Path) -> None:
    module = released / "wrapper" / "mijnklantportaal" / "_client.py"
    text = module.read_text()
    assert "    def close(self) -> None:\n" in text
    module.write_text(
        text.replace("    def close(self) -> None:\n", "    def zz_closed(self) -> None:\n")
    )
    result = run_check(released)
    assert result.returncode == 1
    assert "BREAKING: mijnklantportaal.MijnKlantportaal.close: function removed" in result.stdout


def test_the_baseline_is_the_newest_release(released: Path) -> None:
    # Release 1.0.0 is cut after the retype: comparing with it, the retype is no change.
    retype_quantity(released)
    second = commit_all(released, "quantity is a float (a breaking change, released as 1.0.0)")
    record_release(released, "1.0.0", second)
    version = released / "wrapper" / "mijnklantportaal" / "_version.py"
    version.write_text(version.read_text().replace('"0.1.0"', '"1.0.0"'))
    commit_all(released, "Release 1.0.0")
    result = run_check(released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"vs release 1.0.0 (commit {second[:12]}), version 1.0.0" in result.stdout
    # --against names any other baseline: the first commit, where quantity was an int.
    first = git(released, "rev-list", "--max-parents=0", "HEAD")
    against = run_check(released, "--against", first)
    assert "InvoiceLine.quantity: attribute type changed" in against.stdout
    assert against.returncode == 0  # version 1.0.0 is a major above 0.1.0


def test_a_release_without_its_commit_line_is_refused(released: Path) -> None:
    log = released / "CHANGELOG.md"
    log.write_text(
        log.read_text().replace(
            "## Unreleased\n", "## Unreleased\n\n## 0.2.0 - 2026-12-02\n\n- x\n", 1
        )
    )
    result = run_check(released)
    assert result.returncode == 1
    assert "release 0.2.0 does not name the commit it was cut from" in result.stderr


def test_a_commit_that_is_not_in_the_clone_fails_saying_how_to_get_it(released: Path) -> None:
    missing = "0123456789abcdef0123456789abcdef01234567"
    record_release(released, "0.2.0", missing)
    result = run_check(released)
    assert result.returncode == 1
    assert f"release 0.2.0 (commit {missing[:12]})'s commit is not in this clone" in result.stderr
    assert f"git fetch origin {missing}" in result.stderr


def test_a_shallow_clone_fetches_the_release_commit(released: Path, tmp_path: Path) -> None:
    # As a CI job that clones with --depth 1: HEAD only, without the release's commit.
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{released}", str(shallow))
    first = git(released, "rev-list", "--max-parents=0", "HEAD")
    assert not api_check.has_commit(shallow, first)
    result = run_check(shallow)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fetching it from origin" in result.stderr
    assert api_check.has_commit(shallow, first)


# -- release.py ---------------------------------------------------------------------


def release_repo(tmp_path: Path, unreleased: str) -> Path:
    (tmp_path / "wrapper" / "mijnklantportaal").mkdir(parents=True)
    (tmp_path / "wrapper" / "mijnklantportaal" / "_version.py").write_text(
        '"""v"""\n\n__version__ = "0.1.0"\n'
    )
    (tmp_path / "CHANGELOG.md").write_text(
        f"# Changelog\n\n## Unreleased\n{unreleased}\n## 0.1.0\n\nFirst release.\n"
    )
    return tmp_path


def test_release_takes_the_largest_declared_bump(tmp_path: Path) -> None:
    repo = release_repo(
        tmp_path,
        "\n<!-- spec-diff old=a new=b bump=minor -->\n- x\n\n<!-- spec-diff old=b new=c bump=major -->\n- y\n",
    )
    cut_from = "c" * 40
    assert release.prepare(repo, None, "2026-01-02", write=True, commit=cut_from) == "1.0.0"
    assert '__version__ = "1.0.0"' in (repo / "wrapper/mijnklantportaal/_version.py").read_text()
    text = (repo / "CHANGELOG.md").read_text()
    assert (
        text.index(f"## Unreleased\n\n## 1.0.0 - 2026-01-02\n\nCommit: {cut_from}\n\n")
        < text.index("- y")
        < text.index("## 0.1.0")
    )
    assert (releases(text)[0].version, releases(text)[0].commit) == ((1, 0, 0), cut_from)


def test_release_bump_flag_raises_but_never_lowers(tmp_path: Path) -> None:
    repo = release_repo(tmp_path, "\n<!-- bump=minor -->\n- x\n")
    assert release.prepare(repo, "patch", "d", write=False) == "0.2.0"
    assert release.prepare(repo, "major", "d", write=False) == "1.0.0"


def test_release_refuses_without_changes_or_bump(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nothing to release"):
        release.prepare(release_repo(tmp_path / "a", "\n"), None, "d", write=False)
    with pytest.raises(ValueError, match="pass --bump"):
        release.prepare(release_repo(tmp_path / "b", "\n- a fix\n"), None, "d", write=False)
    assert (
        release.prepare(release_repo(tmp_path / "c", "\n- a fix\n"), "patch", "d", write=False)
        == "0.1.1"
    )


def test_release_records_head_and_the_api_check_compares_with_it(released: Path) -> None:
    log = released / "CHANGELOG.md"
    log.write_text(
        log.read_text().replace(
            "## Unreleased\n", "## Unreleased\n\n<!-- bump=minor -->\n- zz_test feature\n", 1
        )
    )
    model = released / "wrapper" / "mijnklantportaal" / "zz_test_feature.py"
    model.write_text('"""A feature of 0.2.0."""\n\nzz_test_flag: bool = True\n')
    with pytest.raises(ValueError, match="wrapper/ or generated/ has uncommitted changes"):
        release.prepare(released, None, "2026-12-03", write=True)
    head = commit_all(released, "zz_test feature")
    assert release.prepare(released, None, "2026-12-03", write=True) == "0.2.0"
    assert f"## 0.2.0 - 2026-12-03\n\nCommit: {head}\n" in log.read_text()
    commit_all(released, "Release 0.2.0")
    result = run_check(released)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"vs release 0.2.0 (commit {head[:12]}), version 0.2.0" in result.stdout
    # The feature is in the release now: removing it is a break against 0.2.0.
    model.unlink()
    removed = run_check(released)
    assert removed.returncode == 1
    assert "BREAKING: mijnklantportaal.zz_test_feature: module removed" in removed.stdout
