"""./generate.sh: reproducible output, --check catches drift, bad specs cost nothing.

Each test works in a temp copy of the repo and shares the pinned tool venv of this
checkout (installed by the first ./generate.sh run), so no test touches the real tree.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _hostile import HOSTILE, MARKER, NAME_TEXTS, hostile_spec
from _support import copy_repo
from spec_mutations import dump_spec, load_spec, write_mutated

REPO_TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(REPO_TOOLS))

import gen_wrapper  # noqa: E402

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
    target = repo_copy / "wrapper" / "mijnklantportaal" / "_generated" / "models" / "invoices.py"
    target.write_text(target.read_text() + "\n# hand edit\n")
    result = run(repo_copy, "--check", tools_venv=tools_venv)
    assert result.returncode == 1
    assert "invoices.py" in result.stderr and "<fresh wrapper>" in result.stderr
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


# -- issue 17: spec text is untrusted input (one hostile spec through ./generate.sh) -------------

COPIED = ("generate.sh", "openapi.yaml", "spec-map.toml", "tools", "generated", "wrapper")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, tools_venv: Path) -> Path:
    """A repo copy regenerated from ``_hostile.hostile_spec`` (one ./generate.sh run)."""
    repo = copy_repo(tmp_path_factory.mktemp("hostile") / "repo", *COPIED)
    spec = repo / "openapi.yaml"
    spec.write_text(dump_spec(hostile_spec(load_spec(spec))), encoding="utf-8")
    result = run(repo, tools_venv=tools_venv)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (repo / MARKER).exists(), "./generate.sh ran spec text"
    return repo


def run_python(repo: Path, script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``script`` against the copy's regenerated packages, in ``cwd``."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{repo / 'wrapper'}{os.pathsep}{repo / 'generated'}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


IMPORT_ALL = """
    import importlib, json, pkgutil
    import mijnklantportaal_api, mijnklantportaal._generated as generated
    import mijnklantportaal.testing
    for package in (mijnklantportaal_api, generated):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(info.name)
    from mijnklantportaal._generated import models, resources
    docs = [c.__doc__ for c in vars(resources).values() if isinstance(c, type)]
    docs += [
        f.__doc__ for c in vars(resources).values() if isinstance(c, type)
        for f in vars(c).values() if callable(f)
    ]
    docs += [models.Invoice.__doc__, models.ZzTestComment.__doc__]
    print(json.dumps(docs))
"""


def _words(text: str) -> str:
    return " ".join(text.split())


def test_i17_1_a_hostile_spec_generates_code_that_imports_and_runs_none_of_it(
    hostile: Path, tmp_path: Path
) -> None:
    done = run_python(hostile, IMPORT_ALL, tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / MARKER).exists(), "importing the generated code ran spec text"
    docs = _words("\n".join(d for d in json.loads(done.stdout) if d))
    for text in HOSTILE:  # ruff indents a docstring's lines: compare the words
        assert _words(text) in docs  # the Invoice description has all of them
    models = "\n".join(
        p.read_text()
        for p in sorted(
            (hostile / "wrapper" / "mijnklantportaal" / "_generated" / "models").glob("*.py")
        )
    )
    enum_doc = "Known values: " + ", ".join(f"``{gen_wrapper.doc_text(t)}``" for t in HOSTILE)
    assert enum_doc in models.replace("\n    ", " ")


def test_i17_2_3_hostile_tags_and_operation_ids_are_documented_verbatim(
    hostile: Path, tmp_path: Path
) -> None:
    done = run_python(hostile, IMPORT_ALL, tmp_path)
    assert done.returncode == 0, done.stderr
    docs = _words("\n".join(d for d in json.loads(done.stdout) if d))
    for n, text in enumerate(NAME_TEXTS):
        assert _words(f"The ZzTest{n} {text}: ``client.") in docs  # 2: the resource class
        assert _words(f"(``zz-test-{n}-{text}``)") in docs  # 3: each method
    assert not (tmp_path / MARKER).exists()


CALLS = """
    import asyncio, datetime
    from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
    from mijnklantportaal.testing import FakeMijnKlantportaal

    fake = FakeMijnKlantportaal(rate_limit=None)

    def check(status, comment, options):
        assert status.zz_test_on is True, status  # 4: the tag "2FA API"
        assert comment.id == "zzc_1" and comment.replies == (), comment  # 5 and 11
        assert comment.zz_test_posted_on == datetime.datetime(2025, 4, 12, tzinfo=datetime.UTC)
        assert comment.zz_test_meta == {{"seenAt": "2025-04-12T00:00:00+00:00", "n": 1}}  # 7
        sent = fake.requests[-1]  # 10: the parameters, and the per-call options beside them
        assert sent.query == "timeout=3&extra_headers=zz&concurrency=2", sent
        assert sent.headers.get("x-zz-test") == "1", sent

    with fake.serve() as base_url:
        with MijnKlantportaal(api_key=fake.api_key, base_url=base_url) as client:
            check(
                client.field_2fa.zz_test_get_status(),
                client.zz_test_underscore.zz_test_get_comment(),
                client.zz_test_options.zz_test_list_options(
                    timeout_=3, extra_headers_="zz", concurrency_=2,
                    timeout=5.0, extra_headers={{"X-Zz-Test": "1"}},
                ),
            )

        async def main():
            async with AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url) as client:
                check(
                    await client.field_2fa.zz_test_get_status(),
                    await client.zz_test_underscore.zz_test_get_comment(),
                    await client.zz_test_options.zz_test_list_options(
                        timeout_=3, extra_headers_="zz", concurrency_=2,
                        timeout=5.0, extra_headers={{"X-Zz-Test": "1"}},
                    ),
                )

        asyncio.run(main())
    print("{item} ok")
