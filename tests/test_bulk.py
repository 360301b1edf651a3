"""fetch_many / afetch_many: input order as a stream, bounded memory and concurrency, one error
per failed id, and no call or thread left behind when the consumer stops early."""

from __future__ import annotations

import asyncio
import gc
import signal
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mijnklantportaal import (
    InvalidArgumentError,
    Invoice,
    MijnKlantportaalError,
    NotFoundError,
    RateLimitError,
)
from mijnklantportaal._bulk import THREAD_NAME_PREFIX, afetch_many, fetch_many
from mijnklantportaal._constants import BULK_LOOKAHEAD_FACTOR
from mijnklantportaal.testing import EXAMPLE_INVOICE, FakeMijnKlantportaal, Fault

MANY = 100_000


def invoice_ids(n: int) -> list[str]:
    return [f"fac_bulk{i:06d}" for i in range(n)]


@pytest.fixture
def fake() -> FakeMijnKlantportaal:
    fake = FakeMijnKlantportaal(rate_limit=None)
    for invoice_id in invoice_ids(20):
        fake.add_invoice({**EXAMPLE_INVOICE, "id": invoice_id})
    return fake


def bulk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]


def wait_for_no_bulk_threads(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while bulk_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert bulk_threads() == []


class Source:
    """A lazy id generator that counts how many ids were pulled from it."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.pulled = 0

    def __iter__(self) -> Iterator[str]:
        for i in range(self.n):
            self.pulled += 1
            yield f"fac_{i}"

    async def __aiter__(self) -> AsyncIterator[str]:
        for i in range(self.n):
            self.pulled += 1
            yield f"fac_{i}"


# -- sync -------------------------------------------------------------------------------------


def test_results_come_in_input_order_with_one_typed_error_per_failed_id(
    fake: FakeMijnKlantportaal,
) -> None:
    ids = invoice_ids(20)
    ids[3] = "fac_missing000001"  # 404
    ids[7] = "fac_bad/id"  # refused before sending
    ids[11] = "fac_missing000002"
    with fake.client(max_retries=0) as client:
        fake.fail_every(13, Fault.rate_limited(retry_after=1), times=1)  # one 429, no retry
        results = list(fetch_many(client.invoices.get, ids, concurrency=4))
    assert [invoice_id for invoice_id, _ in results] == ids
    errors = {i: type(r) for i, (_, r) in enumerate(results) if isinstance(r, Exception)}
    assert errors.pop(3) is NotFoundError and errors.pop(11) is NotFoundError
    assert errors.pop(7) is InvalidArgumentError
    assert list(errors.values()) == [RateLimitError]  # the 13th request sent, whichever id
    for invoice_id, result in results:
        if not isinstance(result, MijnKlantportaalError):
            assert isinstance(result, Invoice) and result.id == invoice_id
    assert len(fake.requests) == 19  # the malformed id was never sent


def test_order_holds_when_later_ids_finish_first() -> None:
    def fetch(invoice_id: str) -> str:
        time.sleep(0.002 * (10 - int(invoice_id[4:]) % 10))  # the first of each ten is slowest
        return invoice_id.upper()

    ids = [f"fac_{i}" for i in range(40)]
    assert list(fetch_many(fetch, ids, concurrency=8)) == [(i, i.upper()) for i in ids]


def test_at_most_concurrency_calls_run_at_once() -> None:
    lock = threading.Lock()
    running = 0
    peak = 0

    def fetch(invoice_id: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.005)
        with lock:
            running -= 1
        return invoice_id

    assert len(list(fetch_many(fetch, Source(60), concurrency=3))) == 60
    assert peak == 3
    wait_for_no_bulk_threads()


def test_ids_are_read_lazily_and_a_consumer_can_stop_early() -> None:
    source = Source(MANY)
    generator = iter(source)
    stream = fetch_many(str.upper, generator, concurrency=4)
    assert source.pulled == 0  # nothing starts before the iteration does
    first = [next(stream) for _ in range(10)]
    assert first == [(f"fac_{i}", f"FAC_{i}") for i in range(10)]
    stream.close()
    assert source.pulled <= 10 + BULK_LOOKAHEAD_FACTOR * 4
    assert next(generator) == f"fac_{source.pulled - 1}"  # the input is not exhausted
    wait_for_no_bulk_threads()


def test_a_long_stream_runs_in_bounded_memory() -> None:
    def ids() -> Iterator[str]:
        for i in range(MANY):
            yield f"fac_{i:012d}"

    count = 0
    gc.collect()
    tracemalloc.start()
    try:
        for invoice_id, result in fetch_many(str.upper, ids(), concurrency=4):
            count += 1
            assert result == invoice_id.upper()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == MANY
    # 100,000 ids or results held at once would be well over 10 MB; the window is 8.
    assert peak < 1_000_000, peak


def test_closing_early_cancels_queued_calls_without_waiting_for_running_ones() -> None:
    release = threading.Event()
    started: list[str] = []

    def fetch(invoice_id: str) -> str:
        started.append(invoice_id)
        if invoice_id != "fac_0":
            release.wait(10)
        return invoice_id

    stream = fetch_many(fetch, Source(1000), concurrency=4)
    assert next(stream) == ("fac_0", "fac_0")
    time.sleep(0.1)  # the other three workers are now stuck in calls
    began = time.monotonic()
    stream.close()
    assert time.monotonic() - began < 2  # did not wait for the blocked calls
    release.set()
    wait_for_no_bulk_threads()
    assert sorted(started) == ["fac_0", "fac_1", "fac_2", "fac_3", "fac_4"]  # queued: never run


def test_ctrl_c_while_waiting_stops_the_pool_and_leaves_no_thread() -> None:
    release = threading.Event()
    started: list[str] = []

    def fetch(invoice_id: str) -> str:
        started.append(invoice_id)
        release.wait(10)
        return invoice_id

    main = threading.main_thread().ident
    assert main == threading.get_ident()
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for _ in fetch_many(fetch, Source(1000), concurrency=2):
            pass
    assert time.monotonic() - began < 3
    release.set()
    wait_for_no_bulk_threads()
    assert sorted(started) == ["fac_0", "fac_1"]


@pytest.mark.parametrize("error", [ValueError("a bug"), KeyboardInterrupt()])
def test_what_is_not_a_client_error_ends_the_stream(error: BaseException) -> None:
    def fetch(invoice_id: str) -> str:
        if invoice_id == "fac_5":
            raise error
        return invoice_id

    seen: list[str] = []
    with pytest.raises(type(error)):
        for invoice_id, _ in fetch_many(fetch, Source(1000), concurrency=4):
            seen.append(invoice_id)
    assert seen == [f"fac_{i}" for i in range(5)]
    wait_for_no_bulk_threads()


@pytest.mark.parametrize("concurrency", [0, 65, -1, True, 2.0, "4", None])
def test_a_bad_concurrency_is_refused_before_anything_runs(concurrency: Any) -> None:
    calls: list[str] = []
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        fetch_many(calls.append, ["fac_1"], concurrency=concurrency)
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        afetch_many(calls.append, ["fac_1"], concurrency=concurrency)  # type: ignore[arg-type]
    assert calls == []


def test_one_id_as_a_string_is_refused_rather_than_fetched_per_character() -> None:
    with pytest.raises(InvalidArgumentError, match=r"pass \['fac_abc'\]"):
        fetch_many(str.upper, "fac_abc", concurrency=2)
    with pytest.raises(InvalidArgumentError, match="iterable"):
        fetch_many(str.upper, 42, concurrency=2)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="use afetch_many"):
        fetch_many(str.upper, Source(3).__aiter__(), concurrency=2)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match=r"pass \['fac_abc'\]"):
        afetch_many(str.upper, "fac_abc", concurrency=2)  # type: ignore[arg-type]


def test_limits_are_accepted_at_both_ends() -> None:
    assert list(fetch_many(str.upper, ["fac_a"], concurrency=1)) == [("fac_a", "FAC_A")]
    assert len(list(fetch_many(str.upper, Source(100), concurrency=64))) == 100
    wait_for_no_bulk_threads()


# -- async ------------------------------------------------------------------------------------


def test_async_results_come_in_input_order_with_one_typed_error_per_failed_id(
    fake: FakeMijnKlantportaal,
) -> None:
    ids = invoice_ids(20)
    ids[3] = "fac_missing000001"
    ids[7] = "fac_bad/id"

    async def run() -> list[tuple[str, Invoice | MijnKlantportaalError]]:
        async with fake.async_client(max_retries=0) as client:
            return [r async for r in afetch_many(client.invoices.get, ids, concurrency=4)]

    results = asyncio.run(run())
    assert [invoice_id for invoice_id, _ in results] == ids
    assert isinstance(results[3][1], NotFoundError)
    assert isinstance(results[7][1], InvalidArgumentError)
    good = [r for i, (_, r) in enumerate(results) if i not in (3, 7)]
    assert all(isinstance(r, Invoice) for r in good)
    assert [r.id for r in good if isinstance(r, Invoice)] == [
        i for n, i in enumerate(ids) if n not in (3, 7)
    ]


def test_async_order_and_concurrency_bound_with_an_async_iterable() -> None:
    running = 0
    peak = 0

    async def fetch(invoice_id: str) -> str:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.001 * (10 - int(invoice_id[4:]) % 10))
        running -= 1
        return invoice_id.upper()

    async def run() -> list[tuple[str, str | MijnKlantportaalError]]:
        return [r async for r in afetch_many(fetch, Source(50), concurrency=3)]

    assert asyncio.run(run()) == [(f"fac_{i}", f"FAC_{i}") for i in range(50)]
    assert peak == 3


def test_async_ids_are_read_lazily_and_memory_stays_bounded() -> None:
    async def upper(invoice_id: str) -> str:
        return invoice_id.upper()

    async def stop_early(source: Source) -> list[tuple[str, str | MijnKlantportaalError]]:
        stream = afetch_many(upper, source, concurrency=4)
        first = [await anext(stream) for _ in range(10)]
        await stream.aclose()  # type: ignore[attr-defined]
        return first

    source = Source(MANY)
    assert asyncio.run(stop_early(source)) == [(f"fac_{i}", f"FAC_{i}") for i in range(10)]
    assert source.pulled <= 10 + BULK_LOOKAHEAD_FACTOR * 4

    async def drain() -> tuple[int, int]:
        count = 0
        async for invoice_id, result in afetch_many(upper, Source(MANY), concurrency=4):
            count += 1
            assert result == invoice_id.upper()
        return count, tracemalloc.get_traced_memory()[1]

    gc.collect()
    tracemalloc.start()
    try:
        count, peak = asyncio.run(drain())
    finally:
        tracemalloc.stop()
    assert count == MANY
    assert peak < 1_000_000, peak  # all ids or results at once would be over 10 MB


def test_async_aclose_cancels_running_and_queued_calls() -> None:
    started: list[str] = []
    cancelled: list[str] = []

    async def fetch(invoice_id: str) -> str:
        started.append(invoice_id)
        if invoice_id != "fac_0":
            try:
                await asyncio.Event().wait()  # forever
            except asyncio.CancelledError:
                cancelled.append(invoice_id)
                raise
        return invoice_id

    async def run() -> set[asyncio.Task[Any]]:
        stream = afetch_many(fetch, Source(1000), concurrency=4)
        assert await anext(stream) == ("fac_0", "fac_0")
        await asyncio.sleep(0.05)
        await stream.aclose()  # type: ignore[attr-defined]
        return asyncio.all_tasks() - {asyncio.current_task()}  # type: ignore[operator]

    assert asyncio.run(run()) == set()  # nothing left running
    assert sorted(started) == ["fac_0", "fac_1", "fac_2", "fac_3", "fac_4"]
    assert sorted(cancelled) == ["fac_1", "fac_2", "fac_3", "fac_4"]


def test_async_a_bug_ends_the_stream_and_cancels_the_rest() -> None:
    cancelled: list[str] = []

    async def fetch(invoice_id: str) -> str:
        if invoice_id == "fac_2":
            raise ValueError("a bug")
        if invoice_id != "fac_0" and invoice_id != "fac_1":
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(invoice_id)
                raise
        return invoice_id

    async def run() -> list[str]:
        seen: list[str] = []
        with pytest.raises(ValueError, match="a bug"):
            async for invoice_id, _ in afetch_many(fetch, Source(100), concurrency=4):
                seen.append(invoice_id)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return seen

    began = time.monotonic()
    assert asyncio.run(run()) == ["fac_0", "fac_1"]
    assert time.monotonic() - began < 3
    assert cancelled  # the calls behind it were cancelled, not awaited


def test_async_a_cancelled_consumer_leaves_no_task_behind() -> None:
    async def fetch(invoice_id: str) -> str:
        await asyncio.sleep(0 if invoice_id == "fac_0" else 10)
        return invoice_id

    async def run() -> list[str]:
        seen: list[str] = []
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                async for invoice_id, _ in afetch_many(fetch, Source(100), concurrency=4):
                    seen.append(invoice_id)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return seen

    began = time.monotonic()
    assert asyncio.run(run()) == ["fac_0"]
    assert time.monotonic() - began < 3
