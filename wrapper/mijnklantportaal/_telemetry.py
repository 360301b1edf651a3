"""OpenTelemetry traces and metrics of every call (the ``otel`` extra: ``opentelemetry-api``).

Imported by ``_client`` only when opentelemetry is installed; without it the transport gets
no ``Telemetry`` and does nothing more per call than test one attribute for None.

Per logical call (one ``transport.request``, its retries and budget waits included):

- one CLIENT span named after the operation (``invoices.get``; a hand-built ``RequestSpec``
  without ``operation``: the method), current while the call runs, so the spans that an
  httpx instrumentation makes per attempt nest under it. Attributes: the HTTP client
  semantic conventions ``http.request.method``, ``server.address``, ``server.port``,
  ``url.template`` (base path + the spec's path template, never the filled path),
  ``http.response.status_code``, ``error.type`` on failure; and the project's own
  (``ATTRIBUTES``). Events: ``mijnklantportaal.rate_budget.wait`` for each wait for the
  rate budget, ``mijnklantportaal.retry`` for each retry (and each 429 waited out).
- metrics: ``http.client.request.duration`` (s) per operation and status, a counter of 429
  answers, a histogram of budget waits (s), and an observable gauge of the last
  ``X-RateLimit-Remaining`` per key id (the SHA-256 id the budgets use, never the key).

Nothing from a header, the query or the body becomes an attribute or event: the key and
every secret-named header stay out by construction.

With no provider given and none set globally (the API's proxy providers), ``start`` returns
None and the call costs two look-ups; once a global provider is set, calls are measured.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import opentelemetry.metrics._internal as _metrics_internal
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from mijnklantportaal._constants import LOG_BUDGET_WAITS_FROM, TELEMETRY_BUCKETS
from mijnklantportaal._exceptions import ConfigurationError, MijnKlantportaalError
from mijnklantportaal._response import header_int
from mijnklantportaal._version import __version__

if TYPE_CHECKING:
    import httpx

    from mijnklantportaal._config import ClientConfig
    from mijnklantportaal._transport import RequestSpec

__all__ = ["ATTRIBUTES", "Call", "Telemetry", "telemetry_for"]

SCOPE = "mijnklantportaal"

# The project's own span attributes (event attributes reuse some of them).
OPERATION_NAME = "mijnklantportaal.operation.name"
OPERATION_ID = "mijnklantportaal.operation.id"
PRIORITY = "mijnklantportaal.priority"
ATTEMPTS = "mijnklantportaal.attempts"
RETRIES = "mijnklantportaal.retries"
BUDGET_WAIT = "mijnklantportaal.rate_budget.wait_seconds"
BUDGET_REFUSED = "mijnklantportaal.rate_budget.refused"
REMAINING = "mijnklantportaal.rate_limit.remaining"
ATTEMPT = "mijnklantportaal.attempt"
RETRY_DELAY = "mijnklantportaal.retry.delay_seconds"
RETRY_COUNTED = "mijnklantportaal.retry.counted"
STATUS_CLASS = "mijnklantportaal.status_class"
KEY_ID = "mijnklantportaal.key_id"

ATTRIBUTES = {
    OPERATION_NAME: "the generated method: invoices.get",
    OPERATION_ID: "the spec's operationId: get-invoice",
    PRIORITY: "interactive or bulk (get_many)",
    ATTEMPTS: "requests sent",
    RETRIES: "retries counted against max_retries (429s waited out under a budget are not)",
    BUDGET_WAIT: "seconds waited for the rate budget, all attempts",
    BUDGET_REFUSED: "true when the budget refused the call (nothing sent)",
    REMAINING: "X-RateLimit-Remaining of the last response",
    STATUS_CLASS: "2xx, 4xx, ... of the last response (also on the duration metric)",
}
"""The project's span attributes and what they hold (docs/observability.md lists them)."""

BUDGET_WAIT_EVENT = "mijnklantportaal.rate_budget.wait"
RETRY_EVENT = "mijnklantportaal.retry"

# What metrics.get_meter_provider() returns while no provider is set. The trace API names
# its twin publicly (ProxyTracerProvider); the metrics API only privately, so a layout
# without it counts as "set" (calls are then always measured, never silently not).
_UNSET_METER_PROVIDER: Any = getattr(_metrics_internal, "_ProxyMeterProvider", ())
_REFUSED_HEADER = "x-mijnklantportaal-rate-budget"


