"""OpenTelemetry traces and metrics (issue 20, items 1-3), with the SDK's in-memory span
exporter and metric reader, over real HTTP on loopback (the fake's server), sync and async.

Each test passes its own providers (``tracer_provider=``, ``meter_provider=``); the global
ones, which can be set only once per process, are tested in a subprocess.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _support import REPO, copy_repo
from mijnklantportaal import (
    APIConnectionError,
    AsyncMijnKlantportaal,
    ConfigurationError,
    LocalRateBudget,
    MijnKlantportaal,
    MijnKlantportaalError,
    NotFoundError,
    RateLimitError,
)
from mijnklantportaal._budget import key_id_for
from mijnklantportaal._constants import LOG_BUDGET_WAITS_FROM
from mijnklantportaal._generated.examples import ROUTES
from mijnklantportaal._pagination import AsyncPaginator, PageData, SyncPage
from mijnklantportaal._telemetry import ATTRIBUTES, BUDGET_WAIT_EVENT, RETRY_EVENT
from mijnklantportaal._transport import RequestSpec
from mijnklantportaal.testing import FakeMijnKlantportaal, Fault
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from spec_mutations import MUTATIONS, write_mutated
from test_pagination import TICKET_PAGE, PageServer, Ticket, envelope
from test_spec_drill import COPIED

# The get-by-id operation of the spec, as the generated layer describes it.
GET_ROUTE = next(r for r in ROUTES if r.kind == "get" and r.schema == "Invoice")
SECRET_HEADER, SECRET_VALUE = "X-Drill-Token", "drill-secret-value-0123456789"
MISSING_ID = "fac_00000000000000"  # the fake holds only what a test adds


class Otel:
    """A tracer and a meter provider of the SDK, exporting into memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("service")

    @property
    def providers(self) -> dict[str, Any]:
        return {"tracer_provider": self.tracer_provider, "meter_provider": self.meter_provider}

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        spans = list(self.exporter.get_finished_spans())
        return [s for s in spans if name is None or s.name == name]

    def metric_json(self) -> str:
        data = self.reader.get_metrics_data()
        return "" if data is None else data.to_json()

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Otel]:
    made = Otel()
    yield made
    made.tracer_provider.shutdown()
    made.meter_provider.shutdown()


@pytest.fixture
def served() -> Iterator[tuple[FakeMijnKlantportaal, str, str]]:
    """The fake on loopback with the spec's example invoice: (fake, base_url, invoice id)."""
    fake = FakeMijnKlantportaal()
    invoice_id = fake.add_example_invoice()
    with fake.serve() as base_url:
        yield fake, base_url, invoice_id


async def aw(value: Any) -> Any:
    """A call's result, awaited when the client is async: one script serves both clients."""
    return await value if inspect.isawaitable(value) else value


Script = Callable[[Any], Awaitable[Any]]


def run(mode: str, script: Script, **kwargs: Any) -> Any:
    """``script(client)`` on a sync or an async client made with ``kwargs``, in one loop."""

    async def main() -> Any:
        if mode == "sync":
            with MijnKlantportaal(**kwargs) as client:
                return await script(client)
        async with AsyncMijnKlantportaal(**kwargs) as aclient:
            return await script(aclient)

    return asyncio.run(main())


def client_kwargs(fake: FakeMijnKlantportaal, base_url: str, otel: Otel, **more: Any) -> Any:
    return {"api_key": fake.api_key, "base_url": base_url, **otel.providers, **more}


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def events(span: ReadableSpan, name: str) -> list[dict[str, Any]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == name]


# -- one call ------------------------------------------------------------------------------


