"""Issue 17, rate budget and retries: no server header can stall or flood a call.

A reset implausibly far away (epoch milliseconds read as seconds), 429s that say "retry
now" for ever, a retry-after beside ``Remaining: 0``, ``max_retries=0``, and budget
settings whose derived numbers overflow. Over real loopback HTTP, sync and async.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import time
from typing import Any

import pytest
from loopback import RawServer, response_bytes
from mijnklantportaal import (
    AsyncMijnKlantportaal,
    ConfigurationError,
    Invoice,
    LocalRateBudget,
    MijnKlantportaal,
    MijnKlantportaalError,
    RateLimitError,
)
from mijnklantportaal._budget import RedisRateBudget, key_id_for
from reliability_helpers import API_KEY, INVOICE_ID

TOO_MANY = b'{"code":429,"message":"Too many requests."}'


def run_calls(mode: str, base_url: str, calls: int, **kwargs: Any) -> list[tuple[Any, float]]:
    """``calls`` invoices.get calls, one after another, on one client built beforehand:
    per call its result (or error) and the seconds it took."""
    kwargs.setdefault("api_key", API_KEY)
    results: list[tuple[Any, float]] = []
    if mode == "sync":
        with MijnKlantportaal(base_url=base_url, **kwargs) as client:
            for _ in range(calls):
                started = time.monotonic()
                try:
                    result: Any = client.invoices.get(INVOICE_ID)
                except MijnKlantportaalError as error:
                    result = error
                results.append((result, time.monotonic() - started))
        return results

    async def main() -> None:
        async with AsyncMijnKlantportaal(base_url=base_url, **kwargs) as client:
            for _ in range(calls):
                started = time.monotonic()
                try:
                    result = await client.invoices.get(INVOICE_ID)
                except MijnKlantportaalError as error:
                    result = error
                results.append((result, time.monotonic() - started))

    asyncio.run(main())
    return results


class Script:
    """A RawServer script: ``answers[attempt]`` (the last one for every later attempt),
    with the time each request arrived."""

    def __init__(self, *answers: bytes) -> None:
        self.answers = answers
        self.arrived: list[float] = []

    def __call__(self, conn: socket.socket, attempt: int) -> bool:
        self.arrived.append(time.monotonic())
        conn.sendall(self.answers[min(attempt, len(self.answers) - 1)])
        return True


def epoch_ms() -> str:
    """The typical bad reset: UNIX time in milliseconds, which reads as ~55,000 years ahead."""
    return str(int(time.time() * 1000))


# -- 12. a reset implausibly far away ----------------------------------------------------------


def test_i17_12_a_far_reset_does_not_stall_the_key(mode: str, figures: Any) -> None:
    """``Remaining: 0`` with a reset in epoch milliseconds: the reset is ignored, so the budget
    only infers "the window is full" (one window, here 1 s) and the next call succeeds."""
    headers = [
        ("X-RateLimit-Limit", "5"),
        ("X-RateLimit-Remaining", "0"),
        ("x-ratelimit-reset", epoch_ms()),
    ]
    script = Script(response_bytes(200, headers=headers), response_bytes(200))
    with RawServer(script) as base_url:
        results = run_calls(mode, base_url, 2, rate_budget=LocalRateBudget(5, 1.0))
    figures.count("hardening2 budget", "far resets")
    (first, _), (second, seconds) = results
    assert isinstance(first, Invoice), repr(first)
    assert isinstance(second, Invoice), repr(second)
    assert seconds < 1.0 + 5.0  # one window of the budget, not the reset's 55,000 years
    assert len(script.arrived) == 2


def test_i17_12_a_far_reset_under_the_default_budget_refuses_promptly(
    mode: str, figures: Any
) -> None:
    """The API's own numbers (60 a minute): the next call cannot start within max_rate_wait,
    so it is refused at once, with a retry_after of about the window, not of years."""
    headers = [
        ("X-RateLimit-Limit", "60"),
        ("X-RateLimit-Remaining", "0"),
        ("x-ratelimit-reset", epoch_ms()),
    ]
    script = Script(response_bytes(200, headers=headers))
    with RawServer(script) as base_url:
        results = run_calls(mode, base_url, 2, rate_budget=LocalRateBudget(), max_rate_wait=1.0)
    figures.count("hardening2 budget", "far resets")
    (first, _), (second, seconds) = results
    assert isinstance(first, Invoice), repr(first)
    assert type(second) is RateLimitError, repr(second)
    assert seconds < 3.0
    assert second.retry_after is not None and second.retry_after <= 3600
    assert len(script.arrived) == 1


@pytest.mark.parametrize("budget", ["local", "none"])
def test_i17_12_a_429_with_a_far_reset_is_no_retry_time(
    mode: str, budget: str, figures: Any
) -> None:
    """A 429 without retry-after whose reset is in epoch milliseconds: the reset says nothing
    about when to retry, so the error does not carry it as retry_after or reset_at, and the
    key is not blocked for it afterwards."""
    headers = [
        ("X-RateLimit-Limit", "60"),
        ("X-RateLimit-Remaining", "0"),
        ("x-ratelimit-reset", epoch_ms()),
    ]
    script = Script(response_bytes(429, TOO_MANY, headers), response_bytes(200))
    rate_budget = LocalRateBudget(5, 1.0) if budget == "local" else None
    with RawServer(script) as base_url:
        results = run_calls(mode, base_url, 2, rate_budget=rate_budget, max_retries=0)
    figures.count("hardening2 budget", "far resets")
    (first, seconds), (second, _) = results
    assert type(first) is RateLimitError, repr(first)
    assert seconds < 3.0
    assert first.retry_after is None or first.retry_after <= 3600, first.retry_after
    assert first.reset_at is None
    assert isinstance(second, Invoice), repr(second)


def test_i17_12_the_budget_itself_ignores_a_far_reset() -> None:
    """The same rule inside LocalRateBudget, for a caller of ``observe`` other than the
    transport: a reset more than the window plus a few minutes ahead is no reset."""
    rate = LocalRateBudget(5, 0.5)
    key = key_id_for("mkp_test_key_0123456789abcdef")
    rate.observe(key, limit=5, remaining=0, reset_at=time.time() * 1000)
    waited = rate.acquire(key, max_wait=5.0)  # one window (0.55 s), not 55,000 years
    assert waited < 5.0


# -- 13. 429 with retry-after: 0 for ever, under a budget ----------------------------------------


@pytest.mark.parametrize("max_retries", [0, 1, 2])
def test_i17_13_429s_saying_retry_now_are_resent_a_bounded_number_of_times(
    mode: str, max_retries: int, figures: Any
) -> None:
    """The server says "429, retry-after: 0" (for its first 30 answers, so that the unbounded
    loop this replaced ends too): one call sends at most 2 x (max_retries + 1) requests."""
    too_many = response_bytes(429, TOO_MANY, [("retry-after", "0")])
    script = Script(*[too_many] * 30, response_bytes(200))
    with RawServer(script) as base_url:
        [(result, _)] = run_calls(
            mode, base_url, 1, rate_budget=LocalRateBudget(10, 2.0), max_retries=max_retries
        )
    figures.count("hardening2 budget", "429 floods")
    assert len(script.arrived) <= 2 * (max_retries + 1), len(script.arrived)
    assert type(result) is RateLimitError, repr(result)


# -- 14. the server's retry-after wins over what the budget infers from Remaining: 0 -----------


def test_i17_14_a_retry_after_wins_over_remaining_zero(
    mode: str, caplog: pytest.LogCaptureFixture, figures: Any
) -> None:
    """429 with retry-after: 1, Limit 60, Remaining 0 and no reset, then 200: the call waits
    about the second it was told (and says so), not the rest of the window."""
    headers = [
        ("retry-after", "1"),
        ("X-RateLimit-Limit", "60"),
        ("X-RateLimit-Remaining", "0"),
    ]
    script = Script(response_bytes(429, TOO_MANY, headers), response_bytes(200))
    with (
        RawServer(script) as base_url,
        caplog.at_level(logging.INFO, logger="mijnklantportaal"),
    ):
        [(result, seconds)] = run_calls(mode, base_url, 1, rate_budget=LocalRateBudget())
    figures.count("hardening2 budget", "retry-after beside Remaining: 0")
    assert isinstance(result, Invoice), repr(result)
    assert seconds < 2.0
    # The log accounts for the wait: what it says the call waited (after the 429, and for
    # the budget) is what passed between the two requests, give or take scheduling.
    stated = sum(
        getattr(record, "mijnklantportaal_retry_delay", 0.0)
        + getattr(record, "mijnklantportaal_budget_wait", 0.0)
        for record in caplog.records
    )
    real = script.arrived[1] - script.arrived[0]
    assert 1.0 <= stated <= 1.25 + 0.1
    assert stated - 0.1 <= real <= stated + 0.5


# -- 15. max_retries=0 sends one request ------------------------------------------------------


@pytest.mark.parametrize("budget", ["default", "none"])
def test_i17_15_max_retries_zero_sends_exactly_one_request(
    mode: str, budget: str, figures: Any
) -> None:
    script = Script(response_bytes(429, TOO_MANY, [("retry-after", "7")]), response_bytes(200))
    options: dict[str, Any] = {"max_retries": 0}
    if budget == "none":
        options["rate_budget"] = None  # else: the client's default LocalRateBudget
    with RawServer(script) as base_url:
        [(result, seconds)] = run_calls(mode, base_url, 1, **options)
    figures.count("hardening2 budget", "max_retries=0")
    assert type(result) is RateLimitError, repr(result)
    assert seconds < 3.0
    assert len(script.arrived) == 1
    assert result.retry_after == 7.0


# -- 16. settings whose derived numbers overflow --------------------------------------------


# 10**5000: past 4,300 digits even repr() of an int raises ValueError.
HUGE = (1e308, math.inf, math.nan, 10**400, 10**5000)


def value_id(value: object) -> str:
    """A short test id: 10**400 would otherwise name the test with 401 digits."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and value > 10**18:
        return f"int_{value.bit_length()}_bits"
    return repr(value)


