"""Reliability suite fixtures: instant retries with recorded delays, clients, and the figures.

Every test reports what it tried through the ``figures`` fixture
(``figures.count("property", "money bodies", n)``); at the end of the session the totals
are printed and, when ``MKP_RELIABILITY_FIGURES`` names a file, written there as JSON for
``tools/reliability_report.py`` to turn into ``RELIABILITY.md``.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from reliability_helpers import API_KEY

FIGURES_ENV = "MKP_RELIABILITY_FIGURES"


class Figures:
    """Thread-safe counters: category -> what -> number."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.tests: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.notes: dict[str, Any] = {}
        self.results: dict[str, str] = {}

    def count(self, category: str, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[category][what] += n

    def note(self, key: str, value: Any) -> None:
        with self._lock:
            self.notes[key] = value

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": {c: dict(w) for c, w in sorted(self.counts.items())},
            "tests": {c: dict(o) for c, o in sorted(self.tests.items())},
            "notes": dict(sorted(self.notes.items())),
            "results": dict(sorted(self.results.items())),
        }


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Figures:
    return _FIGURES


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Warnings are errors in this suite, whatever the command line says: a ResourceWarning
    # (an unclosed socket or client) or an unraisable exception in a finalizer fails the test.
    for item in items:
        if "tests/reliability/" in item.nodeid:
            item.add_marker(pytest.mark.filterwarnings("error"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "tests/reliability/" not in report.nodeid:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = report.outcome
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        stem = report.nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")
        with _FIGURES._lock:
            _FIGURES.tests[stem.removeprefix("test_")][outcome] += 1
            _FIGURES.results[report.nodeid] = outcome
            if hasattr(report, "wasxfail"):
                _FIGURES.notes[f"xfail: {report.nodeid.split('[')[0]}"] = report.wasxfail


def pytest_terminal_summary(terminalreporter: Any) -> None:
    data = _FIGURES.as_dict()
    if not data["counts"] and not data["tests"]:
        return
    terminalreporter.section("reliability figures")
    for category, whats in data["counts"].items():
        total = sum(whats.values())
        terminalreporter.write_line(f"{category}: {total}")
        for what, n in sorted(whats.items()):
            terminalreporter.write_line(f"    {what}: {n}")
    path = os.environ.get(FIGURES_ENV)
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")


# -- instant retries --------------------------------------------------------------------------


@pytest.fixture
def delays(sleeps: list[float]) -> list[float]:
    """Retries happen at once; each delay the client asked for is recorded (tests/conftest.py)."""
    return sleeps


@pytest.fixture
def mock_client(make_client: Callable[..., Any]) -> Callable[..., Any]:
    """mock_client(handler, **kwargs): tests/conftest.py's make_client with this suite's key."""
    return functools.partial(make_client, api_key=API_KEY)
