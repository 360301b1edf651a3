"""Sleeps that a client's ``close()`` can cut short: the budget's waits and the retry waits.

A budget is shared by several clients, so closing one client must wake only that client's
waiters. Each client (with its ``with_options`` copies) therefore has one ``CancelToken``;
its transport passes it to ``acquire(..., cancel=token)`` and its own retry sleeps, and
``close()`` cancels it. A sleeper woken that way raises ``ClientClosedError`` (a budget
frees its reservation first, as it does for any exception in its sleep), so nothing is
sent after ``close()`` returns.
"""

from __future__ import annotations

import importlib
import inspect
import threading
import time
from collections.abc import Callable
from typing import Any

from mijnklantportaal._exceptions import ClientClosedError

_CLOSED_WHILE_WAITING = (
    "This client was closed (close() or the end of its with-block) while the call waited "
    "to send; nothing more was sent. Create a new client to go on."
)


class CancelToken:
    """Set once, by a client's ``close()``; wakes every sleep that was given it.

    Thread sleepers wait on an Event. An async sleeper registers an anyio Event, set from
    the thread that cancels when it is the sleeper's event loop thread, else handed to
    that loop thread-safely.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._async_waiters: dict[int, tuple[Any, int, Callable[[Callable[[], None]], Any]]] = {}

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self._event.set()
            waiters = list(self._async_waiters.values())
            self._async_waiters.clear()
        here = threading.get_ident()
        for event, thread, call_soon_threadsafe in waiters:
            if thread == here:
                event.set()
            else:
                try:
                    call_soon_threadsafe(event.set)
                except RuntimeError:
                    pass  # that loop is closed: nobody sleeps there any more

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise ClientClosedError(_CLOSED_WHILE_WAITING)

    def __repr__(self) -> str:
        return f"<CancelToken cancelled={self.cancelled}>"


def sleep(seconds: float, cancel: CancelToken | None = None) -> None:
    """``time.sleep(seconds)``, cut short by ``cancel`` with ``ClientClosedError``."""
    seconds = min(max(0.0, seconds), threading.TIMEOUT_MAX)
    if cancel is None:
        time.sleep(seconds)
        return
    cancel.raise_if_cancelled()
    if cancel._event.wait(seconds):
        cancel.raise_if_cancelled()


async def sleep_async(seconds: float, cancel: CancelToken | None = None) -> None:
    """``anyio.sleep(seconds)``, cut short by ``cancel`` with ``ClientClosedError``."""
    import anyio  # here, not at the top: sync users need not pay for its import

    seconds = max(0.0, seconds)
    if cancel is None:
        await anyio.sleep(seconds)
        return
    cancel.raise_if_cancelled()
    event = anyio.Event()
    with cancel._lock:
        if cancel._event.is_set():
            registered = False
        else:
            cancel._async_waiters[id(event)] = (
                event,
                threading.get_ident(),
                _call_soon_threadsafe(),
            )
            registered = True
    try:
        if registered:
            with anyio.move_on_after(seconds):
                await event.wait()
    finally:
        with cancel._lock:
            cancel._async_waiters.pop(id(event), None)
    cancel.raise_if_cancelled()


def _call_soon_threadsafe() -> Callable[[Callable[[], None]], Any]:
    """How another thread gets a callback run on the running event loop (asyncio or trio)."""
    import asyncio

    try:
        return asyncio.get_running_loop().call_soon_threadsafe
    except RuntimeError:
        # Not asyncio: anyio's other backend, trio (an optional install, hence by name).
        trio: Any = importlib.import_module("trio")
        run_sync_soon: Callable[[Callable[[], None]], Any] = (
            trio.lowlevel.current_trio_token().run_sync_soon
        )
        return run_sync_soon


_TAKES_CANCEL: dict[type, bool] = {}


def takes_cancel(budget: object) -> bool:
    """Whether ``budget.acquire``/``acquire_async`` take ``cancel=`` (a budget written
    before it existed does not: it is called as before, and its sleeps are not cut short).
    Asked once per budget class."""
    budget_class = type(budget)
    known = _TAKES_CANCEL.get(budget_class)
    if known is None:
        try:
            known = all(
                "cancel" in inspect.signature(getattr(budget_class, name)).parameters
                for name in ("acquire", "acquire_async")
            )
        except (AttributeError, TypeError, ValueError):
            known = False
        _TAKES_CANCEL[budget_class] = known
    return known
