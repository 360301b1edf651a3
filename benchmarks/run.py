"""The wrapper against raw httpx, side by side, in one run: ``python benchmarks/run.py``.

Six measurements (issue 7), each interleaved (A, B, C, A, B, C, ...) after a warm-up,
reported as median with min and max over the rounds, and as the ratio of medians to the
baseline:

1. sequential GET on one keep-alive connection: raw ``httpx.Client`` + ``json.loads(
   parse_float=Decimal)`` vs the generated ``get_invoice.sync_detailed`` vs
   ``MijnKlantportaal().invoices.get``;
1b. sequential POST of a small JSON body: raw ``httpx.Client.post`` of the bytes vs the
   wrapper's request path (``RequestSpec.build`` + ``transport.request``), against a tuned
   stdlib server in its own process (``run.py --serve-post``);
1c. walking 10 pages of 15 invoices (the vendor's page envelope) from the same server: a
   hand-written raw httpx loop (``json.loads(parse_float=Decimal)``, follow ``next_page_url``)
   vs iterating a ``SyncPage`` over the wrapper's request path, as a generated list method
   returns it (items decoded into ``Invoice`` models);
2. 32 concurrent tasks: raw ``httpx.AsyncClient`` vs ``AsyncMijnKlantportaal``;
3. decoding a 5,000-line invoice in-process: ``mijnklantportaal._decode.loads`` +
   ``Invoice.from_dict`` vs ``json.loads(body, parse_float=Decimal)`` alone (CPU time);
4. memory (tracemalloc) of that decode, and the retained size of one parsed line;
5. ``python -X importtime -c "import mijnklantportaal"`` vs ``import httpx``, fresh processes;
6. the fake's loopback server vs a minimal tuned stdlib HTTP/1.1 server
   (``benchmarks/baseline_server.py``), one keep-alive raw httpx client each;
7. the telemetry hooks (issue 20): ``MijnKlantportaal().invoices.get`` sequentially with the
   hooks as built (opentelemetry installed, no provider set) vs the hooks off (as without
   the ``otel`` extra), and, for the record, with an SDK tracer and meter provider.

The servers run in their own processes (``benchmarks/_servers.py``) so that they do not
share the client's GIL. The table is printed and written as JSON to
``benchmarks/results/latest.json`` (``--json PATH`` for another file) to compare commits.
``--smoke`` runs everything with tiny counts for CI; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_JSON = HERE / "results" / "latest.json"

TARGETS = {
    "sequential_get": ("wrapper", ">=", 0.95),
    "sequential_post": ("wrapper", ">=", 0.95),
    "page_walk": ("wrapper", ">=", 0.90),
    "async_get": ("wrapper", ">=", 0.90),
    "large_invoice_decode": ("wrapper", "<=", 2.0),
    "memory_peak": ("wrapper", "<=", 2.0),
    "import_time": ("mijnklantportaal", "<=", 1.5),
    "fake_server": ("fake", ">=", 0.8),
    # No provider set: within noise of the hooks off.
    "telemetry_overhead": ("no_provider", ">=", 0.97),
}


@dataclass
class Settings:
    rounds: int
    warmup_rounds: int
    seq_requests: int
    async_requests: int
    async_tasks: int
    decode_lines: int
    decode_rounds: int
    import_runs: int
    server_requests: int


FULL = Settings(
    rounds=9,
    warmup_rounds=1,
    seq_requests=1000,
    async_requests=1600,
    async_tasks=32,
    decode_lines=5000,
    decode_rounds=41,
    import_runs=15,
    server_requests=1000,
)
SMOKE = Settings(
    rounds=2,
    warmup_rounds=1,
    seq_requests=30,
    async_requests=64,
    async_tasks=32,
    decode_lines=200,
    decode_rounds=3,
    import_runs=2,
    server_requests=30,
)


# -- bookkeeping ---------------------------------------------------------------------------


@dataclass
class Series:
    """One contender's per-round figures; ``higher_is_better`` for rates."""

    unit: str
    higher_is_better: bool
    values: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        values = self.values
        return {
            "unit": self.unit,
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "rounds": len(values),
            "values": [round(v, 6) for v in values],
        }


def interleave(
    contenders: dict[str, Callable[[], float]],
    rounds: int,
    warmup_rounds: int,
    unit: str,
    higher_is_better: bool,
) -> dict[str, Series]:
    """Run each contender once per round, in turn; warm-up rounds are not recorded."""
    series = {name: Series(unit, higher_is_better) for name in contenders}
    for round_number in range(warmup_rounds + rounds):
        # Rotate the order so that no contender always runs right after the same one.
        names = list(contenders)
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            value = contenders[name]()
            if round_number >= warmup_rounds:
                series[name].values.append(value)
    return series


