"""A tiny raw HTTP/1.1 loopback server whose every byte a test script controls.

``with RawServer(script) as base_url:`` runs ``script(conn, attempt)`` for each request
received (``attempt`` counts from 0 across connections). The script writes a response (or
half of one, or nothing) and returns True to keep the connection open for the next request.
The server closes every socket and joins every thread on exit.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType

Script = Callable[[socket.socket, int], bool]

INVOICE_BODY = (
    b'{"id":"fac_abc12345def678","invoiceNumber":"MKP-2025.0010","currency":"EUR",'
    b'"subtotalAmount":12.95,"vatAmount":2.72,"totalAmount":15.67,'
    b'"issuedAt":"2025-04-12T00:00:00.000Z","isPaid":true}'
)


def response_bytes(
    status: int = 200,
    body: bytes = INVOICE_BODY,
    headers: list[tuple[str, str]] | None = None,
    content_length: int | None = None,
) -> bytes:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in headers or []]
    lines.append(f"Content-Length: {len(body) if content_length is None else content_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class RawServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.attempts = 0
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> str:
        self._acceptor.start()
        return self.base_url

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._acceptor.join()
        with self._lock:
            conns, threads = list(self._conns), list(self._threads)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._conns.append(conn)
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            buffer = b""
            try:
                while not self._stop.is_set():
                    while b"\r\n\r\n" not in buffer:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buffer += chunk
                    head, _, buffer = buffer.partition(b"\r\n\r\n")
                    with self._lock:
                        attempt = self.attempts
                        self.attempts += 1
                        self.requests.append(head)
                    if not self.script(conn, attempt):
                        return
            except OSError:
                return


def sleep_unless_stopped(seconds: float) -> None:
    time.sleep(seconds)


def closed_port() -> int:
    """A loopback port nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
