"""The testing kit: FakeMijnKlantportaal behaves like the API, in-process and over loopback,
and every fault it injects reaches the client as the right typed error or a successful retry."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from decimal import Decimal
from typing import Any

import httpx
import mijnklantportaal as mkp
import pytest
from mijnklantportaal.testing import (
    EXAMPLE_INVOICE,
    EXAMPLE_INVOICE_ID,
    FakeClock,
    FakeMijnKlantportaal,
    Fault,
)
from mijnklantportaal.testing._instant import instant_retries

URL = f"https://api.mijnklantportaal.nl/v1/invoices/{EXAMPLE_INVOICE_ID}"


@pytest.fixture
def fake() -> FakeMijnKlantportaal:
    fake = FakeMijnKlantportaal()
    fake.add_example_invoice()
    return fake


@pytest.fixture
def raw(fake: FakeMijnKlantportaal) -> Iterator[httpx.Client]:
    """A raw httpx client on the fake's transport, carrying the fake's key."""
    with httpx.Client(
        transport=fake.transport(), headers={"Authorization": f"Bearer {fake.api_key}"}
    ) as client:
        yield client


def _fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mijnklantportaal-fake")]


# -- the API's behaviour ------------------------------------------------------------------


def test_serves_example_invoice_with_money_as_exact_json_numbers(raw: httpx.Client) -> None:
    response = raw.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    text = response.text
    assert '"subtotalAmount":12.95' in text and '"vatRate":21' in text
    assert '"totalAmount":15.67' in text and '"amountInclVat":15.67' in text
    body = json.loads(text, parse_float=Decimal)
    assert body["id"] == EXAMPLE_INVOICE_ID
    assert body["lines"][0]["id"] == "fcl_abc12345def678"
    assert body["vatAmount"] == Decimal("2.72")
    assert body["issuedAt"] == "2025-04-12T00:00:00.000Z"
    assert body["isPaid"] is True and body["invoiceNumber"] == "MKP-2025.0010"


def test_money_as_strings_on_request() -> None:
    fake = FakeMijnKlantportaal(money_as="string")
    fake.add_example_invoice()
    assert fake.invoice_json(EXAMPLE_INVOICE_ID) == EXAMPLE_INVOICE
    fake.money_as = "number"
    assert fake.invoice_json(EXAMPLE_INVOICE_ID)["totalAmount"] == Decimal("15.67")


def test_add_invoice_takes_api_json_and_keeps_every_digit(raw: httpx.Client) -> None:
    fake = raw._transport.fake  # type: ignore[attr-defined]
    given = {
        "invoiceNumber": "MKP-2025.0011",
        "lines": [{"id": "fcl_1", "amountExclVat": -0.1, "vatRate": 9, "vatAmount": "-0.01"}],
        "subtotalAmount": 0.1 + 0.2,
        "totalAmount": "1234567890.123456789",
        "isPaid": False,
    }
    invoice_id = fake.add_invoice(given)
    assert invoice_id.startswith("fac_") and "id" not in given  # the caller's dict is untouched
    text = raw.get(f"https://api.mijnklantportaal.nl/v1/invoices/{invoice_id}").text
    assert '"subtotalAmount":0.30000000000000004' in text  # a float's own shortest repr
    assert '"totalAmount":1234567890.123456789' in text
    assert '"amountExclVat":-0.1' in text and '"vatAmount":-0.01' in text
    fake.add_invoice({"id": invoice_id, "isPaid": True})  # same id replaces
    assert raw.get(f"https://x/v1/invoices/{invoice_id}").json() == {
        "id": invoice_id,
        "isPaid": True,
    }


@pytest.mark.parametrize("bad", ["12,95", "NaN", True, [1], "Infinity"])
def test_add_invoice_refuses_money_that_is_not_a_number(bad: Any) -> None:
    with pytest.raises(ValueError, match="totalAmount"):
        FakeMijnKlantportaal().add_invoice({"id": "fac_x", "totalAmount": bad})


def test_unknown_invoice_and_route_are_404_with_the_error_shape(raw: httpx.Client) -> None:
    response = raw.get("https://x/v1/invoices/fac_doesnotexist")
    assert response.status_code == 404
    assert response.json() == {"message": "Invoice fac_doesnotexist not found."}
    assert raw.get("https://x/v1/customers").status_code == 404
    assert set(raw.get("https://x/v2/invoices/x").json()) == {"message"}
    response = raw.post(URL)
    assert response.status_code == 405 and response.headers["allow"] == "GET"


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_bearer_auth_is_checked(fake: FakeMijnKlantportaal, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    with httpx.Client(transport=fake.transport()) as client:
        response = client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthenticated."}
    assert response.headers["www-authenticate"] == "Bearer"
    assert (
        response.headers["x-ratelimit-limit"] == response.headers["x-ratelimit-remaining"] == "60"
    )
    assert fake.requests[-1].authenticated is False


def test_default_key_is_generated_and_custom_key_used() -> None:
    a, b = FakeMijnKlantportaal(), FakeMijnKlantportaal(api_key="sk_mine_123")
    assert a.api_key != FakeMijnKlantportaal().api_key and len(a.api_key) > 20
    assert b.api_key == "sk_mine_123"
    with pytest.raises(ValueError):
        FakeMijnKlantportaal(api_key="")


def test_records_requests_without_the_key(fake: FakeMijnKlantportaal, raw: httpx.Client) -> None:
    raw.get(URL + "?expand=lines", headers={"X-Trace": "t1"})
    (seen,) = fake.requests
    assert (seen.method, seen.path, seen.query) == (
        "GET",
        f"/v1/invoices/{EXAMPLE_INVOICE_ID}",
        "expand=lines",
    )
    assert seen.invoice_id == EXAMPLE_INVOICE_ID
    assert seen.headers["authorization"] == "Bearer [redacted]"
    assert seen.headers["x-trace"] == "t1"
    assert seen.status == 200 and seen.authenticated and seen.fault is None
    assert fake.api_key not in repr(fake.requests)
    fake.clear_requests()
    assert fake.requests == []


# -- rate limit and clock -----------------------------------------------------------------


def test_rate_limit_headers_and_the_real_429() -> None:
    clock = FakeClock(start=1_750_000_000)
    fake = FakeMijnKlantportaal(rate_limit=3, clock=clock)
    fake.add_example_invoice()
    with httpx.Client(
        transport=fake.transport(), headers={"Authorization": f"Bearer {fake.api_key}"}
    ) as raw:
        remaining = []
        for _ in range(3):
            response = raw.get(URL)
            assert response.headers["x-ratelimit-limit"] == "3"
            remaining.append(response.headers["x-ratelimit-remaining"])
            clock.advance(10)
        assert remaining == ["2", "1", "0"]
        limited = raw.get(URL)  # at t+30: the first call leaves the window at t+60
        assert limited.status_code == 429
        assert limited.json() == {"code": 429, "message": "Too many requests."}
        assert limited.headers["retry-after"] == "30"
        assert limited.headers["x-ratelimit-reset"] == str(1_750_000_060)
        assert limited.headers["x-ratelimit-remaining"] == "0"
        clock.advance(30)  # rolling: one call has left the window, two are still in it
        assert raw.get(URL).headers["x-ratelimit-remaining"] == "0"
        assert raw.get(URL).status_code == 429
        clock.advance(60)
        assert raw.get(URL).headers["x-ratelimit-remaining"] == "2"


def test_rate_limit_default_60_and_off() -> None:
    fake = FakeMijnKlantportaal(clock=FakeClock(start=0))
    assert fake.rate_limit == 60
    fake.add_example_invoice()
    with httpx.Client(
        transport=fake.transport(), headers={"Authorization": f"Bearer {fake.api_key}"}
    ) as raw:
        statuses = [raw.get(URL).status_code for _ in range(61)]
        assert statuses == [200] * 60 + [429]
        fake.rate_limit = None
        response = raw.get(URL)
        assert response.status_code == 200 and "x-ratelimit-limit" not in response.headers


def test_clock_ticks_by_default_and_freezes_on_request() -> None:
    clock = FakeClock()
    assert abs(clock.now() - time.time()) < 1 and not clock.frozen
    clock.advance(100)
    assert abs(clock.now() - time.time() - 100) < 1
    clock.set(5.0)
    assert clock.now() == 5.0 and clock.frozen
    with pytest.raises(ValueError):
        clock.advance(-1)


# -- fault scripting ----------------------------------------------------------------------


def test_fail_next_and_fail_every(fake: FakeMijnKlantportaal, raw: httpx.Client) -> None:
    fake.fail_next(Fault.status(503), times=2)
    fake.fail_next(Fault.status(520))
    assert [raw.get(URL).status_code for _ in range(4)] == [503, 503, 520, 200]
    fake.fail_every(3, Fault.status(500), times=2)
    assert [raw.get(URL).status_code for _ in range(9)] == [
        200,
        200,
        500,
        200,
        200,
        500,
        200,
        200,
        200,
    ]
    fake.fail_every(2, Fault.status(502))
    fake.clear_faults()
    assert raw.get(URL).status_code == raw.get(URL).status_code == 200
    faults = [r.fault for r in fake.requests if r.fault is not None]
    assert [f.status_code for f in faults] == [503, 503, 520, 500, 500]


def test_fault_bodies(fake: FakeMijnKlantportaal, raw: httpx.Client) -> None:
    fake.fail_next(Fault.status(503))
    assert raw.get(URL).json() == {"message": "Service Unavailable"}
    fake.fail_next(Fault.status(520, json_body={"error": "x"}, headers={"CF-Ray": "abc"}))
    response = raw.get(URL)
    assert (response.status_code, response.json(), response.headers["cf-ray"]) == (
        520,
        {"error": "x"},
        "abc",
    )
    fake.fail_next(Fault.html(502))
    response = raw.get(URL)
    assert response.headers["content-type"].startswith("text/html") and "<html" in response.text
    fake.fail_next(Fault.non_json())
    response = raw.get(URL)
    assert response.status_code == 200 and response.content == b"<<not json>>"
    fake.fail_next(Fault.rate_limited(retry_after=7))
    response = raw.get(URL)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert int(response.headers["x-ratelimit-reset"]) == pytest.approx(time.time() + 7, abs=2)
    with pytest.raises(ValueError):
        Fault.status(999)


def test_transport_faults_look_like_a_real_connection(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    fake.fail_next(Fault.drop())
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        raw.get(URL)
    fake.fail_next(Fault.truncated())
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        raw.get(URL)
    fake.fail_next(Fault.latency(5))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        raw.get(URL, timeout=0.05)
    assert time.monotonic() - started < 2
    fake.fail_next(Fault.latency(0.05))
    assert raw.get(URL).status_code == 200
    assert fake.requests[-1].fault == Fault.latency(0.05)


def test_transport_serves_async_clients(fake: FakeMijnKlantportaal) -> None:
    async def main() -> list[int]:
        async with httpx.AsyncClient(
            transport=fake.transport(), headers={"Authorization": f"Bearer {fake.api_key}"}
        ) as client:
            fake.fail_next(Fault.latency(0.01))
            responses = await asyncio.gather(*(client.get(URL) for _ in range(10)))
            fake.fail_next(Fault.truncated())
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(URL)
            return [r.status_code for r in responses]

    assert asyncio.run(main()) == [200] * 10


# -- over loopback ------------------------------------------------------------------------


def test_loopback_server_serves_the_same_api(fake: FakeMijnKlantportaal) -> None:
    with fake.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        with httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {fake.api_key}"}
        ) as client:
            response = client.get(f"{base_url}/invoices/{EXAMPLE_INVOICE_ID}")
            assert response.status_code == 200 and '"totalAmount":15.67' in response.text
            assert response.headers["x-ratelimit-remaining"] == "59" and "date" in response.headers
            assert client.get(f"{base_url}/invoices/fac_nope").status_code == 404
            assert (
                client.get(
                    f"{base_url}/invoices/x", headers={"Authorization": "Bearer no"}
                ).status_code
                == 401
            )
    assert fake.requests[0].headers["authorization"] == "Bearer [redacted]"
    assert fake.requests[0].headers["host"].startswith("127.0.0.1:")


def test_loopback_keeps_the_connection_alive_and_shuts_down_cleanly(
    fake: FakeMijnKlantportaal,
) -> None:
    request = f"GET /v1/invoices/{EXAMPLE_INVOICE_ID} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {fake.api_key}\r\n\r\n"
    with httpx.Client(transport=fake.transport()) as in_process:
        body = in_process.get(
            f"http://x/v1/invoices/{EXAMPLE_INVOICE_ID}",
            headers={"Authorization": f"Bearer {fake.api_key}"},
        ).content
    with fake.serve() as base_url:
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(request.encode() * 3)  # pipelined on one connection
            received = b""
            while received.count(b"HTTP/1.1 200 OK") < 3 or not received.endswith(body):
                chunk = sock.recv(65536)
                assert chunk, "server closed a keep-alive connection"
                received += chunk
            assert b"Connection: close" not in received
            idle = socket.create_connection(("127.0.0.1", port))  # left open across shutdown
            sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
            assert b"Connection: close" in sock.recv(65536)
            assert sock.recv(65536) == b""  # HTTP/1.0 without keep-alive: closed after
        assert _fake_threads()
    idle.close()
    assert not _fake_threads()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_loopback_rejects_garbage(fake: FakeMijnKlantportaal) -> None:
    with fake.serve() as base_url:
        port = int(base_url.rsplit(":", 1)[1].split("/")[0])
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"NONSENSE\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 400 Bad Request")


def test_loopback_faults(fake: FakeMijnKlantportaal) -> None:
    with (
        fake.serve() as base_url,
        httpx.Client(headers={"Authorization": f"Bearer {fake.api_key}"}) as client,
    ):
        url = f"{base_url}/invoices/{EXAMPLE_INVOICE_ID}"
        fake.fail_next(Fault.truncated())
        with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|complete message body"):
            client.get(url)
        fake.fail_next(Fault.drop())
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(url)
        fake.fail_next(Fault.latency(10))
        with pytest.raises(httpx.ReadTimeout):
            client.get(url, timeout=0.1)
        fake.fail_next(Fault.status(520))
        response = client.get(url)
        assert (response.status_code, response.reason_phrase) == (
            520,
            "Web Server Returned an Unknown Error",
        )
        assert client.get(url).status_code == 200
        fake.fail_next(Fault.latency(30))  # a slow answer must not hold up shutdown
        with pytest.raises(httpx.ReadTimeout):
            client.get(url, timeout=0.1)
        started = time.monotonic()
    assert time.monotonic() - started < 2
    assert not _fake_threads()


def test_loopback_handles_concurrent_threads_and_tasks() -> None:
    fake = FakeMijnKlantportaal(rate_limit=None)
    fake.add_example_invoice()
    auth = {"Authorization": f"Bearer {fake.api_key}"}
    with fake.serve() as base_url:
        url = f"{base_url}/invoices/{EXAMPLE_INVOICE_ID}"
        results: list[int] = []

        def worker() -> None:
            with httpx.Client(headers=auth) as client:
                results.extend(client.get(url).status_code for _ in range(25))

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        async def tasks() -> list[int]:
            async with httpx.AsyncClient(headers=auth) as client:
                responses = await asyncio.gather(*(client.get(url) for _ in range(64)))
            return [r.status_code for r in responses]

        assert results + asyncio.run(tasks()) == [200] * (8 * 25 + 64)
    assert len(fake.requests) == 8 * 25 + 64
    assert not _fake_threads()


# -- through the client: every fault mode, in-process and over loopback -------------------


@pytest.fixture(params=["transport", "loopback"])
def connect(
    request: pytest.FixtureRequest, fake: FakeMijnKlantportaal
) -> Iterator[Callable[..., Any]]:
    """connect(**client_kwargs) -> a sync MijnKlantportaal on the fake, either way in."""
    with ExitStack() as stack:
        stack.enter_context(instant_retries())
        if request.param == "transport":

            def make(**kwargs: Any) -> mkp.MijnKlantportaal:
                return stack.enter_context(fake.client(**kwargs))

        else:
            base_url = stack.enter_context(fake.serve())

            def make(**kwargs: Any) -> mkp.MijnKlantportaal:
                kwargs.setdefault("api_key", fake.api_key)
                return stack.enter_context(mkp.MijnKlantportaal(base_url=base_url, **kwargs))

        yield make


EXPECTED = Decimal("15.67")

RECOVERABLE = [
    Fault.status(500),
    Fault.status(503),
    Fault.status(520),
    Fault.rate_limited(retry_after=1),
    Fault.html(502),
    Fault.truncated(),
    Fault.drop(),
]


@pytest.mark.parametrize("fault", RECOVERABLE, ids=repr)
def test_one_fault_is_retried_to_success(
    connect: Callable[..., Any], fake: FakeMijnKlantportaal, fault: Fault
) -> None:
    client = connect()
    fake.fail_next(fault)
    assert client.invoices.get(EXAMPLE_INVOICE_ID).total_amount == EXPECTED
    assert [r.fault for r in fake.requests] == [fault, None]


@pytest.mark.parametrize(
    ("fault", "error", "status"),
    [
        (Fault.status(500), mkp.InternalServerError, 500),
        (Fault.status(503), mkp.InternalServerError, 503),
        (Fault.status(520), mkp.InternalServerError, 520),
        (Fault.html(502), mkp.InternalServerError, 502),
        (Fault.rate_limited(retry_after=1), mkp.RateLimitError, 429),
        (Fault.status(400), mkp.BadRequestError, 400),
        (Fault.status(403), mkp.PermissionDeniedError, 403),
        (Fault.status(422), mkp.UnprocessableEntityError, 422),
        (Fault.truncated(), mkp.APIConnectionError, None),
        (Fault.drop(), mkp.APIConnectionError, None),
    ],
    ids=repr,
)
def test_persistent_fault_reaches_the_client_as_a_typed_error(
    connect: Callable[..., Any],
    fake: FakeMijnKlantportaal,
    fault: Fault,
    error: type[Exception],
    status: int | None,
) -> None:
    # The reactive policy (a budget would wait a persistent 429 out up to max_rate_wait).
    client = connect(max_retries=2, rate_budget=None)
    fake.fail_every(1, fault)
    with pytest.raises(error) as caught:
        client.invoices.get(EXAMPLE_INVOICE_ID)
    if status is not None:
        assert caught.value.status_code == status  # type: ignore[attr-defined]
    retried = status is None or status >= 500 or status == 429
    assert len(fake.requests) == (3 if retried else 1)
    if isinstance(caught.value, mkp.RateLimitError):
        assert caught.value.retry_after == 1
        assert caught.value.reset_at is not None


def test_latency_within_the_timeout_succeeds_beyond_it_times_out(
    connect: Callable[..., Any], fake: FakeMijnKlantportaal
) -> None:
    client = connect(timeout=0.3, max_retries=1)
    fake.fail_next(Fault.latency(0.05))
    assert client.invoices.get(EXAMPLE_INVOICE_ID).total_amount == EXPECTED
    fake.fail_next(Fault.latency(5))
    assert client.invoices.get(EXAMPLE_INVOICE_ID).total_amount == EXPECTED  # retried
    fake.fail_every(1, Fault.latency(5))
    with pytest.raises(mkp.APITimeoutError):
        client.invoices.get(EXAMPLE_INVOICE_ID)


def test_non_json_and_truncated_200s(
    connect: Callable[..., Any], fake: FakeMijnKlantportaal
) -> None:
    client = connect(max_retries=0)
    fake.fail_next(Fault.non_json())
    with pytest.raises(mkp.APIResponseValidationError):
        client.invoices.get(EXAMPLE_INVOICE_ID)
    fake.fail_next(Fault.truncated())
    with pytest.raises(mkp.APIConnectionError):
        client.invoices.get(EXAMPLE_INVOICE_ID)


def test_api_errors_reach_the_client(
    connect: Callable[..., Any], fake: FakeMijnKlantportaal
) -> None:
    with pytest.raises(mkp.NotFoundError, match="fac_nope"):
        connect().invoices.get("fac_nope")
    with pytest.raises(mkp.AuthenticationError) as caught:
        connect(api_key="mkp_wrong_key_123456").invoices.get(EXAMPLE_INVOICE_ID)
    assert caught.value.status_code == 401


def test_real_rate_limit_reaches_the_client_as_rate_limit_error() -> None:
    fake = FakeMijnKlantportaal(rate_limit=2, clock=FakeClock(start=1_750_000_000))
    fake.add_example_invoice()
    client = fake.client(max_retries=0)
    client.invoices.get(EXAMPLE_INVOICE_ID)
    client.invoices.get(EXAMPLE_INVOICE_ID)
    with pytest.raises(mkp.RateLimitError) as caught:
        client.invoices.get(EXAMPLE_INVOICE_ID)
    assert caught.value.retry_after == 60
    assert caught.value.reset_at is not None and caught.value.reset_at.timestamp() == 1_750_000_060
    fake.clock.advance(60)
    assert client.invoices.get(EXAMPLE_INVOICE_ID).is_paid is True


def test_money_as_strings_decodes_to_the_same_invoice(fake: FakeMijnKlantportaal) -> None:
    as_numbers = fake.client().invoices.get(EXAMPLE_INVOICE_ID)
    fake.money_as = "string"
    as_strings = fake.client().invoices.get(EXAMPLE_INVOICE_ID)
    assert as_numbers == as_strings
    assert as_strings.lines is not None and as_strings.lines[0].vat_rate == Decimal("21")


def test_async_client_in_process_and_over_loopback(fake: FakeMijnKlantportaal) -> None:
    async def main(base_url: str) -> None:
        with instant_retries():
            client = fake.async_client()
            fake.fail_next(Fault.status(503))
            assert (await client.invoices.get(EXAMPLE_INVOICE_ID)).total_amount == EXPECTED
            fake.fail_every(1, Fault.drop())
            with pytest.raises(mkp.APIConnectionError):
                await client.invoices.get(EXAMPLE_INVOICE_ID)
            fake.clear_faults()
            async with mkp.AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url) as remote:
                fake.fail_next(Fault.truncated())
                invoices = await asyncio.gather(
                    *(remote.invoices.get(EXAMPLE_INVOICE_ID) for _ in range(20))
                )
                assert {i.total_amount for i in invoices} == {EXPECTED}
                fake.fail_every(1, Fault.latency(5))
                with pytest.raises(mkp.APITimeoutError):
                    await remote.with_options(timeout=0.1, max_retries=0).invoices.get(
                        EXAMPLE_INVOICE_ID
                    )

    with fake.serve() as base_url:
        asyncio.run(main(base_url))


# -- the pytest fixtures dependents use ---------------------------------------------------


def test_plugin_fixtures(
    mijnklantportaal_fake: FakeMijnKlantportaal, mijnklantportaal_client: mkp.MijnKlantportaal
) -> None:
    mijnklantportaal_fake.fail_next(Fault.rate_limited(retry_after=30))
    started = time.monotonic()
    invoice = mijnklantportaal_client.invoices.get(EXAMPLE_INVOICE_ID)
    assert time.monotonic() - started < 5  # the 30 s retry-after was not slept
    assert invoice.is_paid is True
    assert [r.status for r in mijnklantportaal_fake.requests] == [429, 200]


def test_plugin_async_fixture(
    mijnklantportaal_fake: FakeMijnKlantportaal,
    mijnklantportaal_async_client: mkp.AsyncMijnKlantportaal,
) -> None:
    mijnklantportaal_fake.fail_next(Fault.status(503), times=2)
    invoice = asyncio.run(mijnklantportaal_async_client.invoices.get(EXAMPLE_INVOICE_ID))
    assert invoice.total_amount == EXPECTED


def test_importing_the_package_does_not_load_the_kit_or_the_cli() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mijnklantportaal; "
        "print([m for m in ('mijnklantportaal.testing', 'mijnklantportaal.cli') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- every operation of the spec, from the generated routes ------------------------------------


def _with_routes(monkeypatch: pytest.MonkeyPatch, *routes: Any, examples: Any = None) -> None:
    """The fake as ./generate.sh would build it for a spec with ``routes`` added."""
    from mijnklantportaal._generated import examples as tables

    monkeypatch.setattr(tables, "ROUTES", (*tables.ROUTES, *routes))
    if examples:
        monkeypatch.setattr(tables, "OPERATION_EXAMPLES", {**tables.OPERATION_EXAMPLES, **examples})


def test_every_operation_of_the_spec_has_a_route() -> None:
    import yaml
    from _support import REPO
    from mijnklantportaal._generated.examples import ROUTES

    spec = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
    operations = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    assert operations and {route.operation_id for route in ROUTES} == operations


def test_a_list_operation_pages_through_the_stored_objects(
    monkeypatch: pytest.MonkeyPatch, fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    from mijnklantportaal._generated.examples import Route

    _with_routes(
        monkeypatch,
        Route(
            "GET",
            "/zz-test-invoices",
            "zz-list",
            "list",
            "Invoice",
            None,
            "ZzPage",
            200,
            ("limit",),
        ),
    )
    for n in range(2):
        fake.add_invoice({**EXAMPLE_INVOICE, "id": f"fac_zz{n}", "totalAmount": f"{n}.10"})
    first = raw.get("https://api.example/v1/zz-test-invoices", params={"per_page": 2})
    assert first.status_code == 200
    body = json.loads(first.content, parse_float=Decimal)
    assert [item["id"] for item in body["data"]] == [EXAMPLE_INVOICE["id"], "fac_zz0"]
    assert body["data"][1]["totalAmount"] == Decimal("0.10")  # money as JSON numbers
    assert (body["current_page"], body["per_page"], body["from"], body["to"]) == (1, 2, 1, 2)
    # built from the request: its URL, its query, another page
    assert body["next_page_url"] == "https://api.example/v1/zz-test-invoices?per_page=2&page=2"
    assert body["path"] == "https://api.example/v1/zz-test-invoices"
    assert body["prev_page_url"] is None
    second = raw.get("https://api.example/v1/zz-test-invoices?page=2&limit=2").json()
    assert [item["id"] for item in second["data"]] == ["fac_zz1"]
    assert second["next_page_url"] is None and second["to"] == 3
    refused = raw.get("https://api.example/v1/zz-test-invoices?page=0")
    assert refused.status_code == 422 and "page" in refused.json()["message"]


def test_a_list_answered_as_a_bare_array(
    monkeypatch: pytest.MonkeyPatch, fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    from mijnklantportaal._generated.examples import Route

    _with_routes(
        monkeypatch,
        Route("GET", "/zz-test-invoices", "zz-list", "list", "Invoice", None, None, 200, ()),
    )
    fake.money_as = "string"
    body = raw.get("https://api.example/v1/zz-test-invoices").json()
    assert [item["id"] for item in body] == [EXAMPLE_INVOICE["id"]]
    assert body[0]["totalAmount"] == EXAMPLE_INVOICE["totalAmount"]


def test_other_operations_answer_their_spec_example(
    monkeypatch: pytest.MonkeyPatch, raw: httpx.Client
) -> None:
    from mijnklantportaal._generated.examples import Route

    _with_routes(
        monkeypatch,
        Route(
            "POST",
            "/zz-test-invoices/{invoiceId}/zz-send",
            "zz-send",
            "example",
            "Invoice",
            None,
            None,
            202,
            (),
        ),
        examples={"zz-send": {"id": "fac_zz", "totalAmount": "1.50"}},
    )
    answer = raw.post("https://api.example/v1/zz-test-invoices/fac_zz/zz-send")
    assert answer.status_code == 202
    assert json.loads(answer.content, parse_float=Decimal) == {
        "id": "fac_zz",
        "totalAmount": Decimal("1.50"),
    }
    wrong = raw.get("https://api.example/v1/zz-test-invoices/fac_zz/zz-send")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
