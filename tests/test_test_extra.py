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
