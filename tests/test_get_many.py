"""``client.invoices.get_many``, through the public API, sync and async: the whole stream in
input order at the bulk share of a real rate limit with zero 429s, one error value per failed
id, no more sending once the consumer stops, lazy input, and interactive calls that still
start at once while it runs (bulk work leaves the budget's reserve)."""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Literal

import pytest
from mijnklantportaal import (
    AsyncMijnKlantportaal,
    InvalidArgumentError,
    Invoice,
    LocalRateBudget,
    MijnKlantportaal,
    NotFoundError,
)
from mijnklantportaal.testing import EXAMPLE_INVOICE_ID, FakeMijnKlantportaal, Fault

Flavor = Literal["sync", "async"]
LIMIT, WINDOW = 10, 1.0
BULK_PER_WINDOW = math.floor(LIMIT * 0.8)  # the default reserve leaves 2 of 10 to interactive


@pytest.fixture(params=["sync", "async"])
def flavor(request: pytest.FixtureRequest) -> Flavor:
    value: Flavor = request.param
    return value


@pytest.fixture
def limited() -> Iterator[tuple[FakeMijnKlantportaal, str]]:
    """A fake over loopback that allows 10 requests per rolling second, holding 40 invoices."""
    fake = FakeMijnKlantportaal(rate_limit=LIMIT, rate_window=WINDOW, invoices=40)
    with fake.serve() as base_url:
        yield fake, base_url


def sync_client(fake: FakeMijnKlantportaal, base_url: str | None) -> MijnKlantportaal:
    """Over loopback with a budget sized as the fake's limit; in-process without a budget."""
    if base_url is None:
        return fake.client(rate_budget=None)
    budget = LocalRateBudget(limit=LIMIT, window=WINDOW)
    return MijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=budget)


def async_client(fake: FakeMijnKlantportaal, base_url: str | None) -> AsyncMijnKlantportaal:
    if base_url is None:
        return fake.async_client(rate_budget=None)
    budget = LocalRateBudget(limit=LIMIT, window=WINDOW)
    return AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=budget)


def get_many(
    flavor: Flavor,
    fake: FakeMijnKlantportaal,
    base_url: str | None,
    ids: Iterable[str],
    *,
    take: int | None = None,
) -> list[tuple[str, Any]]:
    """``client.invoices.get_many(ids)`` in a plain ``for`` (``async for``) loop, left with
    ``break`` after ``take`` pairs (or run to the end when ``take`` is None)."""
    pairs: list[tuple[str, Any]] = []
    if flavor == "sync":
        with sync_client(fake, base_url) as client:
            for pair in client.invoices.get_many(ids):
                pairs.append(pair)
                if len(pairs) == take:
                    break
        return pairs

    async def run() -> list[tuple[str, Any]]:
        async with async_client(fake, base_url) as client:
            async for pair in client.invoices.get_many(ids):
                pairs.append(pair)
                if len(pairs) == take:
                    break
        return pairs

    return asyncio.run(run())


def served(fake: FakeMijnKlantportaal, invoice_id: str) -> Invoice:
    """The invoice as the fake serves it (money as the spec's strings, parsed exactly)."""
    return Invoice.from_dict(fake.invoice_json(invoice_id, money_as="string"))


def statuses(fake: FakeMijnKlantportaal) -> list[int | None]:
    return [request.status for request in fake.requests]


class Source:
    """Ids from a generator that counts how many were pulled."""

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = ids
        self.pulled = 0

    def __iter__(self) -> Iterator[str]:
        for invoice_id in self.ids:
            self.pulled += 1
            yield invoice_id


def test_all_40_in_input_order_at_the_bulk_rate_with_zero_429s(
    flavor: Flavor, limited: tuple[FakeMijnKlantportaal, str]
) -> None:
    fake, base_url = limited
    ids = fake.invoice_ids
    random.Random(13).shuffle(ids)  # input order, not the fake's
    started = time.monotonic()
    pairs = get_many(flavor, fake, base_url, iter(ids))
    elapsed = time.monotonic() - started
    assert [invoice_id for invoice_id, _ in pairs] == ids
    for invoice_id, result in pairs:
        assert isinstance(result, Invoice) and result == served(fake, invoice_id)
    assert statuses(fake) == [200] * 40  # zero 429s: nothing was sent that was doomed
    # Bulk gets floor(10 * 0.8) = 8 starts a window: ideal (ceil(40/8) - 1) * 1 s = 4 s.
    ideal = (math.ceil(40 / BULK_PER_WINDOW) - 1) * WINDOW
    assert ideal * 0.9 < elapsed < ideal * 1.6 + 1, elapsed


def test_a_missing_and_a_malformed_id_are_one_error_each_and_the_rest_succeed(
    flavor: Flavor,
) -> None:
    fake = FakeMijnKlantportaal(rate_limit=None, invoices=6)
    good = fake.invoice_ids
    ids = [*good[:2], "fac_missing000001", *good[2:4], "inv_123", *good[4:]]
    pairs = get_many(flavor, fake, None, ids)
    assert [invoice_id for invoice_id, _ in pairs] == ids
    results = dict(pairs)
    assert isinstance(results["fac_missing000001"], NotFoundError)
    assert results["fac_missing000001"].status_code == 404
    assert isinstance(results["inv_123"], InvalidArgumentError)
    assert "fac_" in str(results["inv_123"])  # says what an invoice id looks like
    assert all(results[invoice_id] == served(fake, invoice_id) for invoice_id in good)
    sent = [request.invoice_id for request in fake.requests]
    assert sorted(sent) == sorted([*good, "fac_missing000001"])  # the malformed one never


