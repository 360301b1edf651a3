"""LocalRateBudget in real time, on small windows: threads and asyncio tasks share one budget.

Bounds are generous; what must hold exactly is counted on the recorded start times the way
the server counts them (a rolling, half-open window).
"""

from __future__ import annotations

import asyncio
import math
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from _budget_support import most_in_any_window
from hypothesis import given, settings
from hypothesis import strategies as st
from mijnklantportaal import ConfigurationError, MijnKlantportaalError
from mijnklantportaal._budget import BudgetExhausted, LocalRateBudget, RateBudget, key_id_for
from mijnklantportaal._budget._common import earliest_start

KEY = key_id_for("mkp_test_key_0123456789abcdef")
# A margin of 0.1 s on a 0.5 s window absorbs a thread being scheduled late on a busy machine,
# so a count over the recorded times (taken just after acquire returns) is a fair check.
LIMIT, WINDOW, MARGIN = 5, 0.5, 0.1


def budget(**kwargs: object) -> LocalRateBudget:
    options: dict[str, object] = {"safety_margin": MARGIN}
    options.update(kwargs)
    return LocalRateBudget(LIMIT, WINDOW, **options)  # type: ignore[arg-type]


def run_threads(count: int, target: Callable[[int], None], stagger: float = 0.0) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
        if stagger:
            time.sleep(stagger)
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_the_server_count_helper() -> None:
    assert most_in_any_window([], 1.0) == 0
    assert most_in_any_window([0.0, 0.5, 0.99], 1.0) == 3
    assert most_in_any_window([0.0, 0.5, 1.0, 1.4], 1.0) == 3  # 0.0 is out when 1.0 starts
    assert most_in_any_window([0.0, 2.0, 4.0], 1.0) == 1


def test_implements_the_protocol_and_keeps_no_key_text() -> None:
    rate = LocalRateBudget()
    assert isinstance(rate, RateBudget)
    assert (rate.limit, rate.window, rate.bulk_reserve) == (60, 60.0, 0.2)
    assert repr(rate) == "LocalRateBudget(limit=60, window=60.0, bulk_reserve=0.2)"
    assert "mkp_test_key" not in KEY and len(KEY) == 64


def test_threads_never_exceed_the_limit_in_any_window() -> None:
    rate = budget()
    starts: list[float] = []
    lock = threading.Lock()

    def work(_: int) -> None:
        for _ in range(2):
            rate.acquire(KEY, priority="interactive", max_wait=10)
            with lock:
                starts.append(time.monotonic())

    began = time.monotonic()
    run_threads(10, work)
    assert len(starts) == 20
    assert most_in_any_window(starts, WINDOW) == LIMIT
    # 20 starts at 5 a window: the last one in the 4th window, not later (full rate).
    assert time.monotonic() - began < 3 * (WINDOW + MARGIN) + 1.0


def test_asyncio_tasks_and_threads_share_one_budget() -> None:
    rate = budget()
    starts: list[float] = []
    lock = threading.Lock()

    def in_thread(_: int) -> None:
        rate.acquire(KEY, max_wait=10)
        with lock:
            starts.append(time.monotonic())

    async def in_task() -> None:
        await rate.acquire_async(KEY, max_wait=10)
        with lock:
            starts.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(in_task() for _ in range(8)))

    threads = [threading.Thread(target=in_thread, args=(i,)) for i in range(7)]
    for thread in threads:
        thread.start()
    asyncio.run(main())
    for thread in threads:
        thread.join(timeout=30)
    assert len(starts) == 15
    assert most_in_any_window(starts, WINDOW) == LIMIT


@pytest.mark.parametrize("priority", ["interactive", "bulk"])
def test_async_grants_come_in_arrival_order(priority: str) -> None:
    rate = budget()
    order: list[int] = []

    async def one(i: int) -> None:
        await rate.acquire_async(KEY, priority=priority, max_wait=10)  # type: ignore[arg-type]
        order.append(i)

    async def main() -> None:
        tasks = []
        for i in range(13):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(0.005)  # arrival order is creation order, a little apart
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert order == list(range(13))


