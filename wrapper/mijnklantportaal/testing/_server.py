"""The fake as a real HTTP/1.1 server on loopback, in background threads.

Written for throughput from a keep-alive client: each response is built as one buffer and
sent with one ``sendall`` on a ``TCP_NODELAY`` socket (``http.server`` writes the status line
and every header separately, and those small writes meet delayed ACKs: ~20 requests/s).
One thread per connection; connections stay open until the client or ``stop()`` ends them.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import selectors
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mijnklantportaal.testing._faults import reason_phrase

if TYPE_CHECKING:
    from mijnklantportaal.testing._fake import FakeMijnKlantportaal, Reply

__all__ = ["FakeServer", "serve"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 1024 * 1024
# ASCII digits only: str.isdigit() also accepts "\xb2" (superscript two) and other scripts'
# digits, on which int() then fails or which no HTTP peer means.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,16}")
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@contextlib.contextmanager
def serve(fake: FakeMijnKlantportaal, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    server = FakeServer(fake, host, port)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeServer:
    def __init__(self, fake: FakeMijnKlantportaal, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=128)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{url_host}:{self.port}/v1"
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._threads: list[threading.Thread] = []  # every connection thread not yet joined
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"mijnklantportaal-fake-{self.port}", daemon=True
        )
        self._date = ""
        self._date_second = -1

    def start(self) -> None:
        self._accept_thread.start()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._accept_thread.join()
        with self._lock:
            live = list(self._connections)
            threads = list(self._threads)
        for conn in live:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:  # also those that just closed their socket and are ending
            thread.join()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    # -- accepting ----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or self._stopping.is_set():
                        return
                    try:
                        conn, _ = self._listener.accept()
                    except OSError:
                        continue
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    thread = threading.Thread(
                        target=self._connection,
                        args=(conn,),
                        name=f"{self._accept_thread.name}-conn",
                        daemon=True,
                    )
                    with self._lock:
                        self._connections[conn] = thread
                        self._threads = [t for t in self._threads if t.is_alive()]
                        self._threads.append(thread)
                    thread.start()

    # -- one connection -----------------------------------------------------------------

    def _connection(self, conn: socket.socket) -> None:
        try:
            self._serve(conn)
        except OSError:
            pass  # the client went away, or stop() shut the socket
        except Exception as error:  # a bug in the fake: answer, and let the thread end cleanly
            with contextlib.suppress(OSError):
                conn.sendall(self._simple(500, f"fake crashed: {error!r}", close=True))
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            conn.close()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        while not self._stopping.is_set():
            end = buffer.find(b"\r\n\r\n")
            while end < 0:
                if len(buffer) > _MAX_HEAD:
                    conn.sendall(self._simple(431, "Request header fields too large.", close=True))
                    return
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                end = buffer.find(b"\r\n\r\n")
            head, buffer = buffer[:end], buffer[end + 4 :]
            try:
                method, target, version, headers, length = _parse_head(head)
            except _BadRequest as error:
                conn.sendall(self._simple(error.status, error.message, close=True))
                return
            while len(buffer) < length:
                chunk = conn.recv(max(65536, length - len(buffer)))
                if not chunk:
                    return
                buffer += chunk
            body, buffer = buffer[:length], buffer[length:]
            keep_alive = _keep_alive(version, headers)
            try:
                reply = self.fake.handle(method, target, headers, body)
            except Exception as error:  # a bug in the fake: say so, do not hang the client
                conn.sendall(self._simple(500, f"fake crashed: {error!r}", close=True))
                return
            if reply.latency and self._stopping.wait(reply.latency):
                return
            if reply.drop:
                return
            data = self._encode(reply, keep_alive and not reply.truncate)
            if reply.truncate:
                conn.sendall(data[: len(data) - (len(reply.body) - len(reply.body) // 2)])
                return
            conn.sendall(data)
            if not keep_alive:
                return

    def _encode(self, reply: Reply, keep_alive: bool) -> bytes:
        lines = [f"HTTP/1.1 {reply.status} {reason_phrase(reply.status)}", f"Date: {self._now()}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append(f"Content-Length: {len(reply.body)}")
        if not keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body

    def _simple(self, status: int, message: str, close: bool) -> bytes:
        from mijnklantportaal.testing._fake import Reply

        body = json.dumps({"message": message}).encode()
        return self._encode(Reply(status, [("Content-Type", "application/json")], body), not close)

    def _now(self) -> str:
        second = int(time.time())
        if second != self._date_second:
            self._date = email.utils.formatdate(second, usegmt=True)
            self._date_second = second
        return self._date


def _parse_head(head: bytes) -> tuple[str, str, str, list[tuple[str, str]], int]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if (
        len(parts) != 3
        or parts[2] not in ("HTTP/1.0", "HTTP/1.1")
        or not _METHOD.fullmatch(parts[0])
        or not parts[1]
    ):
        raise _BadRequest(400, "Malformed request line.")
    method, target, version = parts
    if not target.startswith("/"):
        try:
            split = urlsplit(target)  # absolute-form, as sent to a proxy
        except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 literal)
            raise _BadRequest(400, "Malformed request target.") from None
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    headers: list[tuple[str, str]] = []
    length: int | None = None
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadRequest(400, "Malformed header line.")
        value = value.strip()
        lowered = name.lower()
        if lowered == "content-length":
            if not _CONTENT_LENGTH.fullmatch(value) or int(value) > _MAX_BODY:
                raise _BadRequest(400, "Bad Content-Length.")
            if length is not None and int(value) != length:
                raise _BadRequest(400, "Conflicting Content-Length headers.")
            length = int(value)
        elif lowered == "transfer-encoding":
            raise _BadRequest(501, "Transfer-Encoding is not supported by the fake.")
        headers.append((name, value))
    return method, target, version, headers, length or 0


def _keep_alive(version: str, headers: list[tuple[str, str]]) -> bool:
    tokens = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens
