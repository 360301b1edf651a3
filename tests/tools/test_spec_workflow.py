"""The whole take-in-a-new-spec workflow, on each fixture spec, in a temp copy of the repo.

For every spec in tests/fixtures/specs/: `./generate.sh --spec` regenerates and reports, the
report lands in CHANGELOG.md once, `--check` passes afterwards, the field-coverage test
(tests/test_field_coverage.py) reacts as it should, and the public API check
(tools/api_check.py) sees what the spec change did to the Python API. Failures (bad or
unreachable specs) change nothing. The tool venv is the one of this checkout, as in
tests/test_generate.py.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from _support import copy_repo

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "specs"
COVERAGE_TEST = Path("tests") / "test_field_coverage.py"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    spec: str
    location: str  # as printed by the report
    heading: str  # the report section it appears under
    bump: str
    coverage_names: str | None  # the field the coverage test must name when it fails
    api_finding: str | None  # what tools/api_check.py must report about the Python API


CASES = [
    Case(
        "field-added",
        "schema Invoice.dueAt: optional field added (string)",
        "NON-BREAKING (1)",
        "minor",
        coverage_names="due_at (JSON 'dueAt')",
        api_finding=None,
    ),
    Case(
        "field-removed",
        "schema Invoice.vatAmount: field removed",
        "BREAKING (1)",
        "major",
        coverage_names="vat_amount",
        api_finding="mijnklantportaal_api.models.Invoice.vat_amount: attribute removed",
    ),
    Case(
        "type-changed",
        "schema InvoiceLine.quantity: type integer -> number",
        "BREAKING (1)",
        "major",
        coverage_names=None,
        # griffe itself does not report attribute type changes; the snapshot comparison does.
        api_finding="mijnklantportaal_api.models.InvoiceLine.quantity: attribute type changed: int | Unset -> float | Unset",
    ),
    Case(
        "operation-added",
        "GET /invoice-lines/{invoiceLineId} (get-invoice-line): operation added",
        "NON-BREAKING (1)",
        "minor",
        coverage_names=None,
        api_finding=None,
    ),
    Case(
        "required-parameter-added",
        "GET /invoices/{invoiceId} (get-invoice): required query parameter `administration` added (string)",
        "BREAKING (1)",
        "major",
        coverage_names=None,
        api_finding="get_invoice.sync: required parameter 'administration' added",
    ),
]


def _digest(*paths: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for p in files:
            found[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return found


@pytest.fixture
def repo_copy(tmp_path: Path, tools_venv: Path) -> Path:
    copy = copy_repo(
        tmp_path / "repo",
        "generate.sh",
        "openapi.yaml",
        "tools",
        "generated",
        "wrapper",
        "CHANGELOG.md",
        "pyproject.toml",
    )
    if (REPO / COVERAGE_TEST).exists():
        (copy / "tests").mkdir()
        shutil.copy2(REPO / COVERAGE_TEST, copy / COVERAGE_TEST)
    return copy


def generate(repo: Path, tools_venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(repo / "generate.sh"), *args],
        cwd=repo,
        env={**os.environ, "MIJNKLANTPORTAAL_TOOLS_VENV": str(tools_venv)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def in_copy(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run this venv's python with the copy's packages first on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{repo / 'wrapper'}{os.pathsep}{repo / 'generated'}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )


def coverage_test(repo: Path) -> subprocess.CompletedProcess[str] | None:
    if not (repo / COVERAGE_TEST).exists():
        return None
    return in_copy(
        repo,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(repo),
        str(COVERAGE_TEST),
    )


def api_check(repo: Path) -> subprocess.CompletedProcess[str]:
    return in_copy(repo, str(repo / "tools" / "api_check.py"), "--repo", str(repo))


@pytest.mark.parametrize("case", CASES, ids=[c.spec for c in CASES])
def test_take_in_spec(case: Case, repo_copy: Path, tools_venv: Path) -> None:
    fixture = FIXTURES / f"{case.spec}.yaml"
    result = generate(repo_copy, tools_venv, "--spec", str(fixture))
    assert result.returncode == 0, result.stderr
    out = result.stdout

    # The report: what changed, how bad it is, the bump and the next version.
    assert case.location in out
    assert out.index(case.heading) < out.index(case.location)
    assert f"required version bump: {case.bump}" in out
    assert {"major": "next version 1.0.0", "minor": "next version 0.2.0"}[case.bump] in out
    assert "WHAT TO EDIT" in out

    # The new spec is taken in, and generated/ matches it.
    assert (repo_copy / "openapi.yaml").read_bytes() == fixture.read_bytes()
    assert (repo_copy / "generated" / "openapi.yaml").read_bytes() == fixture.read_bytes()
    check = generate(repo_copy, tools_venv, "--check")
    assert check.returncode == 0, check.stderr

    # CHANGELOG.md: the Markdown report under Unreleased, with its bump marker, exactly once.
    log = (repo_copy / "CHANGELOG.md").read_text()
    unreleased = log.split("## Unreleased\n", 1)[1].split("\n## ", 1)[0]
    assert f"`{case.location.split(': ', 1)[0]}`: {case.location.split(': ', 1)[1]}" in unreleased
    assert f"bump={case.bump} -->" in unreleased
    assert "## 0.1.0" in log
    again = generate(repo_copy, tools_venv, "--spec", str(fixture))
    assert again.returncode == 0, again.stderr
    assert (repo_copy / "CHANGELOG.md").read_text() == log

    # The wrapper's field-coverage test makes every spec field a conscious decision.
    coverage = coverage_test(repo_copy)
    if coverage is not None:
        if case.coverage_names is None:
            assert coverage.returncode == 0, coverage.stdout
        else:
            assert coverage.returncode == 1, coverage.stdout
            assert case.coverage_names in coverage.stdout

    # The public Python API check sees the same change in the generated package. It needs
    # griffe (dev extras); everything above has been checked when this skips.
    pytest.importorskip("griffe")
    checked = api_check(repo_copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if case.api_finding is not None:
        assert case.api_finding in checked.stdout
        assert "allowed: the next release is a major one" in checked.stdout
        # Without the major bump the report recorded, the same change fails the check.
        (repo_copy / "CHANGELOG.md").write_text(log.replace(f"bump={case.bump}", "bump=minor"))
        refused = api_check(repo_copy)
        assert refused.returncode == 1
        assert "without a major version bump" in refused.stderr


def test_operation_added_reaches_the_wrapper_with_a_small_change(
    repo_copy: Path, tools_venv: Path
) -> None:
    """The generated function arrives by itself; exposing it is one request builder plus
    one method per client class (tests/fixtures/specs/operation-added.wrapper.patch)."""
    result = generate(repo_copy, tools_venv, "--spec", str(FIXTURES / "operation-added.yaml"))
    assert result.returncode == 0, result.stderr
    assert (
        repo_copy / "generated/mijnklantportaal_api/api/invoices_api/get_invoice_line.py"
    ).exists()

    patch = FIXTURES / "operation-added.wrapper.patch"
    applied = subprocess.run(
        ["patch", "-p1", "--no-backup-if-mismatch", "-i", str(patch)],
        cwd=repo_copy,
        capture_output=True,
        text=True,
    )
    assert applied.returncode == 0, (
        "the example wrapper patch no longer applies to wrapper/mijnklantportaal/resources/invoices.py; "
        "regenerate it (see docs/updating-the-spec.md):\n" + applied.stdout + applied.stderr
    )
    added = [
        line
        for line in patch.read_text().splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    assert len(added) < 40, "the change to expose a new operation should stay small"

    script = """