def test_thread_grants_come_in_arrival_order() -> None:
    rate = budget()
    granted: list[tuple[float, int]] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        rate.acquire(KEY, max_wait=10)
        with lock:
            granted.append((time.monotonic(), i))

    run_threads(12, work, stagger=0.02)
    assert [i for _, i in sorted(granted)] == list(range(12))


def test_a_wait_past_max_wait_raises_at_once_and_reserves_nothing() -> None:
    rate = LocalRateBudget(2, 1.0, safety_margin=0.0)
    rate.acquire(KEY, max_wait=0)
    rate.acquire(KEY, max_wait=0)
    for _ in range(3):
        began = time.monotonic()
        with pytest.raises(BudgetExhausted) as caught:
            rate.acquire(KEY, max_wait=0.2)
        assert time.monotonic() - began < 0.1  # raised at once, no sleeping first
        assert 0.7 < caught.value.retry_after <= 1.0
        assert "max_rate_wait" in str(caught.value)
    # The refused calls took no start: the next two get the two freed at ~1 s, not later.
    began = time.monotonic()
    rate.acquire(KEY, max_wait=5)
    rate.acquire(KEY, max_wait=5)
    assert time.monotonic() - began < 1.5


def test_async_max_wait_raises_too() -> None:
    rate = LocalRateBudget(1, 1.0)

    async def main() -> float:
        await rate.acquire_async(KEY, max_wait=0)
        with pytest.raises(BudgetExhausted) as caught:
            await rate.acquire_async(KEY, max_wait=0.1)
        return caught.value.retry_after

    assert 0.8 < asyncio.run(main()) <= 1.1


def test_budget_exhausted_is_typed_and_pickles() -> None:
    error = BudgetExhausted(retry_after=1.5)
    assert isinstance(error, MijnKlantportaalError)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is BudgetExhausted and copy.retry_after == 1.5 and str(copy) == str(error)


def test_bulk_keeps_the_reserve_free_at_full_rate() -> None:
    rate = budget()  # limit 5, reserve 20 %: bulk gets 4 a window
    starts: list[float] = []

    async def one() -> None:
        await rate.acquire_async(KEY, priority="bulk", max_wait=10)
        starts.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(12)))

    began = time.monotonic()
    asyncio.run(main())
    assert most_in_any_window(starts, WINDOW) == 4
    assert time.monotonic() - began < 2 * (WINDOW + MARGIN) + 0.8  # 3 windows of 4


def test_interactive_calls_start_at_once_while_bulk_saturates() -> None:
    rate = budget()
    bulk_starts: list[float] = []
    waits: list[float] = []

    async def bulk() -> None:
        await rate.acquire_async(KEY, priority="bulk", max_wait=30)
        bulk_starts.append(time.monotonic())

    async def interactive() -> None:
        for _ in range(3):
            await asyncio.sleep(WINDOW + MARGIN)  # one reserved slot a window is free
            waits.append(await rate.acquire_async(KEY, priority="interactive", max_wait=30))

    async def main() -> None:
        jobs = [asyncio.create_task(bulk()) for _ in range(20)]
        await asyncio.sleep(0.01)
        await interactive()
        await asyncio.gather(*jobs)

    asyncio.run(main())
    assert len(waits) == 3
    assert max(waits) <= 0.25 * WINDOW  # while bulk was queued up for seconds
    assert bulk_starts[-1] - bulk_starts[0] > 3 * WINDOW  # bulk really was saturating
    assert most_in_any_window(bulk_starts, WINDOW) == 4


def test_a_cancelled_wait_gives_its_start_back() -> None:
    rate = LocalRateBudget(1, 1.0, safety_margin=0.0)

    async def main() -> float:
        await rate.acquire_async(KEY)
        waiting = asyncio.create_task(rate.acquire_async(KEY))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await rate.acquire_async(KEY)

    # The cancelled task had the start at ~1 s; the next call gets it instead of ~2 s.
    assert 0.7 < asyncio.run(main()) < 1.5


