"""Helpers shared by the tests: scripted in-process responses and a sync/async bridge."""

from __future__ import annotations

import asyncio
import inspect
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from mijnklantportaal.testing import FakeMijnKlantportaal

API_KEY = "mkp_test_key_0123456789abcdef"


def _example_invoice_json() -> bytes:
    """The spec's example invoice as the fake serves it, money as JSON numbers like the API:
    one example for the fake, the tests and the benchmarks, built by ./generate.sh."""
    fake = FakeMijnKlantportaal(rate_limit=None)
    invoice_id = fake.add_example_invoice()
    reply = fake.handle(
        "GET", f"/v1/invoices/{invoice_id}", [("authorization", f"Bearer {fake.api_key}")]
    )
    assert reply.status == 200, reply
    return reply.body


EXAMPLE_INVOICE_JSON = _example_invoice_json()


class Recorder:
    """An httpx handler driven by a script of responses; records every request it got."""

    def __init__(
        self, *responses: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
    ):
        self.script = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, Exception):
            raise item
        if callable(item) and not isinstance(item, httpx.Response):
            return item(request)
        return item


def ok(body: bytes | dict[str, Any] = EXAMPLE_INVOICE_JSON, **headers: str) -> httpx.Response:
    content = json.dumps(body).encode() if isinstance(body, dict) else body
    extra = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx.Response(
        200, content=content, headers={"content-type": "application/json", **extra}
    )


def status(code: int, body: bytes | dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    content = json.dumps(body).encode() if isinstance(body, dict) else (body or b"")
    return httpx.Response(
        code, content=content, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def resolve(value: Any) -> Any:
    """Await ``value`` when it is awaitable, so one test body serves both clients."""
    if inspect.isawaitable(value):
        return asyncio.run(_await(value))
    return value


async def _await(value: Any) -> Any:
    return await value


REPO = Path(__file__).resolve().parents[1]


def copy_repo(dest: Path, *names: str) -> Path:
    """Copy the named top-level files and folders of this checkout to ``dest`` (no caches)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest
