"""Send, retry, map errors, log: the one place HTTP policy lives.

A resource hands a ``RequestSpec`` (built from the generated package) and a parse
function to ``SyncTransport.request`` / ``AsyncTransport.request``. The transport builds
the httpx request, sends it, retries what is safe to retry, turns every failure into one
typed error, and parses a 2xx body once, from its JSON text, into the wrapper's model.

The retry policy is in three small overridable methods, as in openai-python:
``_should_retry``, ``_calculate_retry_timeout`` and ``_parse_retry_after_header``.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, cast

import attrs
import httpx

from mijnklantportaal import _decode
from mijnklantportaal._body import (
    AsyncDecodedStream,
    BodyGuard,
    DecodedStream,
    decode_here,
    keep,
    start_watchdog,
)
from mijnklantportaal._budget import (
    BudgetExhausted,
    CancellableRateBudget,
    CancelToken,
    Priority,
    takes_cancel,
)
from mijnklantportaal._budget._common import epoch_seconds
from mijnklantportaal._budget._sleep import sleep, sleep_async
from mijnklantportaal._config import ClientConfig, checked_timeout
from mijnklantportaal._constants import (
    DEFAULT_RATE_WINDOW,
    IDEMPOTENT_METHODS,
    INITIAL_RETRY_DELAY,
    LOG_BUDGET_WAITS_FROM,
    MAX_RETRY_AFTER,
    MAX_RETRY_DELAY,
    MAX_TIMEOUT,
    REQUEST_ID_HEADERS,
    RETRY_JITTER,
    RETRYABLE_STATUS_CODES,
)
from mijnklantportaal._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    InvalidArgumentError,
    RateLimitError,
    status_error_class,
)
from mijnklantportaal._response import (
    RateLimit,
    RawResponse,
    _RateLimitState,
    header_int,
)
from mijnklantportaal._text import bounded as _bounded

if TYPE_CHECKING:  # loaded by _client only when opentelemetry is installed
    from mijnklantportaal._telemetry import Call, Telemetry

__all__ = ["AsyncTransport", "RateLimit", "RawResponse", "RequestSpec", "SyncTransport"]

T = TypeVar("T")
logger = logging.getLogger("mijnklantportaal")

Operation = tuple[str, str, str]
"""A generated method's (name, operationId, path template): ``RequestSpec.operation``."""


