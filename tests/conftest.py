"""Shared fixtures: clients over in-process transports, sync and async alike, with instant retries."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _no_missing_modules import pytest_runtest_makereport  # noqa: F401 (the hook)
from _support import API_KEY, REPO, resolve
from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
from mijnklantportaal._transport import AsyncTransport, SyncTransport


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Makes retries instant, recording each delay the client asked for."""
    delays: list[float] = []

    async def async_sleep(self: AsyncTransport, seconds: float) -> None:
        delays.append(seconds)

    monkeypatch.setattr(SyncTransport, "_sleep", lambda self, seconds: delays.append(seconds))
    monkeypatch.setattr(AsyncTransport, "_sleep", async_sleep)
    return delays


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_client(mode: str, sleeps: list[float]) -> Iterator[Callable[..., Any]]:
    """make_client(handler, **kwargs) -> a sync or async client (per ``mode``) on a MockTransport."""
    made: list[Any] = []

    def make(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", API_KEY)
        # A MockTransport handler is a server without a rate limit: no budget to pace
        # against (the budget inside a client is tested in test_client_rate_budget.py).
        kwargs.setdefault("rate_budget", None)
        transport = httpx.MockTransport(handler)
        if mode == "sync":
            client: Any = MijnKlantportaal(http_client=httpx.Client(transport=transport), **kwargs)
        else:
            client = AsyncMijnKlantportaal(
                http_client=httpx.AsyncClient(transport=transport), **kwargs
            )
        made.append(client)
        return client

    yield make
    for client in made:
        resolve(
            client._transport.http_client.aclose()
            if mode == "async"
            else client._transport.http_client.close()
        )


@pytest.fixture(scope="session")
def tools_venv() -> Path:
    """The pinned generator tools (installed by the first ./generate.sh run), shared by copies."""
    # Empty counts as unset, as in generate.sh (${MIJNKLANTPORTAAL_TOOLS_VENV:-...}).
    venv = Path(os.environ.get("MIJNKLANTPORTAAL_TOOLS_VENV") or REPO / ".tools" / "venv")
    subprocess.run(
        [str(REPO / "generate.sh"), "--check"],
        check=True,
        capture_output=True,
        env={**os.environ, "MIJNKLANTPORTAAL_TOOLS_VENV": str(venv)},
    )
    return venv
