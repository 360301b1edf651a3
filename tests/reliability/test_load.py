"""Load: one sync client shared by 8 threads and one async client with 64 concurrent tasks,
10,000 requests each against the loopback fake with faults injected. Zero wrong results,
every failure a typed error, no leaked sockets, file descriptors, threads or
ResourceWarnings afterwards.

``MKP_LOAD_REQUESTS`` changes the number of requests per client (default 10,000).
"""

from __future__ import annotations

import asyncio
import collections
import gc
import os
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from mijnklantportaal import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncMijnKlantportaal,
    InternalServerError,
    Invoice,
    MijnKlantportaal,
    MijnKlantportaalError,
    RateLimitError,
)
from mijnklantportaal.testing import FakeMijnKlantportaal, Fault
from reliability_helpers import API_KEY

# load: the heavy part; slow as well, so CI's quick "oldest dependencies" pass skips it
# (the main CI pass runs everything).
pytestmark = [
    pytest.mark.load,
    pytest.mark.slow,
    pytest.mark.filterwarnings("error::ResourceWarning"),
]

REQUESTS = int(os.environ.get("MKP_LOAD_REQUESTS", "10000"))
INVOICES = 64

# Every n-th request the fake receives gets the fault (primes, so they interleave).
FAULT_RULES: list[tuple[int, Fault]] = [
    (7, Fault.status(503)),
    (11, Fault.rate_limited(1)),
    (13, Fault.drop()),
    (17, Fault.truncated()),
    (19, Fault.html(520)),
    (23, Fault.latency(0.02)),
    (97, Fault.non_json()),
]
# What a call may end in when its retries run out (or, for a non-JSON 200, at once).
ALLOWED_ERRORS = (
    InternalServerError,
    RateLimitError,
    APIConnectionError,
    APIResponseValidationError,
)


def invoice_json(n: int) -> dict[str, Any]:
    return {
        "id": f"fac_load{n:04d}",
        "invoiceNumber": f"MKP-{n}",
        "currency": "EUR",
        "subtotalAmount": f"{n}.{n:02d}",
        "vatAmount": f"-{n}.{n:03d}0",
        "totalAmount": f"1234567890123456789.{n:06d}",
        "lines": [
            {
                "id": f"fcl_load{n:04d}",
                "quantity": n,
                "amountExclVat": f"{n * 100}.{n % 10}5",
                "vatRate": "21" if n % 2 else "9",
            }
        ],
    }


def check_invoice(invoice: Invoice, n: int) -> bool:
    """True when ``invoice`` is exactly invoice ``n`` (never another request's answer)."""
    data = invoice_json(n)
    line = invoice.lines[0] if invoice.lines else None
    return (
        invoice.id == data["id"]
        and invoice.invoice_number == data["invoiceNumber"]
        and _same(invoice.subtotal_amount, data["subtotalAmount"])
        and _same(invoice.vat_amount, data["vatAmount"])
        and _same(invoice.total_amount, data["totalAmount"])
        and line is not None
        and line.id == data["lines"][0]["id"]
        and line.quantity == n
        and _same(line.amount_excl_vat, data["lines"][0]["amountExclVat"])
        and _same(line.vat_rate, data["lines"][0]["vatRate"])
    )


def _same(value: Decimal | None, text: str) -> bool:
    return value is not None and value.as_tuple() == Decimal(text).as_tuple()


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
def fake() -> FakeMijnKlantportaal:
    fake = FakeMijnKlantportaal(api_key=API_KEY, rate_limit=None)
    for n in range(INVOICES):
        fake.add_invoice(invoice_json(n))
    for every, fault in FAULT_RULES:
        fake.fail_every(every, fault)
    return fake


