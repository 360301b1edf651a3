"""./generate.sh: reproducible output, --check catches drift, bad specs cost nothing.

Each test works in a temp copy of the repo and shares the pinned tool venv of this
checkout (installed by the first ./generate.sh run), so no test touches the real tree.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest
from _support import copy_repo
from spec_mutations import dump_spec, load_spec, write_mutated

REPO = Path(__file__).resolve().parents[2]
SEED = REPO.parent / "shared" / "seeds" / "000_cdb56438ea15ce39.txt"

pytestmark = pytest.mark.slow


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def repo_copy(tmp_path: Path, tools_venv: Path) -> Path:
    return copy_repo(
        tmp_path / "repo",
        "generate.sh",
        "openapi.yaml",
        "spec-map.toml",
        "tools",
        "generated",
        "wrapper",
    )


def run(repo: Path, *args: str, tools_venv: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MIJNKLANTPORTAAL_TOOLS_VENV": str(tools_venv)}
    return subprocess.run(
        [str(repo / "generate.sh"), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_vendored_spec_is_the_seed_byte_for_byte() -> None:
    if not SEED.exists():
        pytest.skip("shared/seeds is not beside this checkout")
    text = SEED.read_text(encoding="utf-8")
    start = text.index("````yaml")
    body = text[text.index("\n", start) + 1 :]
    body = body[: body.index("````")]
    assert (REPO / "openapi.yaml").read_text(encoding="utf-8") == body
    assert (REPO / "generated" / "openapi.yaml").read_bytes() == (
        REPO / "openapi.yaml"
    ).read_bytes()


def test_check_passes_on_committed_tree(repo_copy: Path, tools_venv: Path) -> None:
    before = _tree_digest(repo_copy)
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 0, result.stderr
    assert _tree_digest(repo_copy) == before, "--check must never modify the work tree"


def test_regeneration_is_byte_identical(repo_copy: Path, tools_venv: Path) -> None:
    before = _tree_digest(repo_copy / "generated")
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode == 0, result.stderr
    assert _tree_digest(repo_copy / "generated") == before
    assert not list(repo_copy.glob(".generate-tmp.*")), "temp dirs left behind"


def test_check_fails_on_hand_edit(repo_copy: Path, tools_venv: Path) -> None:
    target = repo_copy / "generated" / "mijnklantportaal_api" / "models" / "invoice.py"
    target.write_text(target.read_text() + "\n# hand edit\n")
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1
    assert "models/invoice.py" in result.stderr
    assert "./generate.sh" in result.stderr
    assert target.read_text().endswith("# hand edit\n"), "--check must not repair the tree"


def test_check_fails_on_stray_file(repo_copy: Path, tools_venv: Path) -> None:
    (repo_copy / "generated" / "mijnklantportaal_api" / "stray.py").write_text("x = 1\n")
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1
    assert "stray.py" in result.stderr


def test_check_fails_on_deleted_file(repo_copy: Path, tools_venv: Path) -> None:
    (repo_copy / "generated" / "mijnklantportaal_api" / "models" / "invoice_line.py").unlink()
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1
    assert "invoice_line.py" in result.stderr


def test_check_fails_when_spec_changes_without_regeneration(
    repo_copy: Path, tools_venv: Path
) -> None:
    write_mutated(repo_copy / "openapi.yaml", "datetime-field-added")
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1
    assert "invoice.py" in result.stderr


def test_removed_schema_leaves_no_stale_file(repo_copy: Path, tools_venv: Path) -> None:
    # The vendor drops its error schema: every response using it goes, and the schema too.
    spec = repo_copy / "openapi.yaml"
    document = load_spec(spec)
    error_ref = "#/components/schemas/Error_ApiError"
    for item in document["paths"].values():
        for op in item.values():
            for status, response in list(op["responses"].items()):
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema == {"$ref": error_ref}:
                    del op["responses"][status]
    del document["components"]["schemas"]["Error_ApiError"]
    assert error_ref not in dump_spec(document)
    spec.write_text(dump_spec(document))
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode == 0, result.stderr
    models = repo_copy / "generated" / "mijnklantportaal_api" / "models"
    assert (models / "invoice.py").exists()
    assert not (models / "error_api_error.py").exists()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda t: t + "\n  broken: [unclosed\n", "not valid YAML"),
        (
            lambda t: t.replace("#/components/schemas/InvoiceLine", "#/components/schemas/Missing"),
            "Missing",
        ),
        (lambda t: t.replace("openapi: 3.1.1", "openapi: 2.0"), "not an OpenAPI 3.x document"),
        (lambda t: "- just\n- a list\n", "not an OpenAPI document"),
    ],
    ids=["broken-yaml", "dangling-ref", "wrong-version", "not-a-mapping"],
)
def test_invalid_spec_fails_and_leaves_generated_untouched(
    repo_copy: Path, tools_venv: Path, mutate: object, expected: str
) -> None:
    spec = repo_copy / "openapi.yaml"
    spec.write_text(mutate(spec.read_text()))  # type: ignore[operator]
    before = _tree_digest(repo_copy / "generated")
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode != 0
    assert expected in result.stderr
    assert _tree_digest(repo_copy / "generated") == before
    assert not list(repo_copy.glob(".generate-tmp.*"))


def test_generator_rejection_leaves_generated_untouched(repo_copy: Path, tools_venv: Path) -> None:
    # Valid OpenAPI, but a response content type the generator cannot handle: it only warns,
    # and with --fail-on-warning that must fail the run and change nothing.
    spec = repo_copy / "openapi.yaml"
    text = spec.read_text()
    marker = "          description: The Invoice could not be found\n          content:\n            application/json:"
    assert marker in text
    spec.write_text(
        text.replace(marker, marker.replace("application/json", "application/weird-xml"))
    )
    before = _tree_digest(repo_copy / "generated")
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode != 0
    assert "rejected" in result.stderr
    assert _tree_digest(repo_copy / "generated") == before


# -- the second step: wrapper/mijnklantportaal/_generated/ ---------------------------------------


def test_check_fails_on_hand_edit_of_the_wrapper_code(repo_copy: Path, tools_venv: Path) -> None:
    target = repo_copy / "wrapper" / "mijnklantportaal" / "_generated" / "models.py"
    target.write_text(target.read_text() + "\n# hand edit\n")
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1
    assert "models.py" in result.stderr and "<fresh wrapper>" in result.stderr
    assert target.read_text().endswith("# hand edit\n"), "--check must not repair the tree"


def test_check_fails_when_the_map_changes_without_regeneration(
    repo_copy: Path, tools_venv: Path
) -> None:
    spec_map = repo_copy / "spec-map.toml"
    spec_map.write_text(spec_map.read_text() + '\n[operations."get-invoice"]\nmethod = "fetch"\n')
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1 and "resources.py" in result.stderr


def test_a_spec_the_second_step_rejects_changes_nothing(repo_copy: Path, tools_venv: Path) -> None:
    # Valid for openapi-python-client (an untagged operation goes to "default"), but the
    # wrapper names resources by the first tag: both trees must stay as they were.
    spec = repo_copy / "openapi.yaml"
    text = spec.read_text()
    tags = "      tags:\n        - Invoices API\n"
    assert tags in text
    spec.write_text(text.replace(tags, ""))
    wrapper_code = repo_copy / "wrapper" / "mijnklantportaal" / "_generated"
    before = (_tree_digest(repo_copy / "generated"), _tree_digest(wrapper_code))
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode != 0
    assert "has no tag" in result.stderr and "nothing was changed" in result.stderr
    assert (_tree_digest(repo_copy / "generated"), _tree_digest(wrapper_code)) == before
    assert not list(repo_copy.glob(".generate-tmp.*"))


def test_regeneration_swaps_in_both_trees(repo_copy: Path, tools_venv: Path) -> None:
    spec_map = repo_copy / "spec-map.toml"
    spec_map.write_text(spec_map.read_text() + '\n[operations."get-invoice"]\nmethod = "fetch"\n')
    stray = repo_copy / "wrapper" / "mijnklantportaal" / "_generated" / "stray.py"
    stray.write_text("x = 1\n")
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode == 0, result.stderr
    resources = repo_copy / "wrapper" / "mijnklantportaal" / "_generated" / "resources.py"
    assert "def fetch(" in resources.read_text()
    assert not stray.exists(), "the fresh tree replaces the old one whole"
    assert run(repo_copy, "--check", tools_venv=tools_venv).returncode == 0
