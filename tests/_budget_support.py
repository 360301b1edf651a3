"""Helpers for the rate budget tests: the server's rolling-window count, on recorded starts."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable


def most_in_any_window(starts: Iterable[float], window: float) -> int:
    """The most starts any half-open ``window``-long interval holds (how the API counts)."""
    times = sorted(starts)
    return max(
        (bisect_left(times, t + window) - i for i, t in enumerate(times)),
        default=0,
    )