@attrs.frozen
class RequestSpec:
    """One API call: method, path, query, headers and body, plus the per-call options.

    Built by a generated method, from ``_get_kwargs`` (``from_generated``) or directly
    (``build``). Every shape (a GET, a write with a JSON body, a 204) goes through the
    same ``request`` loop of the transport.
    """

    method: str
    path: str
    subject: str
    """What the call is about, for messages: ``"invoice 'fac_abc'"``."""
    params: Mapping[str, Any] | None = None
    """The query; a list or tuple value goes out as the key repeated (``?a=1&a=2``)."""
    expected_id: str | None = None
    """For a fetch by id: the id the answer must carry. A different one (a proxy or cache
    mixing up responses) is refused rather than handed to the caller as the wrong record."""
    timeout: httpx.Timeout | None = None
    """This call's ``timeout=``; None: the client's."""
    extra_headers: Mapping[str, str] | None = attrs.field(default=None, repr=False)
    """This call's ``extra_headers=`` and header parameters, on top of (and replacing) the
    client's headers."""
    body: bytes | None = attrs.field(default=None, repr=False)
    """The JSON body, already encoded; sent with ``Content-Type: application/json``."""
    idempotency_key: str | None = attrs.field(default=None, repr=False)
    """Sent as ``Idempotency-Key`` on every attempt; makes a POST/PATCH safe to retry."""
    expects_body: bool = True
    """True: a 2xx must carry JSON, handed to ``parse`` (an empty one or a 204 is refused
    with ``APIResponseValidationError``, unless ``allow_no_content``). False: the operation
    answers without content; no 2xx is parsed and ``parsed`` is None."""
    allow_no_content: bool = False
    """With ``expects_body``: the spec gives the operation both a JSON 2xx and a 204 (or
    an empty 2xx); a 204 or an empty 2xx then gives None, any other 2xx is parsed."""
    operation: Operation | None = None
    """``(name, operationId, path template)`` of a generated method, such as
    ``("invoices.get", "get-invoice", "/invoices/{invoiceId}")``: what telemetry names the
    call by (the filled path holds ids). None for a request built by hand."""

    @classmethod
    def from_generated(
        cls,
        kwargs: Mapping[str, Any],
        *,
        subject: str,
        operation: Operation | None = None,
        expected_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        expects_body: bool = True,
        allow_no_content: bool = False,
    ) -> RequestSpec:
        """The call ``kwargs`` (a generated ``_get_kwargs(...)``) describes, with the per-call
        options checked: raises ``InvalidArgumentError`` before anything is sent.

        ``body``: the wrapper's own encoding of the JSON body (``kwargs["json"]`` of the
        low-level package is ignored). ``headers``: the operation's header parameters."""
        return cls.build(
            kwargs["method"],
            kwargs["url"],
            subject=subject,
            operation=operation,
            query=kwargs.get("params"),
            headers=headers,
            body=body,
            idempotency_key=idempotency_key,
            expects_body=expects_body,
            allow_no_content=allow_no_content,
            expected_id=expected_id,
            timeout=timeout,
            extra_headers=extra_headers,
        )

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        *,
        subject: str,
        operation: Operation | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotency_key: str | None = None,
        expects_body: bool = True,
        allow_no_content: bool = False,
        expected_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> RequestSpec:
        """A request from its parts, checked: raises ``InvalidArgumentError`` before
        anything is sent.

        ``path`` is appended to the client's base_url (already percent-encoded, as the
        generated package makes it). ``query`` values may be str, int, float, bool, None
        (left out) or a list/tuple of those (the key repeated). ``headers`` are the
        operation's header parameters: checked like ``extra_headers`` (which win over
        them), never logged when the name suggests a secret. ``body`` is sent as is with
        ``Content-Type: application/json``. ``idempotency_key`` goes out as the
        ``Idempotency-Key`` header, identical on every attempt, and lets a POST or PATCH
        retry on timeouts and 5xx (see ``may_resend``). ``operation``: the
        ``(name, operationId, path template)`` telemetry names the call by."""
        method = method.upper()
        if operation is not None and not (
            type(operation) is tuple
            and len(operation) == 3
            and all(isinstance(part, str) for part in operation)
        ):
            raise InvalidArgumentError(
                "operation must be a (name, operationId, path template) tuple of three str, "
                f"not {type(operation).__name__}"
            )
        if body is not None and not isinstance(body, bytes):
            raise InvalidArgumentError(
                f"body must be the encoded JSON as bytes, not {type(body).__name__}"
            )
        merged = _checked_extra_headers(headers, "headers")
        extra = _checked_extra_headers(extra_headers)
        if extra:
            merged = {**(merged or {}), **extra}
        if idempotency_key is not None:
            key = _checked_extra_headers({"Idempotency-Key": idempotency_key}, "idempotency_key")
            merged = {**(merged or {}), **(key or {})}
        if body is not None:
            merged = {**(merged or {}), "Content-Type": "application/json"}
        if query is not None:
            query = {name: value for name, value in query.items() if value is not None}
        return cls(
            method,
            path,
            subject,
            query or None,
            expected_id,
            _checked_call_timeout(timeout),
            merged,
            body,
            idempotency_key,
            expects_body,
            allow_no_content,
            operation,
        )

    @property
    def idempotent(self) -> bool:
        """Safe to send again after the server may have acted on it: GET, HEAD, OPTIONS,
        PUT, DELETE, and any write that carries an ``Idempotency-Key``."""
        return self.method in IDEMPOTENT_METHODS or self.idempotency_key is not None


def _checked_call_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout | None:
    if timeout is None:
        return None
    try:
        return checked_timeout(timeout)
    except ConfigurationError as exc:
        raise InvalidArgumentError(str(exc)) from None


# A header name as RFC 9110 spells a token; values may not break the header block.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z", re.ASCII)


def _checked_extra_headers(
    headers: Mapping[str, str] | None, what: str = "extra_headers"
) -> dict[str, str] | None:
    if headers is None:
        return None
    if not isinstance(headers, Mapping):
        raise InvalidArgumentError(
            f"{what} must be a mapping of header names to values, not {type(headers).__name__}"
        )
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise InvalidArgumentError(
                f"{what} has an invalid header name {name!r}; nothing was sent"
            )
        if name.lower() == "authorization":
            raise InvalidArgumentError(
                f"{what} must not set Authorization; the client sends its api_key "
                "(use a client with another api_key= instead); nothing was sent"
            )
        if not isinstance(value, str) or not value.isascii() or any(c in value for c in "\r\n\0"):
            raise InvalidArgumentError(
                f"{what}[{name!r}] must be an ASCII str without line breaks or NUL; "
                "nothing was sent"
            )
        checked[name] = value
    return checked


def _request_timeout(request: httpx.Request) -> httpx.Timeout:
    """The timeout a built request carries (the call's, else the client's)."""
    return httpx.Timeout(**request.extensions["timeout"])


