"""The errors this client raises: one tree, rooted at ``MijnKlantportaalError``.

    MijnKlantportaalError
    ├── ConfigurationError (ValueError)     no API key, unsafe or malformed base URL, bad option
    ├── InvalidArgumentError (ValueError)   a bad argument, caught before anything is sent
    ├── ClientClosedError (RuntimeError)    a call on a client that was already closed
    ├── APIConnectionError                  the request did not get a response
    │   └── APITimeoutError                 ... because a timeout expired
    ├── APIResponseValidationError          a 2xx body that does not fit the model, or any
    │   │                                   body that cannot be read (too large, bad encoding)
    │   └── PaginationError                 pages that do not move forward (a walk would loop)
    └── APIStatusError                      any non-2xx response
        ├── BadRequestError                 400
        ├── AuthenticationError             401
        ├── PermissionDeniedError           403
        ├── NotFoundError                   404
        ├── ConflictError                   409
        ├── UnprocessableEntityError        422
        ├── RateLimitError                  429 (retry_after, reset_at)
        └── InternalServerError             >= 500

Every error pickles with its type, message and fields (services pass errors across worker
pools), and no error holds the API key: a kept request or response has its
``Authorization`` header replaced before it is stored.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

import httpx

from mijnklantportaal._constants import MAX_FIELD_ERRORS, MAX_FIELD_MESSAGES
from mijnklantportaal._text import bounded

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "InternalServerError",
    "InvalidArgumentError",
    "MijnKlantportaalError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
]

REDACTED = "[redacted]"


def _restore(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class MijnKlantportaalError(Exception):
    """Base of every error this package raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which the default pickling cannot replay.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class ConfigurationError(MijnKlantportaalError, ValueError):
    """The client was configured in a way that cannot work or is unsafe."""


class InvalidArgumentError(MijnKlantportaalError, ValueError):
    """An argument is invalid; nothing was sent."""


class ClientClosedError(MijnKlantportaalError, RuntimeError):
    """The client was closed before this call; nothing was sent."""


# Names of headers that carry a credential (Authorization, Proxy-Authorization, Cookie) or,
# as a header parameter, whose name says it holds a secret (X-Api-Token, X-Signing-Key).
_SECRET_NAME = re.compile(r"auth|token|secret|key|password|passwd|cookie|session|signature", re.I)
_NOT_SECRET = frozenset({b"idempotency-key"})  # sent to be seen again: kept readable
_secret_names: dict[bytes, bool] = {}  # lower-case raw name -> secret? (a few per client)
_MAX_REMEMBERED_NAMES = 256


def is_secret_header(name: str | bytes) -> bool:
    """True when a header's name suggests a secret: its value is never logged or kept."""
    raw = (name.encode("latin-1") if isinstance(name, str) else name).lower()
    secret = _secret_names.get(raw)
    if secret is None:
        secret = raw not in _NOT_SECRET and _SECRET_NAME.search(raw.decode("latin-1")) is not None
        if len(_secret_names) < _MAX_REMEMBERED_NAMES:
            _secret_names[raw] = secret
    return secret


def redact_headers(headers: httpx.Headers) -> None:
    """Replace, in place, every header value that carries a credential, or whose name
    suggests a secret (``is_secret_header``)."""
    secrets = [name for name, _ in headers.raw if is_secret_header(name)]
    for name in secrets:
        headers[name.decode("latin-1")] = REDACTED


