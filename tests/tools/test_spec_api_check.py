"""tools/api_check.py (public Python API vs the last release) and tools/release.py (semver)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _support import copy_repo

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import api_check  # noqa: E402
import release  # noqa: E402
from api_check import Finding, compare  # noqa: E402


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


# -- the snapshot comparison (what griffe misses, and the no-tag baseline) ----------------


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
    assert findings == [Finding(False, "m.g", "function added")]


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


def test_snapshot_of_this_checkout_records_attribute_types() -> None:
    current = api_check.load_current(REPO)
    generated = current["mijnklantportaal_api"]
    assert generated["mijnklantportaal_api.models.Invoice.is_paid"] == attr("bool | Unset")
    assert "mijnklantportaal.Invoice" in current["mijnklantportaal"]
    assert not any(".__future__" in path or path.endswith(".annotations") for path in generated)


# -- the whole check, in a temp copy --------------------------------------------------


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    copy = copy_repo(tmp_path / "repo", "tools", "generated", "wrapper", "CHANGELOG.md")
    (copy / "tools" / "public-api.json").unlink(missing_ok=True)
    return copy


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


def test_without_tag_or_snapshot_the_check_fails(repo_copy: Path) -> None:
    result = run_check(repo_copy)
    assert result.returncode == 1
    assert "no v* tag and no tools/public-api.json" in result.stderr
    assert "--update-snapshot" in result.stderr


def test_without_tag_the_snapshot_is_the_baseline(repo_copy: Path) -> None:
    assert run_check(repo_copy, "--update-snapshot").returncode == 0
    assert run_check(repo_copy).returncode == 0
    retype_quantity(repo_copy)
    result = run_check(repo_copy)
    assert result.returncode == 1
    assert (
        "InvoiceLine.quantity: attribute type changed: int | Unset -> float | Unset"
        in result.stdout
    )
    assert "without a major version bump" in result.stderr
    # A declared major bump lets it through.
    log = repo_copy / "CHANGELOG.md"
    log.write_text(
        log.read_text().replace(
            "## Unreleased\n", "## Unreleased\n\n<!-- bump=major -->\nQuantity is a float.\n"
        )
    )
    allowed = run_check(repo_copy)
    assert allowed.returncode == 0, allowed.stderr
    assert "allowed: the next release is a major one" in allowed.stdout


def test_a_release_without_a_visible_tag_is_not_compared_with_an_old_snapshot(
    repo_copy: Path,
) -> None:
    assert run_check(repo_copy, "--update-snapshot").returncode == 0
    log = repo_copy / "CHANGELOG.md"
    log.write_text(
        log.read_text().replace(
            "## Unreleased\n", "## Unreleased\n\n## 0.2.0 - 2026-01-02\n\n- x\n"
        )
    )
    result = run_check(repo_copy)
    assert result.returncode == 1
    assert "records release 0.2.0, but no v* tag is visible" in result.stderr


@pytest.mark.slow
def test_with_a_tag_griffe_check_and_type_check_run_against_it(repo_copy: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo_copy,
            check=True,
            capture_output=True,
        )

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "release")
    git("tag", "v0.1.0")
    assert run_check(repo_copy).returncode == 0

    # Remove a public function (griffe reports it) and retype an attribute (griffe does not).
    module = (
        repo_copy / "generated" / "mijnklantportaal_api" / "api" / "invoices_api" / "get_invoice.py"
    )
    text = module.read_text()
    module.write_text(
        text[: text.index("def sync_detailed(")] + text[text.index("async def asyncio_detailed(") :]
    )
    retype_quantity(repo_copy)
    result = run_check(repo_copy)
    assert result.returncode == 1
    assert "griffe check mijnklantportaal_api --against v0.1.0" in result.stdout
    assert "sync_detailed: Public object was removed" in result.stdout  # griffe's own words
    assert "attribute type changed: int | Unset -> float | Unset" in result.stdout

    version = repo_copy / "wrapper" / "mijnklantportaal" / "_version.py"
    version.write_text(version.read_text().replace('"0.1.0"', '"1.0.0"'))
    assert run_check(repo_copy).returncode == 0


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
    assert release.prepare(repo, None, "2026-01-02", write=True) == "1.0.0"
    assert '__version__ = "1.0.0"' in (repo / "wrapper/mijnklantportaal/_version.py").read_text()
    text = (repo / "CHANGELOG.md").read_text()
    assert (
        text.index("## Unreleased\n\n## 1.0.0 - 2026-01-02\n")
        < text.index("- y")
        < text.index("## 0.1.0")
    )


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
