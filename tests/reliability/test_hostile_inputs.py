"""Hostile input: invoice ids that must never reach the wire, and bodies, headers and
statuses a broken server or proxy sends, each mapped to one typed error (or a correct parse).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from mijnklantportaal import (
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    Invoice,
    MijnKlantportaalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from mijnklantportaal._constants import MAX_RETRY_AFTER
from reliability_helpers import INVOICE_ID, outcome, resolve

MakeClient = Callable[..., Any]

# -- ids ----------------------------------------------------------------------------------------

HOSTILE_IDS: list[tuple[str, object, type[Exception]]] = [
    ("empty", "", InvalidArgumentError),
    ("blank", "   ", InvalidArgumentError),
    ("tab", "\t", InvalidArgumentError),
    ("dot-dot", "..", InvalidArgumentError),
    ("prefix then dot-dot", "fac_..", InvalidArgumentError),
    ("traversal", "fac_abc/../../admin", InvalidArgumentError),
    ("slash", "a/b", InvalidArgumentError),
    ("prefixed slash", "fac_a/b", InvalidArgumentError),
    ("encoded slash", "fac_a%2Fb", InvalidArgumentError),
    ("bare encoded slash", "%2F", InvalidArgumentError),
    ("encoded dot-dot", "fac_%2e%2e", InvalidArgumentError),
    ("query", "fac_abc?admin=1", InvalidArgumentError),
    ("fragment", "fac_abc#x", InvalidArgumentError),
    ("backslash", "fac_a\\b", InvalidArgumentError),
    ("unicode letters", "fac_ÄÖÜ", InvalidArgumentError),
    ("unicode digits", "fac_١٢٣", InvalidArgumentError),
    ("fullwidth", "fac_\uff41\uff42\uff43", InvalidArgumentError),
    ("emoji", "fac_💸", InvalidArgumentError),
    ("RTL override", "fac_abc\u202edef", InvalidArgumentError),
    ("zero width space", "fac_abc\u200b", InvalidArgumentError),
    ("NUL", "fac_abc\x00", InvalidArgumentError),
    ("CRLF header injection", "fac_abc\r\nX-Evil: 1", InvalidArgumentError),
    ("newline", "fac_abc\n", InvalidArgumentError),
    ("DEL", "fac_abc\x7f", InvalidArgumentError),
    ("leading space", " fac_abc", InvalidArgumentError),
    ("trailing space", "fac_abc ", InvalidArgumentError),
    ("inner space", "fac_a b", InvalidArgumentError),
    ("prefix only", "fac_", InvalidArgumentError),
    ("double underscore", "fac__abc", InvalidArgumentError),
    ("trailing dash", "fac_abc-", InvalidArgumentError),
    ("10,000 characters", "fac_" + "a" * 9996, InvalidArgumentError),
    ("129 characters", "fac_" + "a" * 125, InvalidArgumentError),
    ("customer invoice prefix", "inv_abc123", InvalidArgumentError),
    ("customer prefix", "cst_abc123", InvalidArgumentError),
    ("line prefix", "fcl_abc123", InvalidArgumentError),
    ("upper-case prefix", "FAC_abc123", InvalidArgumentError),
    ("no prefix", "abc123", InvalidArgumentError),
    ("None", None, TypeError),
    ("int", 12345, TypeError),
    ("bytes", b"fac_abc123", TypeError),
    ("list", ["fac_abc123"], TypeError),
    ("dict", {"id": "fac_abc123"}, TypeError),
    ("float", 1.5, TypeError),
    ("bool", True, TypeError),
]


@pytest.mark.parametrize(
    ("invoice_id", "expected"),
    [pytest.param(value, error, id=name) for name, value, error in HOSTILE_IDS],
)
def test_hostile_invoice_id_raises_before_any_request(
    mock_client: MakeClient, invoice_id: object, expected: type[Exception], figures: Any
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": INVOICE_ID})

    client = mock_client(handler)
    for call in (client.invoices.get, client.invoices.with_raw_response.get):
        with pytest.raises(expected) as caught:
            resolve(call(invoice_id))
        assert str(caught.value)  # says what was wrong
        figures.count("hostile input", "invoice ids")
    assert sent == []


def test_longest_valid_id_is_sent_unchanged(mock_client: MakeClient) -> None:
    invoice_id = "fac_" + "a" * 124
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"id": invoice_id})

    assert outcome(lambda: mock_client(handler).invoices.get(invoice_id)).id == invoice_id
    assert seen == [f"/v1/invoices/{invoice_id}"]


# -- bodies, statuses and headers --------------------------------------------------------------

GOOD = b'{"id":"fac_abc12345def678","subtotalAmount":12.95,"totalAmount":"15.67"}'
# Bodies that must be refused for what they hold carry the requested id, so that the
# answered-id check cannot refuse them in its place.
ID_FIELD = b'{"id":"fac_abc12345def678",'
# Makes a body larger than 2 kB, which _decode.loads checks for repeated keys by counting
# (smaller ones go straight to the parse that checks each object).
PADDING = b'"zzTestOnlyPadding":"' + b"x" * 2100 + b'",'
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"


def _gzip_with_lying_length(body: bytes) -> bytes:
    data = bytearray(gzip.compress(body))
    data[-4:] = (len(body) + 1000).to_bytes(4, "little")  # ISIZE trailer lies
    return bytes(data)


def _gzip_with_bad_crc(body: bytes) -> bytes:
    data = bytearray(gzip.compress(body))
    data[-8:-4] = (zlib.crc32(body) ^ 0xFFFF).to_bytes(4, "little")
    return bytes(data)


# (name, status, headers, body, expected type, expected tries)
Case = tuple[str, int, list[tuple[bytes, bytes]], bytes, type[Any], int]
JSON_CT = [(b"content-type", b"application/json")]
HTML_CT = [(b"content-type", b"text/html")]

HOSTILE_RESPONSES: list[Case] = [
    ("200 HTML page", 200, HTML_CT, HTML, APIResponseValidationError, 1),
    ("200 JSON array", 200, JSON_CT, b"[]", APIResponseValidationError, 1),
    ("200 array of invoice", 200, JSON_CT, b"[" + GOOD + b"]", APIResponseValidationError, 1),
    ("200 null", 200, JSON_CT, b"null", APIResponseValidationError, 1),
    ("200 string", 200, JSON_CT, b'"fac_abc"', APIResponseValidationError, 1),
    ("200 number", 200, JSON_CT, b"12.95", APIResponseValidationError, 1),
    ("200 empty body", 200, JSON_CT, b"", APIResponseValidationError, 1),
    ("204 no content", 204, [], b"", APIResponseValidationError, 1),
    ("200 whitespace", 200, JSON_CT, b" \r\n\t ", APIResponseValidationError, 1),
    ("200 NaN amount", 200, JSON_CT, b'{"subtotalAmount":NaN}', APIResponseValidationError, 1),
    ("200 Infinity", 200, JSON_CT, b'{"totalAmount":Infinity}', APIResponseValidationError, 1),
    ("200 -Infinity", 200, JSON_CT, b'{"vatAmount":-Infinity}', APIResponseValidationError, 1),
    ("200 NaN string", 200, JSON_CT, b'{"totalAmount":"NaN"}', APIResponseValidationError, 1),
    ("200 inf string", 200, JSON_CT, b'{"totalAmount":"Infinity"}', APIResponseValidationError, 1),
    (
        "200 duplicate key",
        200,
        JSON_CT,
        ID_FIELD + b'"totalAmount":1,"totalAmount":2}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 duplicate nested",
        200,
        JSON_CT,
        ID_FIELD + b'"lines":[{"vatRate":21,"vatRate":9}]}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 duplicate beside a timestamp",
        200,
        JSON_CT,
        ID_FIELD + PADDING + b'"issuedAt":"2025-04-12T00:00:00Z","totalAmount":1,"totalAmount":2}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 duplicate beside an escaped colon",
        200,
        JSON_CT,
        ID_FIELD + PADDING + b'"invoiceNumber":"a\\u003ab","totalAmount":1,"totalAmount":2}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 duplicate with spaced colons",
        200,
        JSON_CT,
        ID_FIELD + PADDING + b'"totalAmount" : 1 , "totalAmount" : 2}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 huge exponent",
        200,
        JSON_CT,
        b'{"totalAmount":1E+999999999}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 tiny exponent",
        200,
        JSON_CT,
        b'{"totalAmount":1E-999999999}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 5000-digit int",
        200,
        JSON_CT,
        b'{"totalAmount":' + b"9" * 5000 + b"}",
        APIResponseValidationError,
        1,
    ),
    (
        "200 huge integral quantity",
        200,
        JSON_CT,
        b'{"lines":[{"quantity":1E+5000}]}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 fractional quantity",
        200,
        JSON_CT,
        b'{"lines":[{"quantity":1.5}]}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 deep nesting",
        200,
        JSON_CT,
        b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        APIResponseValidationError,
        1,
    ),
    ("200 trailing garbage", 200, JSON_CT, GOOD + b"}", APIResponseValidationError, 1),
    ("200 two documents", 200, JSON_CT, GOOD + GOOD, APIResponseValidationError, 1),
    ("200 truncated JSON", 200, JSON_CT, GOOD[:-10], APIResponseValidationError, 1),
    ("200 latin-1 body", 200, JSON_CT, b'{"id":"fac_\xe9"}', APIResponseValidationError, 1),
    (
        "200 UTF-16 body",
        200,
        JSON_CT,
        GOOD.decode().encode("utf-16"),
        APIResponseValidationError,
        1,
    ),
    ("200 UTF-8 BOM", 200, JSON_CT, b"\xef\xbb\xbf" + GOOD, APIResponseValidationError, 1),
    ("200 single quotes", 200, JSON_CT, b"{'id':'fac_abc'}", APIResponseValidationError, 1),
    ("200 comma amount", 200, JSON_CT, b'{"totalAmount":"12,95"}', APIResponseValidationError, 1),
    (
        "200 amount object",
        200,
        JSON_CT,
        b'{"totalAmount":{"value":1}}',
        APIResponseValidationError,
        1,
    ),
    ("200 amount bool", 200, JSON_CT, b'{"totalAmount":true}', APIResponseValidationError, 1),
    ("200 lines not list", 200, JSON_CT, b'{"lines":{"0":{}}}', APIResponseValidationError, 1),
    ("200 line not object", 200, JSON_CT, b'{"lines":[{}, 5]}', APIResponseValidationError, 1),
    ("200 isPaid string", 200, JSON_CT, b'{"isPaid":"true"}', APIResponseValidationError, 1),
    (
        "200 issuedAt garbage",
        200,
        JSON_CT,
        b'{"issuedAt":"yesterday"}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 issuedAt number",
        200,
        JSON_CT,
        b'{"issuedAt":1712880000}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 issuedAt year 0",
        200,
        JSON_CT,
        b'{"issuedAt":"0000-01-01"}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 issuedAt offset 99h",
        200,
        JSON_CT,
        b'{"issuedAt":"2024-01-01T00:00:00+99:00"}',
        APIResponseValidationError,
        1,
    ),
    (
        "200 gzip not gzip",
        200,
        [*JSON_CT, (b"content-encoding", b"gzip")],
        b"not gzip",
        APIResponseValidationError,
        1,
    ),
    (
        "200 gzip lying length",
        200,
        [*JSON_CT, (b"content-encoding", b"gzip")],
        _gzip_with_lying_length(GOOD),
        APIResponseValidationError,
        1,
    ),
    (
        "200 gzip bad crc",
        200,
        [*JSON_CT, (b"content-encoding", b"gzip")],
        _gzip_with_bad_crc(GOOD),
        APIResponseValidationError,
        1,
    ),
    (
        "200 deflate garbage",
        200,
        [*JSON_CT, (b"content-encoding", b"deflate")],
        b"\x00garbage",
        APIResponseValidationError,
        1,
    ),
    (
        "200 unknown encoding",
        200,
        [*JSON_CT, (b"content-encoding", b"zstd-x")],
        b"\x28\xb5\x2f\xfd",
        APIResponseValidationError,
        1,
    ),
    ("400 API error", 400, JSON_CT, b'{"message":"Bad id"}', BadRequestError, 1),
    ("401 HTML", 401, HTML_CT, HTML, AuthenticationError, 1),
    ("403 null", 403, JSON_CT, b"null", PermissionDeniedError, 1),
    ("404 API error", 404, JSON_CT, b'{"message":"Invoice not found."}', NotFoundError, 1),
    ("404 NaN body", 404, JSON_CT, b'{"message":NaN}', NotFoundError, 1),
    ("404 message not string", 404, JSON_CT, b'{"message":{"a":1}}', NotFoundError, 1),
    ("404 deep body", 404, JSON_CT, b"[" * 100_000, NotFoundError, 1),
    ("405 unknown 4xx", 405, JSON_CT, b'{"message":"no"}', APIStatusError, 1),
    ("418 teapot", 418, [], b"", APIStatusError, 1),
    ("422 array body", 422, JSON_CT, b"[1,2]", UnprocessableEntityError, 1),
    ("409 conflict (retried)", 409, JSON_CT, b"{}", ConflictError, 3),
    ("408 timeout (retried)", 408, [], b"", APIStatusError, 3),
    (
        "429 no headers",
        429,
        JSON_CT,
        b'{"code":429,"message":"Too many requests."}',
        RateLimitError,
        3,
    ),
    ("500 empty", 500, [], b"", InternalServerError, 3),
    ("502 HTML page", 502, HTML_CT, HTML, InternalServerError, 3),
    ("503 binary", 503, [], bytes(range(256)), InternalServerError, 3),
    (
        "504 gzip garbage",
        504,
        [(b"content-encoding", b"gzip")],
        b"nope",
        APIResponseValidationError,
        1,
    ),
    ("520 CDN unknown", 520, HTML_CT, HTML, InternalServerError, 3),
    ("521 web server down", 521, [], b"", InternalServerError, 3),
    ("599 network timeout", 599, [], b"", InternalServerError, 3),
    ("999 nonsense status", 999, [], b"", InternalServerError, 3),
    (
        "301 redirect off-host",
        301,
        [(b"location", b"https://evil.example/steal")],
        b"",
        APIStatusError,
        1,
    ),
    ("302 redirect", 302, [(b"location", b"/v1/invoices/fac_other")], b"", APIStatusError, 1),
    ("307 redirect", 307, [(b"location", b"https://evil.example/")], b"", APIStatusError, 1),
    ("304 not modified", 304, [], b"", APIStatusError, 1),
    ("100 as final", 100, [], b"", APIStatusError, 1),
    # Headers that are garbage must not break a good answer.
    (
        "200 rate-limit headers non-ASCII digits",
        200,
        [
            *JSON_CT,
            (b"x-ratelimit-limit", b"\xb2"),
            (b"x-ratelimit-remaining", b"\xb9\xb9"),
            (b"x-ratelimit-reset", b"\xb3"),
        ],
        GOOD,
        Invoice,
        1,
    ),
    (
        "200 rate-limit headers garbage",
        200,
        [
            *JSON_CT,
            (b"x-ratelimit-limit", b"sixty"),
            (b"x-ratelimit-remaining", b"-1"),
            (b"x-ratelimit-reset", b"99999999999999999999999"),
        ],
        GOOD,
        Invoice,
        1,
    ),
    (
        "200 duplicate rate-limit headers",
        200,
        [*JSON_CT, (b"x-ratelimit-limit", b"60"), (b"x-ratelimit-limit", b"120")],
        GOOD,
        Invoice,
        1,
    ),
    ("200 content-type text/html but JSON", 200, HTML_CT, GOOD, Invoice, 1),
    ("200 no content-type", 200, [], GOOD, Invoice, 1),
    (
        "200 charset latin-1 declared, UTF-8 sent",
        200,
        [(b"content-type", b"application/json; charset=latin-1")],
        GOOD,
        Invoice,
        1,
    ),
    (
        "200 valid gzip",
        200,
        [*JSON_CT, (b"content-encoding", b"gzip")],
        gzip.compress(GOOD),
        Invoice,
        1,
    ),
]


def _ids(cases: list[Case]) -> list[Any]:
    return [pytest.param(*case[1:], id=case[0]) for case in cases]


@pytest.mark.parametrize(
    ("status", "headers", "body", "expected", "tries"), _ids(HOSTILE_RESPONSES)
)
def test_hostile_response_maps_to_one_typed_error(
    mock_client: MakeClient,
    delays: list[float],
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    expected: type[Any],
    tries: int,
    figures: Any,
) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(status, headers=headers, content=body)

    client = mock_client(handler)
    result = outcome(lambda: client.invoices.get(INVOICE_ID))
    figures.count("hostile input", "bodies, statuses and headers")
    assert type(result) is expected, f"{type(result).__name__}: {result}"
    assert len(sent) == tries
    assert all(0 < d <= 1.0 for d in delays)  # backoff for the first two retries
    if isinstance(result, Invoice):
        assert result.subtotal_amount is not None
        assert str(result.subtotal_amount) == "12.95" and str(result.total_amount) == "15.67"
    else:
        assert isinstance(result, MijnKlantportaalError)
        text = str(result) + repr(result)
        assert INVOICE_ID in str(result) or isinstance(result, APIResponseValidationError)
        assert len(text) < 10_000  # a hostile body never floods a log line
        if isinstance(result, APIStatusError):
            assert result.status_code == status
        repr(result)  # never raises


# -- retry-after and friends --------------------------------------------------------------------

# (name, headers, expected delay: a number, "backoff" or "give up")
RETRY_AFTER_CASES: list[tuple[str, dict[str, str], float | str]] = [
    ("seconds", {"retry-after": "7"}, 7.0),
    ("zero", {"retry-after": "0"}, 0.0),
    ("fraction", {"retry-after": "1.5"}, 1.5),
    ("padded", {"retry-after": "  3 "}, 3.0),
    ("at the cap", {"retry-after": "60"}, 60.0),
    ("over the cap", {"retry-after": "61"}, "give up"),
    ("an hour", {"retry-after": "3600"}, "give up"),
    ("milliseconds", {"retry-after-ms": "250"}, 0.25),
    ("ms wins over seconds", {"retry-after-ms": "100", "retry-after": "9"}, 0.1),
    ("negative", {"retry-after": "-5"}, "backoff"),
    ("negative ms", {"retry-after-ms": "-5"}, "backoff"),
    ("words", {"retry-after": "soon"}, "backoff"),
    ("empty", {"retry-after": ""}, "backoff"),
    ("NaN", {"retry-after": "NaN"}, "backoff"),
    ("inf", {"retry-after": "inf"}, "backoff"),
    ("1e400", {"retry-after": "1e400"}, "backoff"),
    ("exponent", {"retry-after": "1e1"}, "backoff"),
    ("underscore", {"retry-after": "1_0"}, "backoff"),
    ("hex", {"retry-after": "0x10"}, "backoff"),
    ("superscript two", {"retry-after": "\xb2"}, "backoff"),
    ("list", {"retry-after": "1, 2"}, "backoff"),
    ("huge digits", {"retry-after": "9" * 400}, "backoff"),
    ("date in the past", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
    ("date far future", {"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, "give up"),
    ("date year 0 (read as 2000)", {"retry-after": "Wed, 21 Oct 0000 07:28:00 GMT"}, 0.0),
    ("date garbage", {"retry-after": "Someday, 99 Foo 2015 77:88:99 XYZ"}, "backoff"),
    ("date without zone", {"retry-after": "Wed, 21 Oct 2015 07:28:00"}, "backoff"),
    ("reset in the past", {"x-ratelimit-reset": "5"}, "backoff"),
    ("reset garbage", {"x-ratelimit-reset": "tomorrow"}, "backoff"),
    ("reset superscript", {"x-ratelimit-reset": "\xb9"}, "backoff"),
    # Implausibly far ahead (issue 17, item 12): no reset at all, so the ordinary backoff.
    ("reset far future", {"x-ratelimit-reset": "99999999999"}, "backoff"),
    ("reset in epoch ms", {"x-ratelimit-reset": "1765000000000"}, "backoff"),
]


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    ("headers", "expected"), [pytest.param(h, e, id=n) for n, h, e in RETRY_AFTER_CASES]
)
def test_retry_after_headers(
    mock_client: MakeClient,
    delays: list[float],
    status: int,
    headers: dict[str, str],
    expected: float | str,
    figures: Any,
) -> None:
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    answers = [httpx.Response(status, headers=raw, json={"message": "slow down"})]
    answers.append(httpx.Response(200, content=GOOD))

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    result = outcome(lambda: mock_client(handler).invoices.get(INVOICE_ID))
    figures.count("hostile input", "retry-after headers")
    if expected == "give up":
        assert isinstance(result, RateLimitError if status == 429 else InternalServerError)
        assert delays == []
        return
    assert isinstance(result, Invoice)
    assert len(delays) == 1
    if expected == "backoff":
        assert 0.5 * 0.75 <= delays[0] <= 0.5
    else:
        assert delays[0] == pytest.approx(expected, abs=1e-6)
        assert delays[0] <= MAX_RETRY_AFTER


def test_rate_limit_error_when_server_asks_too_long(
    mock_client: MakeClient, delays: list[float]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429, headers={"retry-after": "61"}, content=json.dumps({"message": "x"})
        )

    result = outcome(lambda: mock_client(handler).invoices.get(INVOICE_ID))
    assert isinstance(result, RateLimitError)
    assert result.retry_after == 61.0 and delays == []


@pytest.mark.parametrize(
    ("text", "sign"), [("-0", 1), ("0", 0), ("-0.00", 1), ("-0E+2", 1), ('"-0"', 1)]
)
def test_negative_zero_keeps_its_sign(mock_client: MakeClient, text: str, sign: int) -> None:
    body = f'{{"id":"{INVOICE_ID}","totalAmount":{text}}}'.encode()
    result = outcome(
        lambda: mock_client(lambda r: httpx.Response(200, content=body)).invoices.get(INVOICE_ID)
    )
    assert result.total_amount.as_tuple() == Decimal(text.strip('"')).as_tuple()
    assert result.total_amount.as_tuple().sign == sign


# -- server text in error messages ----------------------------------------------------------------

HOSTILE_MESSAGES: list[tuple[str, bytes, list[tuple[bytes, bytes]]]] = [
    ("unpaired surrogate", b'{"message":"bad \\ud800 id"}', []),
    ("ANSI escape and newline", b'{"message":"x\\u001b[2J\\nINFO forged log line"}', []),
    ("NUL and CR", b'{"message":"a\\u0000b\\rc"}', []),
    ("bidi override", b'{"message":"abc\\u202edef"}', []),
    ("a megabyte", b'{"message":"' + b"A" * 1_000_000 + b'"}', []),
    ("request id with C1 control", b"{}", [(b"x-request-id", b"\x9b2Jabc")]),
    ("request id of 100 kB", b"{}", [(b"x-request-id", b"r" * 100_000)]),
    ("reason-less", b"{}", []),
]


@pytest.mark.parametrize("status", [404, 500])
@pytest.mark.parametrize(
    ("body", "headers"), [pytest.param(b, h, id=n) for n, b, h in HOSTILE_MESSAGES]
)
def test_server_text_in_errors_is_bounded_and_printable(
    mock_client: MakeClient,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
    figures: Any,
) -> None:
    client = mock_client(lambda r: httpx.Response(status, headers=headers, content=body))
    error = outcome(lambda: client.invoices.get(INVOICE_ID))
    figures.count("hostile input", "server text in error messages")
    assert isinstance(error, APIStatusError)
    for text in (str(error), error.message, error.request_id or ""):
        text.encode("utf-8")  # printing or logging it never raises UnicodeEncodeError
        assert text.isprintable(), repr(text[:200])  # no forged lines or terminal escapes
        assert len(text) < 2_000


# -- found after the first report (fixed in d17f106) ---------------------------------------------


def test_answer_for_another_invoice_is_refused_not_returned(
    mock_client: MakeClient, figures: Any
) -> None:
    figures.count("hostile input", "bodies, statuses and headers")
    body = json.dumps({"id": "fac_someoneelse1", "totalAmount": "99.99"}).encode()
    client = mock_client(lambda request: httpx.Response(200, content=body))
    result = outcome(lambda: client.invoices.get(INVOICE_ID))
    assert type(result) is APIResponseValidationError and result.field == "id"


def test_call_on_a_closed_client_is_typed_and_sends_nothing(
    mock_client: MakeClient, figures: Any
) -> None:
    from mijnklantportaal import ClientClosedError

    figures.count("hostile input", "bodies, statuses and headers")
    seen: list[httpx.Request] = []
    client = mock_client(lambda request: seen.append(request) or httpx.Response(200, content=b"{}"))
    http = client._transport.http_client
    resolve(http.aclose() if isinstance(http, httpx.AsyncClient) else http.close())
    result = outcome(lambda: client.invoices.get(INVOICE_ID))
    assert type(result) is ClientClosedError and seen == []


def test_endless_body_is_cut_at_the_size_cap(
    mock_client: MakeClient, figures: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mijnklantportaal._body as body

    figures.count("hostile input", "bodies, statuses and headers")
    monkeypatch.setattr(body, "MAX_RESPONSE_BYTES", 64 * 1024)

    def endless() -> Any:
        yield b'{"id": "' + INVOICE_ID.encode() + b'", "zzTestOnlyPad": "'
        while True:
            yield b"x" * 4096

    class Endless(httpx.SyncByteStream, httpx.AsyncByteStream):
        def __iter__(self) -> Any:
            return endless()

        async def __aiter__(self) -> Any:
            for chunk in endless():
                yield chunk

    client = mock_client(lambda request: httpx.Response(200, stream=Endless()))
    result = outcome(lambda: client.invoices.get(INVOICE_ID))
    assert type(result) is APIResponseValidationError and "larger than" in str(result)
