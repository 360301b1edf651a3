"""Core behaviour of both clients through the public API, over in-process transports."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import mijnklantportaal
import pytest
from _support import API_KEY, Recorder, ok, resolve, status
from mijnklantportaal import (
    DEFAULT_TIMEOUT,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncMijnKlantportaal,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    Invoice,
    MijnKlantportaal,
    MijnKlantportaalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

MakeClient = Callable[..., Any]


def get(client: Any, invoice_id: Any = "fac_abc12345def678") -> Any:
    return resolve(client.invoices.get(invoice_id))


# -- configuration ----------------------------------------------------------------------


def test_key_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, make_client: MakeClient
) -> None:
    monkeypatch.setenv("MIJNKLANTPORTAAL_API_KEY", "mkp_from_env_123")
    recorder = Recorder(ok())
    client = make_client(recorder, api_key=None)
    get(client)
    assert recorder.requests[0].headers["authorization"] == "Bearer mkp_from_env_123"


@pytest.mark.parametrize("client_class", [MijnKlantportaal, AsyncMijnKlantportaal])
def test_no_key_anywhere_names_both_ways_to_give_one(
    monkeypatch: pytest.MonkeyPatch, client_class: type[Any]
) -> None:
    monkeypatch.delenv("MIJNKLANTPORTAAL_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        client_class()
    assert "MIJNKLANTPORTAAL_API_KEY" in str(caught.value)
    assert "api_key=" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("client_class", [MijnKlantportaal, AsyncMijnKlantportaal])
def test_base_url_default_env_and_insecure_refusal(
    monkeypatch: pytest.MonkeyPatch, client_class: type[Any]
) -> None:
    monkeypatch.delenv("MIJNKLANTPORTAAL_BASE_URL", raising=False)
    assert client_class(api_key=API_KEY).base_url == "https://api.mijnklantportaal.nl/v1"
    monkeypatch.setenv("MIJNKLANTPORTAAL_BASE_URL", "https://sandbox.example.test/v1/")
    assert client_class(api_key=API_KEY).base_url == "https://sandbox.example.test/v1"
    with pytest.raises(ConfigurationError, match="clear text"):
        client_class(api_key=API_KEY, base_url="http://api.example.test/v1")
    assert client_class(
        api_key=API_KEY, base_url="http://api.example.test/v1", allow_insecure_http=True
    )
    for loopback in ("http://127.0.0.1:8080/v1", "http://localhost:1/v1", "http://[::1]:9/v1"):
        assert client_class(api_key=API_KEY, base_url=loopback).base_url == loopback
    for garbage in ("ftp://x/v1", "not a url", "https://user:pw@host/v1", "https://host/v1?x=1"):
        with pytest.raises(ConfigurationError):
            client_class(api_key=API_KEY, base_url=garbage)


@pytest.mark.parametrize(
    "kwargs",
    [{"timeout": 0}, {"timeout": -1}, {"timeout": "5"}, {"max_retries": -1}, {"max_retries": True}],
)
def test_bad_options_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        MijnKlantportaal(api_key=API_KEY, **kwargs)


def test_wrong_kind_of_http_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="AsyncMijnKlantportaal"):
        MijnKlantportaal(api_key=API_KEY, http_client=httpx.AsyncClient())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"httpx\.AsyncClient"):
        AsyncMijnKlantportaal(api_key=API_KEY, http_client=httpx.Client())  # type: ignore[arg-type]


def test_every_request_carries_auth_user_agent_timeout_and_default_headers(
    make_client: MakeClient,
) -> None:
    recorder = Recorder(ok())
    client = make_client(recorder, default_headers={"X-Team": "billing"})
    get(client)
    request = recorder.requests[0]
    assert request.method == "GET"
    assert str(request.url) == "https://api.mijnklantportaal.nl/v1/invoices/fac_abc12345def678"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert (
        request.headers["user-agent"] == f"mijnklantportaal-python/{mijnklantportaal.__version__}"
    )
    assert request.headers["x-team"] == "billing"
    assert request.extensions["timeout"] == DEFAULT_TIMEOUT.as_dict()
    # the README's defaults: 30 s read/write/pool, 5 s connect
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 30.0,
    }


def test_default_headers_cannot_override_authorization() -> None:
    with pytest.raises(ConfigurationError, match="api_key"):
        MijnKlantportaal(api_key=API_KEY, default_headers={"authorization": "Bearer other"})


def test_with_options_shares_the_pool_and_overrides_per_call(make_client: MakeClient) -> None:
    recorder = Recorder(status(503), ok())
    client = make_client(recorder)
    quick = client.with_options(timeout=1.5, max_retries=0)
    assert quick._transport.http_client is client._transport.http_client
    assert (quick.max_retries, client.max_retries) == (0, 2)
    with pytest.raises(InternalServerError):
        get(quick)  # no retry budget on the copy
    assert recorder.requests[0].extensions["timeout"]["read"] == 1.5
    assert get(client).id == "fac_abc12345def678"  # the original keeps its settings
    assert recorder.requests[-1].extensions["timeout"] == DEFAULT_TIMEOUT.as_dict()


def test_per_call_timeout_applies_to_that_call_only(make_client: MakeClient) -> None:
    recorder = Recorder(ok())
    client = make_client(recorder)
    assert resolve(client.invoices.get("fac_abc12345def678", timeout=1.5)).id is not None
    raw = resolve(
        client.invoices.with_raw_response.get(
            "fac_abc12345def678", timeout=httpx.Timeout(2.0, connect=0.5)
        )
    )
    assert raw.parsed.id == "fac_abc12345def678"
    get(client)
    first, second, third = (request.extensions["timeout"] for request in recorder.requests)
    assert first == httpx.Timeout(1.5).as_dict()
    assert second == httpx.Timeout(2.0, connect=0.5).as_dict()
    assert third == DEFAULT_TIMEOUT.as_dict()


@pytest.mark.parametrize("bad", [0, -1, "5", True, float("inf"), float("nan")])
def test_a_bad_per_call_timeout_is_refused_before_sending(
    make_client: MakeClient, bad: Any
) -> None:
    recorder = Recorder(ok())
    with pytest.raises(InvalidArgumentError, match="timeout"):
        resolve(make_client(recorder).invoices.get("fac_abc12345def678", timeout=bad))
    assert recorder.requests == []


def test_per_call_extra_headers_are_sent_and_override(make_client: MakeClient) -> None:
    recorder = Recorder(ok())
    client = make_client(recorder, default_headers={"X-Team": "billing"})
    extra = {"X-Zz-Trace": "abc123", "x-team": "payments"}
    resolve(client.invoices.get("fac_abc12345def678", extra_headers=extra))
    resolve(client.invoices.with_raw_response.get("fac_abc12345def678", extra_headers=extra))
    get(client)
    for request in recorder.requests[:2]:
        assert request.headers["x-zz-trace"] == "abc123"
        assert request.headers.get_list("x-team") == ["payments"]
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "x-zz-trace" not in recorder.requests[2].headers
    assert recorder.requests[2].headers["x-team"] == "billing"


@pytest.mark.parametrize(
    "bad",
    [
        {"Authorization": "Bearer other"},
        {"AUTHORIZATION": "x"},
        {"X-Zz": "a\r\nX-Injected: 1"},
        {"X Zz": "a"},
        {"X-Zz": 1},
        {"X-Zz": "caf\u00e9"},
        ["X-Zz", "a"],
    ],
)
def test_bad_extra_headers_are_refused_before_sending(make_client: MakeClient, bad: Any) -> None:
    recorder = Recorder(ok())
    with pytest.raises(InvalidArgumentError) as caught:
        resolve(make_client(recorder).invoices.get("fac_abc12345def678", extra_headers=bad))
    assert recorder.requests == []
    assert "Bearer other" not in str(caught.value)


def test_close_leaves_a_caller_owned_http_client_open() -> None:
    http_client = httpx.Client(transport=httpx.MockTransport(Recorder(ok())))
    with MijnKlantportaal(api_key=API_KEY, http_client=http_client) as client:
        get(client)
    assert not http_client.is_closed
    http_client.close()


def test_owned_pool_is_closed_by_context_managers() -> None:
    with MijnKlantportaal(api_key=API_KEY) as client:
        copy = client.with_options(max_retries=1)
        copy.close()  # the copy does not own the pool
        assert not client._transport.http_client.is_closed
    assert client._transport.http_client.is_closed

    async def run() -> AsyncMijnKlantportaal:
        async with AsyncMijnKlantportaal(api_key=API_KEY) as async_client:
            pass
        return async_client

    assert resolve(run())._transport.http_client.is_closed


def test_repr_never_shows_the_key() -> None:
    client = MijnKlantportaal(api_key=API_KEY)
    assert API_KEY not in repr(client)
    assert API_KEY[:8] not in repr(client)
    assert API_KEY not in repr(client._transport.config)
    client.close()


# -- the happy path: exact values ---------------------------------------------------------


def test_get_returns_exact_typed_invoice(make_client: MakeClient) -> None:
    invoice = get(make_client(Recorder(ok())))
    assert isinstance(invoice, Invoice)
    assert invoice.total_amount == Decimal("15.67") and str(invoice.total_amount) == "15.67"
    assert invoice.subtotal_amount == Decimal("12.95")
    assert invoice.issued_at == datetime(2025, 4, 12, tzinfo=UTC)
    assert invoice.issued_at.utcoffset() == timedelta(0)
    line = invoice.lines[0]
    assert line.vat_rate == Decimal("21") and line.quantity == 1
    assert (line.id, line.description, line.currency) == (
        "fcl_abc12345def678",
        "Pro subscription",
        "EUR",
    )
    assert invoice.is_paid is True


def test_money_as_strings_and_offsets_are_kept(make_client: MakeClient) -> None:
    body = {
        "id": "fac_x1",
        "totalAmount": "1.10",
        "vatAmount": "-2.720",
        "subtotalAmount": "123456789012345678901234567890.123456789",
        "issuedAt": "2024-04-28T21:00:00+02:00",
    }
    invoice = get(make_client(Recorder(ok(body))), "fac_x1")
    assert str(invoice.total_amount) == "1.10"
    assert str(invoice.vat_amount) == "-2.720"
    assert str(invoice.subtotal_amount) == "123456789012345678901234567890.123456789"
    assert invoice.issued_at.utcoffset() == timedelta(hours=2)
    assert invoice.issued_at == datetime(2024, 4, 28, 21, tzinfo=timezone(timedelta(hours=2)))


def test_missing_and_null_fields_are_none_and_unknown_fields_are_kept(
    make_client: MakeClient,
) -> None:
    body = b'{"id":"fac_x1","totalAmount":null,"lines":[{"id":"fcl_1","zzTestOnlyUnknownNumber":1.50}],"zzTestOnlyUnknown":"2025-05-01"}'
    invoice = get(make_client(Recorder(ok(body))), "fac_x1")
    assert invoice.total_amount is None and invoice.currency is None and invoice.is_paid is None
    assert invoice.extra == {"zzTestOnlyUnknown": "2025-05-01"}
    assert invoice.lines[0].extra["zzTestOnlyUnknownNumber"] == Decimal("1.50")
    data = invoice.to_dict()
    assert (
        data["zzTestOnlyUnknown"] == "2025-05-01"
        and data["lines"][0]["zzTestOnlyUnknownNumber"] == "1.50"
    )
    assert "totalAmount" not in data


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (520, InternalServerError),
        (302, APIStatusError),
        (418, APIStatusError),
        (499, APIStatusError),
    ],
)
def test_every_status_maps_to_one_typed_error(
    make_client: MakeClient, code: int, error_class: type[Any]
) -> None:
    client = make_client(Recorder(status(code, {"message": "The vendor says no"})), max_retries=0)
    with pytest.raises(error_class) as caught:
        get(client)
    error = caught.value
    assert type(error) is error_class
    assert isinstance(error, APIStatusError) and isinstance(error, MijnKlantportaalError)
    assert error.status_code == code
    assert error.message == "The vendor says no"
    assert error.body == {"message": "The vendor says no"}
    assert "fac_abc12345def678" in str(error) and str(code) in str(error)


def test_error_messages_say_what_to_do(make_client: MakeClient) -> None:
    client = make_client(Recorder(status(401, b"<html>nope</html>")), max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        get(client)
    assert caught.value.message == "The API key was not accepted"
    assert "MIJNKLANTPORTAAL_API_KEY" in str(caught.value)
    assert caught.value.body == "<html>nope</html>"

    client = make_client(
        Recorder(status(404, {"message": "The Invoice could not be found"}, x_request_id="req_42"))
    )
    with pytest.raises(NotFoundError) as caught_404:
        get(client, "fac_missing1")
    assert caught_404.value.request_id == "req_42"
    assert "fac_missing1" in str(caught_404.value) and "req_42" in str(caught_404.value)


def test_rate_limit_error_carries_retry_after_and_reset(make_client: MakeClient) -> None:
    # Within a window (plus slack) from now: a reset years ahead is implausible, no reset.
    reset = int(time.time()) + 30
    response = status(
        429,
        {"code": 429, "message": "Too many requests."},
        retry_after="30",
        x_ratelimit_reset=str(reset),
    )
    client = make_client(Recorder(response), max_retries=0)
    with pytest.raises(RateLimitError) as caught:
        get(client)
    assert caught.value.retry_after == 30.0
    assert caught.value.reset_at == datetime.fromtimestamp(reset, tz=UTC)
    assert caught.value.message == "Too many requests."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"<html><body>Bad gateway</body></html>", None),
        (b"[1, 2]", None),
        (b"null", None),
        (b'{"totalAmount": "12,95"}', "totalAmount"),
        (b'{"totalAmount": "abc"}', "totalAmount"),
        (b'{"totalAmount": NaN}', None),
        (b'{"totalAmount": "NaN"}', "totalAmount"),
        (b'{"totalAmount": "Infinity"}', "totalAmount"),
        (b'{"totalAmount": true}', "totalAmount"),
        (b'{"issuedAt": "yesterday"}', "issuedAt"),
        (b'{"lines": [{"vatRate": 21}, {"vatRate": "21%"}]}', "lines[1].vatRate"),
        (b'{"lines": {"vatRate": 21}}', "lines"),
        (b'{"isPaid": "yes"}', "isPaid"),
        (b'{"totalAmount": 1, "totalAmount": 2}', None),
        (b"", None),
    ],
)
def test_a_2xx_body_that_does_not_fit_is_a_validation_error(
    make_client: MakeClient, body: bytes, field: str | None
) -> None:
    with pytest.raises(APIResponseValidationError) as caught:
        get(make_client(Recorder(ok(body))))
    assert caught.value.field == field
    assert "fac_abc12345def678" in str(caught.value)
    if field:
        assert field in str(caught.value)


def test_errors_pickle_with_type_message_and_no_key(make_client: MakeClient) -> None:
    errors: list[BaseException] = []
    for response in (status(404, {"message": "gone"}), status(429, retry_after="2"), ok(b"[]")):
        try:
            get(make_client(Recorder(response), max_retries=0))
        except MijnKlantportaalError as exc:
            errors.append(exc)
    try:
        get(make_client(Recorder(httpx.ConnectError("refused")), max_retries=0))
    except MijnKlantportaalError as exc:
        errors.append(exc)
    try:
        get(make_client(Recorder(ok()), max_retries=0), "inv_123")
    except MijnKlantportaalError as exc:
        errors.append(exc)
    assert len(errors) == 5
    for error in errors:
        data = pickle.dumps(error)
        assert API_KEY.encode() not in data
        copy = pickle.loads(data)
        assert type(copy) is type(error) and str(copy) == str(error)
        assert API_KEY not in repr(error) and API_KEY not in str(error)
    rate_limited = pickle.loads(pickle.dumps(errors[1]))
    assert rate_limited.retry_after == 2.0 and rate_limited.status_code == 429


# -- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [408, 409, 429, 500, 502, 503, 504, 520])
def test_retryable_statuses_are_retried_then_succeed(
    make_client: MakeClient, sleeps: list[float], code: int
) -> None:
    recorder = Recorder(status(code), status(code), ok())
    invoice = get(make_client(recorder))
    assert invoice.id == "fac_abc12345def678"
    assert len(recorder.requests) == 3
    assert len(sleeps) == 2
    assert (
        0.375 <= sleeps[0] <= 0.5 and 0.75 <= sleeps[1] <= 1.0
    )  # backoff with at most 25 % jitter


def test_retries_give_up_after_max_retries(make_client: MakeClient, sleeps: list[float]) -> None:
    recorder = Recorder(status(503))
    with pytest.raises(InternalServerError) as caught:
        get(make_client(recorder, max_retries=3))
    assert len(recorder.requests) == 4 and len(sleeps) == 3
    assert "after 3 retries" in str(caught.value)


@pytest.mark.parametrize("code", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(
    make_client: MakeClient, sleeps: list[float], code: int
) -> None:
    recorder = Recorder(status(code))
    with pytest.raises(APIStatusError):
        get(make_client(recorder))
    assert len(recorder.requests) == 1 and sleeps == []


def test_retry_after_is_honoured_and_capped(make_client: MakeClient, sleeps: list[float]) -> None:
    recorder = Recorder(status(429, retry_after="7"), ok())
    get(make_client(recorder))
    assert sleeps == [7.0]

    sleeps.clear()
    recorder = Recorder(status(429, retry_after="3600"))
    with pytest.raises(RateLimitError) as caught:
        get(make_client(recorder))
    assert len(recorder.requests) == 1 and sleeps == []  # beyond the cap: raise at once
    assert caught.value.retry_after == 3600.0


def test_retry_after_http_date_and_ms_and_reset(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=20)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    reset = str(int(datetime.now(UTC).timestamp()) + 10)
    recorder = Recorder(
        status(429, retry_after=soon),
        status(503, retry_after_ms="250"),
        status(429, x_ratelimit_reset=reset),
        ok(),
    )
    get(make_client(recorder, max_retries=3))
    assert 18 <= sleeps[0] <= 20
    assert sleeps[1] == 0.25
    assert 8 <= sleeps[2] <= 10


@pytest.mark.parametrize("garbage", ["soon", "-5", "nan", "inf", ""])
def test_garbage_retry_after_falls_back_to_backoff(
    make_client: MakeClient, sleeps: list[float], garbage: str
) -> None:
    get(make_client(Recorder(status(429, retry_after=garbage), ok())))
    assert len(sleeps) == 1 and 0.375 <= sleeps[0] <= 0.5


def test_connection_errors_and_timeouts_are_retried_then_typed(
    make_client: MakeClient, sleeps: list[float]
) -> None:
    recorder = Recorder(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok())
    assert get(make_client(recorder)).id == "fac_abc12345def678"
    assert len(sleeps) == 2

    with pytest.raises(APITimeoutError) as timeout:
        get(make_client(Recorder(httpx.ReadTimeout("slow"))))
    assert "timed out" in str(timeout.value)
    assert isinstance(timeout.value, APIConnectionError)

    with pytest.raises(APIConnectionError) as refused:
        get(make_client(Recorder(httpx.ConnectError("Connection refused")), max_retries=0))
    assert type(refused.value) is APIConnectionError
    assert "Connection refused" in str(refused.value)


def test_bad_content_encoding_is_a_validation_error(make_client: MakeClient) -> None:
    lying = httpx.Response(
        200,
        stream=httpx.ByteStream(b"\x1f\x8b\x08not really gzip"),
        headers={"content-encoding": "gzip"},
    )
    with pytest.raises(APIResponseValidationError, match="could not be decoded"):
        get(make_client(Recorder(lying)))


# -- rate limits and raw responses ---------------------------------------------------------------


def test_rate_limit_headers_are_visible(make_client: MakeClient) -> None:
    client = make_client(Recorder(ok(x_ratelimit_limit="60", x_ratelimit_remaining="57")))
    assert client.rate_limit is None
    get(client)
    assert (client.rate_limit.limit, client.rate_limit.remaining) == (60, 57)
    assert client.with_options(max_retries=0).rate_limit == client.rate_limit


def test_raw_response_gives_status_headers_and_model(make_client: MakeClient) -> None:
    client = make_client(
        Recorder(ok(x_ratelimit_limit="60", x_ratelimit_remaining="1", x_request_id="r1"))
    )
    raw = resolve(client.invoices.with_raw_response.get("fac_abc12345def678"))
    assert raw.status_code == 200
    assert raw.headers["x-request-id"] == "r1"
    assert raw.rate_limit.remaining == 1
    assert raw.parsed.total_amount == Decimal("15.67")
    assert raw.retries_taken == 0


# -- input checks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_id",
    [
        "",
        "   ",
        "fac_",
        "fac_a/b",
        "fac_%2F",
        "fac_..",
        "fac_a b",
        "fac_a\n",
        "fac_\x00",
        "fac_é",
        "inv_123",
        "x" * 10_000,
    ],
)
def test_bad_ids_are_refused_before_sending(make_client: MakeClient, bad_id: str) -> None:
    recorder = Recorder(ok())
    with pytest.raises(InvalidArgumentError) as caught:
        get(make_client(recorder), bad_id)
    assert recorder.requests == []
    assert isinstance(caught.value, ValueError)
    assert len(str(caught.value)) < 400


def test_customer_invoice_id_gets_a_hint(make_client: MakeClient) -> None:
    with pytest.raises(InvalidArgumentError, match="customer invoice"):
        get(make_client(Recorder(ok())), "inv_abc123")


@pytest.mark.parametrize("bad_id", [None, 123, b"fac_abc", ["fac_abc"]])
def test_non_string_ids_are_type_errors(make_client: MakeClient, bad_id: Any) -> None:
    recorder = Recorder(ok())
    with pytest.raises(TypeError):
        get(make_client(recorder), bad_id)
    assert recorder.requests == []


# -- logging ---------------------------------------------------------------------------------------


def test_logs_method_url_status_and_retries_without_the_key(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="mijnklantportaal")
    get(make_client(Recorder(status(503), ok())))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET https://api.mijnklantportaal.nl/v1/invoices/fac_abc12345def678 -> 503" in text
    assert "-> 200" in text and "Retrying" in text
    assert all(record.name == "mijnklantportaal" for record in caplog.records)
    assert API_KEY not in text


# -- sharing ---------------------------------------------------------------------------------------


def test_one_sync_client_is_shared_across_threads() -> None:
    recorder = Recorder(lambda request: ok(EXAMPLE_FOR(request.url.path.rsplit("/", 1)[1])))
    client = MijnKlantportaal(
        api_key=API_KEY,
        http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
        rate_budget=None,  # 200 calls to a handler without a limit
    )
    results: dict[str, Decimal] = {}
    lock = threading.Lock()

    def work(n: int) -> None:
        for i in range(25):
            invoice_id = f"fac_t{n}x{i}"
            invoice = client.invoices.get(invoice_id)
            assert invoice.id == invoice_id
            with lock:
                results[invoice_id] = invoice.total_amount

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 200 and set(results.values()) == {Decimal("0.10")}


def test_one_async_client_is_shared_across_tasks() -> None:
    import asyncio

    async def run() -> list[str | None]:
        recorder = Recorder(lambda request: ok(EXAMPLE_FOR(request.url.path.rsplit("/", 1)[1])))
        async with AsyncMijnKlantportaal(
            api_key=API_KEY,
            http_client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
            rate_budget=None,  # 64 calls to a handler without a limit
        ) as client:
            invoices = await asyncio.gather(*(client.invoices.get(f"fac_a{i}") for i in range(64)))
        return [invoice.id for invoice in invoices]

    assert resolve(run()) == [f"fac_a{i}" for i in range(64)]


def EXAMPLE_FOR(invoice_id: str) -> dict[str, Any]:
    return {"id": invoice_id, "totalAmount": "0.10"}


def test_log_env_var_turns_on_logging_to_stderr_without_the_key(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    script = (
        "import httpx\n"
        "from mijnklantportaal import MijnKlantportaal\n"
        "from mijnklantportaal.testing import FakeMijnKlantportaal\n"
        f"fake = FakeMijnKlantportaal(api_key={API_KEY!r})\n"
        "fake.add_example_invoice()\n"
        "client = MijnKlantportaal(http_client=httpx.Client(transport=fake.transport()))\n"
        "print(client.invoices.get('fac_abc12345def678').total_amount)\n"
    )
    env = {**os.environ, "MIJNKLANTPORTAAL_LOG": "debug", "MIJNKLANTPORTAAL_API_KEY": API_KEY}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "15.67"
    assert (
        "HTTP GET https://api.mijnklantportaal.nl/v1/invoices/fac_abc12345def678 -> 200"
        in result.stderr
    )
    assert "response headers" in result.stderr  # debug level
    assert API_KEY not in result.stderr

    quiet = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "MIJNKLANTPORTAAL_LOG": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    assert quiet.stderr == ""


def test_an_answer_for_another_invoice_is_refused(make_client: MakeClient) -> None:
    client = make_client(Recorder(ok({"id": "fac_other1", "totalAmount": "99.99"})))
    with pytest.raises(APIResponseValidationError) as caught:
        get(client, "fac_asked1")
    assert caught.value.field == "id"
    assert "fac_other1" in str(caught.value) and "fac_asked1" in str(caught.value)
    # an answer without an id is not that invoice either (issue 11, item 4)...
    with pytest.raises(APIResponseValidationError) as caught:
        get(make_client(Recorder(ok({"totalAmount": "1.00"}))), "fac_asked1")
    assert caught.value.field == "id"
    # ...unless the check is turned off, as for a static mock (issue 11, item 15)
    unchecked = make_client(Recorder(ok({"totalAmount": "1.00"})), check_response_id=False)
    assert get(unchecked, "fac_asked1").id is None


def test_a_closed_client_raises_a_typed_error_and_sends_nothing(make_client: MakeClient) -> None:
    recorder = Recorder(ok())
    client = make_client(recorder)
    http_client = client._transport.http_client
    resolve(
        http_client.aclose() if isinstance(http_client, httpx.AsyncClient) else http_client.close()
    )
    with pytest.raises(ClientClosedError, match="closed") as caught:
        get(client)
    assert isinstance(caught.value, RuntimeError) and isinstance(
        caught.value, MijnKlantportaalError
    )
    assert recorder.requests == []


def test_an_oversized_body_is_refused(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mijnklantportaal._body as body

    monkeypatch.setattr(body, "MAX_RESPONSE_BYTES", 1000)
    big = httpx.Response(
        200,
        stream=httpx.ByteStream(
            b'{"id": "fac_abc12345def678", "zzTestOnlyPad": "' + b"x" * 5000 + b'"}'
        ),
    )
    with pytest.raises(APIResponseValidationError, match="larger than"):
        get(make_client(Recorder(big)))


# -- per-call options over real HTTP on loopback ---------------------------------------------


def _loopback_fake() -> Any:
    from mijnklantportaal.testing import FakeMijnKlantportaal, Fault

    fake = FakeMijnKlantportaal(rate_limit=None)
    fake.add_example_invoice()
    fake.fail_next(Fault.latency(2.0))  # the first call: headers after 2 s
    return fake


def _check_loopback_calls(fake: Any) -> None:
    sent = fake.requests[-1]
    assert sent.headers["x-zz-trace"] == "t1"
    assert sent.headers["authorization"] == "Bearer [redacted]" and sent.authenticated


def test_per_call_timeout_and_headers_over_loopback_sync() -> None:
    fake = _loopback_fake()
    with fake.serve() as base_url:
        with MijnKlantportaal(api_key=fake.api_key, base_url=base_url, max_retries=0) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match=r"0\.25 s read"):
                client.invoices.get("fac_abc12345def678", timeout=0.25)
            assert time.monotonic() - started < 1.9  # the call's timeout, not the client's 30 s
            invoice = client.invoices.get("fac_abc12345def678", extra_headers={"X-Zz-Trace": "t1"})
            assert invoice.id == "fac_abc12345def678"
    _check_loopback_calls(fake)


def test_per_call_timeout_and_headers_over_loopback_async() -> None:
    fake = _loopback_fake()

    async def scenario(base_url: str) -> None:
        async with AsyncMijnKlantportaal(
            api_key=fake.api_key, base_url=base_url, max_retries=0
        ) as client:
            started = time.monotonic()
            with pytest.raises(APITimeoutError, match=r"0\.25 s read"):
                await client.invoices.get("fac_abc12345def678", timeout=0.25)
            assert time.monotonic() - started < 1.9
            invoice = await client.invoices.get(
                "fac_abc12345def678", extra_headers={"X-Zz-Trace": "t1"}
            )
            assert invoice.id == "fac_abc12345def678"

    with fake.serve() as base_url:
        asyncio.run(scenario(base_url))
    _check_loopback_calls(fake)


# -- the argument checks the generated methods call for query parameters ---------------------


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        ("check_int", 5, [True, "5", 5.0, None]),
        ("check_bool", False, [0, "true", None]),
        ("check_text", "x", [b"x", 1, None]),
    ],
)
def test_query_argument_checks_name_the_argument(check: str, good: Any, bad: list[Any]) -> None:
    from mijnklantportaal import _ids

    function = getattr(_ids, check)
    assert function(good, "zz_arg") == good
    for value in bad:
        with pytest.raises(InvalidArgumentError, match=r"zz_arg .*nothing was sent"):
            function(value, "zz_arg")


def test_choice_and_instance_checks() -> None:
    from mijnklantportaal import _ids

    assert _ids.check_choice("paid", "state", ("open", "paid")) == "paid"
    with pytest.raises(InvalidArgumentError, match="'open', 'paid', not 'PAID'"):
        _ids.check_choice("PAID", "state", ("open", "paid"))
    with pytest.raises(InvalidArgumentError):
        _ids.check_choice(1, "limit", (True, False))  # 1 == True, but not a bool
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    assert _ids.check_instance(moment, "since", datetime) is moment
    with pytest.raises(InvalidArgumentError, match=r"since must be a datetime\.datetime"):
        _ids.check_instance("2025-01-01", "since", datetime)
