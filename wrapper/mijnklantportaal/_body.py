"""Reading one response body safely: within its deadline, within its size, decoded here.

The transport (``_transport.py``) decides what to do with a response; this module only
reads it. ``BodyGuard`` bounds the raw body by time and size, ``decode_here`` takes the
``Content-Encoding`` over from httpx (bounded inflating), ``start_watchdog`` ends a sync read that
receives no chunk past the deadline, and ``keep`` gives back the response as the client
keeps it (redacted request, no connection objects).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx

from mijnklantportaal._constants import ACCEPT_ENCODING, INFLATE_STEP_BYTES, MAX_RESPONSE_BYTES
from mijnklantportaal._exceptions import redact_request

__all__ = [
    "AsyncDecodedStream",
    "BodyGuard",
    "DecodedStream",
    "decode_here",
    "keep",
    "start_watchdog",
]

# httpx's read timeout bounds each read, so a server trickling a byte at a time could hold a
# call forever, and nothing bounds a body's size. The body is therefore read raw (as it
# crossed the wire) through a guard that raises httpx.ReadTimeout (retried, then
# APITimeoutError) once the read timeout has passed since the headers arrived, and
# _BodyTooLarge (APIResponseValidationError) past MAX_RESPONSE_BYTES. Its Content-Encoding
# is decoded here, not by httpx: httpx inflates each chunk in one unbounded zlib call (200 KB
# of gzip can become 200 MB at once), while _ContentDecoder inflates in bounded steps and
# refuses a layer once it has produced more than MAX_RESPONSE_BYTES. The deadline check runs when a
# chunk arrives; a server trickling chunk framing (extensions, trailers) sends none, so the
# sync read is also given a watchdog that shuts the socket at the deadline, and the async
# read a cancel scope.


class _BodyTooLarge(httpx.DecodingError):
    pass


def _too_large(request: httpx.Request, what: str) -> _BodyTooLarge:
    return _BodyTooLarge(
        f"the response body is larger than {MAX_RESPONSE_BYTES // 2**20} MiB{what}, "
        "far beyond any answer of this API",
        request=request,
    )


class BodyGuard:
    __slots__ = ("_deadline", "_received", "_request", "_timeout")

    def __init__(self, request: httpx.Request, timeout: httpx.Timeout) -> None:
        self._request = request
        self._timeout = timeout
        self._deadline = None if timeout.read is None else time.monotonic() + timeout.read
        self._received = 0

    def remaining(self) -> float | None:
        """Seconds left for the body, or None when there is no read timeout."""
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def expired(self) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(
            f"the response body did not arrive within the {self._timeout.read} s read timeout",
            request=self._request,
        )

    def check(self, chunk: bytes) -> bytes:
        self._received += len(chunk)
        if self._received > MAX_RESPONSE_BYTES:
            raise _too_large(self._request, "")
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise self.expired()
        return chunk


class _Inflater:
    """One gzip or deflate layer, inflating at most ``MAX_RESPONSE_BYTES`` in all."""

    __slots__ = ("_coding", "_first", "_inflate", "_produced", "_request")

    def __init__(self, coding: str, request: httpx.Request) -> None:
        self._coding = coding
        self._request = request
        # deflate is meant to be zlib-wrapped, but some servers send it raw: as httpx does,
        # a zlib error on the first data means "raw", tried once.
        self._inflate = zlib.decompressobj(
            zlib.MAX_WBITS | 16 if coding == "gzip" else zlib.MAX_WBITS
        )
        self._first = coding == "deflate"
        self._produced = 0

    def decode(self, data: bytes) -> bytes:
        # INFLATE_STEP_BYTES at a time (zlib keeps the rest of the input in unconsumed_tail),
        # so memory peaks near the cap, not at twice it while zlib's buffer is copied out.
        parts = []
        while True:
            try:
                out = self._inflate.decompress(data, INFLATE_STEP_BYTES)
            except zlib.error as exc:
                if not self._first:
                    raise self._broken(exc) from None
                self._first = False
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._first = False
            parts.append(self._count(out))
            data = self._inflate.unconsumed_tail
            if not data:
                return b"".join(parts) if len(parts) > 1 else parts[0]

    def flush(self) -> bytes:
        try:
            return self._count(self._inflate.flush())
        except zlib.error as exc:
            raise self._broken(exc) from None

    def _count(self, out: bytes) -> bytes:
        self._produced += len(out)
        if self._produced > MAX_RESPONSE_BYTES:
            raise _too_large(self._request, f" once {self._coding}-decoded")
        return out

    def _broken(self, exc: zlib.error) -> httpx.DecodingError:
        return httpx.DecodingError(
            f"the {self._coding}-encoded body is corrupt ({exc})", request=self._request
        )


class _ContentDecoder:
    """Undoes a response's Content-Encoding layers (last applied, first undone), bounded."""

    __slots__ = ("_layers",)

    def __init__(self, layers: tuple[_Inflater, ...] = ()) -> None:
        self._layers = layers

    @classmethod
    def for_encoding(cls, content_encoding: str, request: httpx.Request) -> _ContentDecoder:
        layers = []
        for coding in reversed(content_encoding.lower().split(",")):
            coding = coding.strip()
            if coding in ("", "identity"):
                continue
            if coding in ("gzip", "x-gzip", "deflate"):
                layers.append(_Inflater("deflate" if coding == "deflate" else "gzip", request))
                continue
            raise httpx.DecodingError(
                f"the body is encoded as {coding[:40]!a}, which this client does "
                f"not ask for (Accept-Encoding: {ACCEPT_ENCODING}) and does not decode",
                request=request,
            )
        return cls(tuple(layers))

    def decode(self, data: bytes) -> bytes:
        for layer in self._layers:
            data = layer.decode(data)
        return data

    def flush(self) -> bytes:
        data = b""
        for layer in self._layers:
            data = layer.decode(data) + layer.flush() if data else layer.flush()
        return data


