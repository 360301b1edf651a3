"""A test skipped because a module is missing fails instead.

The `test` extra installs everything this suite needs, so a missing module is a packaging bug
(the README's test line would pass while testing less), not a reason to skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if "could not import" in reason or "No module named" in reason:
            report.outcome = "failed"
            report.longrepr = f"{reason}: install the test extra, pip install -e '.[test]'"