class _Retry:
    """A decision to try again after ``delay`` seconds; ``counted`` against max_retries, or
    not (a 429 under a rate budget: waited for within max_rate_wait instead). Why, for
    telemetry: the attempt's ``status``, or the name of its transport ``error``."""

    __slots__ = ("counted", "delay", "error", "status")

    def __init__(
        self,
        delay: float,
        counted: bool = True,
        *,
        status: int | None = None,
        error: str | None = None,
    ) -> None:
        self.delay = delay
        self.counted = counted
        self.status = status
        self.error = error


class _RateWaits:
    """One call's uncounted waits for 429s under a rate budget: how many, how long."""

    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def add(self, delay: float) -> None:
        self.count += 1
        self.seconds += delay


HttpClient = TypeVar("HttpClient", httpx.Client, httpx.AsyncClient)


class _BaseTransport(Generic[HttpClient]):
    """Everything about one attempt that does not depend on sync or async I/O.

    Shared by a client and its ``with_options`` copies (``with_config``): same pool, same
    rate-limit state, another config.
    """

    def __init__(
        self,
        config: ClientConfig,
        http_client: HttpClient,
        rate_limit_state: _RateLimitState | None = None,
        headers_on_client: bool = False,
        cancel: CancelToken | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.config = config
        self.http_client: HttpClient = http_client
        self.rate_limit_state = rate_limit_state or _RateLimitState()
        # When the client built the httpx.Client itself, the headers live there, set once:
        # passing them per request makes httpx copy and re-normalise them every time.
        self.headers_on_client = headers_on_client
        self._request_headers = None if headers_on_client else config.headers
        # Cancelled by the client's close(): wakes this client's calls asleep in the rate
        # budget or before a retry (shared with its copies, not with other clients).
        self.cancel = cancel or CancelToken()
        # Traces and metrics of each call (_telemetry), None without opentelemetry.
        self.telemetry = telemetry

    @property
    def closed(self) -> bool:
        return self.cancel.cancelled or self.http_client.is_closed

    def with_config(self, config: ClientConfig) -> Self:
        return type(self)(
            config,
            self.http_client,
            self.rate_limit_state,
            self.headers_on_client,
            self.cancel,
            self.telemetry,
        )

    def with_priority(self, priority: Priority) -> Self:
        """The same transport for ``priority`` work (``get_many`` sends as ``"bulk"``)."""
        if self.config.priority == priority:
            return self
        return self.with_config(attrs.evolve(self.config, priority=priority))

    # -- retry policy -------------------------------------------------------------------

    def _should_retry(self, response: httpx.Response) -> bool:
        return response.status_code in RETRYABLE_STATUS_CODES or response.status_code >= 500

    def _calculate_retry_timeout(
        self, retries_taken: int, headers: httpx.Headers | None
    ) -> float | None:
        """Seconds to wait before the next try, or None when the server asks for too long."""
        if headers is not None:
            retry_after = self._parse_retry_after_header(headers)
            if retry_after is not None:
                return retry_after if retry_after <= MAX_RETRY_AFTER else None
        delay = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
        return delay * (1.0 - RETRY_JITTER * random.random())

    def _parse_retry_after_header(self, headers: httpx.Headers) -> float | None:
        """``retry-after-ms``, ``retry-after`` (seconds or HTTP date), then ``x-ratelimit-reset``.

        Garbage, negative or non-finite values are ignored (the caller falls back to backoff).
        """
        value = headers.get("retry-after-ms")
        if value is not None:
            seconds = _finite_nonnegative(value)
            if seconds is not None:
                return seconds / 1000.0
        value = headers.get("retry-after")
        if value is not None:
            seconds = _finite_nonnegative(value)
            if seconds is not None:
                return seconds
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None and when.tzinfo is not None:
                return max(0.0, (when - datetime.now(UTC)).total_seconds())
        reset = self._plausible_reset(headers)
        if reset is not None:
            wait = reset - time.time()
            # A reset time already past says nothing about when to retry (or was sent in
            # seconds, not as a timestamp): back off rather than retry at once.
            return wait if wait > 0 else None
        return None

    def _plausible_reset(self, headers: httpx.Headers) -> float | None:
        """``x-ratelimit-reset`` as UNIX seconds, or None when absent or implausibly far
        ahead: more than the budget's window (the API's minute without a budget) plus
        ``RESET_SLACK``, or more than ``MAX_RESET_AHEAD`` (``_budget.epoch_seconds``). Epoch
        milliseconds read as seconds would otherwise block the key for 55,000 years."""
        budget = self.config.rate_budget
        window = DEFAULT_RATE_WINDOW
        if budget is not None:
            own = budget.window
            if isinstance(own, int | float) and math.isfinite(own) and own > 0:
                window = float(own)
        return epoch_seconds(header_int(headers, "x-ratelimit-reset"), window)

    # -- rate budget ----------------------------------------------------------------------

    def _budget_refused(
        self, spec: RequestSpec, request: httpx.Request, exc: BudgetExhausted
    ) -> RateLimitError:
        """The budget has no start within ``max_rate_wait``: a 429 that was never sent.

        ``error.response`` is made up here (status 429, ``retry-after``, and the header
        ``x-mijnklantportaal-rate-budget: refused``), since no request left this process.
        """
        retry_after = exc.retry_after
        if not 0 <= retry_after <= MAX_TIMEOUT:  # NaN too: a budget of another make
            retry_after = MAX_TIMEOUT if retry_after > 0 else 0.0
        response = httpx.Response(
            429,
            headers={
                "retry-after": f"{math.ceil(retry_after)}",
                "x-mijnklantportaal-rate-budget": "refused",
            },
            request=request,
        )
        config = self.config
        budget = config.rate_budget
        assert budget is not None  # only a budget refuses
        return RateLimitError(
            "The client's rate budget is used up",
            response=response,
            body=None,
            request_id=None,
            detail=(
                f"{spec.subject}: not sent, the client's rate budget has no start for "
                f"{retry_after:.1f} s, longer than max_rate_wait={config.max_rate_wait:g} s "
                f"({spec.method} {request.url}). Try again in {math.ceil(retry_after)} s, "
                "raise max_rate_wait, or spread the calls (the budget allows "
                f"{budget.limit} starts per {budget.window:g} s on this key, fewer while the "
                "API's rate-limit headers say so)."
            ),
            retry_after=retry_after,
            reset_at=None,
        )

    def _budget_waited(self, spec: RequestSpec, waited: float) -> None:
        if waited >= LOG_BUDGET_WAITS_FROM and logger.isEnabledFor(logging.INFO):
            logger.info(
                "Waited %.2f s for the rate budget before %s %s",
                waited,
                spec.method,
                spec.subject,
                extra={"mijnklantportaal_budget_wait": waited},
            )

    def _budget_news(
        self, response: httpx.Response
    ) -> tuple[int | None, int | None, float | None, float | None]:
        """What the budget learns from a response: ``X-RateLimit-Limit``, ``-Remaining``,
        the reset (UNIX seconds) and, for a 429, the seconds its ``retry-after`` asks for.

        The reset is a plausible ``x-ratelimit-reset`` or None (``_plausible_reset``). On a
        429 with a retry-after, that is when the server says to retry, so it stands in for
        the reset: otherwise ``Remaining: 0`` without a reset makes the budget book the rest
        of the window as taken, and a call told "retry in 1 s" would wait a minute.
        """
        headers = response.headers
        remaining = header_int(headers, "x-ratelimit-remaining")
        reset = self._plausible_reset(headers)
        retry_after = None
        if response.status_code == 429:
            retry_after = self._parse_retry_after_header(headers)
            if retry_after is not None:
                # A year-long retry-after is garbage, not a reason to block the key for it.
                retry_after = min(retry_after, MAX_TIMEOUT)
                if remaining is not None:  # the only thing a reset is used with
                    reset = time.time() + retry_after
        return header_int(headers, "x-ratelimit-limit"), remaining, reset, retry_after

    # -- one attempt ------------------------------------------------------------------------

    def _build_request(self, spec: RequestSpec) -> httpx.Request:
        headers = self._request_headers
        if spec.extra_headers:
            headers = httpx.Headers(headers)
            headers.update(spec.extra_headers)
        url = self.config.base_url + spec.path
        if spec.params:
            # The query as httpx would merge it (``QueryParams``), written into the URL here:
            # httpx parses a URL once this way, twice with ``params=`` (a page walk's cost).
            url += "?" + str(httpx.QueryParams(spec.params))
        return self.http_client.build_request(
            spec.method,
            url,
            headers=headers,
            content=spec.body,
            timeout=spec.timeout or self.config.timeout,
        )

    def _handle_response(
        self,
        spec: RequestSpec,
        response: httpx.Response,
        parse: Callable[[Any], T],
        retries_taken: int,
        started: float,
        rate_waits: _RateWaits | None = None,
    ) -> RawResponse[T] | _Retry:
        status = response.status_code
        self.rate_limit_state.headers = response.headers
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "HTTP %s %s -> %d in %.1f ms (try %d)",
                spec.method,
                response.request.url,
                status,
                (time.monotonic() - started) * 1000,
                retries_taken + 1,
            )
            logger.debug("response headers: %s", dict(response.headers))
        if 200 <= status < 300:
            return RawResponse(self._parse_body(spec, response, parse), response, retries_taken)
        if status == 429:
            waited = self._wait_out_429(spec, response, rate_waits or _RateWaits())
            if waited is not None:
                return waited
        if (
            retries_taken < self.config.max_retries
            and (spec.idempotent or status == 429)  # a 429 was not acted on
            and self._should_retry(response)
        ):
            delay = self._calculate_retry_timeout(retries_taken, response.headers)
            if delay is not None:
                logger.info(
                    "Retrying %s %s in %.2f s after HTTP %d (retry %d of %d)",
                    spec.method,
                    response.request.url,
                    delay,
                    status,
                    retries_taken + 1,
                    self.config.max_retries,
                    extra={
                        "mijnklantportaal_retry_delay": delay,
                        "mijnklantportaal_retry_status": status,
                    },
                )
                return _Retry(delay, status=status)
        raise self._status_error(spec, response, retries_taken)

    def _wait_out_429(
        self, spec: RequestSpec, response: httpx.Response, rate_waits: _RateWaits
    ) -> _Retry | None:
        """Under a rate budget a 429 means that another client of the key (another process,
        another host) took the window: the budget now holds the key until ``retry-after``,
        so the call waits for that, without spending one of ``max_retries``, as long as
        all its waits for 429s stay within ``max_rate_wait``. Jitter spreads the clients
        that were told the same whole second, so that they do not collide again.

        At most ``max_retries`` such waits per call, so that one call sends at most
        ``2 * max_retries + 1`` requests: a server answering "429, retry-after: 0" for ever
        cannot make it loop, and ``max_retries=0`` sends one request and no other."""
        if self.config.rate_budget is None:
            return None
        if rate_waits.count >= self.config.max_retries:
            return None
        # Without retry-after (a proxy's 429) the budget learns nothing: the ordinary,
        # counted retry policy with its backoff decides.
        delay = self._parse_retry_after_header(response.headers)
        if delay is None or delay > MAX_RETRY_AFTER:
            return None
        delay *= 1.0 + RETRY_JITTER * random.random()
        if rate_waits.seconds + delay > self.config.max_rate_wait:
            return None
        logger.info(
            "Waiting %.2f s after HTTP 429 for %s %s (the rate budget holds the key until then)",
            delay,
            spec.method,
            response.request.url,
            extra={
                "mijnklantportaal_retry_delay": delay,
                "mijnklantportaal_retry_status": 429,
                "mijnklantportaal_retry_counted": False,
            },
        )
        return _Retry(delay, counted=False, status=429)

    def _handle_transport_error(
        self, spec: RequestSpec, request: httpx.Request, exc: httpx.RequestError, retries_taken: int
    ) -> _Retry:
        if isinstance(exc, httpx.DecodingError):
            raise APIResponseValidationError(
                f"The response to {spec.method} {request.url} ({spec.subject}) could not be "
                f"decoded: {_bounded(str(exc), _MAX_ERROR_TEXT)}. "
                "This is a server or proxy fault; report it with the time of the call.",
                response=None,
            ) from exc
        # A request that never reached the server is safe to repeat whatever its method.
        # Anything else (a read timeout, a write error, "server disconnected without
        # sending a response" on a reused keep-alive connection) may have been acted on:
        # a POST or PATCH without an Idempotency-Key is then not re-sent.
        may_retry = spec.idempotent or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
        if retries_taken < self.config.max_retries and may_retry:
            delay = self._calculate_retry_timeout(retries_taken, None) or 0.0
            logger.info(
                "Retrying %s %s in %.2f s after %s (retry %d of %d)",
                spec.method,
                request.url,
                delay,
                type(exc).__name__,
                retries_taken + 1,
                self.config.max_retries,
                extra={
                    "mijnklantportaal_retry_delay": delay,
                    "mijnklantportaal_retry_status": None,
                },
            )
            return _Retry(delay, error=type(exc).__name__)
        tries = f"after {retries_taken + 1} tries" if retries_taken else "on the first try"
        if isinstance(exc, httpx.TimeoutException):
            raise APITimeoutError(
                f"{spec.method} {request.url} ({spec.subject}) timed out {tries} "
                f"({type(exc).__name__}; timeout {_describe_timeout(_request_timeout(request))}). "
                "The API may be slow or unreachable; retry later or raise timeout=.",
                request=request,
            ) from exc
        raise APIConnectionError(
            f"{spec.method} {request.url} ({spec.subject}) got no response {tries}: "
            f"{type(exc).__name__}: "
            f"{_bounded(str(exc), _MAX_ERROR_TEXT).rstrip('.') or 'connection failed'}. "
            "Check the network and base_url.",
            request=request,
        ) from exc

    def _parse_body(
        self, spec: RequestSpec, response: httpx.Response, parse: Callable[[Any], T]
    ) -> T:
        if not spec.expects_body or (
            spec.allow_no_content and (response.status_code == 204 or not response.content)
        ):
            # No content by contract: nothing to parse (RawResponse[None]). A 204 or an
            # empty 200 to a call that expects a model is refused below.
            return cast(T, None)
        try:
            parsed = parse(_decode.loads(response.content))
            if spec.expected_id is not None and self.config.check_response_id:
                answered = getattr(parsed, "id", None)
                if answered != spec.expected_id:
                    raise _decode.DecodeError(_wrong_id(answered, spec.expected_id), "id")
            return parsed
        except _decode.DecodeError as exc:
            raise APIResponseValidationError(
                f"The API answered {response.status_code} to {spec.method} {response.request.url} "
                f"({spec.subject}), but the body does not fit: {exc}. This is a server-side fault; "
                "report it with the request id if the response has one.",
                response=response,
                body=_body_for_error(response),
                field=exc.field,
            ) from None

    def _status_error(
        self, spec: RequestSpec, response: httpx.Response, retries_taken: int
    ) -> APIStatusError:
        status = response.status_code
        body = _body_for_error(response)
        api_message = body.get("message") if isinstance(body, dict) else None
        message = (
            _bounded(api_message)
            if isinstance(api_message, str) and api_message.strip()
            else _fallback_message(status)
        )
        request_id = next(
            (
                _bounded(response.headers[h], 200)
                for h in REQUEST_ID_HEADERS
                if h in response.headers
            ),
            None,
        )
        reason = _bounded(response.reason_phrase, 100) or "Unknown status"
        detail = f"{spec.subject}: {message} (HTTP {status} {reason} from {spec.method} {response.request.url}"
        if request_id:
            detail += f", request id {request_id}"
        if retries_taken:
            detail += f", after {retries_taken} {'retry' if retries_taken == 1 else 'retries'}"
        detail += f"). {self._advice(spec, status, response.headers)}"
        error_class = status_error_class(status)
        if error_class is RateLimitError:
            return RateLimitError(
                message,
                response=response,
                body=body,
                request_id=request_id,
                detail=detail,
                retry_after=self._parse_retry_after_header(response.headers),
                reset_at=_as_datetime(self._plausible_reset(response.headers)),
            )
        return error_class(
            message, response=response, body=body, request_id=request_id, detail=detail
        )

    def _advice(self, spec: RequestSpec, status: int, headers: httpx.Headers) -> str:
        if status == 401:
            return (
                "Check the API key (api_key= or MIJNKLANTPORTAAL_API_KEY): it may be mistyped, "
                "revoked, or an OAuth token that expired."
            )
        if status == 403:
            return "The key works but may not do this; check its scopes in the manage portal."
        if status == 404:
            return f"No {spec.subject} is visible to this API key; check the id and the portal the key belongs to."
        if status == 429:
            wait = self._parse_retry_after_header(headers)
            when = f"in {wait:.0f} s" if wait is not None else "later"
            return f"The rate limit (per key, per minute) is used up; try again {when}."
        if status >= 500:
            return "The API or a proxy in front of it failed; try again later."
        if 300 <= status < 400:
            return (
                "The API redirected, which this client does not follow (the key would travel along); "
                "check base_url."
            )
        return "See the message and the API documentation."


