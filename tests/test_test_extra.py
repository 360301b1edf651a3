"""The `test` extra is the one install the suite and the spec runbook need (README, docs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "ruff", "--version"],
        ["-m", "mypy", "--version"],
        ["-c", "import griffe, build, yaml, hypothesis, schemathesis"],
    ],
    ids=["ruff", "mypy", "griffe-build-and-test-libraries"],
)
def test_the_runbook_tools_come_with_the_test_extra(command: list[str]) -> None:
    result = subprocess.run([sys.executable, *command], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_skip_for_a_missing_module_fails_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        Path(__file__).with_name("_no_missing_modules.py").read_text(encoding="utf-8")
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest

            def test_needs_a_missing_module():
                pytest.importorskip("zz_test_only_no_such_module")

            def test_skips_for_another_reason():
                pytest.skip("not a git checkout")
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*zz_test_only_no_such_module*install the test extra*"])


def test_ci_runs_the_readme_quick_start_test_line_as_written() -> None:
    """The Quick start is two commands; CI takes the test line from README.md itself (so the
    two cannot drift) and runs it in a .venv it has just removed."""
    repo = Path(__file__).resolve().parents[1]
    readme = (repo / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert len(lines) == 2 and "-m pytest" in lines[1] and "-m pytest" not in lines[0]
    assert lines[1].startswith("python3 -m venv .venv && ") and "-e '.[test]'" in lines[1]
    result = subprocess.run(
        [
            "bash",
            "-c",
            'eval "$(sed -n "/^readme_test_line=/,/^\' README.md)/p" .ci/run)"; '
            'printf %s "$readme_test_line"',
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, lines[1]), result.stderr
    ci = (repo / ".ci" / "run").read_text(encoding="utf-8")
    assert 'rm -rf .venv\nstatus=0\nbash -c "$readme_test_line" || status=$?' in ci
