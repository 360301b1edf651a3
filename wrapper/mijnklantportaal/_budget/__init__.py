"""Rate budgets: start no request that the API's rolling window would answer with 429.

The API allows ``limit`` requests per rolling ``window`` per API key. A budget sits in front
of the transport and, before each request, reserves the earliest moment at which the request
may start so that no ``window``-long interval ever holds more than ``limit`` starts.

    LocalRateBudget   one process: threads and asyncio (or trio) tasks alike
    RedisRateBudget   every process on one Redis, with the local budget as fallback

The contract the transport relies on (both budgets implement ``RateBudget``):

``acquire(key_id, *, priority, max_wait) -> float``
    Reserve a start for one request on the key ``key_id`` (a hash of the API key; see
    ``key_id_for``; a budget never sees the key itself), sleep until it, and return the
    seconds waited. ``priority="bulk"`` (``get_many``, export, ``priority="bulk"``) may only
    fill ``floor(limit * (1 - bulk_reserve))`` starts of any window, counting every start;
    ``"interactive"`` may use the whole ``limit`` and goes ahead of bulk work already queued.
    Calls of one priority are granted in arrival order. If the start would be more than
    ``max_wait`` seconds away, nothing is reserved and ``BudgetExhausted(retry_after)`` is
    raised at once: the transport turns it into ``RateLimitError`` and sends nothing.
    ``acquire_async`` is the same for async code (it sleeps with anyio, so a cancelled
    task gives its reservation back).

``acquire(..., cancel=token)``, ``acquire_async(..., cancel=token)``
    Optional, keyword-only (``_sleep.CancelToken``; both budgets here take it): the
    client's ``close()`` cancels the token, which wakes that client's sleepers (and no
    other client's on a shared budget); each frees its reservation and raises
    ``ClientClosedError``. The transport passes ``cancel=`` only to a budget whose
    ``acquire`` and ``acquire_async`` both take it (``takes_cancel``), so a budget
    written to the contract without it still works; its sleeps just run to the end.

``observe(key_id, *, limit, remaining, reset_at)``
    After each response, with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
    ``x-ratelimit-reset`` (UNIX seconds or an aware datetime; any may be None). Where the
    server is stricter, it wins: a lower limit is adopted; starts the server counted but
    the budget did not (other processes on the key) are booked as taken, leaving the window
    at the reset time if one was given, else one window from now (when they really started
    is unknown, and later is the safe guess); ``remaining == 0`` with a reset time blocks
    the key until then. A laxer report changes nothing. A reset more than ``window +
    RESET_SLACK`` (5 minutes) ahead, or more than ``MAX_RESET_AHEAD`` (an hour), is
    implausible (epoch milliseconds read as seconds) and treated as no reset
    (``_common.epoch_seconds``); the transport hands every budget only plausible ones. On a
    429 with a ``retry-after`` the transport passes ``now + retry_after`` as the reset: the
    server's word on when to retry wins over the rest of the window inferred from
    ``remaining == 0``.

``penalize(key_id, retry_after)``
    After a 429 anyway: no start on the key for ``retry_after`` seconds (at most
    ``MAX_TIMEOUT``, an hour).

``observe_async`` and ``penalize_async`` are the async twins (the Redis budget's sync ones
would block an event loop). Nonsense values (negative, NaN, a naive datetime) are ignored.

Settings are checked when a budget is made (``_common.Settings``): ``limit`` up to
``MAX_RATE_LIMIT``, ``window`` up to ``MAX_RATE_WINDOW``, ``safety_margin`` up to
``MAX_RATE_SAFETY_MARGIN``, other seconds up to ``MAX_TIMEOUT``, so no derived number
overflows; a value out of range (huge, inf, NaN) raises ``ConfigurationError`` naming it.

Starts are spaced ``window + safety_margin`` apart (``RATE_SAFETY_MARGIN``, 50 ms): a
request reaches the server after a network delay that varies, and one sent exactly a
window after another could land inside it. In LocalRateBudget, waiters that were asleep
when ``observe`` or ``penalize`` made their key stricter plan again when they wake (still
within their ``max_wait``); in RedisRateBudget the new rule applies to the next bookings.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Protocol, runtime_checkable

from mijnklantportaal._budget._common import BudgetExhausted, Priority
from mijnklantportaal._budget._local import LocalRateBudget
from mijnklantportaal._budget._redis import RedisRateBudget
from mijnklantportaal._budget._sleep import CancelToken, takes_cancel

__all__ = [
    "BudgetExhausted",
    "CancelToken",
    "CancellableRateBudget",
    "LocalRateBudget",
    "Priority",
    "RateBudget",
    "RedisRateBudget",
    "key_id_for",
    "takes_cancel",
]


def key_id_for(api_key: str) -> str:
    """The id a budget files an API key under: a SHA-256 hex digest, never the key."""
    return hashlib.sha256(
        b"mijnklantportaal-rate:" + api_key.encode("utf-8", "replace")
    ).hexdigest()


@runtime_checkable
class RateBudget(Protocol):
    """What the transport calls before and after each request (see the module docstring)."""

    @property
    def limit(self) -> int: ...

    @property
    def window(self) -> float: ...

    def acquire(
        self, key_id: str, *, priority: Priority = "interactive", max_wait: float = ...
    ) -> float: ...

    async def acquire_async(
        self, key_id: str, *, priority: Priority = "interactive", max_wait: float = ...
    ) -> float: ...

    def observe(
        self,
        key_id: str,
        *,
        limit: int | None,
        remaining: int | None,
        reset_at: float | datetime | None,
    ) -> None: ...

    async def observe_async(
        self,
        key_id: str,
        *,
        limit: int | None,
        remaining: int | None,
        reset_at: float | datetime | None,
    ) -> None: ...

    def penalize(self, key_id: str, retry_after: float) -> None: ...

    async def penalize_async(self, key_id: str, retry_after: float) -> None: ...


@runtime_checkable
class CancellableRateBudget(RateBudget, Protocol):
    """A ``RateBudget`` whose waits a client's ``close()`` can cut short (``cancel=``)."""

    def acquire(
        self,
        key_id: str,
        *,
        priority: Priority = "interactive",
        max_wait: float = ...,
        cancel: CancelToken | None = None,
    ) -> float: ...

    async def acquire_async(
        self,
        key_id: str,
        *,
        priority: Priority = "interactive",
        max_wait: float = ...,
        cancel: CancelToken | None = None,
    ) -> float: ...