def test_keys_have_separate_budgets() -> None:
    rate = LocalRateBudget(1, 5.0)
    rate.acquire("a" * 64)
    began = time.monotonic()
    rate.acquire("b" * 64, max_wait=0)
    assert time.monotonic() - began < 0.1
    with pytest.raises(BudgetExhausted):
        rate.acquire("a" * 64, max_wait=1)


def test_keys_with_nothing_left_in_any_window_are_forgotten() -> None:
    rate = LocalRateBudget(5, 0.2, safety_margin=0.0)
    for i in range(50):
        rate.acquire(f"{i:064x}")
    assert len(rate._keys) == 50
    time.sleep(0.25)
    rate.acquire("f" * 64)  # the next booking sweeps out the 50 idle keys
    assert list(rate._keys) == ["f" * 64]


# -- learning from the server ---------------------------------------------------------------


def test_remaining_zero_with_a_reset_blocks_until_the_reset() -> None:
    rate = LocalRateBudget(5, 60.0)
    reset = time.time() + 0.6
    rate.observe(KEY, limit=5, remaining=0, reset_at=reset)
    began = time.monotonic()
    rate.acquire(KEY, max_wait=5)
    waited = time.monotonic() - began
    assert 0.4 < waited < 1.5


def test_starts_the_server_counted_from_elsewhere_are_booked() -> None:
    rate = LocalRateBudget(5, 1.0)
    rate.observe(KEY, limit=5, remaining=2, reset_at=None)  # 3 used by other processes
    rate.acquire(KEY, max_wait=0)
    rate.acquire(KEY, max_wait=0)
    with pytest.raises(BudgetExhausted):
        rate.acquire(KEY, max_wait=0.3)
    # The same headers again are not counted twice.
    rate.observe(KEY, limit=5, remaining=0, reset_at=None)
    with pytest.raises(BudgetExhausted) as caught:
        rate.acquire(KEY, max_wait=0.3)
    assert caught.value.retry_after <= 1.1


def test_a_lower_server_limit_wins_and_a_laxer_report_changes_nothing() -> None:
    rate = LocalRateBudget(5, 2.0)
    rate.observe(KEY, limit=100, remaining=100, reset_at=None)  # laxer: ignored
    rate.observe(KEY, limit=2, remaining=None, reset_at=None)
    rate.acquire(KEY, max_wait=0)
    rate.acquire(KEY, max_wait=0)
    with pytest.raises(BudgetExhausted):
        rate.acquire(KEY, max_wait=0.5)


def test_a_reset_time_may_be_a_datetime() -> None:
    from datetime import UTC, datetime, timedelta

    rate = LocalRateBudget(5, 60.0)
    rate.observe(KEY, limit=5, remaining=0, reset_at=datetime.now(UTC) + timedelta(seconds=0.5))
    with pytest.raises(BudgetExhausted) as caught:
        rate.acquire(KEY, max_wait=0.1)
    assert 0.2 < caught.value.retry_after <= 0.6


def test_penalize_blocks_the_key() -> None:
    rate = LocalRateBudget(5, 1.0)
    rate.penalize(KEY, 0.5)
    began = time.monotonic()
    rate.acquire(KEY, max_wait=5)
    assert 0.4 < time.monotonic() - began < 1.5
    rate.penalize(KEY, math.nan)  # nonsense is ignored, not an error
    rate.penalize(KEY, -1)


def test_a_sleeping_waiter_plans_again_when_the_server_gets_stricter() -> None:
    rate = LocalRateBudget(1, 0.5, safety_margin=0.0)
    rate.acquire(KEY)
    result: list[float] = []
    waiter = threading.Thread(target=lambda: result.append(rate.acquire(KEY, max_wait=5)))
    waiter.start()
    time.sleep(0.1)  # the waiter sleeps towards ~0.5 s
    rate.penalize(KEY, 1.0)  # until ~1.1 s
    waiter.join(timeout=10)
    assert result and 0.9 < result[0] < 2.0


