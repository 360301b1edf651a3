"""The fake's clock: real time by default, movable by tests."""

from __future__ import annotations

import threading
import time

__all__ = ["FakeClock"]


class FakeClock:
    """UNIX time in seconds, as the fake sees it.

    ``FakeClock()`` follows the wall clock; ``advance()`` moves it forward (a rate-limit
    window passes at once). ``FakeClock(start=1_744_416_000)`` is frozen at ``start`` and
    moves only when a test calls ``advance()`` or ``set()``: fully deterministic headers.
    """

    def __init__(self, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self._frozen = start is not None
        self._value = float(start) if start is not None else 0.0  # frozen time or offset

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> float:
        with self._lock:
            return self._value if self._frozen else time.time() + self._value

    def advance(self, seconds: float) -> None:
        """Move the clock forward (negative values are refused: time does not run back)."""
        if seconds < 0:
            raise ValueError("a clock only moves forward; seconds must be >= 0")
        with self._lock:
            self._value += seconds

    def set(self, timestamp: float) -> None:
        """Jump to ``timestamp`` (UNIX seconds); freezes the clock there."""
        with self._lock:
            self._frozen = True
            self._value = float(timestamp)

    def __repr__(self) -> str:
        kind = "frozen" if self._frozen else "ticking"
        return f"<FakeClock {kind} at {self.now():.3f}>"