import asyncio, httpx
from decimal import Decimal
from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal

LINE = {"id": "fcl_abc12345def678", "description": "Pro subscription", "quantity": 1,
        "currency": "EUR", "amountExclVat": 12.95, "vatRate": 21, "vatAmount": "2.72",
        "amountInclVat": 15.67}

def handler(request):
    assert request.url.path == "/v1/invoice-lines/fcl_abc12345def678", request.url
    assert request.headers["authorization"] == "Bearer test-key"
    return httpx.Response(200, json=LINE)

client = MijnKlantportaal(api_key="test-key", http_client=httpx.Client(transport=httpx.MockTransport(handler)))
line = client.invoices.get_line("fcl_abc12345def678")
assert line.amount_excl_vat == Decimal("12.95") and line.quantity == 1, line
assert client.invoices.with_raw_response.get_line("fcl_abc12345def678").status_code == 200

async def main():
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncMijnKlantportaal(api_key="test-key", http_client=http) as aclient:
        line = await aclient.invoices.get_line("fcl_abc12345def678")
        assert line.vat_rate == Decimal("21"), line
    await http.aclose()

asyncio.run(main())
print("get_line ok")
"""
    run = in_copy(repo_copy, "-c", script)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "get_line ok" in run.stdout
    typed = in_copy(
        repo_copy, "-m", "mypy", "--strict", "--no-incremental", "wrapper/mijnklantportaal"
    )
    assert typed.returncode == 0, typed.stdout


def test_required_parameter_added_fails_the_wrapper_type_check(
    repo_copy: Path, tools_venv: Path
) -> None:
    """CI's mypy step catches a wrapper that no longer fits the generated code."""
    result = generate(
        repo_copy, tools_venv, "--spec", str(FIXTURES / "required-parameter-added.yaml")
    )
    assert result.returncode == 0, result.stderr
    typed = in_copy(
        repo_copy, "-m", "mypy", "--strict", "--no-incremental", "wrapper/mijnklantportaal"
    )
    assert typed.returncode == 1
    assert "administration" in typed.stdout