BUDGET_SETTINGS = [
    *(("limit", value) for value in (*HUGE, 10**12)),
    *(("window", value) for value in (*HUGE, 1e10)),
    *(("safety_margin", value) for value in (*HUGE, 1e10)),
    *(("bulk_reserve", value) for value in HUGE),
]


def make_budget(kind: str, **settings: Any) -> Any:
    if kind == "local":
        return LocalRateBudget(**settings)
    # Nothing listens there: the constructor checks its settings and connects to nothing.
    return RedisRateBudget("redis://127.0.0.1:1/0", **settings)


@pytest.mark.parametrize("kind", ["local", "redis"])
@pytest.mark.parametrize(("name", "value"), BUDGET_SETTINGS, ids=value_id)
def test_i17_16_budget_settings_that_overflow_are_refused(
    kind: str, name: str, value: object, figures: Any
) -> None:
    figures.count("hardening2 budget", "overflowing budget settings")
    with pytest.raises(ConfigurationError, match=name):
        make_budget(kind, **{name: value})


@pytest.mark.parametrize("name", ["socket_timeout", "retry_interval"])
@pytest.mark.parametrize("value", HUGE, ids=value_id)
def test_i17_16_redis_budget_timings_that_overflow_are_refused(
    name: str, value: object, figures: Any
) -> None:
    figures.count("hardening2 budget", "overflowing budget settings")
    with pytest.raises(ConfigurationError, match=name):
        make_budget("redis", **{name: value})