def redact_request(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` without credentials, safe to keep, log or pickle.

    A shallow copy with its own redacted headers and no extensions (which hold the
    connection-level timeout and trace hooks): a few microseconds, where building a new
    ``httpx.Request`` re-parses the URL and headers for ~20. A request whose body is in
    memory (every request this client builds) is copied attribute by attribute, keeping its
    bytes; any other goes through ``copy.copy``, which drops the stream as httpx pickles
    a request (``copy.copy`` alone costs ~2 us a call).
    """
    headers = httpx.Headers(request.headers)
    redact_headers(headers)
    if isinstance(request.stream, httpx.ByteStream):
        kept = httpx.Request.__new__(httpx.Request)
        kept.__dict__.update(request.__dict__)
    else:
        kept = copy.copy(request)
    kept.headers = headers
    kept.extensions = {}
    return kept


def redact_response(response: httpx.Response) -> httpx.Response:
    """A copy of a read ``response`` whose request carries no credentials.

    ``response.content`` is already decoded, so the copy drops the headers that describe
    the wire form (``Content-Encoding``, ``Content-Length``, ``Transfer-Encoding``): kept,
    they would make httpx decode the body a second time (and fail on a gzip error body).
    """
    headers = [
        (name, value)
        for name, value in response.headers.raw
        if name.lower() not in _WIRE_FORM_HEADERS
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=response.content,
        request=redact_request(response.request),
        extensions={
            name: response.extensions[name]
            for name in ("http_version", "reason_phrase")
            if name in response.extensions
        },
    )


_WIRE_FORM_HEADERS = (b"content-encoding", b"content-length", b"transfer-encoding")


class APIConnectionError(MijnKlantportaalError):
    """The request was sent (or tried) but no HTTP response came back."""

    def __init__(self, message: str, *, request: httpx.Request) -> None:
        super().__init__(message)
        self.request = redact_request(request)


class APITimeoutError(APIConnectionError):
    """A connect, read, write or pool timeout expired."""


class APIResponseValidationError(MijnKlantportaalError):
    """A successful response whose body is not what the API promises, or a response whose
    body could not be read at all (larger than the cap once decoded, an encoding this
    client does not decode, corrupt compression); then ``response`` is None.

    ``field`` names where in the body the problem is (``lines[2].vatRate``) when known.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None,
        body: object = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.response = redact_response(response) if response is not None else None
        self.status_code = response.status_code if response is not None else None
        self.body = body
        self.field = field


class PaginationError(APIResponseValidationError):
    """The pages do not move forward (a page links to itself or back, or the server answers
    an earlier page again), so walking on would loop. ``field`` names the envelope field."""


class APIStatusError(MijnKlantportaalError):
    """The API answered with a non-2xx status.

    ``message`` is the API's own message when the body has one, else a description a human
    can act on; ``str(error)`` adds the status, the request and what to do next.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        request_id: str | None,
        detail: str,
    ) -> None:
        super().__init__(message)
        self.response = redact_response(response)
        self.status_code = response.status_code
        self.body = body
        self.request_id = request_id
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class BadRequestError(APIStatusError):
    """400: the API could not understand the request."""


class AuthenticationError(APIStatusError):
    """401: the API key or access token was missing, wrong, expired or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the key is valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: no such resource for this key."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was understood but its content was rejected.

    ``message`` is the API's validation message; ``errors`` maps each rejected field to
    its messages (``{"amount": ["The amount must be at least 0.01."]}``) when the body has
    Laravel's ``errors`` object, else ``{}``: at most ``MAX_FIELD_ERRORS`` fields of at most
    ``MAX_FIELD_MESSAGES`` messages, each bounded and terminal-safe."""

    errors: dict[str, list[str]]

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        request_id: str | None,
        detail: str,
    ) -> None:
        super().__init__(
            message, response=response, body=body, request_id=request_id, detail=detail
        )
        self.errors = field_errors(body)


def field_errors(body: object) -> dict[str, list[str]]:
    """The ``errors: {field: [messages]}`` of a validation answer, bounded and safe to print;
    anything else in its place gives ``{}``."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict):
        return {}
    found: dict[str, list[str]] = {}
    for name, messages in errors.items():
        if len(found) >= MAX_FIELD_ERRORS:
            break
        if isinstance(messages, str):
            messages = [messages]
        if not isinstance(name, str) or not isinstance(messages, list):
            continue
        found[bounded(name, 100)] = [
            bounded(m, 300) for m in messages[:MAX_FIELD_MESSAGES] if isinstance(m, str)
        ]
    return found


class RateLimitError(APIStatusError):
    """429: too many requests. ``retry_after`` seconds and ``reset_at`` when the API says."""

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: object,
        request_id: str | None,
        detail: str,
        retry_after: float | None,
        reset_at: datetime | None,
    ) -> None:
        super().__init__(
            message, response=response, body=body, request_id=request_id, detail=detail
        )
        self.retry_after = retry_after
        self.reset_at = reset_at


class InternalServerError(APIStatusError):
    """5xx (and CDN statuses like 520): the API or something in front of it failed."""


STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    if status_code >= 500:
        return InternalServerError
    return STATUS_ERRORS.get(status_code, APIStatusError)
