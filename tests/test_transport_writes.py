"""Issue 18: writes on the one request path, over real loopback HTTP, sync and async.

No generated POST exists yet, so these build the ``RequestSpec`` directly
(``RequestSpec.build``) and send it with the client's transport, as a generated write will.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
from mijnklantportaal._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    InternalServerError,
    InvalidArgumentError,
    UnprocessableEntityError,
)
from mijnklantportaal._transport import RequestSpec

API_KEY = "sk_test_writes_0123456789abcdef"
BODY = b'{"amount":"12.95","description":"caf\xc3\xa9","expiresAt":"2026-01-01T00:00:00+01:00"}'

# status, body, delay (seconds before answering), extra headers: one per attempt.
Answer = tuple[int, bytes, float]


class Recorded:
    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []


def _handler(recorded: Recorded) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            attempt = len(recorded.seen)
            recorded.seen.append((self.command, self.path, dict(self.headers), body))
            status, content, delay = recorded.answers[min(attempt, len(recorded.answers) - 1)]
            if delay:
                time.sleep(delay)
            self.send_response(status)
            if content:
                self.send_header("Content-Type", "application/json")
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if content:
                self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[[list[Answer]], tuple[str, Recorded]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(answers: list[Answer]) -> tuple[str, Recorded]:
        recorded = Recorded(answers)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1", recorded

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def send(mode: str, base_url: str, spec: RequestSpec, http_transport: Any = None, **kw: Any) -> Any:
    kw.setdefault("max_retries", 2)
    kw.setdefault("rate_budget", None)
    if mode == "sync":
        http = httpx.Client(transport=http_transport) if http_transport else None
        with MijnKlantportaal(api_key=API_KEY, base_url=base_url, http_client=http, **kw) as c:
            return c._transport.request(spec, lambda data: data)

    async def main() -> Any:
        http = httpx.AsyncClient(transport=http_transport) if http_transport else None
        async with AsyncMijnKlantportaal(
            api_key=API_KEY, base_url=base_url, http_client=http, **kw
        ) as c:
            return await c._transport.request(spec, lambda data: data)

    return asyncio.run(main())


def post(**kw: Any) -> RequestSpec:
    kw.setdefault("body", BODY)
    return RequestSpec.build(
        kw.pop("method", "POST"), "/payment-links", subject="a payment link", **kw
    )


def test_i18_1_the_body_goes_out_byte_exact_and_201_json_is_parsed(mode: str, serve: Any) -> None:
    base_url, rec = serve([(201, b'{"id":"pl_1","amount":"12.95"}', 0)])
    result = send(mode, base_url, post())
    assert result.parsed == {"id": "pl_1", "amount": "12.95"}
    method, path, headers, body = rec.seen[0]
    assert (method, path, body) == ("POST", "/v1/payment-links", BODY)
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(BODY))


@pytest.mark.parametrize("method", ["DELETE", "POST", "PATCH"])
def test_i18_1_a_204_gives_none(mode: str, serve: Any, method: str) -> None:
    base_url, _ = serve([(204, b"", 0)])
    spec = post(method=method, body=None if method == "DELETE" else BODY, expects_body=False)
    result = send(mode, base_url, spec)
    assert result.parsed is None
    assert result.status_code == 204


def test_i18_1_a_204_to_a_json_or_no_content_operation_gives_none(mode: str, serve: Any) -> None:
    base_url, _ = serve([(204, b"", 0), (201, b'{"id":"pl_1"}', 0)])
    assert send(mode, base_url, post(allow_no_content=True)).parsed is None
    assert send(mode, base_url, post(allow_no_content=True)).parsed == {"id": "pl_1"}


def test_i18_1_a_204_to_a_json_only_operation_is_refused(mode: str, serve: Any) -> None:
    base_url, _ = serve([(204, b"", 0)])
    with pytest.raises(APIResponseValidationError):
        send(mode, base_url, post())


def test_i18_1_no_content_operation_gives_none_on_200(mode: str, serve: Any) -> None:
    base_url, _ = serve([(200, b"", 0)])
    assert send(mode, base_url, post(expects_body=False)).parsed is None


def test_i18_1_header_parameters_and_query_arrays_are_sent(
    mode: str, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    base_url, rec = serve([(200, b'{"ok":true}', 0)])
    spec = RequestSpec.build(
        "GET",
        "/tickets",
        subject="tickets",
        query={"status[]": ["open", "pending"], "page": 2, "q": None},
        headers={"X-Tenant": "acme", "X-Signing-Token": "tok_SECRET_VALUE_42"},
    )
    with caplog.at_level(logging.DEBUG, logger="mijnklantportaal"):
        result = send(mode, base_url, spec)
    _, path, headers, _ = rec.seen[0]
    assert path == "/v1/tickets?status%5B%5D=open&status%5B%5D=pending&page=2"
    assert headers["X-Tenant"] == "acme"
    assert headers["X-Signing-Token"] == "tok_SECRET_VALUE_42"
    assert "tok_SECRET_VALUE_42" not in caplog.text
    assert "tok_SECRET_VALUE_42" not in repr(spec)
    kept = result.http_response.request.headers
    assert kept["X-Signing-Token"] != "tok_SECRET_VALUE_42"
    assert kept["X-Tenant"] == "acme"


def test_i18_1_bad_header_parameter_is_refused_before_sending() -> None:
    with pytest.raises(InvalidArgumentError, match="headers"):
        RequestSpec.build("GET", "/x", subject="x", headers={"X-A": "line\r\nbreak"})
    with pytest.raises(InvalidArgumentError, match="bytes"):
        RequestSpec.build("POST", "/x", subject="x", body="{}")  # type: ignore[arg-type]


def test_i18_4_a_post_is_not_resent_after_a_read_timeout(
    mode: str, serve: Any, sleeps: Any
) -> None:
    base_url, rec = serve([(201, b"{}", 1.0), (201, b"{}", 0)])
    with pytest.raises(APITimeoutError):
        send(mode, base_url, post(), timeout=0.3)
    time.sleep(1.0)  # let the first answer finish: a re-send would be recorded by now
    assert len(rec.seen) == 1


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_i18_4_a_write_is_not_resent_after_a_500(
    mode: str, serve: Any, sleeps: Any, method: str
) -> None:
    base_url, rec = serve([(500, b'{"message":"boom"}', 0), (201, b"{}", 0)])
    with pytest.raises(InternalServerError):
        send(mode, base_url, post(method=method))
    assert len(rec.seen) == 1


def test_i18_4_a_post_is_resent_after_a_429(mode: str, serve: Any, sleeps: Any) -> None:
    base_url, rec = serve([(429, b'{"message":"slow down"}', 0), (201, b'{"id":"pl_1"}', 0)])
    assert send(mode, base_url, post()).parsed == {"id": "pl_1"}
    assert [s[3] for s in rec.seen] == [BODY, BODY]


class _FailFirstConnect:
    """The first connection attempt is refused before anything is sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.failed = False

    def _fail(self, request: httpx.Request) -> None:
        if not self.failed:
            self.failed = True
            raise httpx.ConnectError("connection refused", request=request)