def _wrong_id(answered: object, expected: str) -> str:
    what = "no id" if answered is None else f"the id {_bounded(str(answered), 100)!r}"
    return (
        f"the API answered with {what}, not the requested {expected!r}, so it is not that "
        "record (a proxy or cache mix-up, or an error page). If base_url is a static mock "
        "such as Prism serving the spec's example for every id, pass check_response_id=False"
    )


def _fallback_message(status: int) -> str:
    if status == 401:
        return "The API key was not accepted"
    if status == 404:
        return "Not found"
    if status == 429:
        return "Too many requests"
    if status >= 500:
        return "The server failed to answer"
    return "The API refused the request"


def _body_for_error(response: httpx.Response) -> object:
    """The body as JSON when it is JSON, else as (at most 2,000 characters of) text."""
    try:
        body = _decode.loads(response.content)
        # Kept on the error, which must pickle and copy: refuse what nests too deep.
        _decode.check_depth({"body": body})
        return body
    except _decode.DecodeError:
        text = response.content[:2000].decode("utf-8", errors="replace")
        return text or None


# Plain digits with an optional fraction: float() alone would also take "1_0", "1e3", "inf".
_SECONDS = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?\Z", re.ASCII)


def _finite_nonnegative(value: str) -> float | None:
    value = value.strip()
    if not _SECONDS.match(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _as_datetime(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, tz=UTC)


def _describe_timeout(timeout: httpx.Timeout) -> str:
    return f"{timeout.read} s read, {timeout.connect} s connect"


_MAX_ERROR_TEXT = 500
"""Characters of an httpx / h11 error's text kept in a message (a bad header line can be
90 KB long)."""


_CLOSED = (
    "This client has been closed (close() or the end of its with-block); "
    "create a new client, or close it only when you are done with it."
)


class SyncTransport(_BaseTransport[httpx.Client]):
    """Sends with an ``httpx.Client``; shared by a client and its ``with_options`` copies."""

    def _sleep(self, seconds: float) -> None:
        sleep(seconds, self.cancel)  # close() wakes it: ClientClosedError

    def _send(self, request: httpx.Request, timeout: httpx.Timeout) -> httpx.Response:
        if self.closed:
            raise ClientClosedError(_CLOSED)
        try:
            response = self.http_client.send(request, stream=True)
        except RuntimeError:
            if self.closed:  # close() ran since the check above; httpx sent nothing
                raise ClientClosedError(_CLOSED) from None
            raise
        try:
            guard = BodyGuard(request, timeout)
            watchdog = start_watchdog(response, guard)  # before decode_here drops Content-Length
            try:
                decoder = decode_here(response)
                if isinstance(response.stream, httpx.SyncByteStream):
                    response.stream = DecodedStream(response.stream, guard, decoder)
                response.read()
            except httpx.TransportError:
                if watchdog is not None and watchdog.fired:
                    raise guard.expired() from None
                raise
            finally:
                if watchdog is not None:
                    watchdog.cancel()
        finally:
            response.close()
        return keep(response, request)

    def _acquire(self, spec: RequestSpec, request: httpx.Request) -> float | None:
        """Seconds waited for the rate budget (None: no budget)."""
        config = self.config
        if config.rate_budget is None:
            return None
        try:
            if takes_cancel(config.rate_budget):
                waited = cast(CancellableRateBudget, config.rate_budget).acquire(
                    config.key_id,
                    priority=config.priority,
                    max_wait=config.max_rate_wait,
                    cancel=self.cancel,
                )
            else:
                waited = config.rate_budget.acquire(
                    config.key_id, priority=config.priority, max_wait=config.max_rate_wait
                )
        except BudgetExhausted as exc:
            raise self._budget_refused(spec, request, exc) from None
        self._budget_waited(spec, waited)
        return waited

    def _observe(self, response: httpx.Response) -> None:
        config = self.config
        if config.rate_budget is None:
            return
        limit, remaining, reset, retry_after = self._budget_news(response)
        if limit is not None or remaining is not None or reset is not None:
            config.rate_budget.observe(
                config.key_id, limit=limit, remaining=remaining, reset_at=reset
            )
        if retry_after is not None:
            config.rate_budget.penalize(config.key_id, retry_after)

    def request(self, spec: RequestSpec, parse: Callable[[Any], T]) -> RawResponse[T]:
        call = None if self.telemetry is None else self.telemetry.start(spec, self.config)
        if call is None:
            return self._request(spec, parse, None)
        try:
            result = self._request(spec, parse, call)
        except BaseException as exc:
            call.end(None, exc)
            raise
        call.end(result.http_response, None)
        return result

    def _request(
        self, spec: RequestSpec, parse: Callable[[Any], T], call: Call | None
    ) -> RawResponse[T]:
        retries_taken = 0
        rate_waits = _RateWaits()  # 429s waited out under a rate budget
        if self.closed:  # before waiting for (and using up) a budget start
            raise ClientClosedError(_CLOSED)
        while True:
            request = self._build_request(spec)
            waited = self._acquire(spec, request)
            if call is not None:
                call.sending(waited)
            started = time.monotonic()
            try:
                response = self._send(request, spec.timeout or self.config.timeout)
            except httpx.RequestError as exc:
                outcome: RawResponse[T] | _Retry = self._handle_transport_error(
                    spec, request, exc, retries_taken
                )
            else:
                self._observe(response)
                outcome = self._handle_response(
                    spec, response, parse, retries_taken, started, rate_waits
                )
            if not isinstance(outcome, _Retry):
                return outcome
            if call is not None:
                call.retrying(outcome.delay, outcome.counted, outcome.status, outcome.error)
            self._sleep(outcome.delay)
            if outcome.counted:
                retries_taken += 1
            else:
                rate_waits.add(outcome.delay)


class AsyncTransport(_BaseTransport[httpx.AsyncClient]):
    """Sends with an ``httpx.AsyncClient``; shared by a client and its ``with_options`` copies."""

    async def _sleep(self, seconds: float) -> None:
        await sleep_async(seconds, self.cancel)  # close() wakes it: ClientClosedError

    async def _send(self, request: httpx.Request, timeout: httpx.Timeout) -> httpx.Response:
        """``timeout``: the one ``_build_request`` gave the request (the call's, else the
        client's), passed on rather than rebuilt from the request's extensions."""
        if self.closed:
            raise ClientClosedError(_CLOSED)
        try:
            response = await self._send_for_headers(request, timeout)
        except RuntimeError:
            if self.closed:  # close() ran since the check above; httpx sent nothing
                raise ClientClosedError(_CLOSED) from None
            raise
        try:
            guard = BodyGuard(request, timeout)
            decoder = decode_here(response)
            if isinstance(response.stream, httpx.AsyncByteStream):
                response.stream = AsyncDecodedStream(response.stream, guard, decoder)
            remaining = guard.remaining()
            if remaining is None:
                await response.aread()
            else:
                # Cancelled at the deadline even while no chunk arrives (trickled framing).
                import anyio

                try:
                    with anyio.fail_after(remaining):
                        await response.aread()
                except TimeoutError:
                    raise guard.expired() from None
        finally:
            await response.aclose()
        return keep(response, request)

    async def _send_for_headers(
        self, request: httpx.Request, timeout: httpx.Timeout
    ) -> httpx.Response:
        if timeout.read is None:
            return await self.http_client.send(request, stream=True)
        # Each read has its own timeout, so a server trickling the status line and headers
        # could hold the call forever; async code can also bound the whole wait for them
        # (sync code cannot interrupt a blocking read). anyio, httpx's own dependency,
        # works under asyncio and trio alike.
        import anyio

        limit = timeout.read + (timeout.connect or 0.0)
        try:
            with anyio.fail_after(limit):
                return await self.http_client.send(request, stream=True)
        except TimeoutError:
            raise httpx.ReadTimeout(
                f"no response headers within {limit:g} s (the connect plus read timeout)",
                request=request,
            ) from None

    async def _acquire(self, spec: RequestSpec, request: httpx.Request) -> float | None:
        """Seconds waited for the rate budget (None: no budget)."""
        config = self.config
        if config.rate_budget is None:
            return None
        try:
            if takes_cancel(config.rate_budget):
                waited = await cast(CancellableRateBudget, config.rate_budget).acquire_async(
                    config.key_id,
                    priority=config.priority,
                    max_wait=config.max_rate_wait,
                    cancel=self.cancel,
                )
            else:
                waited = await config.rate_budget.acquire_async(
                    config.key_id, priority=config.priority, max_wait=config.max_rate_wait
                )
        except BudgetExhausted as exc:
            raise self._budget_refused(spec, request, exc) from None
        self._budget_waited(spec, waited)
        return waited

    async def _observe(self, response: httpx.Response) -> None:
        config = self.config
        if config.rate_budget is None:
            return
        limit, remaining, reset, retry_after = self._budget_news(response)
        if limit is not None or remaining is not None or reset is not None:
            await config.rate_budget.observe_async(
                config.key_id, limit=limit, remaining=remaining, reset_at=reset
            )
        if retry_after is not None:
            await config.rate_budget.penalize_async(config.key_id, retry_after)

    async def request(self, spec: RequestSpec, parse: Callable[[Any], T]) -> RawResponse[T]:
        call = None if self.telemetry is None else self.telemetry.start(spec, self.config)
        if call is None:
            return await self._request(spec, parse, None)
        try:
            result = await self._request(spec, parse, call)
        except BaseException as exc:
            call.end(None, exc)
            raise
        call.end(result.http_response, None)
        return result

    async def _request(
        self, spec: RequestSpec, parse: Callable[[Any], T], call: Call | None
    ) -> RawResponse[T]:
        retries_taken = 0
        rate_waits = _RateWaits()  # 429s waited out under a rate budget
        if self.closed:  # before waiting for (and using up) a budget start
            raise ClientClosedError(_CLOSED)
        while True:
            request = self._build_request(spec)
            waited = await self._acquire(spec, request)
            if call is not None:
                call.sending(waited)
            started = time.monotonic()
            try:
                response = await self._send(request, spec.timeout or self.config.timeout)
            except httpx.RequestError as exc:
                outcome: RawResponse[T] | _Retry = self._handle_transport_error(
                    spec, request, exc, retries_taken
                )
            else:
                await self._observe(response)
                outcome = self._handle_response(
                    spec, response, parse, retries_taken, started, rate_waits
                )
            if not isinstance(outcome, _Retry):
                return outcome
            if call is not None:
                call.retrying(outcome.delay, outcome.counted, outcome.status, outcome.error)
            await self._sleep(outcome.delay)
            if outcome.counted:
                retries_taken += 1
            else:
                rate_waits.add(outcome.delay)
