"""The shipped fake server answers a malformed request with 400 and keeps serving: no
connection thread dies (a dependent's ``pytest -W error`` would fail on it)."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from mijnklantportaal.testing import EXAMPLE_INVOICE_ID, FakeMijnKlantportaal

GOOD = (
    b"GET /v1/invoices/" + EXAMPLE_INVOICE_ID.encode() + b" HTTP/1.1\r\n"
    b"Host: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n"
)

MALFORMED = {
    "content-length superscript two": b"POST /v1/x HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n",
    "content-length arabic-indic digits": (
        "POST /v1/x HTTP/1.1\r\nContent-Length: \u0661\u0662\r\n\r\n".encode()
    ),
    "content-length fullwidth digit": (
        "POST /v1/x HTTP/1.1\r\nContent-Length: \uff15\r\n\r\n".encode()
    ),
    "content-length negative": b"POST /v1/x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "content-length plus sign": b"POST /v1/x HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
    "content-length underscore": b"POST /v1/x HTTP/1.1\r\nContent-Length: 1_0\r\n\r\n",
    "content-length empty": b"POST /v1/x HTTP/1.1\r\nContent-Length: \r\n\r\n",
    "content-length list": b"POST /v1/x HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
    "content-length 5000 digits": b"POST /v1/x HTTP/1.1\r\nContent-Length: "
    + b"9" * 5000
    + b"\r\n\r\n",
    "content-length conflicting": b"POST /v1/x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    "request line one word": b"GET\r\n\r\n",
    "request line empty": b"\r\nHost: x\r\n\r\n",
    "request line four words": b"GET / x HTTP/1.1\r\n\r\n",
    "request line http/2": b"GET / HTTP/2.0\r\n\r\n",
    "request line http/1.x": b"GET / HTTP/1.x\r\n\r\n",
    "request line bad method": b"G\xb2T / HTTP/1.1\r\n\r\n",
    "request target unclosed ipv6": b"GET http://[::1/v1/x HTTP/1.1\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
}


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[threading.ExceptHookArgs]:
    """What would reach threading.excepthook: an uncaught exception in any thread."""
    caught: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", caught.append)
    return caught


@pytest.fixture
def served() -> Iterator[tuple[FakeMijnKlantportaal, tuple[str, int]]]:
    fake = FakeMijnKlantportaal()
    fake.add_example_invoice()
    with fake.serve() as base_url:
        split = urlsplit(base_url)
        assert split.hostname is not None and split.port is not None
        yield fake, (split.hostname, split.port)


def exchange(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as conn:
        conn.sendall(data)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    return received


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("request_bytes", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_request_gets_400_and_the_server_keeps_serving(
    served: tuple[FakeMijnKlantportaal, tuple[str, int]],
    thread_errors: list[threading.ExceptHookArgs],
    request_bytes: bytes,
) -> None:
    fake, address = served
    answer = exchange(address, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"Connection: close" in answer
    good = exchange(address, GOOD % fake.api_key.encode())
    assert good.startswith(b"HTTP/1.1 200 ") and EXAMPLE_INVOICE_ID.encode() in good
    assert thread_errors == []


def test_a_dependents_pytest_with_warnings_as_errors_passes(tmp_path: Path) -> None:
    """The issue as a dependent met it: their suite, run with -W error, failed on a thread
    that died inside the fake."""
    (tmp_path / "test_dependent.py").write_text(
        textwrap.dedent(
            """
            import socket
            from urllib.parse import urlsplit

            from mijnklantportaal.testing import FakeMijnKlantportaal

            def test_odd_content_length():
                fake = FakeMijnKlantportaal()
                with fake.serve() as base_url:
                    split = urlsplit(base_url)
                    with socket.create_connection((split.hostname, split.port)) as conn:
                        conn.sendall(b"POST /v1/x HTTP/1.1\\r\\nContent-Length: \\xb2\\r\\n\\r\\n")
                        assert conn.recv(100).startswith(b"HTTP/1.1 400 ")
            """
        ),
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-W", "error", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
