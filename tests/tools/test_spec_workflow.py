"""The whole take-in-a-new-spec workflow, on each spec mutation, in a temp copy of the repo.

For a realistic change to the current openapi.yaml (tests/spec_mutations.py): `./generate.sh
--spec` regenerates and reports, the report lands in CHANGELOG.md once, `--check` passes
afterwards, and the public API check (tools/api_check.py) sees what the spec change did to
the Python API. Failures (bad or unreachable specs) change nothing. What the change does to
the wrapper, the fake and the suite is the spec drill's business (tests/test_spec_drill.py).
The tool venv is the one of this checkout, as in tests/tools/test_generate.py.
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
import spec_mutations
from _support import copy_repo
from spec_mutations import MUTATIONS, write_mutated

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    mutation: str
    heading: str  # the report section its line appears under
    api_finding: str  # what tools/api_check.py must report about the Python API

    @property
    def location(self) -> str:
        return MUTATIONS[self.mutation].report

    @property
    def bump(self) -> str:
        return "major" if MUTATIONS[self.mutation].breaking else "minor"


CASES = [
    Case(
        "datetime-field-added",
        "NON-BREAKING (1)",
        api_finding="mijnklantportaal_api.models.Invoice.drill_checked_at",
    ),
    Case(
        "field-removed",
        "BREAKING (1)",
        api_finding="mijnklantportaal_api.models.Invoice.is_paid: attribute removed",
    ),
    Case(
        "field-retyped",
        "BREAKING (1)",
        # griffe's own check does not report attribute type changes; api_check's comparison does.
        api_finding="mijnklantportaal_api.models.InvoiceLine.quantity: attribute type changed: int | Unset -> str | Unset",
    ),
    Case(
        "list-operation-added",
        "NON-BREAKING (2)",
        api_finding="DrillInvoicePage",
    ),
    Case(
        "required-parameter-added",
        "BREAKING (1)",
        api_finding="get_invoice.sync: required parameter 'drill_administration' added",
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
    return copy_repo(
        tmp_path / "repo",
        "generate.sh",
        "openapi.yaml",
        *[name for name in ("spec-map.toml",) if (REPO / name).exists()],
        "tools",
        "generated",
        "wrapper",
        "CHANGELOG.md",
        "pyproject.toml",
    )


@pytest.fixture
def incoming(tmp_path: Path) -> Iterator[Path]:
    """Where a test writes the vendor's new spec, outside the repo copy."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    yield folder


def new_spec(folder: Path, mutation: str) -> Path:
    spec = folder / f"{mutation}.yaml"
    shutil.copy2(REPO / "openapi.yaml", spec)
    return write_mutated(spec, mutation)


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
        # mypy reads the copy's packages too, whatever the caller's environment says.
        "MYPYPATH": f"{repo / 'wrapper'}{os.pathsep}{repo / 'generated'}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run(
        [sys.executable, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300
    )


def api_check(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return in_copy(repo, str(repo / "tools" / "api_check.py"), "--repo", str(repo), *args)


def commit_copy(repo: Path) -> str:
    """Make the copy a git repository of one commit, the API baseline; return its id."""
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "baseline"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
            cwd=repo,
            check=True,
            capture_output=True,
        )
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.mark.parametrize("case", CASES, ids=[c.mutation for c in CASES])
def test_take_in_spec(case: Case, repo_copy: Path, tools_venv: Path, incoming: Path) -> None:
    spec = new_spec(incoming, case.mutation)
    # The API baseline is this checkout as it is, committed in the copy: the check below sees
    # the spec change alone (CI's own api_check step judges the checkout against the last
    # release).
    baseline = commit_copy(repo_copy)
    result = generate(repo_copy, tools_venv, "--spec", str(spec))
    assert result.returncode == 0, result.stderr
    out = result.stdout

    # The report: what changed, how bad it is, the bump and the next version.
    assert f"  - {case.location}\n" in out, out
    assert out.index(case.heading) < out.index(case.location)
    assert f"required version bump: {case.bump}" in out
    assert {"major": "next version 1.0.0", "minor": "next version 0.2.0"}[case.bump] in out
    assert "WHAT TO EDIT" in out

    # The new spec is taken in, and generated/ matches it.
    assert (repo_copy / "openapi.yaml").read_bytes() == spec.read_bytes()
    assert (repo_copy / "generated" / "openapi.yaml").read_bytes() == spec.read_bytes()
    check = generate(repo_copy, tools_venv, "--check")
    assert check.returncode == 0, check.stderr

    # CHANGELOG.md: the Markdown report under Unreleased, with its bump marker, exactly once.
    log = (repo_copy / "CHANGELOG.md").read_text()
    unreleased = log.split("## Unreleased\n", 1)[1].split("\n## ", 1)[0]
    where, what = case.location.split(": ", 1)
    assert f"`{where}`: {what}" in unreleased
    assert f"bump={case.bump} -->" in unreleased
    assert "## 0.1.0" in log
    again = generate(repo_copy, tools_venv, "--spec", str(spec))
    assert again.returncode == 0, again.stderr
    assert (repo_copy / "CHANGELOG.md").read_text() == log

    # The public Python API check sees the same change in the generated package (griffe,
    # installed by the test extra).
    checked = api_check(repo_copy, "--against", baseline)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if not MUTATIONS[case.mutation].breaking:
        assert "api_check: no breaking changes" in checked.stdout, checked.stdout
        additions = checked.stdout.split("addition(s): ", 1)[1].split("\n", 1)[0]
        assert case.api_finding in additions, checked.stdout
    else:
        assert case.api_finding in checked.stdout
        assert "allowed: the next release is a major one" in checked.stdout
        # Without the major bump the report recorded, the same change fails the check.
        (repo_copy / "CHANGELOG.md").write_text(log.replace(f"bump={case.bump}", "bump=minor"))
        refused = api_check(repo_copy, "--against", baseline)
        assert refused.returncode == 1
        assert "without a major version bump" in refused.stderr