"""


@pytest.mark.parametrize(
    "item",
    [
        "i17_4_a_tag_starting_with_a_digit",
        "i17_5_an_operation_id_starting_with_an_underscore",
        "i17_7_an_unquoted_yaml_timestamp_example",
        "i17_10_parameters_named_like_per_call_options",
        "i17_11_a_schema_that_holds_itself",
    ],
)
def test_i17_4_5_7_10_11_the_odd_names_work_over_loopback(
    hostile: Path, tmp_path: Path, item: str
) -> None:
    # One script exercises them all (sync and async); each item is its own test id.
    done = run_python(hostile, CALLS.format(item=item), tmp_path)
    assert done.returncode == 0 and f"{item} ok" in done.stdout, done.stderr[-3000:]


def _refused(
    repo: Path, result: subprocess.CompletedProcess[str], before: dict[str, str], *says: str
) -> None:
    """The run failed with a short message (no traceback) saying ``says``, and changed nothing."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    for text in says:
        assert text in result.stderr, result.stderr
    assert _tree_digest(repo) == before, "a refused spec changed files"
    assert not list(repo.glob(".generate-tmp.*"))


def _add_operation(repo: Path, path: str, tag: str, op_id: str) -> None:
    spec = repo / "openapi.yaml"
    document = load_spec(spec)
    document["paths"][path] = {
        "get": {
            "tags": [tag],
            "operationId": op_id,
            "parameters": [
                {"name": "invoiceId", "in": "path", "required": True, "schema": {"type": "string"}}
            ]
            if "{invoiceId}" in path
            else [],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}}
                    },
                }
            },
        }
    }
    spec.write_text(dump_spec(document), encoding="utf-8")


@pytest.mark.parametrize(
    ("path", "tag", "op_id", "says"),
    [
        (
            "/zz-test-limits",
            "Rate Limit API",
            "zz-test-get-limits",
            ("client.rate_limit", '[resources."Rate Limit API"] attribute = '),
        ),
        (
            "/zz-test-close",
            "Close API",
            "zz-test-close",
            ("client.close", '[resources."Close API"]'),
        ),
    ],
    ids=["rate-limit", "close"],
)
def test_i17_8_a_tag_named_like_a_client_member_is_refused_naming_the_override(
    repo_copy: Path, tools_venv: Path, path: str, tag: str, op_id: str, says: tuple[str, ...]
) -> None:
    _add_operation(repo_copy, path, tag, op_id)
    before = _tree_digest(repo_copy)
    _refused(repo_copy, run(repo_copy, tools_venv=tools_venv), before, *says, "nothing was changed")
    # The override it names works: the resource gets that name, the client keeps its own.
    spec_map = repo_copy / "spec-map.toml"
    spec_map.write_text(
        spec_map.read_text() + f'\n[resources."{tag}"]\nattribute = "zz_test_things"\n'
    )
    result = run(repo_copy, tools_venv=tools_venv)
    assert result.returncode == 0, result.stderr
    resources = repo_copy / "wrapper" / "mijnklantportaal" / "_generated" / "resources.py"
    assert "    zz_test_things: ZzTestThings\n" in resources.read_text()


def test_i17_9_an_operation_named_like_a_bulk_method_is_refused(
    repo_copy: Path, tools_venv: Path
) -> None:
    _add_operation(repo_copy, "/zz-test-invoices/{invoiceId}", "Invoices API", "get-invoice-many")
    before = _tree_digest(repo_copy)
    result = run(repo_copy, tools_venv=tools_venv)
    _refused(
        repo_copy,
        result,
        before,
        "'get-invoice'",
        "'get-invoice-many'",
        "get_many",
        "spec-map.toml",
    )


def test_i17_4_generate_fails_and_changes_nothing_when_the_fresh_code_does_not_import(
    repo_copy: Path, tools_venv: Path
) -> None:
    # Handwritten code that imports a generated name the new spec no longer yields: the run
    # must fail at its last step (the import of both fresh packages), before any swap.
    public = repo_copy / "wrapper" / "mijnklantportaal" / "resources" / "__init__.py"
    public.write_text(
        public.read_text() + "\nfrom mijnklantportaal._generated.resources import ZzGone\n"
    )
    before = _tree_digest(repo_copy)
    result = run(repo_copy, tools_venv=tools_venv)
    _refused(repo_copy, result, before, "ZzGone", "does not import", "nothing was changed")
    check = run(repo_copy, "--check", tools_venv=tools_venv)
    assert check.returncode != 0 and "does not import" in check.stderr