def section(series: dict[str, Series], baseline: str, **extra: Any) -> dict[str, Any]:
    base = statistics.median(series[baseline].values)
    return {
        "baseline": baseline,
        "contenders": {
            name: {**s.summary(), "ratio": statistics.median(s.values) / base}
            for name, s in series.items()
        },
        **extra,
    }


# -- servers -------------------------------------------------------------------------------


@contextlib.contextmanager
def server(kind: str) -> Iterator[dict[str, str]]:
    """Start ``_servers.py kind`` in its own process; yields its base_url, api_key, invoice_id."""
    with _serving([str(HERE / "_servers.py"), kind], kind) as info:
        yield info


@contextlib.contextmanager
def _serving(args: list[str], kind: str) -> Iterator[dict[str, str]]:
    """Run ``python ARGS``, a server that prints one JSON line of how to reach it, then serves
    until its stdin closes; yields that line."""
    process = subprocess.Popen(
        [sys.executable, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {kind} server did not start (exit code {process.wait()})")
        yield json.loads(line)
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request_headers(api_key: str) -> dict[str, str]:
    """What the wrapper sends on every request, so that raw httpx sends the same."""
    from mijnklantportaal._config import USER_AGENT

    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }


# -- 1. sequential GET ---------------------------------------------------------------------


def bench_sequential(info: dict[str, str], s: Settings) -> dict[str, Any]:
    from mijnklantportaal import MijnKlantportaal
    from mijnklantportaal_api import AuthenticatedClient
    from mijnklantportaal_api.api.invoices_api import get_invoice

    base_url, key, invoice_id = info["base_url"], info["api_key"], info["invoice_id"]
    url = f"{base_url}/invoices/{invoice_id}"
    n = s.seq_requests

    raw = httpx.Client(headers=request_headers(key))
    generated = AuthenticatedClient(base_url=base_url, token=key)
    # No rate budget: the server has no limit, and this measures what the client costs per
    # request (benchmarks/rate_budget.py measures the budgets).
    wrapper = MijnKlantportaal(api_key=key, base_url=base_url, rate_budget=None)

    cpu: dict[str, list[float]] = {"raw_httpx": [], "generated": [], "wrapper": []}

    def timed(name: str, one: Callable[[], object]) -> Callable[[], float]:
        """Requests/s of ``n`` calls; also records the client's CPU microseconds per
        request (the server runs in another process), steadier than wall time when the
        machine is shared."""

        def run() -> float:
            cpu_started, started = time.process_time(), time.perf_counter()
            for _ in range(n):
                one()
            elapsed = time.perf_counter() - started
            cpu[name].append((time.process_time() - cpu_started) / n * 1e6)
            return n / elapsed

        return run

    def raw_get() -> object:
        response = raw.get(url)
        response.raise_for_status()
        return json.loads(response.content, parse_float=Decimal)

    contenders = {
        "raw_httpx": timed("raw_httpx", raw_get),
        "generated": timed(
            "generated", lambda: get_invoice.sync_detailed(invoice_id, client=generated)
        ),
        "wrapper": timed("wrapper", lambda: wrapper.invoices.get(invoice_id)),
    }

    # Same answer from all three before timing anything.
    expected = json.loads(raw.get(url).content, parse_float=Decimal)
    assert wrapper.invoices.get(invoice_id).total_amount == expected["totalAmount"]
    assert get_invoice.sync_detailed(invoice_id, client=generated).status_code == 200

    try:
        series = interleave(contenders, s.rounds, s.warmup_rounds, "req/s", True)
    finally:
        raw.close()
        generated.get_httpx_client().close()
        wrapper.close()
    cpu_us = {name: statistics.median(v[s.warmup_rounds :]) for name, v in cpu.items()}
    return section(series, "raw_httpx", requests_per_round=n, client_cpu_us_per_request=cpu_us)


# -- 7. telemetry hooks --------------------------------------------------------------------


def bench_telemetry(info: dict[str, str], s: Settings) -> dict[str, Any]:
    """The same sequential GET through three clients: telemetry hooks off (what a client
    is without opentelemetry installed), as built with no provider set (the hooks ask the
    global providers per call, and find none), and with an SDK tracer and meter provider
    (spans to a no-op exporter, metrics aggregated in memory) when the SDK is installed."""
    from mijnklantportaal import MijnKlantportaal

    base_url, key, invoice_id = info["base_url"], info["api_key"], info["invoice_id"]
    n = s.seq_requests
    clients: dict[str, Any] = {}
    off = MijnKlantportaal(api_key=key, base_url=base_url, rate_budget=None)
    off._transport.telemetry = None  # as without the otel extra
    clients["hooks_off"] = off
    clients["no_provider"] = MijnKlantportaal(api_key=key, base_url=base_url, rate_budget=None)
    if clients["no_provider"]._transport.telemetry is None:
        raise RuntimeError("opentelemetry-api is not installed: pip install -e '.[test]'")
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
    except ImportError:
        pass
    else:
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(SpanExporter()))  # exports nowhere
        clients["sdk_provider"] = MijnKlantportaal(
            api_key=key,
            base_url=base_url,
            rate_budget=None,
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(),
        )
    cpu: dict[str, list[float]] = {name: [] for name in clients}

    def timed(name: str) -> Callable[[], float]:
        get = clients[name].invoices.get

        def run() -> float:
            cpu_started, started = time.process_time(), time.perf_counter()
            for _ in range(n):
                get(invoice_id)
            elapsed = time.perf_counter() - started
            cpu[name].append((time.process_time() - cpu_started) / n * 1e6)
            return n / elapsed

        return run

    try:
        series = interleave(
            {name: timed(name) for name in clients}, s.rounds, s.warmup_rounds, "req/s", True
        )
    finally:
        for client in clients.values():
            client.close()
    cpu_us = {name: statistics.median(v[s.warmup_rounds :]) for name, v in cpu.items()}
    return section(series, "hooks_off", requests_per_round=n, client_cpu_us_per_request=cpu_us)