class Telemetry:
    """The tracer and instruments of one pair of providers (None: the global one), shared
    by every client built with that pair: an SDK keeps one instrument per name, and the
    gauge's callback must be registered once."""

    def __init__(
        self, tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None
    ) -> None:
        # Follows the global providers: measured only once one is set (see start).
        self._follows_globals = tracer_provider is None and meter_provider is None
        self._globals_set = False
        self.tracer = trace.get_tracer(SCOPE, __version__, tracer_provider=tracer_provider)
        meter = metrics.get_meter(SCOPE, __version__, meter_provider=meter_provider)
        self.duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of a call (retries and rate-budget waits included).",
            explicit_bucket_boundaries_advisory=TELEMETRY_BUCKETS,
        )
        self.rate_limited = meter.create_counter(
            "mijnklantportaal.client.rate_limited",
            unit="{response}",
            description="HTTP 429 answers received (each attempt's).",
        )
        self.budget_wait = meter.create_histogram(
            "mijnklantportaal.client.rate_budget.wait.duration",
            unit="s",
            description="Time an attempt waited for the client's rate budget.",
            explicit_bucket_boundaries_advisory=TELEMETRY_BUCKETS,
        )
        # key id -> the last X-RateLimit-Remaining a call of this key saw.
        self.remaining: dict[str, int] = {}
        meter.create_observable_gauge(
            "mijnklantportaal.client.rate_limit.remaining",
            callbacks=[self._observe_remaining],
            unit="{request}",
            description="The last X-RateLimit-Remaining per key id (a hash of the key).",
        )
        self._servers: dict[str, tuple[str, int, str]] = {}

    def _observe_remaining(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(value, {KEY_ID: key_id}) for key_id, value in list(self.remaining.items())
        ]

    def start(self, spec: RequestSpec, config: ClientConfig) -> Call | None:
        """The record of a call starting now (its span current), or None when nothing
        would receive it (no provider given, none set globally)."""
        if self._follows_globals and not self._globals_set:
            if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider) and isinstance(
                metrics.get_meter_provider(), _UNSET_METER_PROVIDER
            ):
                return None
            self._globals_set = True  # a global provider is set once and for all
        return Call(self, spec, config)

    def server(self, base_url: str) -> tuple[str, int, str]:
        """``(server.address, server.port, base path)`` of a base URL, parsed once."""
        known = self._servers.get(base_url)
        if known is None:
            parts = urlsplit(base_url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            known = (parts.hostname or "", port, parts.path.rstrip("/"))
            if len(self._servers) < 64:  # a handful of base URLs per process
                self._servers[base_url] = known
        return known


class Call:
    """One logical call: its span (current until ``end``) and what the metrics need."""

    __slots__ = (
        "attempts",
        "key_id",
        "metric_attributes",
        "operation_attributes",
        "retries",
        "span",
        "started",
        "telemetry",
        "token",
        "waited",
    )

    def __init__(self, telemetry: Telemetry, spec: RequestSpec, config: ClientConfig) -> None:
        address, port, base_path = telemetry.server(config.base_url)
        attributes: dict[str, str | int] = {
            "http.request.method": spec.method,
            "server.address": address,
            "server.port": port,
        }
        if spec.operation is not None:
            name, operation_id, template = spec.operation
            attributes["url.template"] = base_path + template
            attributes[OPERATION_NAME] = name
        else:
            name, operation_id = spec.method, None
        self.metric_attributes = attributes.copy()
        if operation_id is not None:
            attributes[OPERATION_ID] = operation_id
        attributes[PRIORITY] = config.priority
        # The budget-wait histogram's and the 429 counter's: low cardinality.
        self.operation_attributes = {OPERATION_NAME: name, PRIORITY: config.priority}
        self.telemetry = telemetry
        self.key_id = config.key_id
        self.span = telemetry.tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
        self.token = otel_context.attach(trace.set_span_in_context(self.span))
        self.started = time.monotonic()
        self.attempts = 0
        self.retries = 0
        self.waited: float | None = None  # None: the client has no rate budget

    def sending(self, waited: float | None) -> None:
        """An attempt is about to be sent, after ``waited`` seconds in the rate budget
        (None: the client has no budget)."""
        self.attempts += 1
        if waited is None:
            return
        self.waited = (self.waited or 0.0) + waited
        self.telemetry.budget_wait.record(waited, self.operation_attributes)
        if waited >= LOG_BUDGET_WAITS_FROM:  # shorter is scheduling noise, as in the log
            self.span.add_event(
                BUDGET_WAIT_EVENT,
                {BUDGET_WAIT: waited, ATTEMPT: self.attempts},
                timestamp=time.time_ns() - int(waited * 1e9),  # when the wait began
            )

    def retrying(self, delay: float, counted: bool, status: int | None, error: str | None) -> None:
        """The attempt failed (``status``, or the transport error ``error``) and the call
        tries again after ``delay`` seconds."""
        if counted:
            self.retries += 1
        attributes: dict[str, str | int | float | bool] = {
            ATTEMPT: self.attempts,
            RETRY_DELAY: delay,
            RETRY_COUNTED: counted,
        }
        if status is not None:
            attributes["http.response.status_code"] = status
            if status == 429:
                self._count_429()
        if error is not None:
            attributes["error.type"] = error
        self.span.add_event(RETRY_EVENT, attributes)

    def end(self, response: httpx.Response | None, error: BaseException | None) -> None:
        """The call is over: its answer (``response``) or the error it raises."""
        span = self.span
        try:
            if error is not None and response is None and isinstance(error, MijnKlantportaalError):
                response = getattr(error, "response", None)
                if response is not None and _REFUSED_HEADER in response.headers:
                    response = None  # made up by the client: nothing was sent
                    span.set_attribute(BUDGET_REFUSED, True)
            outcome: dict[str, str | int] = {}
            status = None
            if response is not None:
                status = response.status_code
                outcome["http.response.status_code"] = status
                outcome[STATUS_CLASS] = f"{status // 100}xx"
                if status == 429:
                    self._count_429()
            if error is not None:
                error_type = str(status) if status is not None and status >= 400 else _type(error)
                outcome["error.type"] = error_type
                span.set_status(Status(StatusCode.ERROR, error_type))
            final: dict[str, str | int | float] = {
                **outcome,
                ATTEMPTS: self.attempts,
                RETRIES: self.retries,
            }
            if self.waited is not None:
                final[BUDGET_WAIT] = self.waited
            if response is not None:
                remaining = header_int(response.headers, "x-ratelimit-remaining")
                if remaining is not None:
                    final[REMAINING] = remaining
                    self.telemetry.remaining[self.key_id] = remaining
            span.set_attributes(final)  # once: an SDK checks every value of every call
            attributes = self.metric_attributes
            attributes.update(outcome)
            self.telemetry.duration.record(time.monotonic() - self.started, attributes)
        finally:
            span.end()
            otel_context.detach(self.token)

    def _count_429(self) -> None:
        self.telemetry.rate_limited.add(1, self.operation_attributes)


def _type(error: BaseException) -> str:
    """``error.type`` of an exception: the public name of the client's own errors
    (``mijnklantportaal.APITimeoutError``), else the fully qualified class name."""
    cls = type(error)
    if isinstance(error, MijnKlantportaalError):
        return f"mijnklantportaal.{cls.__qualname__}"
    return f"{cls.__module__}.{cls.__qualname__}"


_shared: dict[tuple[object, object], Telemetry] = {}
_shared_lock = threading.Lock()


def telemetry_for(tracer_provider: object, meter_provider: object) -> Telemetry:
    """The ``Telemetry`` of this pair of providers (None: the global one), made once per
    pair for the life of the process."""
    if tracer_provider is not None and not isinstance(tracer_provider, TracerProvider):
        raise ConfigurationError(
            "tracer_provider must be an opentelemetry.trace.TracerProvider (or None for the "
            f"global one), not {type(tracer_provider).__name__}"
        )
    if meter_provider is not None and not isinstance(meter_provider, MeterProvider):
        raise ConfigurationError(
            "meter_provider must be an opentelemetry.metrics.MeterProvider (or None for the "
            f"global one), not {type(meter_provider).__name__}"
        )
    key = (tracer_provider, meter_provider)
    with _shared_lock:
        telemetry = _shared.get(key)
        if telemetry is None:
            telemetry = _shared[key] = Telemetry(tracer_provider, meter_provider)
    return telemetry