def test_stopping_early_stops_sending_and_leaves_the_rest_of_the_input_unread(
    flavor: Flavor,
) -> None:
    fake = FakeMijnKlantportaal(rate_limit=None, invoices=200)
    fake.fail_every(1, Fault.latency(0.02))  # calls still in flight when the consumer stops
    source = Source(fake.invoice_ids)
    pairs = get_many(flavor, fake, None, source, take=5)
    assert [invoice_id for invoice_id, _ in pairs] == fake.invoice_ids[:5]
    held = 2 * 4  # the default concurrency of 4, and as many ids queued behind them
    assert source.pulled <= 5 + held
    time.sleep(0.3)  # any call that was going to be sent has been by now
    sent = len(fake.requests)
    time.sleep(0.5)
    assert len(fake.requests) == sent <= 5 + held  # and nothing more after


def test_the_input_is_read_lazily_from_an_endless_generator(flavor: Flavor) -> None:
    fake = FakeMijnKlantportaal(rate_limit=None, invoices=3)
    source = Source(itertools.cycle(fake.invoice_ids))  # never ends
    pairs = get_many(flavor, fake, None, source, take=7)
    assert [result for _, result in pairs] == [
        served(fake, invoice_id) for invoice_id in itertools.islice(fake.invoice_ids * 3, 7)
    ]
    assert 7 <= source.pulled <= 7 + 2 * 4


def p95(values: list[float]) -> float:
    return sorted(values)[math.ceil(0.95 * len(values)) - 1]


# Interactive calls 0.55 s apart: never more than the 2 reserved starts in any window.
INTERACTIVE_CALLS, INTERACTIVE_GAP, INTERACTIVE_FROM = 8, 0.55, 0.5


def test_interactive_calls_start_at_once_while_get_many_saturates_the_budget(
    flavor: Flavor, limited: tuple[FakeMijnKlantportaal, str]
) -> None:
    """On the same client, ``get`` calls made while a ``get_many`` of 40 runs at its full
    share start within a quarter of the window: bulk work leaves the reserve free."""
    fake, base_url = limited
    ids = fake.invoice_ids
    fake.add_example_invoice()
    if flavor == "sync":
        delays, bulk_ended, last_call = interactive_while_bulk_sync(fake, base_url, ids)
    else:
        delays, bulk_ended, last_call = asyncio.run(
            interactive_while_bulk_async(fake, base_url, ids)
        )
    assert bulk_ended > last_call  # every interactive call was made while bulk ran
    assert p95(delays) <= 0.25 * WINDOW, delays
    assert 429 not in statuses(fake) and len(fake.requests) == 40 + INTERACTIVE_CALLS


def interactive_while_bulk_sync(
    fake: FakeMijnKlantportaal, base_url: str, ids: list[str]
) -> tuple[list[float], float, float]:
    delays: list[float] = []
    results: list[tuple[str, Any]] = []
    ended: list[float] = []
    with sync_client(fake, base_url) as client:

        def bulk() -> None:
            results.extend(client.invoices.get_many(ids))
            ended.append(time.monotonic())

        worker = threading.Thread(target=bulk)
        worker.start()
        time.sleep(INTERACTIVE_FROM)  # bulk has taken its 8 starts of the first window
        for _ in range(INTERACTIVE_CALLS):
            called = time.monotonic()
            client.invoices.get(EXAMPLE_INVOICE_ID)
            delays.append(time.monotonic() - called)
            time.sleep(INTERACTIVE_GAP)
        last_call = called
        worker.join(timeout=60)
    (bulk_ended,) = ended
    assert [invoice_id for invoice_id, _ in results] == ids
    assert all(isinstance(result, Invoice) for _, result in results)
    return delays, bulk_ended, last_call


async def interactive_while_bulk_async(
    fake: FakeMijnKlantportaal, base_url: str, ids: list[str]
) -> tuple[list[float], float, float]:
    delays: list[float] = []
    async with async_client(fake, base_url) as client:

        async def bulk() -> tuple[list[tuple[str, Any]], float]:
            stream: AsyncIterator[tuple[str, Any]] = client.invoices.get_many(ids)
            pairs = [pair async for pair in stream]
            return pairs, time.monotonic()

        task = asyncio.ensure_future(bulk())
        await asyncio.sleep(INTERACTIVE_FROM)
        for _ in range(INTERACTIVE_CALLS):
            called = time.monotonic()
            await client.invoices.get(EXAMPLE_INVOICE_ID)
            delays.append(time.monotonic() - called)
            await asyncio.sleep(INTERACTIVE_GAP)
        last_call = called
        results, bulk_ended = await asyncio.wait_for(task, timeout=60)
    assert [invoice_id for invoice_id, _ in results] == ids
    assert all(isinstance(result, Invoice) for _, result in results)
    return delays, bulk_ended, last_call