# -- failures change nothing ------------------------------------------------------------


class _SpecHandler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if self.path == "/openapi.yaml":
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def spec_server() -> Iterator[str]:
    """A loopback HTTP server serving the field-added fixture at /openapi.yaml."""
    _SpecHandler.body = (FIXTURES / "field-added.yaml").read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SpecHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_spec_from_url(repo_copy: Path, tools_venv: Path, spec_server: str) -> None:
    result = generate(repo_copy, tools_venv, "--spec", f"{spec_server}/openapi.yaml")
    assert result.returncode == 0, result.stderr
    assert "schema Invoice.dueAt: optional field added" in result.stdout
    assert (repo_copy / "openapi.yaml").read_bytes() == (FIXTURES / "field-added.yaml").read_bytes()


def _bad_sources(tmp_path: Path, server: str) -> list[tuple[str, str]]:
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(
        (FIXTURES / "field-added.yaml").read_text().replace("openapi: 3.1.1", "openapi: 2.0")
    )
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text(
        (FIXTURES / "field-added.yaml").read_text().replace("schemas/InvoiceLine'", "schemas/Nope'")
    )
    return [
        (str(invalid), "not an OpenAPI 3.x document"),
        (str(dangling), "Nope"),
        (str(tmp_path / "missing.yaml"), "no spec file at"),
        (f"{server}/missing.yaml", "HTTP 404"),
        ("http://127.0.0.1:9/openapi.yaml", "cannot fetch"),  # nothing listens on port 9
        ("http://example.invalid/openapi.yaml", "refusing plain http"),
        ("ftp://example.invalid/openapi.yaml", "unsupported spec source"),
    ]


def test_bad_or_unreachable_spec_changes_nothing(
    repo_copy: Path, tools_venv: Path, tmp_path: Path, spec_server: str
) -> None:
    watched = [repo_copy / "openapi.yaml", repo_copy / "generated", repo_copy / "CHANGELOG.md"]
    before = _digest(*watched)
    for source, message in _bad_sources(tmp_path, spec_server):
        result = generate(repo_copy, tools_venv, "--spec", source)
        assert result.returncode != 0, source
        assert message in result.stderr, (source, result.stderr)
        assert "nothing was changed" in result.stderr
        assert "incoming.yaml" not in result.stderr, "messages name the source the user gave"
        assert _digest(*watched) == before, source
    assert not list(repo_copy.glob(".generate-tmp.*"))


def test_check_reports_but_never_writes(repo_copy: Path, tools_venv: Path) -> None:
    shutil.copy2(FIXTURES / "field-removed.yaml", repo_copy / "openapi.yaml")
    before = _digest(repo_copy)
    result = generate(repo_copy, tools_venv, "--check")
    assert result.returncode == 1
    assert "schema Invoice.vatAmount: field removed" in result.stdout
    assert "models/invoice.py" in result.stderr
    assert _digest(repo_copy) == before


def test_dropping_a_spec_in_by_hand_reports_too(repo_copy: Path, tools_venv: Path) -> None:
    """The old workflow (copy over openapi.yaml, run ./generate.sh) gets the same report."""
    shutil.copy2(FIXTURES / "type-changed.yaml", repo_copy / "openapi.yaml")
    result = generate(repo_copy, tools_venv)
    assert result.returncode == 0, result.stderr
    assert "schema InvoiceLine.quantity: type integer -> number" in result.stdout
    assert "bump=major" in (repo_copy / "CHANGELOG.md").read_text()
    same = generate(repo_copy, tools_venv)
    assert "Spec change report" not in same.stdout, "no report when the spec did not change"
