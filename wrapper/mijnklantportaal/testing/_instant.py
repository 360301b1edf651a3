"""Retries without the wait, for tests: a scripted 503 or 429 should cost no test time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["instant_retries"]


def _sync_noop(self: Any, seconds: float) -> None:
    return None


async def _async_noop(self: Any, seconds: float) -> None:
    return None


@contextlib.contextmanager
def instant_retries() -> Iterator[None]:
    """Within the block, every mijnklantportaal client retries at once instead of sleeping
    the backoff or the server's ``retry-after`` (the retry decisions stay the same)."""
    from mijnklantportaal import _transport

    patched: list[tuple[type[Any], Any]] = []
    for name, noop in (("SyncTransport", _sync_noop), ("AsyncTransport", _async_noop)):
        cls = getattr(_transport, name, None)
        if cls is not None and "_sleep" in vars(cls):
            patched.append((cls, vars(cls)["_sleep"]))
            cls._sleep = noop
    try:
        yield
    finally:
        for cls, original in patched:
            cls._sleep = original