def test_observe_async_and_penalize_async() -> None:
    rate = LocalRateBudget(5, 60.0)

    async def main() -> None:
        await rate.observe_async(KEY, limit=5, remaining=0, reset_at=time.time() + 30)
        await rate.penalize_async(KEY, 10)
        with pytest.raises(BudgetExhausted) as caught:
            await rate.acquire_async(KEY, max_wait=1)
        assert caught.value.retry_after > 20

    asyncio.run(main())


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be an int >= 1"),
        ({"limit": 2.5}, "limit must be an int >= 1"),
        ({"limit": True}, "limit must be an int >= 1"),
        ({"window": 0}, "window must be > 0"),
        ({"window": math.inf}, "window must be a finite number"),
        ({"window": "60"}, "window must be a finite number"),
        ({"bulk_reserve": 1.0}, "bulk_reserve must be >= 0 and < 1"),
        ({"bulk_reserve": -0.1}, "bulk_reserve must be >= 0"),
        ({"safety_margin": math.nan}, "safety_margin must be a finite number"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        LocalRateBudget(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_wait": -1}, "max_wait"),
        ({"max_wait": math.inf}, "max_wait"),
        ({"max_wait": math.nan}, "max_wait"),
        ({"priority": "urgent"}, "priority must be 'interactive' or 'bulk'"),
    ],
)
def test_bad_call_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    rate = LocalRateBudget()
    with pytest.raises(ConfigurationError, match=message):
        rate.acquire(KEY, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=message):
        asyncio.run(rate.acquire_async(KEY, **kwargs))  # type: ignore[arg-type]
    rate.acquire(KEY, max_wait=0)  # and nothing was booked: the whole budget is still there


def test_the_package_and_the_local_budget_work_without_redis() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import mijnklantportaal\n"
        "from mijnklantportaal._budget import LocalRateBudget, RedisRateBudget\n"
        "LocalRateBudget(2, 1.0).acquire('k', max_wait=0)\n"
        "try:\n"
        "    RedisRateBudget('redis://127.0.0.1:1')\n"
        "except mijnklantportaal.ConfigurationError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'mijnklantportaal[redis]'" in result.stdout


# -- the scheduling rule itself ------------------------------------------------------------


@st.composite
def schedules(draw: st.DrawFn) -> tuple[list[float], float, int, float]:
    """A booked schedule that keeps ``cap`` per window, and a moment to book one more."""
    span = 1.0
    cap = draw(st.integers(1, 6))
    starts: list[float] = []
    for t in draw(st.lists(st.floats(0, 6, allow_nan=False), max_size=30)):
        if earliest_start(sorted(starts), t, cap, span) == t:
            starts.append(t)
    return sorted(starts), draw(st.floats(0, 6, allow_nan=False)), cap, span


@settings(max_examples=300, deadline=None)
@given(schedules())
def test_earliest_start_is_allowed_and_nothing_earlier_is(
    case: tuple[list[float], float, int, float],
) -> None:
    starts, t0, cap, span = case
    t = earliest_start(starts, t0, cap, span)
    assert t >= t0
    assert most_in_any_window([*starts, t], span) <= cap
    # Where the allowed moments begin: t0, or a start plus the span. None before t is allowed.
    for candidate in [t0, *(s + span for s in starts)]:
        if t0 <= candidate < t:
            assert most_in_any_window([*starts, candidate], span) > cap


def test_earliest_start_ends_where_float_rounding_bites() -> None:
    # (1859.366983902625 + 0.6) - 1859.366983902625 < 0.6 in floats: a check written as a
    # difference kept finding the same blocking start and never returned.
    first = 1859.366983902625
    found: list[float] = []
    worker = threading.Thread(
        target=lambda: found.append(earliest_start([first], first, 1, 0.6)), daemon=True
    )
    worker.start()
    worker.join(timeout=5)
    assert found == [first + 0.6]