@pytest.mark.parametrize("name", ["window", "safety_margin"])
def test_the_largest_budget_settings_accepted_still_work(
    mode: str, name: str, figures: Any
) -> None:
    """At the largest window and margin a budget takes, a refusal is still a RateLimitError
    with a finite retry_after, not an OverflowError from the numbers derived from them."""
    from mijnklantportaal._constants import MAX_RATE_SAFETY_MARGIN, MAX_RATE_WINDOW

    largest = {"window": MAX_RATE_WINDOW, "safety_margin": MAX_RATE_SAFETY_MARGIN}[name]
    rate = LocalRateBudget(1, **{name: largest})
    with RawServer(Script(response_bytes(200))) as base_url:
        results = run_calls(mode, base_url, 2, rate_budget=rate, max_rate_wait=0.5)
    figures.count("hardening2 budget", "overflowing budget settings")
    (first, _), (second, _) = results
    assert isinstance(first, Invoice), repr(first)
    assert type(second) is RateLimitError, repr(second)
    assert second.retry_after is not None and math.isfinite(second.retry_after)


@pytest.mark.parametrize("client_class", [MijnKlantportaal, AsyncMijnKlantportaal])
@pytest.mark.parametrize(
    ("name", "value"),
    [
        *(("max_rate_wait", value) for value in HUGE),
        *(("max_retries", value) for value in (*HUGE, 10**12)),
        *(("timeout", value) for value in HUGE),
    ],
    ids=value_id,
)
def test_i17_16_client_settings_that_overflow_are_refused(
    client_class: type[Any], name: str, value: object, figures: Any
) -> None:
    figures.count("hardening2 budget", "overflowing client settings")
    with pytest.raises(ConfigurationError, match=name):
        client_class(api_key=API_KEY, **{name: value})
    if client_class is MijnKlantportaal:
        with (
            MijnKlantportaal(api_key=API_KEY) as client,
            pytest.raises(ConfigurationError, match=name),
        ):
            client.with_options(**{name: value})
        return

    async def main() -> None:
        async with AsyncMijnKlantportaal(api_key=API_KEY) as client:
            with pytest.raises(ConfigurationError, match=name):
                client.with_options(**{name: value})

    asyncio.run(main())
