"""What both budgets share: the error, the argument checks and the scheduling rule."""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from mijnklantportaal._constants import (
    BULK_RESERVE,
    MAX_RATE_LIMIT,
    MAX_RATE_SAFETY_MARGIN,
    MAX_RATE_WINDOW,
    MAX_RESET_AHEAD,
    MAX_TIMEOUT,
    RESET_SLACK,
)
from mijnklantportaal._exceptions import ConfigurationError, MijnKlantportaalError

Priority = Literal["interactive", "bulk"]
PRIORITIES: tuple[Priority, ...] = ("interactive", "bulk")


class BudgetExhausted(MijnKlantportaalError):
    """The budget has no start for this call within ``max_wait``; nothing was reserved.

    ``retry_after`` is how long until a start would be free if nobody else asked first.
    The transport raises ``RateLimitError`` with it instead; nothing is sent.
    """

    def __init__(self, retry_after: float) -> None:
        super().__init__(
            f"The rate budget has no free start for {retry_after:.2f} s, longer than this call "
            "may wait (max_rate_wait); nothing was sent. Retry later, or raise max_rate_wait."
        )
        self.retry_after = retry_after


class Settings:
    """The checked numbers of one budget.

    Each has an upper bound (``_constants``: ``MAX_RATE_LIMIT``, ``MAX_RATE_WINDOW``,
    ``MAX_RATE_SAFETY_MARGIN``), so every number derived from them stays finite: the span,
    the Redis budget's microseconds, a refusal's ``retry_after``. A value past it raises
    ``ConfigurationError`` naming the setting, never an ``OverflowError`` later, in a call.
    """

    __slots__ = ("bulk_reserve", "limit", "safety_margin", "window")

    def __init__(
        self, limit: object, window: object, bulk_reserve: object, safety_margin: object
    ) -> None:
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_RATE_LIMIT
        ):
            raise ConfigurationError(
                f"rate budget limit must be an int >= 1 and at most {MAX_RATE_LIMIT:,} "
                f"(requests per window), got {shown(limit)}."
            )
        self.limit: int = limit
        self.window: float = finite("window", window, positive=True, most=MAX_RATE_WINDOW)
        reserve = finite("bulk_reserve", bulk_reserve, positive=False, most=1.0, unit="")
        if not 0 <= reserve < 1:
            raise ConfigurationError(
                f"rate budget bulk_reserve must be >= 0 and < 1 (share of each window kept for "
                f"interactive calls, default {BULK_RESERVE}), got {shown(bulk_reserve)}."
            )
        self.bulk_reserve: float = reserve
        self.safety_margin: float = finite(
            "safety_margin", safety_margin, positive=False, most=MAX_RATE_SAFETY_MARGIN
        )

    @property
    def span(self) -> float:
        """The spacing the budget keeps: the window, plus a margin for network jitter."""
        return self.window + self.safety_margin

    def cap(self, priority: Priority, limit: int) -> int:
        """Starts ``priority`` may fill in any window, counting every start on the key."""
        if priority == "interactive":
            return limit
        # At least one, or a budget of limit=1 would never let bulk work start at all.
        return max(1, math.floor(limit * (1 - self.bulk_reserve) + 1e-9))


def penalty(retry_after: object) -> float | None:
    """A 429's ``retry-after`` as seconds to block a key for, or None when it blocks nothing
    (not a number, not finite, or not positive). At most ``MAX_TIMEOUT``: a longer one is
    garbage, not a reason to block the key for a year (and would overflow the Redis
    budget's microseconds)."""
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float):
        return None
    if isinstance(retry_after, float) and not math.isfinite(retry_after):
        return None
    return float(min(retry_after, MAX_TIMEOUT)) if retry_after > 0 else None


def finite(
    name: str,
    value: object,
    *,
    positive: bool,
    most: float = MAX_TIMEOUT,
    unit: str = " seconds",
) -> float:
    """``value`` as a float from 0 (excluded if ``positive``) to ``most``, else
    ``ConfigurationError`` naming ``name``. Checked without converting first: a huge int
    (``10**400``) would raise OverflowError in ``float()`` or ``math.isfinite()``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        raise ConfigurationError(f"rate budget {name} must be a finite number, got {shown(value)}.")
    if value < 0 or (positive and value == 0) or value > most:
        bound = "> 0" if positive else ">= 0"
        raise ConfigurationError(
            f"rate budget {name} must be {bound} and at most {most:g}{unit}, got {shown(value)}."
        )
    return float(value)


def shown(value: object) -> str:
    """``value`` for a message: the repr of a huge int has thousands of digits (and past
    4,300 raises ValueError), so such an int is described instead. Also used for the
    client's settings (``_config``)."""
    if isinstance(value, int) and value.bit_length() > 64:
        digits = int(abs(value).bit_length() * math.log10(2)) + 1
        return f"an int of about {digits} digits"
    return repr(value)


def check_call(priority: object, max_wait: object) -> float:
    if priority not in PRIORITIES:
        raise ConfigurationError(
            f"rate budget priority must be 'interactive' or 'bulk', got {priority!r}."
        )
    return finite("max_wait (max_rate_wait)", max_wait, positive=False)


def epoch_seconds(reset_at: float | datetime | None, window: float | None = None) -> float | None:
    """``x-ratelimit-reset`` as UNIX seconds, or None when absent, unusable or implausible.

    Implausible: more than ``window + RESET_SLACK`` seconds ahead, or more than
    ``MAX_RESET_AHEAD`` whatever the window (with ``window=None`` only the latter). The
    typical case is a reset in epoch milliseconds read as seconds, which would block the
    key for 55,000 years; it is ignored as if the response had none. A reset in the past
    is returned as it is (the budgets ignore it).
    """
    if reset_at is None:
        return None
    if isinstance(reset_at, datetime):
        if reset_at.tzinfo is None:
            return None  # a naive time has no known zone: ignore rather than guess
        try:
            seconds = reset_at.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(reset_at, bool) or not isinstance(reset_at, int | float):
        return None
    elif isinstance(reset_at, int):
        if reset_at.bit_length() > 64:
            return None  # float() of it could overflow; it is implausible anyway
        seconds = float(reset_at)
    else:
        if not math.isfinite(reset_at):
            return None
        seconds = reset_at
    ahead = MAX_RESET_AHEAD if window is None else min(window + RESET_SLACK, MAX_RESET_AHEAD)
    if seconds - time.time() > ahead:
        return None
    return seconds


def earliest_start(starts: Sequence[float], t0: float, cap: int, span: float) -> float:
    """The earliest t >= t0 at which one more start keeps every window within ``cap``.

    ``starts`` is sorted: past starts and future reservations. Two starts share a rolling
    window when they are less than ``span`` apart (the server forgets a start ``window``
    seconds later), so the rule is: every ``cap + 1`` consecutive starts, t among them,
    span at least ``span``. A group that breaks it can only be left behind by moving t to
    its first other start plus ``span``; each move passes that start, so the loop ends
    after at most ``len(starts)`` moves of ``O(cap)`` checks.
    """
    t = t0
    n = len(starts)
    while True:
        k = bisect_right(starts, t)  # t would go at index k
        blocker: int | None = None
        for j in range(max(0, k - cap), k + 1):
            # The group is starts[j:k], t, starts[k:j + cap]: cap starts besides t.
            last = j + cap - 1
            if last >= n:
                break
            first_time = starts[j] if j < k else t
            last_time = starts[last] if last >= k else t
            if last_time < first_time + span:  # so that t = first + span passes exactly
                blocker = j
                break
        if blocker is None:
            return t
        t = starts[blocker] + span
