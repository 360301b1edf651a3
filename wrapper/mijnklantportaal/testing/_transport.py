"""The fake as an httpx transport: in-process, for sync and async clients alike."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from mijnklantportaal.testing._fake import FakeMijnKlantportaal, Reply

__all__ = ["FakeTransport"]


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Hand to ``httpx.Client(transport=...)`` or ``httpx.AsyncClient(transport=...)``.

    Faults come out as a real connection would show them to httpx: a dropped connection
    raises ``httpx.RemoteProtocolError``, a truncated body raises it while the body is read,
    latency past the request's read timeout raises ``httpx.ReadTimeout`` after that timeout.
    """

    def __init__(self, fake: FakeMijnKlantportaal) -> None:
        self.fake = fake

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        reply = self.fake.handle(
            request.method,
            _target(request),
            request.headers.multi_items(),
            body,
            origin=_origin(request),
        )
        if reply.latency:
            timeout = _read_timeout(request)
            if timeout is not None and reply.latency > timeout:
                time.sleep(timeout)
                raise httpx.ReadTimeout("timed out (fake latency)", request=request)
            time.sleep(reply.latency)
        return _response(reply, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import anyio  # httpx's own dependency; works under asyncio and trio

        body = await request.aread()
        reply = self.fake.handle(
            request.method,
            _target(request),
            request.headers.multi_items(),
            body,
            origin=_origin(request),
        )
        if reply.latency:
            timeout = _read_timeout(request)
            if timeout is not None and reply.latency > timeout:
                await anyio.sleep(timeout)
                raise httpx.ReadTimeout("timed out (fake latency)", request=request)
            await anyio.sleep(reply.latency)
        return _response(reply, request)


def _target(request: httpx.Request) -> str:
    return request.url.raw_path.decode("ascii")


def _origin(request: httpx.Request) -> str:
    """``scheme://host[:port]`` the request went to (the page URLs of a list start with it)."""
    return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    value = timeouts.get("read")
    return float(value) if value is not None else None


def _response(reply: Reply, request: httpx.Request) -> httpx.Response:
    if reply.drop:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    headers = [*reply.headers, ("Content-Length", str(len(reply.body)))]
    if reply.truncate:
        return httpx.Response(
            reply.status,
            headers=headers,
            stream=_TruncatedStream(reply.body[: len(reply.body) // 2], len(reply.body), request),
            request=request,
        )
    return httpx.Response(reply.status, headers=headers, content=reply.body, request=request)


class _TruncatedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields the first part of a body, then fails the way httpcore does on a short read."""

    def __init__(self, part: bytes, expected: int, request: httpx.Request) -> None:
        self._part = part
        self._expected = expected
        self._request = request

    def _error(self) -> httpx.RemoteProtocolError:
        return httpx.RemoteProtocolError(
            f"peer closed connection without sending complete message body "
            f"(received {len(self._part)} bytes, expected {self._expected})",
            request=self._request,
        )

    def __iter__(self) -> Iterator[bytes]:
        if self._part:
            yield self._part
        raise self._error()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._part:
            yield self._part
        raise self._error()
