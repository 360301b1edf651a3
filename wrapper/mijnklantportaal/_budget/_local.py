"""The in-process budget: one lock around bookkeeping, waits outside it, fair per priority."""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_right, insort
from datetime import datetime

from mijnklantportaal._budget._common import (
    BudgetExhausted,
    Priority,
    Settings,
    check_call,
    earliest_start,
    epoch_seconds,
    penalty,
)
from mijnklantportaal._budget._sleep import CancelToken, sleep, sleep_async
from mijnklantportaal._constants import (
    BULK_RESERVE,
    DEFAULT_MAX_RATE_WAIT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_WINDOW,
    RATE_SAFETY_MARGIN,
)


class _KeyState:
    """The bookkeeping of one key: sorted start times (time.monotonic seconds)."""

    __slots__ = ("blocked_until", "generation", "server_limit", "starts")

    def __init__(self) -> None:
        # Past starts, future reservations and starts learned from the server, sorted.
        self.starts: list[float] = []
        self.blocked_until = -math.inf
        self.server_limit: int | None = None  # set only when lower than the budget's own
        # Bumped whenever the server made this key stricter: sleeping waiters plan again.
        self.generation = 0


class _Ticket:
    __slots__ = ("at", "generation", "key_id")

    def __init__(self, key_id: str, at: float, generation: int) -> None:
        self.key_id = key_id
        self.at = at
        self.generation = generation