# -- 1b. sequential POST ------------------------------------------------------------------

POST_BODY = (
    b'{"amount":"12.95","description":"Pro subscription","expiresAt":"2026-01-01T00:00:00+01:00"}'
)
POST_ANSWER = (
    b'{"id":"pl_abc12345def678","amount":"12.95","description":"Pro subscription",'
    b'"expiresAt":"2026-01-01T00:00:00+01:00","url":"https://pay.example/pl_abc12345def678"}'
)


PAGES_PATH = "/bench-invoices"
PAGE_COUNT = 10
PAGE_SIZE = 15
PAGES: list[bytes] = []


def page_bodies(url: str) -> list[bytes]:
    """``PAGE_COUNT`` envelopes of ``PAGE_SIZE`` copies of the spec's example invoice (each
    with its own id), linked by ``next_page_url`` as the vendor links them."""
    from mijnklantportaal._encode import dumps
    from mijnklantportaal.testing import FakeMijnKlantportaal

    # The spec's example invoice as the fake serves it: money as JSON numbers, as the real
    # API sends it (and so as Decimals here, written back by dumps from their digits).
    fake = FakeMijnKlantportaal(rate_limit=None)
    with fake.client() as client:
        served = client.invoices.with_raw_response.get(fake.add_example_invoice())
    example = json.loads(served.http_response.content, parse_float=Decimal)
    pages = []
    for number in range(1, PAGE_COUNT + 1):
        first = (number - 1) * PAGE_SIZE + 1
        items = [{**example, "id": f"fac_{n:014d}"} for n in range(first, first + PAGE_SIZE)]
        envelope = {
            "current_page": number,
            "data": items,
            "first_page_url": f"{url}?page=1",
            "from": first,
            "next_page_url": f"{url}?page={number + 1}" if number < PAGE_COUNT else None,
            "path": url,
            "per_page": PAGE_SIZE,
            "prev_page_url": f"{url}?page={number - 1}" if number > 1 else None,
            "to": first + PAGE_SIZE - 1,
        }
        pages.append(dumps(envelope))  # money as JSON numbers, as the real API sends it
    return pages


