"""The rate budget inside the clients: a call reserves its start before anything is sent.

Sync and async alike (the ``mode`` fixture), over in-process transports; the budgets
themselves are tested in test_budget_local.py / test_budget_redis.py, the fleet on a real
Redis in test_budget_redis.py and benchmarks/rate_budget.py.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from _support import API_KEY, Recorder, ok, resolve
from mijnklantportaal import (
    AsyncMijnKlantportaal,
    ClientClosedError,
    ConfigurationError,
    LocalRateBudget,
    MijnKlantportaal,
    RateLimitError,
)

MakeClient = Callable[..., Any]
INVOICE_ID = "fac_abc12345def678"


def get(client: Any) -> Any:
    return resolve(client.invoices.get(INVOICE_ID))


def refused(client: Any) -> RateLimitError:
    with pytest.raises(RateLimitError) as caught:
        get(client)
    return caught.value


def test_a_client_has_a_budget_by_default_shared_by_its_copies(mode: str) -> None:
    client_class = MijnKlantportaal if mode == "sync" else AsyncMijnKlantportaal
    client = client_class(api_key=API_KEY)
    assert isinstance(client.rate_budget, LocalRateBudget)
    assert (client.rate_budget.limit, client.rate_budget.window) == (60, 60.0)
    copy = client.with_options(timeout=5.0, priority="bulk")
    assert copy.rate_budget is client.rate_budget
    assert (client.priority, copy.priority) == ("interactive", "bulk")
    # Two clients do not share a default budget: give them one explicitly for that.
    assert client_class(api_key=API_KEY).rate_budget is not client.rate_budget


def test_past_max_rate_wait_nothing_is_sent(make_client: MakeClient) -> None:
    recorder = Recorder(ok())
    client = make_client(
        recorder, rate_budget=LocalRateBudget(limit=2, window=60.0), max_rate_wait=0.2
    )
    get(client)
    get(client)
    started = time.monotonic()
    error = refused(client)
    assert time.monotonic() - started < 1.0  # refused at once, not after a wait
    assert len(recorder.requests) == 2
    assert error.status_code == 429
    assert error.retry_after is not None and 55 < error.retry_after <= 61
    assert error.response.headers["x-mijnklantportaal-rate-budget"] == "refused"
    assert "not sent" in str(error) and "max_rate_wait=0.2" in str(error)
    assert "mkp_test_key" not in str(error) + repr(error.response.request.headers)


def test_a_call_waits_for_its_start_and_the_window_is_never_exceeded(
    make_client: MakeClient,
) -> None:
    starts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        starts.append(time.monotonic())
        return ok()

    limit, window = 3, 0.4
    client = make_client(handler, rate_budget=LocalRateBudget(limit=limit, window=window))
    began = time.monotonic()
    for _ in range(7):
        get(client)
    # 7 starts at 3 per window: the 4th waits one window, the 7th two.
    assert time.monotonic() - began >= 2 * window
    for index in range(len(starts) - limit):
        assert starts[index + limit] - starts[index] >= window


def test_the_budget_learns_remaining_zero_from_the_server(make_client: MakeClient) -> None:
    reset = math.ceil(time.time()) + 30
    recorder = Recorder(
        ok(
            **{
                "X-RateLimit-Limit": "60",
                "X-RateLimit-Remaining": "0",
                "x-ratelimit-reset": str(reset),
            }
        )
    )
    client = make_client(recorder, rate_budget=LocalRateBudget(), max_rate_wait=1.0)
    get(client)  # the budget itself had 59 left: the server's word wins
    error = refused(client)
    assert len(recorder.requests) == 1
    assert error.retry_after is not None and error.retry_after > 25


def test_a_429_blocks_the_key_for_its_retry_after(make_client: MakeClient) -> None:
    too_many = httpx.Response(
        429, json={"code": 429, "message": "Too many requests."}, headers={"retry-after": "30"}
    )
    recorder = Recorder(too_many, ok())
    client = make_client(recorder, rate_budget=LocalRateBudget(), max_retries=0, max_rate_wait=1.0)
    server_said = refused(client)
    assert "x-mijnklantportaal-rate-budget" not in server_said.response.headers
    local = refused(client)  # not sent: the budget holds the key until retry-after passes
    assert local.response.headers["x-mijnklantportaal-rate-budget"] == "refused"
    assert len(recorder.requests) == 1


def test_bulk_work_leaves_the_reserve_to_interactive_calls(make_client: MakeClient) -> None:
    recorder = Recorder(ok())
    client = make_client(
        recorder, rate_budget=LocalRateBudget(limit=5, window=60.0), max_rate_wait=0.2
    )
    bulk = client.with_options(priority="bulk")
    for _ in range(4):  # floor(5 * 0.8)
        get(bulk)
    refused(bulk)
    get(client)  # the reserve: interactive still starts at once
    refused(client)
    assert len(recorder.requests) == 5


def test_without_a_budget_nothing_waits(make_client: MakeClient) -> None:
    recorder = Recorder(ok())
    client = make_client(recorder, rate_budget=None)
    assert client.rate_budget is None
    began = time.monotonic()
    for _ in range(100):
        get(client)
    assert len(recorder.requests) == 100
    assert time.monotonic() - began < 5


def test_one_budget_serves_several_clients_of_one_key(make_client: MakeClient) -> None:
    budget = LocalRateBudget(limit=3, window=60.0)
    recorder = Recorder(ok())
    first = make_client(recorder, rate_budget=budget, max_rate_wait=0.1)
    second = make_client(recorder, rate_budget=budget, max_rate_wait=0.1)
    get(first)
    get(second)
    get(first)
    refused(second)
    # Another key is another account at the API: its own count in the same budget.
    other = make_client(recorder, rate_budget=budget, api_key="mkp_other_key_42", max_rate_wait=0.1)
    get(other)
    assert len(recorder.requests) == 4


def test_a_wait_is_logged_with_its_seconds(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client(Recorder(ok()), rate_budget=LocalRateBudget(limit=1, window=0.3))
    with caplog.at_level(logging.INFO, logger="mijnklantportaal"):
        get(client)
        get(client)
    waits = [r for r in caplog.records if hasattr(r, "mijnklantportaal_budget_wait")]
    assert len(waits) == 1
    assert 0.1 < waits[0].mijnklantportaal_budget_wait < 1.0
    assert "rate budget" in waits[0].getMessage()


@pytest.mark.parametrize("client_class", [MijnKlantportaal, AsyncMijnKlantportaal])
@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"rate_budget": "60/min"}, "rate_budget"),
        ({"rate_budget": 60}, "rate_budget"),
        ({"max_rate_wait": -1}, "max_rate_wait"),
        ({"max_rate_wait": float("nan")}, "max_rate_wait"),
        ({"max_rate_wait": 1e10}, "max_rate_wait"),
        ({"max_rate_wait": True}, "max_rate_wait"),
    ],
)
def test_bad_budget_options_are_refused(
    client_class: type[Any], options: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        client_class(api_key=API_KEY, **options)


@pytest.mark.parametrize(
    ("options", "named"),
    [({"priority": "urgent"}, "priority"), ({"max_rate_wait": -0.5}, "max_rate_wait")],
)
def test_bad_with_options_are_refused(
    make_client: MakeClient, options: dict[str, Any], named: str
) -> None:
    client = make_client(Recorder(ok()))
    with pytest.raises(ConfigurationError, match=named):
        client.with_options(**options)


def test_under_a_budget_a_429_is_waited_out_without_spending_a_retry(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    """Another process of the key took the window: the call waits for retry-after (with
    jitter, so that clients told the same second do not collide again) and gets its answer
    without spending one of its max_retries; without a budget the same 429 takes a retry."""
    too_many = httpx.Response(
        429, json={"code": 429, "message": "Too many requests."}, headers={"retry-after": "1"}
    )
    recorder = Recorder(too_many, ok())
    client = make_client(recorder, rate_budget=LocalRateBudget(), max_retries=1)
    answer = resolve(client.invoices.with_raw_response.get(INVOICE_ID))
    assert answer.parsed.id == INVOICE_ID and answer.retries_taken == 0
    assert len(recorder.requests) == 2
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] <= 1.25

    reactive = make_client(Recorder(too_many, ok()), rate_budget=None, max_retries=1)
    assert resolve(reactive.invoices.with_raw_response.get(INVOICE_ID)).retries_taken == 1


def test_429_waits_stop_at_max_rate_wait(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The 429s waited out under a budget stop where the next wait would pass max_rate_wait
    (here after one, although max_retries=2 would allow two); then the counted retries."""
    too_many = httpx.Response(
        429, json={"code": 429, "message": "Too many requests."}, headers={"retry-after": "1"}
    )
    recorder = Recorder(too_many)  # the server says 429 for ever
    client = make_client(recorder, rate_budget=LocalRateBudget(), max_retries=2, max_rate_wait=1.5)
    with caplog.at_level(logging.INFO, logger="mijnklantportaal"):
        error = refused(client)
    assert "x-mijnklantportaal-rate-budget" not in error.response.headers  # the server's
    uncounted = [
        record.mijnklantportaal_retry_delay
        for record in caplog.records
        if getattr(record, "mijnklantportaal_retry_counted", True) is False
    ]
    assert len(uncounted) == 1 and uncounted[0] <= 1.5
    assert len(recorder.requests) == 1 + 1 + 2  # the first, the waited-out 429, two retries


def test_a_429_without_retry_after_takes_the_counted_retries(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    """A proxy's bare 429 tells the budget nothing: the ordinary retry policy (counted,
    with backoff) decides, not a fixed-rate wait for the whole of max_rate_wait."""
    recorder = Recorder(httpx.Response(429, json={"message": "slow down"}))
    client = make_client(recorder, rate_budget=LocalRateBudget(), max_retries=1)
    refused(client)
    assert len(recorder.requests) == 2


def test_a_closed_client_fails_before_it_waits_for_the_budget(
    make_client: MakeClient, mode: str
) -> None:
    budget = LocalRateBudget(limit=1, window=60.0)
    client = make_client(Recorder(ok()), rate_budget=budget, max_rate_wait=30.0)
    get(client)  # the one start of this window is used
    http_client = client._transport.http_client  # make_client's clients do not own theirs
    resolve(http_client.aclose() if mode == "async" else http_client.close())
    started = time.monotonic()
    with pytest.raises(ClientClosedError):
        get(client)
    assert time.monotonic() - started < 1.0