def test_a_plain_call_is_one_client_span_with_the_semconv_attributes(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, invoice_id = served

    async def script(client: Any) -> Any:
        await aw(client.invoices.get(invoice_id))
        return client.rate_limit

    rate_limit = run(mode, script, **client_kwargs(fake, base_url, otel))
    (span,) = otel.spans()
    url = httpx.URL(base_url)
    assert span.name == "invoices.get"
    assert span.kind is SpanKind.CLIENT
    assert span.parent is None
    assert span.status.status_code is StatusCode.UNSET
    got = attributes(span)
    assert got == {
        "http.request.method": GET_ROUTE.method,
        "server.address": url.host,
        "server.port": url.port,
        "url.template": url.path + GET_ROUTE.path,  # never the filled path
        "http.response.status_code": 200,
        "mijnklantportaal.status_class": "2xx",
        "mijnklantportaal.operation.name": "invoices.get",
        "mijnklantportaal.operation.id": GET_ROUTE.operation_id,
        "mijnklantportaal.priority": "interactive",
        "mijnklantportaal.attempts": 1,
        "mijnklantportaal.retries": 0,
        "mijnklantportaal.rate_budget.wait_seconds": got[
            "mijnklantportaal.rate_budget.wait_seconds"
        ],
        "mijnklantportaal.rate_limit.remaining": rate_limit.remaining,
    }
    assert {k for k in got if k.startswith("mijnklantportaal.")} <= set(ATTRIBUTES)
    assert span.events == ()  # no retry, no budget wait worth one

    (duration,) = otel.points("http.client.request.duration")
    assert duration.count == 1
    assert dict(duration.attributes) == {
        "http.request.method": "GET",
        "server.address": url.host,
        "server.port": url.port,
        "url.template": url.path + GET_ROUTE.path,
        "mijnklantportaal.operation.name": "invoices.get",
        "http.response.status_code": 200,
        "mijnklantportaal.status_class": "2xx",
    }
    (remaining,) = otel.points("mijnklantportaal.client.rate_limit.remaining")
    assert dict(remaining.attributes) == {"mijnklantportaal.key_id": key_id_for(fake.api_key)}
    assert remaining.value == rate_limit.remaining
    assert otel.points("mijnklantportaal.client.rate_limited") == []
    (waits,) = otel.points("mijnklantportaal.client.rate_budget.wait.duration")
    assert waits.count == 1  # one start booked in the client's default budget


def test_a_retry_is_an_event_and_the_span_counts_attempts_and_retries(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel, sleeps: list[float]
) -> None:
    fake, base_url, invoice_id = served
    fake.fail_next(Fault.status(503))
    fake.fail_next(Fault.drop())

    async def script(client: Any) -> Any:
        return await aw(client.invoices.get(invoice_id))

    run(mode, script, **client_kwargs(fake, base_url, otel, rate_budget=None))
    (span,) = otel.spans()
    got = attributes(span)
    assert (got["mijnklantportaal.attempts"], got["mijnklantportaal.retries"]) == (3, 2)
    assert got["http.response.status_code"] == 200 and "error.type" not in got
    assert "mijnklantportaal.rate_budget.wait_seconds" not in got  # no budget, no wait
    first, second = events(span, RETRY_EVENT)
    assert first == {
        "mijnklantportaal.attempt": 1,
        "mijnklantportaal.retry.delay_seconds": sleeps[0],
        "mijnklantportaal.retry.counted": True,
        "http.response.status_code": 503,
    }
    assert second["mijnklantportaal.attempt"] == 2
    # The dropped connection, as httpx names it (how the socket closed decides which).
    assert second["error.type"] in ("RemoteProtocolError", "ReadError")
    assert "http.response.status_code" not in second
    assert otel.points("mijnklantportaal.client.rate_budget.wait.duration") == []


def test_a_429_is_counted_and_retried_as_an_event(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel, sleeps: list[float]
) -> None:
    fake, base_url, invoice_id = served
    fake.fail_next(Fault.rate_limited(retry_after=1))

    async def script(client: Any) -> Any:
        return await aw(client.invoices.get(invoice_id))

    run(mode, script, **client_kwargs(fake, base_url, otel, rate_budget=None))
    (span,) = otel.spans()
    (retry,) = events(span, RETRY_EVENT)
    assert retry["http.response.status_code"] == 429
    assert retry["mijnklantportaal.retry.delay_seconds"] == sleeps[0] == 1.0
    (counted,) = otel.points("mijnklantportaal.client.rate_limited")
    assert counted.value == 1
    assert dict(counted.attributes) == {
        "mijnklantportaal.operation.name": "invoices.get",
        "mijnklantportaal.priority": "interactive",
    }


def test_a_call_that_waited_for_the_budget_has_a_wait_event(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, invoice_id = served
    # One start per 0.3 s: the second call waits for the first one's window to pass.
    budget = LocalRateBudget(limit=1, window=0.3)

    async def script(client: Any) -> Any:
        for _ in range(2):
            await aw(client.invoices.get(invoice_id))

    run(mode, script, **client_kwargs(fake, base_url, otel, rate_budget=budget))
    first, second = otel.spans()
    assert events(first, BUDGET_WAIT_EVENT) == []
    (wait,) = events(second, BUDGET_WAIT_EVENT)
    assert wait["mijnklantportaal.attempt"] == 1
    assert wait["mijnklantportaal.rate_budget.wait_seconds"] >= LOG_BUDGET_WAITS_FROM
    assert (
        attributes(second)["mijnklantportaal.rate_budget.wait_seconds"]
        == wait["mijnklantportaal.rate_budget.wait_seconds"]
    )
    (waits,) = otel.points("mijnklantportaal.client.rate_budget.wait.duration")
    assert waits.count == 2
    assert waits.sum >= wait["mijnklantportaal.rate_budget.wait_seconds"]


def test_a_404_is_an_error_span_with_the_status_as_error_type(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, _ = served

    async def script(client: Any) -> Any:
        with pytest.raises(NotFoundError):
            await aw(client.invoices.get(MISSING_ID))

    run(mode, script, **client_kwargs(fake, base_url, otel))
    (span,) = otel.spans()
    got = attributes(span)
    assert got["http.response.status_code"] == 404
    assert got["error.type"] == "404"
    assert got["mijnklantportaal.attempts"] == 1
    assert span.status.status_code is StatusCode.ERROR
    assert got["url.template"] == httpx.URL(base_url).path + GET_ROUTE.path
    assert MISSING_ID not in str(got)
    (duration,) = otel.points("http.client.request.duration")
    assert dict(duration.attributes)["error.type"] == "404"
    assert dict(duration.attributes)["mijnklantportaal.status_class"] == "4xx"


def test_a_call_the_budget_refused_sent_nothing_and_says_so(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, invoice_id = served
    budget = LocalRateBudget(limit=1, window=60.0)

    async def script(client: Any) -> Any:
        await aw(client.invoices.get(invoice_id))
        with pytest.raises(RateLimitError):
            await aw(client.invoices.get(invoice_id))

    run(mode, script, **client_kwargs(fake, base_url, otel, rate_budget=budget, max_rate_wait=0.5))
    _, refused = otel.spans()
    got = attributes(refused)
    assert got["mijnklantportaal.rate_budget.refused"] is True
    assert got["error.type"] == "mijnklantportaal.RateLimitError"
    assert got["mijnklantportaal.attempts"] == 0
    assert "http.response.status_code" not in got  # no answer: nothing was sent
    assert otel.points("mijnklantportaal.client.rate_limited") == []


def test_a_connection_failure_names_the_error_class(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, invoice_id = served
    fake.fail_next(Fault.drop())

    async def script(client: Any) -> Any:
        with pytest.raises(APIConnectionError):
            await aw(client.invoices.get(invoice_id))

    run(mode, script, **client_kwargs(fake, base_url, otel, max_retries=0))
    (span,) = otel.spans()
    assert attributes(span)["error.type"] == "mijnklantportaal.APIConnectionError"
    assert span.status.status_code is StatusCode.ERROR


def test_the_callers_span_is_the_parent_and_is_current_again_afterwards(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, invoice_id = served
    from opentelemetry import trace

    async def script(client: Any) -> Any:
        with otel.tracer.start_as_current_span("handle-order") as parent:
            await aw(client.invoices.get(invoice_id))
            assert trace.get_current_span() is parent
            with pytest.raises(NotFoundError):
                await aw(client.invoices.get(MISSING_ID))
            assert trace.get_current_span() is parent  # after an error too
        assert not trace.get_current_span().get_span_context().is_valid

    run(mode, script, **client_kwargs(fake, base_url, otel))
    (parent,) = otel.spans("handle-order")
    calls = otel.spans("invoices.get")
    assert len(calls) == 2
    for call in calls:
        assert call.parent is not None and call.parent.span_id == parent.context.span_id
        assert call.context.trace_id == parent.context.trace_id


def test_the_httpx_instrumentation_spans_nest_under_the_call(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel, sleeps: list[float]
) -> None:
    """A service using opentelemetry-instrumentation-httpx: its span per attempt is a child
    of the call's span, so a retry shows as two requests under one call."""
    fake, base_url, invoice_id = served
    fake.fail_next(Fault.status(503))
    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(trust_env=False) if mode == "sync" else httpx.AsyncClient(trust_env=False)
    )
    HTTPXClientInstrumentor.instrument_client(http, tracer_provider=otel.tracer_provider)

    async def script(client: Any) -> Any:
        with otel.tracer.start_as_current_span("handle-order"):
            await aw(client.invoices.get(invoice_id))
        await aw(http.aclose() if isinstance(http, httpx.AsyncClient) else http.close())

    run(mode, script, **client_kwargs(fake, base_url, otel, http_client=http))
    (call,) = otel.spans("invoices.get")
    attempts = [s for s in otel.spans() if s.name not in ("invoices.get", "handle-order")]
    assert len(attempts) == 2, [s.name for s in otel.spans()]
    for attempt in attempts:
        assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
        assert attempt.kind is SpanKind.CLIENT
    # The instrumentation's own attribute names (old or stable HTTP conventions).
    statuses = [
        attributes(a).get("http.response.status_code", attributes(a).get("http.status_code"))
        for a in attempts
    ]
    assert sorted(statuses) == [200, 503]


# -- many calls ----------------------------------------------------------------------------


def _list_spec(page: int | None) -> RequestSpec:
    """A page list request as a generated list method builds it (a hand-built one here:
    today's spec has no list operation; the drill test below walks a generated one)."""
    return RequestSpec.build(
        "GET",
        "/tickets",
        subject="tickets",
        operation=("tickets.list", "list-tickets", "/tickets"),
        query={"page": page},
    )


def test_a_page_walk_is_one_span_per_page_under_the_callers_span(mode: str, otel: Otel) -> None:
    pages = 3
    with PageServer(lambda page: envelope(page or 1, pages)) as server:
        kwargs = {"api_key": "test_key_telemetry", "base_url": server.base_url, **otel.providers}

        async def script(client: Any) -> list[str]:
            transport = client._transport
            with otel.tracer.start_as_current_span("export-tickets"):
                if mode == "sync":

                    def fetch(number: int) -> PageData[Ticket]:
                        result: PageData[Ticket] = transport.request(
                            _list_spec(number), TICKET_PAGE
                        ).parsed
                        return result

                    first = transport.request(_list_spec(None), TICKET_PAGE).parsed
                    return [t.id for t in SyncPage(first, fetch)]

                async def afetch(number: int) -> PageData[Ticket]:
                    result: PageData[Ticket] = (
                        await transport.request(_list_spec(number), TICKET_PAGE)
                    ).parsed
                    return result

                async def afirst() -> PageData[Ticket]:
                    return await afetch(1)

                return [t.id async for t in AsyncPaginator(afirst, afetch)]

        ids = run(mode, script, **kwargs)
    assert len(ids) == pages * 2
    (parent,) = otel.spans("export-tickets")
    walked = otel.spans("tickets.list")
    assert len(walked) == pages
    for span in walked:
        assert span.parent is not None and span.parent.span_id == parent.context.span_id
        assert attributes(span)["url.template"] == "/v1/tickets"  # the page is no attribute


def test_get_many_is_one_span_per_id_under_the_callers_span(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    fake, base_url, invoice_id = served
    ids = [invoice_id, *fake.add_generated_invoices(2), MISSING_ID]

    async def script(client: Any) -> list[Any]:
        with otel.tracer.start_as_current_span("nightly-sync"):
            stream = client.invoices.get_many(ids, concurrency=2)
            if mode == "sync":
                return list(stream)
            return [pair async for pair in stream]

    results = run(mode, script, **client_kwargs(fake, base_url, otel))
    assert [i for i, _ in results] == ids
    assert isinstance(results[-1][1], MijnKlantportaalError)
    (parent,) = otel.spans("nightly-sync")
    calls = otel.spans("invoices.get")
    assert len(calls) == len(ids)
    for span in calls:
        assert span.parent is not None and span.parent.span_id == parent.context.span_id
        assert attributes(span)["mijnklantportaal.priority"] == "bulk"
    assert sorted(attributes(s)["http.response.status_code"] for s in calls) == [200, 200, 200, 404]


# -- the key never leaves ------------------------------------------------------------------


def test_no_span_event_or_metric_holds_the_key_a_secret_header_or_an_id(
    mode: str, served: tuple[FakeMijnKlantportaal, str, str], otel: Otel, sleeps: list[float]
) -> None:
    fake, base_url, invoice_id = served
    fake.fail_next(Fault.status(503))
    fake.fail_next(Fault.rate_limited(retry_after=1))
    http: httpx.Client | httpx.AsyncClient = (
        httpx.Client(trust_env=False) if mode == "sync" else httpx.AsyncClient(trust_env=False)
    )
    HTTPXClientInstrumentor.instrument_client(http, tracer_provider=otel.tracer_provider)

    async def script(client: Any) -> Any:
        headers = {SECRET_HEADER: SECRET_VALUE}
        await aw(client.invoices.get(invoice_id, extra_headers=headers))
        with pytest.raises(NotFoundError):
            await aw(client.invoices.get(MISSING_ID, extra_headers=headers))
        with pytest.raises(ConfigurationError):
            type(client)(api_key=fake.api_key, base_url=base_url, tracer_provider=fake.api_key)
        await aw(http.aclose() if isinstance(http, httpx.AsyncClient) else http.close())

    run(mode, script, **client_kwargs(fake, base_url, otel, http_client=http))
    spans = otel.spans()
    assert len(spans) >= 5  # two calls and at least three attempts
    exported = "\n".join(s.to_json() for s in spans) + otel.metric_json()
    assert fake.api_key not in exported
    assert SECRET_VALUE not in exported
    ours = "\n".join(s.to_json() for s in otel.spans("invoices.get"))
    assert invoice_id not in ours  # the url.template, never the filled path
    assert "mijnklantportaal.key_id" in exported and key_id_for(fake.api_key) in exported


# -- providers -----------------------------------------------------------------------------


def test_a_provider_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="tracer_provider must be"):
        MijnKlantportaal(api_key="k", tracer_provider="console")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="meter_provider must be"):
        AsyncMijnKlantportaal(api_key="k", meter_provider=object())  # type: ignore[arg-type]


def _python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_global_providers_are_followed_once_set() -> None:
    """No provider set: calls make nothing; providers set later (after the client was
    built): the next call is a span and a measurement."""
    out = _python(
        """
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from mijnklantportaal._transport import RequestSpec
        from mijnklantportaal.testing import FakeMijnKlantportaal

        fake = FakeMijnKlantportaal()
        invoice_id = fake.add_example_invoice()
        client = fake.client()
        client.invoices.get(invoice_id)
        transport = client._transport
        spec = RequestSpec.build("GET", "/invoices", subject="invoices")
        print("unset:", transport.telemetry.start(spec, transport.config))
        exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        client.invoices.get(invoice_id)
        names = [m.name for r in reader.get_metrics_data().resource_metrics
                 for s in r.scope_metrics for m in s.metrics]
        print([s.name for s in exporter.get_finished_spans()], "http.client.request.duration" in names)
        """
    )
    assert out.splitlines() == ["unset: None", "['invoices.get'] True"]


def test_without_opentelemetry_nothing_is_imported_and_providers_are_refused() -> None:
    out = _python(
        """
        import sys
        sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
        from mijnklantportaal import ConfigurationError
        from mijnklantportaal.testing import FakeMijnKlantportaal

        fake = FakeMijnKlantportaal()
        invoice_id = fake.add_example_invoice()
        with fake.client() as client:
            assert client.invoices.get(invoice_id).id == invoice_id
            assert client._transport.telemetry is None
        try:
            fake.client(tracer_provider=object())
        except ConfigurationError as exc:
            print("refused:", exc)
        loaded = [m for m, module in sys.modules.items()
                  if module is not None and m.startswith(("opentelemetry", "mijnklantportaal._telemetry"))]
        print("loaded:", loaded)
        """
    )
    assert "refused: tracer_provider= and meter_provider= need OpenTelemetry" in out
    assert "mijnklantportaal[otel]" in out
    assert "loaded: []" in out


# -- the span tree the observability guide shows -------------------------------------------


def span_tree(spans: list[ReadableSpan]) -> str:
    """The spans as a tree, times relative to the root's start: what a trace viewer shows."""
    by_parent: dict[int | None, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent is not None else None
        by_parent.setdefault(parent, []).append(span)
    (root,) = by_parent[None]
    origin = root.start_time or 0

    def ms(nanos: int | None) -> str:
        return f"{((nanos or 0) - origin) / 1e6:,.0f} ms"

    lines: list[str] = []

    def show(span: ReadableSpan, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└─ " if last else "├─ ")
        took = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
        lines.append(
            f"{prefix}{branch}{span.name} [{span.kind.name}] at {ms(span.start_time)}, "
            f"{took:,.0f} ms"
        )
        inner = prefix + ("" if top else ("   " if last else "│  "))
        children = by_parent.get(span.context.span_id, [])
        bar = "│  " if children else "   "
        own = attributes(span)
        if own and span.name != "handle-order":
            shown = {
                k: v
                for k, v in own.items()
                if k.startswith(("mijnklantportaal.", "http.", "url.", "server.", "error."))
            }
            for key, value in shown.items():
                text = f"{value:.3f}" if isinstance(value, float) else str(value)
                lines.append(f"{inner}{bar}  {key} = {text}")
        for event in span.events:
            details = ", ".join(
                f"{k.removeprefix('mijnklantportaal.')}={v:.3f}"
                if isinstance(v, float)
                else f"{k.removeprefix('mijnklantportaal.')}={v}"
                for k, v in (event.attributes or {}).items()
            )
            lines.append(f"{inner}{bar}  event at {ms(event.timestamp)}: {event.name} ({details})")
        for n, child in enumerate(children):
            show(child, inner, n == len(children) - 1, False)

    show(root, "", True, True)
    return "\n".join(lines)


def test_the_span_tree_of_a_call_with_a_retry_and_a_budget_wait(
    served: tuple[FakeMijnKlantportaal, str, str], otel: Otel
) -> None:
    """docs/observability.md pastes what this prints (``pytest -s -k span_tree``): a
    service's request handler calls ``client.invoices.get`` once; the first attempt gets a
    503, the retry waits its backoff, then for the rate budget (one start per second here),
    and succeeds. Real sleeps, real loopback, the httpx instrumentation's spans included."""
    fake, base_url, invoice_id = served
    fake.fail_next(Fault.status(503))
    http = httpx.Client(trust_env=False)
    HTTPXClientInstrumentor.instrument_client(http, tracer_provider=otel.tracer_provider)
    budget = LocalRateBudget(limit=1, window=1.0)
    with MijnKlantportaal(
        **client_kwargs(fake, base_url, otel, http_client=http, rate_budget=budget)
    ) as client:
        with otel.tracer.start_as_current_span("handle-order"):
            client.invoices.get(invoice_id)
    http.close()

    tree = span_tree(otel.spans())
    print(f"\n{tree}")
    (call,) = otel.spans("invoices.get")
    retry, wait = call.events
    assert (retry.name, wait.name) == (RETRY_EVENT, BUDGET_WAIT_EVENT)
    assert (retry.timestamp or 0) < (wait.timestamp or 0)
    assert attributes(call)["mijnklantportaal.attempts"] == 2
    assert (
        len([s for s in otel.spans() if s.parent and s.parent.span_id == call.context.span_id]) == 2
    )
    assert tree.splitlines()[0].startswith("handle-order [INTERNAL]")


# -- a generated list operation (the drill: today's spec has none) ---------------------------

PAGE_WALK_SCRIPT = """
import json
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from mijnklantportaal import MijnKlantportaal
from mijnklantportaal._generated.examples import EXAMPLES, ROUTES
from mijnklantportaal.testing import FakeMijnKlantportaal

resource, method = {adds!r}.split(".")
route = next(r for r in ROUTES if r.page is not None)
fake = FakeMijnKlantportaal(rate_limit=None)
for _ in range(12):
    item = dict(EXAMPLES[route.schema])
    item.pop("id", None)
    fake.add(route.schema, item)
exporter, provider = InMemorySpanExporter(), TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
with fake.serve() as base_url:
    with MijnKlantportaal(api_key=fake.api_key, base_url=base_url, tracer_provider=provider) as client:
        with provider.get_tracer("service").start_as_current_span("walk") as walk:
            items = list(getattr(getattr(client, resource), method)(per_page=5))
spans = [s for s in exporter.get_finished_spans() if s.name != "walk"]
print(json.dumps({{
    "items": len(items),
    "template": "/v1" + route.path,
    "operation_id": route.operation_id,
    "spans": [[s.name, s.parent.span_id == walk.get_span_context().span_id,
               s.attributes["url.template"], s.attributes["mijnklantportaal.operation.id"]]
              for s in spans],
}}))
"""


@pytest.mark.drill
@pytest.mark.slow
def test_a_generated_page_list_names_its_spans_by_the_operation(
    tmp_path: Path, tools_venv: Path
) -> None:
    """The drill's page list (``page-list-added``) through ./generate.sh in a repo copy: its
    pages walk as one span each, named ``<resource>.list``, under the caller's span."""
    mutation = MUTATIONS["page-list-added"]
    assert mutation.adds is not None
    root = copy_repo(tmp_path / "repo", *[n for n in COPIED if (REPO / n).exists()])
    write_mutated(root / "openapi.yaml", mutation.name)
    env = {
        **os.environ,
        "MIJNKLANTPORTAAL_TOOLS_VENV": str(tools_venv),
        "PYTHONPATH": f"{root / 'wrapper'}{os.pathsep}{root / 'generated'}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    generated = subprocess.run(
        [str(root / "generate.sh")], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert generated.returncode == 0, generated.stdout[-3000:] + generated.stderr[-3000:]
    script = PAGE_WALK_SCRIPT.format(adds=mutation.adds)
    walked = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert walked.returncode == 0, walked.stderr[-3000:]
    report = json.loads(walked.stdout)
    assert report["items"] == 12
    assert (
        report["spans"] == [[mutation.adds, True, report["template"], report["operation_id"]]] * 3
    )  # 12 items, 5 a page


# -- the guide ------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_observability_guide_examples_pass_mypy_strict(tmp_path: Path) -> None:
    from _doc_blocks import mypy_strict, python_blocks

    guide = (REPO / "docs" / "observability.md").read_text(encoding="utf-8")
    blocks = python_blocks(guide, "docs/observability.md")
    assert len(blocks) >= 4
    errors = mypy_strict(blocks, tmp_path)
    assert not errors, "\n".join(m for messages in errors.values() for m in messages)


def test_the_guide_shows_the_span_tree_this_test_file_prints() -> None:
    """The pasted tree is this file's output: same shape, line by line, whatever the times."""
    guide = (REPO / "docs" / "observability.md").read_text(encoding="utf-8")
    pasted = guide.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert pasted[0].startswith("handle-order [INTERNAL]")
    assert [line.split(" = ")[0].split(" at ")[0] for line in pasted][1:3] == [
        "└─ invoices.get [CLIENT]",
        "   │    http.request.method",
    ]
    names = {line.split(" = ")[0].strip(" │") for line in pasted if " = " in line}
    assert {a for a in names if a.startswith("mijnklantportaal.")} <= set(ATTRIBUTES)