_IDENTITY = _ContentDecoder()  # no layers, no state: shared


class _Watchdog:
    """Shuts a connection's socket down when the body deadline passes, so that a blocking
    read (which only the per-read timeout bounds) returns at once and the call can fail."""

    __slots__ = ("_socket", "_timer", "fired")

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self.fired = False
        self._socket = sock
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        # socket.socket's own shutdown, also for a TLS socket: the reading thread keeps
        # its SSL object, and the read ends with an error that the pool discards.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(self._socket, socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def start_watchdog(response: httpx.Response, guard: BodyGuard) -> _Watchdog | None:
    """A watchdog where one is needed: a body framed by Content-Length yields data (and a
    deadline check) on every byte, so only other framing (chunked) can trickle unseen."""
    remaining = guard.remaining()
    if remaining is None or "content-length" in response.headers:
        return None
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    return _Watchdog(sock, remaining) if isinstance(sock, socket.socket) else None


class DecodedStream(httpx.SyncByteStream):
    """The raw body through the guard and the decoder: what ``response.read()`` collects."""

    def __init__(
        self, stream: httpx.SyncByteStream, guard: BodyGuard, decoder: _ContentDecoder
    ) -> None:
        self._stream = stream
        self._guard = guard
        self._decoder = decoder

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            yield self._decoder.decode(self._guard.check(chunk))
        yield self._decoder.flush()

    def close(self) -> None:
        self._stream.close()


class AsyncDecodedStream(httpx.AsyncByteStream):
    def __init__(
        self, stream: httpx.AsyncByteStream, guard: BodyGuard, decoder: _ContentDecoder
    ) -> None:
        self._stream = stream
        self._guard = guard
        self._decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield self._decoder.decode(self._guard.check(chunk))
        yield self._decoder.flush()

    async def aclose(self) -> None:
        await self._stream.aclose()


def decode_here(response: httpx.Response) -> _ContentDecoder:
    """Take the body's decoding over from httpx: the decoder for its Content-Encoding, and
    that header (with the Content-Length of the encoded form) removed, so that httpx reads
    the body as it is and the kept response claims no encoding its body no longer has."""
    encoding = response.headers.get("content-encoding")
    if encoding is None:
        return _IDENTITY
    decoder = _ContentDecoder.for_encoding(encoding, response.request)
    del response.headers["content-encoding"]
    if "content-length" in response.headers:
        del response.headers["content-length"]
    return decoder


def keep(response: httpx.Response, request: httpx.Request) -> httpx.Response:
    """The read response as the client keeps it (``RawResponse.http_response``, errors):
    its request a redacted copy (the caller's transport or event hooks may hold the one
    that was sent), and no connection objects among its extensions or its stream (the
    guarded stream holds the request as sent, key included; the body is read already)."""
    response.request = redact_request(request)
    response.stream = httpx.ByteStream(response.content)
    response.extensions = {
        name: response.extensions[name]
        for name in ("http_version", "reason_phrase")
        if name in response.extensions
    }
    return response
