"""What a call hands back besides the model: ``RawResponse`` and the rate-limit headers.

Kept apart from ``_transport`` (which holds the HTTP policy) so that the generated resources
and the public API import these value types without the sending machinery.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Generic, TypeVar

import attrs
import httpx

__all__ = ["RateLimit", "RawResponse", "header_int", "header_timestamp", "parse_rate_limit"]

T = TypeVar("T")


@attrs.frozen
class RateLimit:
    """The rate-limit headers of the latest response (None where a header was missing)."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None = None


@attrs.frozen
class RawResponse(Generic[T]):
    """A parsed model together with the HTTP response it came from."""

    parsed: T
    http_response: httpx.Response = attrs.field(repr=False)
    retries_taken: int

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def rate_limit(self) -> RateLimit:
        return parse_rate_limit(self.http_response.headers)


class _RateLimitState:
    """Shared by a client and its ``with_options`` copies.

    Keeps the headers of the latest response (one atomic attribute write per response) and
    parses them only when someone asks: most callers never look.
    """

    __slots__ = ("headers",)

    def __init__(self) -> None:
        self.headers: httpx.Headers | None = None

    @property
    def latest(self) -> RateLimit | None:
        headers = self.headers
        return None if headers is None else parse_rate_limit(headers)


def header_int(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()
    # isascii: str.isdigit() is also true for "²", which int() then rejects.
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def header_timestamp(headers: httpx.Headers, name: str) -> datetime | None:
    seconds = header_int(headers, name)
    if seconds is None:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_rate_limit(headers: httpx.Headers) -> RateLimit:
    return RateLimit(
        limit=header_int(headers, "x-ratelimit-limit"),
        remaining=header_int(headers, "x-ratelimit-remaining"),
        reset_at=header_timestamp(headers, "x-ratelimit-reset"),
    )
