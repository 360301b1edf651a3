"""The rate budget benchmark measures against the issue's ideal. Its runs are slow (worker
processes, real seconds): CI runs ``benchmarks/rate_budget.py --smoke``; this checks only its
arithmetic, in-process."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def rate_budget_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "rate_budget_benchmark", REPO / "benchmarks" / "rate_budget.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_ideal_is_the_issues_from_the_budgets_own_reserve() -> None:
    bench = rate_budget_benchmark()
    # B = 8 of L = 10 (BULK_RESERVE 0.2); (ceil(N / B) - 1) x W: 14 s for 60, 8 s for 40.
    assert bench.bulk_share(10) == 8
    assert bench.ideal_seconds(60, 10, 2.0) == 14.0
    assert bench.ideal_seconds(40, 10, 2.0) == 8.0
    assert bench.ideal_seconds(8, 10, 2.0) == 0.0  # one window's share starts at once


def test_workers_share_the_ids_and_p95_is_nearest_rank() -> None:
    bench = rate_budget_benchmark()
    ids = bench.invoice_ids(1, 60)
    parts = bench.split(ids, 4)
    assert [len(part) for part in parts] == [15, 15, 15, 15]
    assert [i for part in parts for i in part] == ids and len(set(ids)) == 60
    assert bench.p95([0.1] * 12 + [2.0]) == 2.0  # 13 calls: the slowest one
    assert bench.p95([float(n) for n in range(1, 21)]) == 19.0