class LocalRateBudget:
    """At most ``limit`` request starts per rolling ``window`` seconds, per key, in this process.

    One instance is shared by a client, its ``with_options`` copies and every thread and task
    that uses them. See ``mijnklantportaal._budget`` for the contract.
    """

    def __init__(
        self,
        limit: int = DEFAULT_RATE_LIMIT,
        window: float = DEFAULT_RATE_WINDOW,
        *,
        bulk_reserve: float = BULK_RESERVE,
        safety_margin: float = RATE_SAFETY_MARGIN,
    ) -> None:
        self._settings = Settings(limit, window, bulk_reserve, safety_margin)
        self._lock = threading.Lock()
        self._keys: dict[str, _KeyState] = {}
        self._next_sweep = 0.0

    @property
    def limit(self) -> int:
        return self._settings.limit

    @property
    def window(self) -> float:
        return self._settings.window

    @property
    def bulk_reserve(self) -> float:
        return self._settings.bulk_reserve

    def __repr__(self) -> str:
        s = self._settings
        return f"LocalRateBudget(limit={s.limit}, window={s.window}, bulk_reserve={s.bulk_reserve})"

    # -- waiting --------------------------------------------------------------------------

    def acquire(
        self,
        key_id: str,
        *,
        priority: Priority = "interactive",
        max_wait: float = DEFAULT_MAX_RATE_WAIT,
        cancel: CancelToken | None = None,
    ) -> float:
        """Wait for a start; return the seconds waited (``BudgetExhausted`` past ``max_wait``)."""
        max_wait = check_call(priority, max_wait)
        arrived = time.monotonic()
        while True:
            ticket = self._reserve(key_id, priority, arrived + max_wait)
            try:
                delay = ticket.at - time.monotonic()
                if delay > 0:
                    sleep(delay, cancel)  # a closed client's cancel wakes it
            except BaseException:
                self._release(ticket)
                raise
            if self._keep(ticket):
                return time.monotonic() - arrived

    async def acquire_async(
        self,
        key_id: str,
        *,
        priority: Priority = "interactive",
        max_wait: float = DEFAULT_MAX_RATE_WAIT,
        cancel: CancelToken | None = None,
    ) -> float:
        """``acquire`` for async code: the task sleeps, a cancelled one frees its start."""
        max_wait = check_call(priority, max_wait)
        arrived = time.monotonic()
        while True:
            ticket = self._reserve(key_id, priority, arrived + max_wait)
            try:
                delay = ticket.at - time.monotonic()
                if delay > 0:
                    await sleep_async(delay, cancel)  # a closed client's cancel wakes it
            except BaseException:
                self._release(ticket)
                raise
            if self._keep(ticket):
                return time.monotonic() - arrived

    # -- learning from the server ---------------------------------------------------------

    def observe(
        self,
        key_id: str,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_at: float | datetime | None = None,
    ) -> None:
        """Take in ``X-RateLimit-Limit``/``-Remaining``/``x-ratelimit-reset`` where stricter."""
        # A reset implausibly far ahead (epoch milliseconds read as seconds) is no reset.
        reset_epoch = epoch_seconds(reset_at, self._settings.window)
        with self._lock:
            now = time.monotonic()
            state = self._state(key_id, now)
            stricter = False
            if limit is not None and limit >= 1:
                server_limit = limit if limit < self._settings.limit else None
                if server_limit is not None and server_limit != state.server_limit:
                    stricter = server_limit < self._limit_of(state)
                state.server_limit = server_limit
            if remaining is not None and remaining >= 0:
                stricter |= self._learn_used(state, now, limit, remaining, reset_epoch)
            if stricter:
                state.generation += 1

    async def observe_async(
        self,
        key_id: str,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_at: float | datetime | None = None,
    ) -> None:
        self.observe(key_id, limit=limit, remaining=remaining, reset_at=reset_at)

    def penalize(self, key_id: str, retry_after: float) -> None:
        """A 429 came anyway: start nothing on this key for ``retry_after`` seconds."""
        seconds = penalty(retry_after)
        if seconds is None:
            return
        with self._lock:
            now = time.monotonic()
            state = self._state(key_id, now)
            if now + seconds > state.blocked_until:
                state.blocked_until = now + seconds
                state.generation += 1

    async def penalize_async(self, key_id: str, retry_after: float) -> None:
        self.penalize(key_id, retry_after)

    # -- bookkeeping, all under the lock --------------------------------------------------

    def _state(self, key_id: str, now: float) -> _KeyState:
        if now >= self._next_sweep:
            self._sweep(now)
        state = self._keys.get(key_id)
        if state is None:
            state = self._keys[key_id] = _KeyState()
        # Starts more than a span ago share no window with any start from now on.
        del state.starts[: bisect_right(state.starts, now - self._settings.span)]
        return state

    def _sweep(self, now: float) -> None:
        """Forget keys with nothing left in any window (a service may see many tokens)."""
        horizon = now - self._settings.span
        idle = [
            key_id
            for key_id, state in self._keys.items()
            if (not state.starts or state.starts[-1] <= horizon)
            and state.blocked_until <= now
            and state.server_limit is None
        ]
        for key_id in idle:
            del self._keys[key_id]
        self._next_sweep = now + self._settings.span

    def _limit_of(self, state: _KeyState) -> int:
        if state.server_limit is None:
            return self._settings.limit
        return state.server_limit

    def _reserve(self, key_id: str, priority: Priority, deadline: float) -> _Ticket:
        with self._lock:
            now = time.monotonic()
            state = self._state(key_id, now)
            cap = self._settings.cap(priority, self._limit_of(state))
            at = earliest_start(
                state.starts, max(now, state.blocked_until), cap, self._settings.span
            )
            if at > max(deadline, now):  # no wait at all is always within max_wait
                self._forget_if_idle(key_id, state, now)
                raise BudgetExhausted(retry_after=at - now)
            insort(state.starts, at)
            return _Ticket(key_id, at, state.generation)

    def _keep(self, ticket: _Ticket) -> bool:
        """True if the reservation stands; False (and freed) if the server made it stricter."""
        with self._lock:
            state = self._keys.get(ticket.key_id)
            if state is None or state.generation == ticket.generation:
                return True
            self._remove(state, ticket.at)
            return False

    def _release(self, ticket: _Ticket) -> None:
        with self._lock:
            state = self._keys.get(ticket.key_id)
            if state is not None:
                self._remove(state, ticket.at)
                self._forget_if_idle(ticket.key_id, state, time.monotonic())

    @staticmethod
    def _remove(state: _KeyState, at: float) -> None:
        index = bisect_right(state.starts, at) - 1
        if index >= 0 and state.starts[index] == at:
            del state.starts[index]

    def _forget_if_idle(self, key_id: str, state: _KeyState, now: float) -> None:
        if not state.starts and state.blocked_until <= now and state.server_limit is None:
            del self._keys[key_id]

    def _learn_used(
        self,
        state: _KeyState,
        now: float,
        limit: int | None,
        remaining: int,
        reset_epoch: float | None,
    ) -> bool:
        """Book the starts the server counted and this budget did not (other processes)."""
        window = self._settings.window
        server_limit = limit if limit is not None and limit >= 1 else self._limit_of(state)
        used = server_limit - remaining
        counted = bisect_right(state.starts, now)  # the past starts still in a window
        missing = min(used - counted, self._limit_of(state))
        reset = None
        if reset_epoch is not None:
            reset = now + (reset_epoch - time.time())
            if reset <= now:
                reset = None
        stricter = False
        if missing > 0:
            # They leave the window at the reset time when the server gave one; if not, no
            # one knows when they started, so the safe guess is: just now.
            at = now if reset is None else min(now, max(reset - window, now - window))
            for _ in range(missing):
                insort(state.starts, at)
            stricter = True
        if remaining == 0 and reset is not None and reset > state.blocked_until:
            state.blocked_until = reset
            stricter = True
        return stricter