class _SyncFailFirst(_FailFirstConnect, httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._fail(request)
        return self.inner.handle_request(request)  # type: ignore[no-any-return]


class _AsyncFailFirst(_FailFirstConnect, httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._fail(request)
        return await self.inner.handle_async_request(request)  # type: ignore[no-any-return]


def test_i18_4_a_post_is_resent_after_a_connect_failure(mode: str, serve: Any, sleeps: Any) -> None:
    base_url, rec = serve([(201, b'{"id":"pl_1"}', 0)])
    transport: Any = (
        _SyncFailFirst(httpx.HTTPTransport())
        if mode == "sync"
        else _AsyncFailFirst(httpx.AsyncHTTPTransport())
    )
    assert send(mode, base_url, post(), transport).parsed == {"id": "pl_1"}
    assert transport.failed and len(rec.seen) == 1 and rec.seen[0][3] == BODY


def test_i18_4_a_post_with_a_refused_connection_fails_typed(mode: str, sleeps: Any) -> None:
    from reliability.loopback import closed_port

    with pytest.raises(APIConnectionError):
        send(mode, f"http://127.0.0.1:{closed_port()}/v1", post())
    assert len(sleeps) == 2  # retried max_retries times: nothing was ever sent


def test_i18_4_with_an_idempotency_key_a_post_retries_a_500_with_the_same_key(
    mode: str, serve: Any, sleeps: Any
) -> None:
    base_url, rec = serve([(500, b"{}", 0), (503, b"{}", 0), (201, b'{"id":"pl_1"}', 0)])
    result = send(mode, base_url, post(idempotency_key="order-7781-create"))
    assert result.parsed == {"id": "pl_1"} and result.retries_taken == 2
    assert [s[2]["Idempotency-Key"] for s in rec.seen] == ["order-7781-create"] * 3
    assert [s[3] for s in rec.seen] == [BODY] * 3


def test_i18_4_with_an_idempotency_key_a_post_retries_a_timeout(
    mode: str, serve: Any, sleeps: Any
) -> None:
    base_url, rec = serve([(201, b"{}", 1.0), (201, b'{"id":"pl_1"}', 0)])
    result = send(mode, base_url, post(idempotency_key="k-1"), timeout=0.3)
    assert result.parsed == {"id": "pl_1"}
    assert [s[2]["Idempotency-Key"] for s in rec.seen] == ["k-1", "k-1"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_i18_4_put_and_delete_are_retried(mode: str, serve: Any, sleeps: Any, method: str) -> None:
    base_url, rec = serve([(503, b"{}", 0), (200, b'{"id":"pl_1"}', 0)])
    assert send(mode, base_url, post(method=method)).parsed == {"id": "pl_1"}
    assert len(rec.seen) == 2 and "Idempotency-Key" not in rec.seen[0][2]


def test_i18_3_a_422_gives_its_message_and_bounded_field_errors(mode: str, serve: Any) -> None:
    body = {
        "message": "The amount field must be at least 0.01.",
        "errors": {
            "amount": ["The amount field must be at least 0.01.", "\x1b[31mred"],
            **{f"f{i}": ["x" * 5000] * 20 for i in range(200)},
        },
    }
    base_url, _ = serve([(422, json.dumps(body).encode(), 0)])
    with pytest.raises(UnprocessableEntityError) as caught:
        send(mode, base_url, post())
    error = caught.value
    assert error.args[0] == "The amount field must be at least 0.01."
    assert "The amount field must be at least 0.01." in str(error)
    assert error.errors["amount"] == ["The amount field must be at least 0.01.", "\\x1b[31mred"]
    assert len(error.errors) <= 50
    assert all(len(m) <= 5 for m in error.errors.values())
    assert all(len(x) < 400 for m in error.errors.values() for x in m)


def test_i18_8_text_helpers_live_in_one_module() -> None:
    import subprocess
    import sys

    code = (
        "import sys, mijnklantportaal._export as e, mijnklantportaal._transport as t;"
        "from mijnklantportaal._exceptions import MijnKlantportaalError as E;"
        "e.error_record('fac_1', E('x\\x1b'));"
        "assert 'mijnklantportaal.cli' not in sys.modules, 'export imports cli';"
        "assert not hasattr(t, '_printable'), 'transport keeps its own copy';"
        "from mijnklantportaal import _text, cli; assert cli.terminal_safe is _text.terminal_safe"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