def serve_post() -> None:
    """``run.py --serve-post``: a tuned stdlib server answering every POST with 201 and
    ``POST_ANSWER`` once it has read the body, and ``GET /bench-invoices?page=N`` with page
    N of ``page_bodies``; prints its base_url as the other servers do, then serves until
    stdin closes."""
    sys.path.insert(0, str(HERE))
    from baseline_server import _Handler, _Server

    class PostHandler(_Handler):
        def do_POST(self) -> None:
            received = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = 201 if received == POST_BODY else 400  # both contenders send the same
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(POST_ANSWER)))
            self.end_headers()
            self.wfile.write(POST_ANSWER)

        def do_GET(self) -> None:
            number = int(self.path.rsplit("page=", 1)[1]) if "page=" in self.path else 1
            answer = PAGES[number - 1] if 1 <= number <= len(PAGES) else b""
            self.send_response(200 if answer else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = _Server(("127.0.0.1", 0), PostHandler)
    PAGES.extend(page_bodies(f"http://127.0.0.1:{server.server_address[1]}/v1{PAGES_PATH}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    print(json.dumps({"base_url": base_url, "api_key": "sk_bench_post"}), flush=True)
    sys.stdin.read()
    server.shutdown()
    server.server_close()


@contextlib.contextmanager
def post_server() -> Iterator[dict[str, str]]:
    """Start ``run.py --serve-post`` in its own process; yields its base_url and api_key."""
    with _serving([str(Path(__file__).resolve()), "--serve-post"], "POST") as info:
        yield info


def bench_post(info: dict[str, str], s: Settings) -> dict[str, Any]:
    """Raw httpx posting ``POST_BODY`` vs the wrapper's one request path with a
    ``RequestSpec`` built per call, as a generated write builds it (its encoder's bytes)."""
    from mijnklantportaal import MijnKlantportaal
    from mijnklantportaal._transport import RequestSpec

    base_url, key = info["base_url"], info["api_key"]
    url = f"{base_url}/payment-links"
    n = s.seq_requests
    raw = httpx.Client(headers=request_headers(key))
    wrapper = MijnKlantportaal(api_key=key, base_url=base_url, rate_budget=None)
    transport = wrapper._transport
    cpu: dict[str, list[float]] = {"raw_httpx": [], "wrapper": []}

    def raw_post() -> object:
        response = raw.post(url, content=POST_BODY, headers={"Content-Type": "application/json"})
        response.raise_for_status()
        return json.loads(response.content, parse_float=Decimal)

    def wrapper_post() -> object:
        spec = RequestSpec.build("POST", "/payment-links", subject="a payment link", body=POST_BODY)
        return transport.request(spec, _as_is).parsed  # type: ignore[union-attr]

    def timed(name: str, one: Callable[[], object]) -> Callable[[], float]:
        def run() -> float:
            cpu_started, started = time.process_time(), time.perf_counter()
            for _ in range(n):
                one()
            elapsed = time.perf_counter() - started
            cpu[name].append((time.process_time() - cpu_started) / n * 1e6)
            return n / elapsed

        return run

    assert raw_post() == wrapper_post()  # the same answer, so the same bytes were sent
    try:
        series = interleave(
            {"raw_httpx": timed("raw_httpx", raw_post), "wrapper": timed("wrapper", wrapper_post)},
            s.rounds,
            s.warmup_rounds,
            "req/s",
            True,
        )
    finally:
        raw.close()
        wrapper.close()
    cpu_us = {name: statistics.median(v[s.warmup_rounds :]) for name, v in cpu.items()}
    return section(series, "raw_httpx", requests_per_round=n, client_cpu_us_per_request=cpu_us)


def bench_pages(info: dict[str, str], s: Settings) -> dict[str, Any]:
    """Every item of 10 pages: a hand-written raw httpx loop vs ``SyncPage`` over the
    wrapper's one request path, built as a generated list method builds it."""
    import attrs
    from mijnklantportaal import Invoice, MijnKlantportaal, SyncPage
    from mijnklantportaal._pagination import PageData
    from mijnklantportaal._transport import RequestSpec

    base_url, key = info["base_url"], info["api_key"]
    raw = httpx.Client(headers=request_headers(key))
    wrapper = MijnKlantportaal(api_key=key, base_url=base_url, rate_budget=None)
    transport = wrapper._transport
    parse = PageData.decoder(Invoice.from_dict)
    walks = max(1, s.seq_requests // (PAGE_COUNT * 10))

    def raw_walk() -> list[Any]:
        items: list[Any] = []
        url: str | None = f"{base_url}{PAGES_PATH}?page=1"
        while url is not None:
            response = raw.get(url)
            response.raise_for_status()
            page = json.loads(response.content, parse_float=Decimal)
            items.extend(page["data"])
            url = page["next_page_url"]
        return items

    def wrapper_walk() -> list[Any]:
        spec = RequestSpec.build("GET", PAGES_PATH, subject="invoices", query={"page": 1})

        def fetch(number: int) -> PageData[Invoice]:
            return transport.request(attrs.evolve(spec, params={"page": number}), parse).parsed  # type: ignore[return-value]

        return list(SyncPage(transport.request(spec, parse).parsed, fetch))  # type: ignore[arg-type]

    def timed(walk: Callable[[], list[Any]]) -> Callable[[], float]:
        def run() -> float:
            started = time.perf_counter()
            for _ in range(walks):
                walk()
            return walks * PAGE_COUNT / (time.perf_counter() - started)

        return run

    raw_ids = [item["id"] for item in raw_walk()]
    assert raw_ids == [invoice.id for invoice in wrapper_walk()]  # the same items, in order
    assert len(raw_ids) == PAGE_COUNT * PAGE_SIZE
    try:
        series = interleave(
            {"raw_httpx": timed(raw_walk), "wrapper": timed(wrapper_walk)},
            s.rounds,
            s.warmup_rounds,
            "pages/s",
            True,
        )
    finally:
        raw.close()
        wrapper.close()
    return section(series, "raw_httpx", pages_per_round=walks * PAGE_COUNT)


def _as_is(data: Any) -> Any:
    return data


# -- 2. concurrent async GET ---------------------------------------------------------------


def bench_async(info: dict[str, str], s: Settings) -> dict[str, Any]:
    return asyncio.run(_bench_async(info, s))


async def _bench_async(info: dict[str, str], s: Settings) -> dict[str, Any]:
    from mijnklantportaal import AsyncMijnKlantportaal
    from mijnklantportaal._constants import DEFAULT_CONNECTION_LIMITS

    base_url, key, invoice_id = info["base_url"], info["api_key"], info["invoice_id"]
    url = f"{base_url}/invoices/{invoice_id}"
    tasks, per_task = s.async_tasks, max(1, s.async_requests // s.async_tasks)
    total = tasks * per_task

    raw = httpx.AsyncClient(headers=request_headers(key), limits=DEFAULT_CONNECTION_LIMITS)
    wrapper = AsyncMijnKlantportaal(api_key=key, base_url=base_url, rate_budget=None)

    async def raw_task() -> None:
        for _ in range(per_task):
            response = await raw.get(url)
            response.raise_for_status()
            json.loads(response.content, parse_float=Decimal)

    async def wrapper_task() -> None:
        for _ in range(per_task):
            await wrapper.invoices.get(invoice_id)

    async def timed(task: Callable[[], Any]) -> float:
        gc.collect()
        started = time.perf_counter()
        await asyncio.gather(*(task() for _ in range(tasks)))
        return total / (time.perf_counter() - started)

    series = {"raw_httpx": Series("req/s", True), "wrapper": Series("req/s", True)}
    async with raw, wrapper:
        for round_number in range(s.warmup_rounds + s.rounds):
            order = [("raw_httpx", raw_task), ("wrapper", wrapper_task)]
            if round_number % 2:
                order.reverse()
            for name, task in order:
                value = await timed(task)
                if round_number >= s.warmup_rounds:
                    series[name].values.append(value)
    return section(series, "raw_httpx", tasks=tasks, requests_per_round=total)


# -- 3. and 4. large invoice decode and memory ---------------------------------------------


def large_invoice_body(lines: int) -> bytes:
    """A ``lines``-line invoice as the fake serves it (money as JSON numbers), in-process."""
    from mijnklantportaal.testing import EXAMPLE_INVOICE, FakeMijnKlantportaal

    fake = FakeMijnKlantportaal(rate_limit=None, money_as="number")
    invoice = dict(EXAMPLE_INVOICE)
    # The spec's example line, repeated with its own id, description and quantity.
    (line,) = EXAMPLE_INVOICE["lines"]
    invoice["lines"] = [
        {
            **line,
            "id": f"fcl_{n:014d}",
            "description": f"{line['description']}, seat {n}",
            "quantity": n % 7 + 1,
        }
        for n in range(lines)
    ]
    invoice_id = fake.add_invoice(invoice)
    with httpx.Client(transport=fake.transport()) as client:
        response = client.get(
            f"https://api.example/v1/invoices/{invoice_id}",
            headers={"Authorization": f"Bearer {fake.api_key}"},
        )
    response.raise_for_status()
    return response.content


def decoders() -> dict[str, Callable[[bytes], Any]]:
    from mijnklantportaal import Invoice, _decode

    def bare(body: bytes) -> Any:
        return json.loads(body, parse_float=Decimal)

    def wrapper(body: bytes) -> Any:
        return Invoice.from_dict(_decode.loads(body))

    funcs: dict[str, Callable[[bytes], Any]] = {"json_loads_decimal": bare, "wrapper": wrapper}
    funcs.update(msgspec_decoders())
    return funcs


def msgspec_decoders() -> dict[str, Callable[[bytes], Any]]:
    """For the record when msgspec is installed (it is not a dependency): typed frozen
    structs (drop unknown fields, take the last of duplicate keys, read integer -0 as 0),
    and its untyped decoder (Decimal floats) feeding the wrapper's ``Invoice.from_dict``."""
    try:
        import msgspec
    except ImportError:
        return {}
    import typing

    from mijnklantportaal import Invoice, InvoiceLine

    def struct(model: Any, nested: dict[Any, Any]) -> Any:
        """A msgspec struct with the fields and types of a generated model (timestamps as
        text: msgspec's datetime parsing differs from the wrapper's)."""
        hints = typing.get_type_hints(model)
        fields = []
        for attribute, _key, _ in model._wire_fields:
            hint = hints[attribute]
            hint = nested.get(hint, hint)
            fields.append(
                (attribute, str | None if datetime in typing.get_args(hint) else hint, None)
            )
        renames = {attribute: key for attribute, key, _ in model._wire_fields}
        return msgspec.defstruct(model.__name__, fields, frozen=True, rename=renames)

    from datetime import datetime

    line = struct(InvoiceLine, {})
    invoice = struct(Invoice, {tuple[InvoiceLine, ...] | None: tuple[line, ...] | None})
    typed = msgspec.json.Decoder(invoice)
    untyped = msgspec.json.Decoder(float_hook=Decimal)
    return {
        "msgspec_structs": typed.decode,
        "msgspec_untyped+from_dict": lambda body: Invoice.from_dict(untyped.decode(body)),
    }


def bench_decode(body: bytes, s: Settings) -> dict[str, Any]:
    funcs = decoders()
    expected = funcs["json_loads_decimal"](body)
    for name, func in funcs.items():
        if name != "json_loads_decimal":
            lines = func(body).lines
            assert len(lines) == len(expected["lines"]), name
            assert lines[-1].amount_incl_vat == expected["lines"][-1]["amountInclVat"], name

    def timer(func: Callable[[bytes], Any]) -> Callable[[], float]:
        """CPU milliseconds of one decode: the work is in-process and single-threaded, so
        CPU time is its wall time without the spells in which other processes on a shared
        machine held the core (which made single wall-clock rounds vary by 2x and more)."""

        def run() -> float:
            started = time.process_time()
            func(body)
            return (time.process_time() - started) * 1000

        return run

    series = interleave(
        {name: timer(func) for name, func in funcs.items()},
        s.decode_rounds,
        2,
        "ms",
        False,
    )
    return section(series, "json_loads_decimal", lines=len(expected["lines"]), bytes=len(body))


def _traced(func: Callable[[], Any]) -> tuple[int, int, Any]:
    """(peak, retained) bytes of ``func()`` under tracemalloc, and its result."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        result = func()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before, current - before, result


def bench_memory(body: bytes, s: Settings) -> dict[str, Any]:
    funcs = decoders()
    figures: dict[str, dict[str, float]] = {}
    for name, func in funcs.items():
        peaks, retained = [], []
        for _ in range(3):
            peak, kept, result = _traced(lambda func=func: func(body))  # type: ignore[misc]
            peaks.append(peak)
            retained.append(kept)
            lines = len(result["lines"] if isinstance(result, dict) else result.lines)
            del result
        figures[name] = {
            "peak_bytes": statistics.median(peaks),
            "retained_bytes": statistics.median(retained),
            "retained_bytes_per_line": statistics.median(retained) / lines,
        }
    base = figures["json_loads_decimal"]["peak_bytes"]
    contenders = {
        name: {
            "unit": "MB",
            "median": f["peak_bytes"] / 1e6,
            "min": f["peak_bytes"] / 1e6,
            "max": f["peak_bytes"] / 1e6,
            "ratio": f["peak_bytes"] / base,
            "retained_MB": f["retained_bytes"] / 1e6,
            "retained_bytes_per_line": f["retained_bytes_per_line"],
        }
        for name, f in figures.items()
    }
    return {
        "baseline": "json_loads_decimal",
        "contenders": contenders,
        "line_object_bytes": line_object_size(body),
    }


def line_object_size(body: bytes) -> dict[str, int]:
    """Bytes one parsed line keeps alive: the ``InvoiceLine`` with its own values, and the
    ``json.loads(parse_float=Decimal)`` dict of the same line (averaged over every line)."""
    from mijnklantportaal import InvoiceLine, _decode

    count = len(_decode.loads(body)["lines"])
    list_bytes = sys.getsizeof([None] * count)  # the list holding them is no line's

    def per_line(func: Callable[[], Any]) -> int:
        retained = min(_traced(func)[1] for _ in range(3))
        return round((retained - list_bytes) / count)

    def wrapper_lines() -> list[Any]:
        return [InvoiceLine.from_dict(line) for line in _decode.loads(body)["lines"]]

    def dict_lines() -> list[Any]:
        return list(json.loads(body, parse_float=Decimal)["lines"])

    return {"wrapper": per_line(wrapper_lines), "json_loads_decimal": per_line(dict_lines)}


# -- 5. import time ------------------------------------------------------------------------


def import_time(module: str) -> float:
    """Cumulative microseconds of ``import module`` in a fresh interpreter (``-X importtime``)."""
    # Without PYTHON* settings: PYTHONDONTWRITEBYTECODE (set in CI) would make every run
    # recompile the wrapper while httpx's bytecode is cached, an unfair comparison; the
    # warm-up round writes the caches.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    for line in reversed(done.stderr.splitlines()):
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            return int(parts[1]) / 1000
    raise RuntimeError(f"no importtime line for {module}: {done.stderr[-500:]}")


def bench_import(s: Settings) -> dict[str, Any]:
    series = interleave(
        {
            "httpx": lambda: import_time("httpx"),
            "mijnklantportaal": lambda: import_time("mijnklantportaal"),
        },
        s.import_runs,
        1,
        "ms",
        False,
    )
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mijnklantportaal; print(sorted(m for m in sys.modules if "
            "m.startswith(('mijnklantportaal.testing', 'mijnklantportaal.cli', 'click', 'rich', "
            "'asyncio'))))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(probe.stdout.replace("'", '"'))
    return section(
        series,
        "httpx",
        testing_or_cli_loaded=any(m.startswith("mijnklantportaal.") for m in loaded),
        also_loaded=loaded,
    )


# -- 6. fake server throughput -------------------------------------------------------------


def bench_servers(fake: dict[str, str], baseline: dict[str, str], s: Settings) -> dict[str, Any]:
    n = s.server_requests

    def runner(info: dict[str, str]) -> tuple[httpx.Client, Callable[[], float]]:
        url = f"{info['base_url']}/invoices/{info['invoice_id']}"
        client = httpx.Client(headers=request_headers(info["api_key"]))
        client.get(url).raise_for_status()

        def run() -> float:
            get = client.get
            started = time.perf_counter()
            for _ in range(n):
                get(url)
            return n / (time.perf_counter() - started)

        return client, run

    baseline_client, run_baseline = runner(baseline)
    fake_client, run_fake = runner(fake)
    try:
        series = interleave(
            {"baseline_server": run_baseline, "fake": run_fake},
            s.rounds,
            s.warmup_rounds,
            "req/s",
            True,
        )
    finally:
        baseline_client.close()
        fake_client.close()
    return section(series, "baseline_server", requests_per_round=n)


# -- report --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    import attrs
    from mijnklantportaal import __version__

    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "httpx": httpx.__version__,
        "attrs": attrs.__version__,
        "mijnklantportaal": __version__,
        "commit": commit,
    }


TITLES = {
    "sequential_get": "1. Sequential GET, 1 keep-alive connection",
    "sequential_post": "1b. Sequential POST, small JSON body, 1 keep-alive connection",
    "page_walk": "1c. Walk 10 pages of 15 invoices, 1 keep-alive connection",
    "async_get": "2. Concurrent async GET, 32 tasks",
    "large_invoice_decode": "3. Decode a 5,000-line invoice (in-process)",
    "memory_peak": "4. Peak memory of that decode (tracemalloc)",
    "import_time": "5. Import time (-X importtime, fresh process)",
    "fake_server": "6. Loopback server, 1 keep-alive raw httpx client",
    "telemetry_overhead": "7. Telemetry hooks, sequential GET (hooks off = without the extra)",
}


def verdict(name: str, result: dict[str, Any]) -> str:
    contender, op, bound = TARGETS[name]
    ratio = result["contenders"][contender]["ratio"]
    ok = ratio >= bound if op == ">=" else ratio <= bound
    return f"{op} {bound:.2f}x {'PASS' if ok else 'MISS'}"


def table(results: dict[str, Any], info: dict[str, Any]) -> str:
    rows = [("Benchmark / contender", "median", "min .. max", "ratio", "target")]
    for name, result in results.items():
        title = TITLES[name]
        if "lines" in result:
            title = title.replace("5,000", f"{result['lines']:,}")
        rows.append((title, "", "", "", ""))
        target_contender = TARGETS[name][0]
        for contender, c in result["contenders"].items():
            digits = 0 if c["unit"] in ("req/s", "pages/s") else 1 if c["unit"] == "ms" else 2
            rows.append(
                (
                    f"   {contender}",
                    f"{c['median']:,.{digits}f} {c['unit']}",
                    f"{c['min']:,.{digits}f} .. {c['max']:,.{digits}f}",
                    f"{c['ratio']:.2f}x",
                    verdict(name, result) if contender == target_contender else "",
                )
            )
        if name == "telemetry_overhead":
            cpu_us = result["client_cpu_us_per_request"]
            for contender in result["contenders"]:
                if contender != "hooks_off":
                    rows.append(
                        (
                            f"   client CPU per request: {contender} / hooks_off",
                            f"{cpu_us[contender]:.0f} us",
                            f"hooks_off: {cpu_us['hooks_off']:.0f} us",
                            f"{cpu_us[contender] / cpu_us['hooks_off']:.2f}x",
                            "",
                        )
                    )
        if name in ("sequential_get", "sequential_post"):
            cpu_us = result["client_cpu_us_per_request"]
            rows.append(
                (
                    "   client CPU per request: wrapper / raw",
                    f"{cpu_us['wrapper']:.0f} us",
                    f"raw: {cpu_us['raw_httpx']:.0f} us",
                    f"{cpu_us['wrapper'] / cpu_us['raw_httpx']:.2f}x",
                    "",
                )
            )
        if name == "memory_peak":
            sizes = result["line_object_bytes"]
            rows.append(
                (
                    "   one parsed line, retained: InvoiceLine / dict",
                    f"{sizes['wrapper']:,} B",
                    f"dict: {sizes['json_loads_decimal']:,} B",
                    f"{sizes['wrapper'] / sizes['json_loads_decimal']:.2f}x",
                    "",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        f"Machine: {info['nproc']} cores, {info['cpu']}, {info['implementation']} "
        f"{info['python']}, httpx {info['httpx']}, commit {info['commit']}",
        "",
    ]
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 5)]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts, for CI")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--only", nargs="+", choices=list(TITLES), help="run only these measurements"
    )
    parser.add_argument("--serve-post", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_post:
        serve_post()
        return 0
    s = SMOKE if args.smoke else FULL
    wanted = args.only or list(TITLES)
    started = time.perf_counter()

    results: dict[str, Any] = {}
    if {"sequential_get", "async_get", "fake_server", "telemetry_overhead"} & set(wanted):
        with server("fake") as fake:
            if "sequential_get" in wanted:
                results["sequential_get"] = bench_sequential(fake, s)
            if "telemetry_overhead" in wanted:
                results["telemetry_overhead"] = bench_telemetry(fake, s)
            if "async_get" in wanted:
                results["async_get"] = bench_async(fake, s)
            if "fake_server" in wanted:
                with server("baseline") as baseline:
                    results["fake_server"] = bench_servers(fake, baseline, s)
    if {"sequential_post", "page_walk"} & set(wanted):
        with post_server() as info:
            if "sequential_post" in wanted:
                results["sequential_post"] = bench_post(info, s)
            if "page_walk" in wanted:
                results["page_walk"] = bench_pages(info, s)
    if {"large_invoice_decode", "memory_peak"} & set(wanted):
        body = large_invoice_body(s.decode_lines)
        if "large_invoice_decode" in wanted:
            results["large_invoice_decode"] = bench_decode(body, s)
        if "memory_peak" in wanted:
            results["memory_peak"] = bench_memory(body, s)
    if "import_time" in wanted:
        results["import_time"] = bench_import(s)
    results = {name: results[name] for name in TITLES if name in results}

    info = machine()
    report = table(results, info)
    print(report)
    elapsed = time.perf_counter() - started
    print(f"\n({'smoke' if args.smoke else 'full'} run, {elapsed:.0f} s)")
    if "import_time" in results and results["import_time"]["testing_or_cli_loaded"]:
        print("NOTE: import mijnklantportaal loaded the testing kit or the CLI")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "machine": info,
                "mode": "smoke" if args.smoke else "full",
                "settings": s.__dict__,
                "targets": {
                    k: {"contender": c, "op": o, "bound": b} for k, (c, o, b) in TARGETS.items()
                },
                "results": results,
                "table": report,
            },
            indent=2,
            default=str,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
