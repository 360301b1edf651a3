"""Faults the fake can inject: what a flaky network, a CDN or an overloaded API sends."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

__all__ = ["Fault", "reason_phrase"]

FaultKind = Literal["respond", "rate_limited", "pass", "truncate", "drop"]

# Statuses CDNs invent (Cloudflare's 52x) have no HTTPStatus member.
_EXTRA_REASONS = {
    520: "Web Server Returned an Unknown Error",
    521: "Web Server Is Down",
    522: "Connection Timed Out",
    523: "Origin Is Unreachable",
    524: "A Timeout Occurred",
    525: "SSL Handshake Failed",
    526: "Invalid SSL Certificate",
}


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return _EXTRA_REASONS.get(status, "Unknown")


_HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{status} {reason}</title></head>
<body>
<h1>{status} {reason}</h1>
<p>The web server reported an error. Please try again in a few minutes.</p>
<hr><p>cdn-edge</p>
</body>
</html>
"""


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour. Build it with the class methods, then hand it to
    ``fake.fail_next(...)`` or ``fake.fail_every(...)``.

    Every fault can be delayed as well: ``Fault.status(503).with_latency(0.5)``.
    """

    kind: FaultKind
    status_code: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0  # seconds of latency before the fault (or the normal answer)
    retry_after: int = 0
    description: str = ""

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def status(
        cls,
        code: int,
        *,
        json_body: Any = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fault:
        """Answer ``code`` (any status, e.g. 500, 503, 520). The body defaults to the API's
        error shape ``{"message": "<reason>"}``; pass ``json_body`` (any JSON value) or raw
        ``body`` bytes to send something else."""
        if not 100 <= code <= 599:
            raise ValueError(f"HTTP status must be within 100..599, got {code}")
        if body is not None and json_body is not None:
            raise ValueError("pass json_body or body, not both")
        if body is None:
            payload = {"message": reason_phrase(code)} if json_body is None else json_body
            raw = json.dumps(payload).encode()
            ctype = content_type or "application/json"
        else:
            raw = body.encode() if isinstance(body, str) else bytes(body)
            ctype = content_type or "application/octet-stream"
        return cls(
            kind="respond",
            status_code=code,
            headers=(("Content-Type", ctype), *(headers or {}).items()),
            body=raw,
            description=f"status {code}",
        )

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Fault:
        """The API's real 429: ``{"code": 429, "message": "Too many requests."}`` with
        ``retry-after`` and ``x-ratelimit-reset`` (the fake clock's now + retry_after)."""
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        return cls(
            kind="rate_limited",
            status_code=429,
            retry_after=retry_after,
            description=f"429 retry-after {retry_after}",
        )

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        """Wait ``seconds`` (real time), then answer normally. Longer than the client's read
        timeout, it ends in the client's timeout error, in-process as over loopback."""
        return cls(kind="pass").with_latency(seconds)

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An HTML error page, as a CDN or load balancer sends it (default 502)."""
        page = _HTML_PAGE.format(status=status, reason=reason_phrase(status))
        fault = cls.status(status, body=page, content_type="text/html; charset=UTF-8")
        return dataclasses.replace(fault, description=f"HTML page {status}")

    @classmethod
    def non_json(
        cls,
        status: int = 200,
        body: bytes = b"<<not json>>",
        content_type: str = "application/json",
    ) -> Fault:
        """A body that is not JSON although it says it is (default: a 200)."""
        fault = cls.status(status, body=body, content_type=content_type)
        return dataclasses.replace(fault, description=f"non-JSON body {status}")

    @classmethod
    def truncated(cls) -> Fault:
        """The normal answer, cut off half way: ``Content-Length`` promises more bytes than
        arrive before the connection closes."""
        return cls(kind="truncate", description="truncated body")

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls(kind="drop", description="dropped connection")

    # -- modifiers ----------------------------------------------------------------------

    def with_latency(self, seconds: float) -> Fault:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        what = self.description or "normal answer"
        return dataclasses.replace(self, delay=seconds, description=f"{what} after {seconds}s")

    def __repr__(self) -> str:
        return f"Fault({self.description or self.kind})"