@pytest.fixture
def leak_check() -> Iterator[None]:
    gc.collect()
    fds, threads = open_fds(), threading.active_count()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
    deadline = time.monotonic() + 5
    while (open_fds() - fds or threading.active_count() > threads) and time.monotonic() < deadline:
        time.sleep(0.05)  # server threads finish closing their sockets
    assert open_fds() - fds == set(), "file descriptors leaked"
    assert threading.active_count() <= threads, "threads leaked"


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok = 0
        self.wrong: list[str] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.untyped: list[str] = []

    def record(self, n: int, result: Any) -> None:
        with self.lock:
            if isinstance(result, Invoice):
                if check_invoice(result, n):
                    self.ok += 1
                else:
                    self.wrong.append(f"request for {n} got {result!r}")
            elif isinstance(result, ALLOWED_ERRORS):
                self.errors[type(result).__name__] += 1
            else:
                self.untyped.append(f"{type(result).__name__}: {result}")


def report(
    figures: Any, kind: str, fake: FakeMijnKlantportaal, tally: Tally, seconds: float
) -> None:
    seen = fake.requests
    faults = sum(1 for r in seen if r.fault is not None)
    figures.count("load", f"client calls ({kind})", REQUESTS)
    figures.count("load", f"HTTP requests incl. retries ({kind})", len(seen))
    figures.count("load", f"faults injected ({kind})", faults)
    figures.count(
        "load", f"checked: calls ending in a typed error ({kind})", sum(tally.errors.values())
    )
    figures.count("load", f"checked: wrong results ({kind})", len(tally.wrong))
    figures.count("load", f"checked: untyped errors ({kind})", len(tally.untyped))
    figures.note(f"load {kind}: seconds", round(seconds, 1))
    figures.note(f"load {kind}: typed errors", dict(sorted(tally.errors.items())))
    assert tally.wrong == [], tally.wrong[:5]
    assert tally.untyped == [], tally.untyped[:5]
    assert tally.ok + sum(tally.errors.values()) == REQUESTS
    assert faults > REQUESTS // 5
    assert tally.ok > REQUESTS * 0.8


def test_sync_client_from_8_threads(
    fake: FakeMijnKlantportaal, delays: list[float], leak_check: None, figures: Any
) -> None:
    tally = Tally()
    started = time.monotonic()
    with fake.serve() as base_url:
        with MijnKlantportaal(
            api_key=API_KEY, base_url=base_url, timeout=10, rate_budget=None
        ) as client:

            def work(worker: int) -> None:
                for i in range(worker, REQUESTS, 8):
                    n = i % INVOICES
                    try:
                        result: Any = client.invoices.get(f"fac_load{n:04d}")
                    except MijnKlantportaalError as error:
                        result = error
                    except Exception as error:  # counted, then failed on below
                        result = error
                    tally.record(n, result)

            with ThreadPoolExecutor(8) as pool:
                list(pool.map(work, range(8)))
    report(figures, "sync", fake, tally, time.monotonic() - started)
    assert len(delays) == len(fake.requests) - REQUESTS  # one delay per retry, all instant


def test_async_client_with_64_tasks(
    fake: FakeMijnKlantportaal, delays: list[float], leak_check: None, figures: Any
) -> None:
    tally = Tally()
    started = time.monotonic()

    async def main(base_url: str) -> None:
        async with AsyncMijnKlantportaal(
            api_key=API_KEY, base_url=base_url, timeout=10, rate_budget=None
        ) as client:

            async def work(worker: int) -> None:
                for i in range(worker, REQUESTS, 64):
                    n = i % INVOICES
                    try:
                        result: Any = await client.invoices.get(f"fac_load{n:04d}")
                    except MijnKlantportaalError as error:
                        result = error
                    except Exception as error:  # counted, then failed on below
                        result = error
                    tally.record(n, result)

            await asyncio.gather(*(work(w) for w in range(64)))

    with fake.serve() as base_url:
        asyncio.run(main(base_url))
    report(figures, "async", fake, tally, time.monotonic() - started)
    assert len(delays) == len(fake.requests) - REQUESTS