def test_required_parameter_added_fails_the_wrapper_type_check(
    repo_copy: Path, tools_venv: Path
) -> None:
    """mypy --strict catches code that no longer fits: a call written against today's
    method, without the new required argument. (The handwritten wrapper holds no such
    call: the CLI and the export call the generated methods through the command table.)"""
    (repo_copy / "user_code.py").write_text(
        "from mijnklantportaal import Invoice, MijnKlantportaal\n\n\n"
        "def total(client: MijnKlantportaal) -> Invoice:\n"
        '    return client.invoices.get("fac_abc12345def678")\n'
    )
    today = in_copy(repo_copy, "-m", "mypy", "--strict", "--no-incremental", "user_code.py")
    assert today.returncode == 0, today.stdout
    write_mutated(repo_copy / "openapi.yaml", "required-parameter-added")
    result = generate(repo_copy, tools_venv)
    assert result.returncode == 0, result.stderr
    wrapper = in_copy(
        repo_copy, "-m", "mypy", "--strict", "--no-incremental", "wrapper/mijnklantportaal"
    )
    assert wrapper.returncode == 0, wrapper.stdout  # the generated code itself is consistent
    typed = in_copy(repo_copy, "-m", "mypy", "--strict", "--no-incremental", "user_code.py")
    assert typed.returncode == 1, typed.stdout
    assert "drill_administration" in typed.stdout, typed.stdout


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
    """A loopback HTTP server serving the spec with a field added at /openapi.yaml."""
    _SpecHandler.body = spec_mutations.mutated_text("datetime-field-added").encode()
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
    assert MUTATIONS["datetime-field-added"].report in result.stdout
    assert (repo_copy / "openapi.yaml").read_bytes() == _SpecHandler.body


def _bad_sources(tmp_path: Path, server: str) -> list[tuple[str, str]]:
    text = spec_mutations.mutated_text("datetime-field-added")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(text.replace("openapi: 3.1.1", "openapi: 2.0"))
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text(text.replace("schemas/InvoiceLine", "schemas/Nope"))
    assert invalid.read_text() != text and dangling.read_text() != text
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
    write_mutated(repo_copy / "openapi.yaml", "field-removed")
    before = _digest(repo_copy)
    result = generate(repo_copy, tools_venv, "--check")
    assert result.returncode == 1
    assert MUTATIONS["field-removed"].report in result.stdout
    assert "models/invoice.py" in result.stderr
    assert _digest(repo_copy) == before


def test_dropping_a_spec_in_by_hand_reports_too(repo_copy: Path, tools_venv: Path) -> None:
    """The old workflow (copy over openapi.yaml, run ./generate.sh) gets the same report."""
    write_mutated(repo_copy / "openapi.yaml", "field-retyped")
    result = generate(repo_copy, tools_venv)
    assert result.returncode == 0, result.stderr
    assert MUTATIONS["field-retyped"].report in result.stdout
    assert "bump=major" in (repo_copy / "CHANGELOG.md").read_text()
    same = generate(repo_copy, tools_venv)
    assert "Spec change report" not in same.stdout, "no report when the spec did not change"
