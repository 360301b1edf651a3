"""Faults over real loopback HTTP: refused connections, resets and truncation mid-body,
servers slower than the timeout, bursts of 429 and 503. The client retries within its
budget, gives up with the right typed error, and never waits longer than its bounds.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import gzip
import os
import re
import socket
import time
from typing import Any

import pytest
from loopback import INVOICE_BODY, RawServer, closed_port, reset, response_bytes
from mijnklantportaal import (
    APIConnectionError,
    APITimeoutError,
    AsyncMijnKlantportaal,
    InternalServerError,
    Invoice,
    MijnKlantportaal,
    MijnKlantportaalError,
    RateLimitError,
)
from mijnklantportaal._constants import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    RETRY_JITTER,
)
from mijnklantportaal.testing import FakeMijnKlantportaal, Fault
from reliability_helpers import API_KEY, INVOICE_ID


def get(mode: str, base_url: str, **kwargs: Any) -> tuple[Any, float]:
    """One invoices.get over loopback with a fresh client: (result or error, seconds taken)."""
    kwargs.setdefault("api_key", API_KEY)
    # The reactive retry policy under test: no rate budget in front of it.
    kwargs.setdefault("rate_budget", None)
    started = time.monotonic()
    result: Any
    if mode == "sync":
        with MijnKlantportaal(base_url=base_url, **kwargs) as client:
            try:
                result = client.invoices.get(INVOICE_ID)
            except MijnKlantportaalError as error:
                result = error
    else:

        async def main() -> Any:
            async with AsyncMijnKlantportaal(base_url=base_url, **kwargs) as client:
                try:
                    return await client.invoices.get(INVOICE_ID)
                except MijnKlantportaalError as error:
                    return error

        result = asyncio.run(main())
    return result, time.monotonic() - started


def record(figures: Any, case: str, requests: int, faulted: int) -> None:
    figures.count("loopback faults", f"case: {case}")
    figures.count("loopback faults", "HTTP requests", requests)
    figures.count("loopback faults", "faults injected", faulted)


def assert_backoff(delays: list[float]) -> None:
    """Each delay within the documented exponential backoff with jitter."""
    for n, delay in enumerate(delays):
        cap = min(INITIAL_RETRY_DELAY * 2**n, MAX_RETRY_DELAY)
        assert cap * (1 - RETRY_JITTER) <= delay <= cap, (n, delay)


def ok(conn: socket.socket, attempt: int) -> bool:
    conn.sendall(response_bytes())
    return True


def fail_first(times: int, fault: Any) -> Any:
    def script(conn: socket.socket, attempt: int) -> bool:
        if attempt < times:
            return bool(fault(conn, attempt))
        return ok(conn, attempt)

    return script


def reset_mid_body(conn: socket.socket, attempt: int) -> bool:
    data = response_bytes()
    conn.sendall(data[: len(data) - 40])
    reset(conn)
    return False


def truncated_body(conn: socket.socket, attempt: int) -> bool:
    conn.sendall(response_bytes(content_length=len(INVOICE_BODY) + 500))
    return False


def dropped(conn: socket.socket, attempt: int) -> bool:
    return False


def reset_before_answer(conn: socket.socket, attempt: int) -> bool:
    reset(conn)
    return False


def garbage_status_line(conn: socket.socket, attempt: int) -> bool:
    conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    return False


def gzip_lying_length(conn: socket.socket, attempt: int) -> bool:
    body = gzip.compress(INVOICE_BODY)
    headers = [("Content-Encoding", "gzip")]
    conn.sendall(response_bytes(body=body, headers=headers, content_length=len(body) + 100))
    return False


def conflicting_lengths(conn: socket.socket, attempt: int) -> bool:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(INVOICE_BODY)}\r\nContent-Length: 5\r\n\r\n"
    conn.sendall(head.encode() + INVOICE_BODY)
    return False


def bad_chunked(conn: socket.socket, attempt: int) -> bool:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n0\r\n\r\n")
    return False


def status(code: int, **headers: str) -> Any:
    def script(conn: socket.socket, attempt: int) -> bool:
        pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
        conn.sendall(response_bytes(code, b'{"message":"busy"}', pairs))
        return True

    return script


FAULTS = {
    "reset mid-body": (reset_mid_body, APIConnectionError),
    "truncated body": (truncated_body, APIConnectionError),
    "dropped connection": (dropped, APIConnectionError),
    "reset before answer": (reset_before_answer, APIConnectionError),
    "not HTTP": (garbage_status_line, APIConnectionError),
    "gzip, Content-Length lies": (gzip_lying_length, APIConnectionError),
    "two Content-Lengths": (conflicting_lengths, APIConnectionError),
    "bad chunk size": (bad_chunked, APIConnectionError),
    "503 burst": (status(503), InternalServerError),
    "520 burst": (status(520), InternalServerError),
    "429 burst": (status(429, retry_after="1"), RateLimitError),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("recovers", [True, False], ids=["transient", "persistent"])
def test_fault_is_retried_within_budget_then_typed(
    mode: str, delays: list[float], fault: str, recovers: bool, figures: Any
) -> None:
    script, error = FAULTS[fault]
    budget = 2  # the default max_retries
    server = RawServer(fail_first(budget if recovers else 10**9, script))
    with server as base_url:
        result, elapsed = get(mode, base_url)
    kind = "transient" if recovers else "persistent"
    record(figures, f"{fault} ({kind})", server.attempts, budget if recovers else server.attempts)
    if recovers:
        assert type(result) is Invoice and str(result.total_amount) == "15.67"
    else:
        assert type(result) is error, f"{type(result).__name__}: {result}"
        assert re.search(r"after (2 retries|3 tries)", str(result)), str(result)
        assert ": ." not in str(result)  # an empty low-level message still says something
    assert len(delays) == budget and server.attempts == budget + 1
    if fault == "429 burst":
        assert delays == [1.0, 1.0]
    else:
        assert_backoff(delays)
    assert elapsed < 5  # the sleeps were instant; nothing else waits


def test_connection_refused_is_retried_then_connection_error(
    mode: str, delays: list[float], figures: Any
) -> None:
    result, elapsed = get(mode, f"http://127.0.0.1:{closed_port()}/v1", max_retries=3)
    record(figures, "connection refused", 4, 4)
    assert type(result) is APIConnectionError and "after 4 tries" in str(result)
    assert len(delays) == 3
    assert_backoff(delays)
    assert elapsed < 5


@pytest.mark.parametrize("max_retries", [0, 1])
def test_slow_server_past_the_timeout(
    mode: str, delays: list[float], max_retries: int, figures: Any
) -> None:
    timeout = 0.2

    def slow(conn: socket.socket, attempt: int) -> bool:
        time.sleep(0.7)
        return False

    with RawServer(slow) as base_url:
        result, elapsed = get(mode, base_url, timeout=timeout, max_retries=max_retries)
    record(figures, "slow server past the timeout", max_retries + 1, max_retries + 1)
    assert type(result) is APITimeoutError, f"{type(result).__name__}: {result}"
    assert len(delays) == max_retries
    # Each try waits no longer than the timeout (plus scheduling slack).
    assert elapsed < (max_retries + 1) * timeout + 0.5


def test_slow_but_within_timeout_succeeds(mode: str, delays: list[float]) -> None:
    def slow(conn: socket.socket, attempt: int) -> bool:
        time.sleep(0.1)
        return ok(conn, attempt)

    with RawServer(slow) as base_url:
        result, _ = get(mode, base_url, timeout=2.0)
    assert type(result) is Invoice and delays == []


def test_many_retries_never_exceed_the_backoff_cap(
    mode: str, delays: list[float], figures: Any
) -> None:
    with RawServer(status(503)) as base_url:
        result, _ = get(mode, base_url, max_retries=10)
    record(figures, "503 with 10 retries", 11, 11)
    assert type(result) is InternalServerError
    assert len(delays) == 10
    assert_backoff(delays)
    assert max(delays) <= MAX_RETRY_DELAY


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("retry_after", "2", [2.0, 2.0]),
        ("retry_after_ms", "1500", [1.5, 1.5]),
        ("retry_after", str(int(MAX_RETRY_AFTER)), [MAX_RETRY_AFTER] * 2),
        ("retry_after", str(int(MAX_RETRY_AFTER) + 1), []),
        ("retry_after", "-1", "backoff"),
        ("retry_after", "garbage", "backoff"),
    ],
)
def test_429_burst_honours_retry_after_within_the_cap(
    mode: str, delays: list[float], header: str, value: str, expected: Any, figures: Any
) -> None:
    with RawServer(status(429, **{header: value})) as base_url:
        result, _ = get(mode, base_url)
    record(figures, "429 with retry-after", 1 + len(delays), 1 + len(delays))
    assert type(result) is RateLimitError
    if expected == "backoff":
        assert_backoff(delays)
        assert len(delays) == 2
    else:
        assert delays == expected
    assert all(d <= MAX_RETRY_AFTER for d in delays)


def test_real_sleeps_respect_the_bounds(mode: str, figures: Any) -> None:
    """Without patching: two 503s then 200 takes the backoff time and no more."""
    with RawServer(fail_first(2, status(503))) as base_url:
        result, elapsed = get(mode, base_url)
    record(figures, "503 then 200, real sleeps", 3, 2)
    assert type(result) is Invoice
    low = (0.5 + 1.0) * (1 - RETRY_JITTER)
    assert low - 0.05 <= elapsed <= 1.5 + 1.0


def trickle(conn: socket.socket, attempt: int) -> bool:
    """Headers at once, then the body 8 bytes every 0.1 s: each read is quick, the whole slow."""
    data = response_bytes()
    head, body = data.split(b"\r\n\r\n", 1)
    conn.sendall(head + b"\r\n\r\n")
    for i in range(0, len(body), 8):
        conn.sendall(body[i : i + 8])
        time.sleep(0.1)
    return True


def test_trickling_server_is_bounded_by_the_timeout(
    mode: str, delays: list[float], figures: Any
) -> None:
    """Each read is quick but the body takes ~2.4 s: the call ends near timeout= anyway."""
    timeout = 0.3
    with RawServer(trickle) as base_url:
        result, elapsed = get(mode, base_url, timeout=timeout, max_retries=0)
    record(figures, "trickled body", 1, 1)
    assert type(result) is APITimeoutError, f"{type(result).__name__} after {elapsed:.1f} s"
    assert elapsed < 3 * timeout


def trickle_head(conn: socket.socket, attempt: int) -> bool:
    """The status line and headers a few bytes every 0.1 s (padded with a long header)."""
    data = response_bytes(headers=[("X-Padding", "p" * 200)])
    for i in range(0, len(data), 8):
        conn.sendall(data[i : i + 8])
        time.sleep(0.1)
    return True


def test_trickled_headers_are_bounded_by_the_timeout(
    mode: str, delays: list[float], figures: Any, request: pytest.FixtureRequest
) -> None:
    if mode == "sync":
        request.applymarker(
            pytest.mark.xfail(
                strict=True,
                reason="the sync client bounds the body by the read timeout (670ca24) but not "
                "the wait for the headers: a server trickling the status line and headers "
                "holds one call as long as it likes (~3.4 s here against timeout=0.3), as "
                "each read is within the per-read timeout and a blocking read cannot be "
                "interrupted. The async client bounds it (connect + read timeout).",
            )
        )
    timeout = 0.3
    with RawServer(trickle_head) as base_url:
        result, elapsed = get(mode, base_url, timeout=timeout, max_retries=0)
    record(figures, "trickled headers", 1, 1)
    assert type(result) is APITimeoutError, f"{type(result).__name__} after {elapsed:.1f} s"
    assert elapsed < 3 * timeout


OTHER_BODY = INVOICE_BODY.replace(b"15.67", b"99.99")


def smuggler(conn: socket.socket, attempt: int) -> bool:
    """The right answer, followed on the same connection by an unasked-for second response."""
    conn.sendall(response_bytes() + response_bytes(body=OTHER_BODY))
    return True


@pytest.mark.xfail(
    strict=True,
    reason="httpcore keeps a keep-alive connection whose h11 buffer still holds bytes read "
    "past the response (h11's trailing_data), so an unsolicited second response arriving in "
    "the same read becomes the answer to the next request: a wrong result. Upstream "
    "(httpcore), not reachable through public API from the wrapper",
)
def test_unsolicited_bytes_never_answer_the_next_request(
    mode: str, delays: list[float], figures: Any
) -> None:
    """A response followed by a second, unasked-for one (a desynchronised proxy) must not
    become the answer to the next request on the same connection."""
    server = RawServer(smuggler)
    with server as base_url:
        totals: list[str] = []
        if mode == "sync":
            with MijnKlantportaal(api_key=API_KEY, base_url=base_url, rate_budget=None) as client:
                for _ in range(5):
                    totals.append(str(client.invoices.get(INVOICE_ID).total_amount))
                    time.sleep(0.02)
        else:

            async def main() -> None:
                async with AsyncMijnKlantportaal(
                    api_key=API_KEY, base_url=base_url, rate_budget=None
                ) as client:
                    for _ in range(5):
                        totals.append(str((await client.invoices.get(INVOICE_ID)).total_amount))
                        await asyncio.sleep(0.02)

            asyncio.run(main())
    record(figures, "unsolicited second response", server.attempts, server.attempts)
    assert totals == ["15.67"] * 5
    assert server.attempts == 5


def test_cancelled_async_calls_leave_the_pool_healthy(delays: list[float], figures: Any) -> None:
    """Callers cancel (asyncio.wait_for) mid-request, mid-body, mid-retry: afterwards the
    same client still answers correctly and closes without leaking anything."""
    fake = FakeMijnKlantportaal(api_key=API_KEY, rate_limit=None)
    invoice_id = fake.add_example_invoice()
    fake.fail_every(2, Fault.latency(0.03))
    fake.fail_every(5, Fault.status(503))
    fake.fail_every(7, Fault.truncated())
    fds = set(os.listdir("/proc/self/fd"))
    outcomes: collections.Counter[str] = collections.Counter()

    async def main(base_url: str) -> list[str]:
        async with AsyncMijnKlantportaal(
            api_key=API_KEY, base_url=base_url, rate_budget=None
        ) as client:

            async def one(n: int) -> None:
                try:
                    await asyncio.wait_for(client.invoices.get(invoice_id), (n % 8) * 0.01)
                    outcomes["completed"] += 1
                except TimeoutError:
                    outcomes["cancelled"] += 1
                except MijnKlantportaalError as error:
                    outcomes[type(error).__name__] += 1

            for _ in range(4):
                await asyncio.gather(*(one(n) for n in range(64)))
            fake.clear_faults()
            invoices = await asyncio.gather(*(client.invoices.get(invoice_id) for _ in range(64)))
            return [str(invoice.total_amount) for invoice in invoices]

    with fake.serve() as base_url:
        totals = asyncio.run(main(base_url))
    gc.collect()
    seen = fake.requests
    faulted = sum(1 for r in seen if r.fault is not None)
    record(figures, "256 async calls cancelled at random points", len(seen), faulted)
    assert totals == ["15.67"] * 64
    assert outcomes["cancelled"] > 0 and sum(outcomes.values()) == 256
    deadline = time.monotonic() + 5
    while set(os.listdir("/proc/self/fd")) - fds and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(os.listdir("/proc/self/fd")) - fds == set()
