"""The in-memory, stateful MijnKlantportaal API that tests talk to.

It answers every operation of openapi.yaml, from the routes ``./generate.sh`` writes into
``mijnklantportaal._generated.examples`` (``tools/gen_fake.py``): one store per schema, which
get, list, create, update, replace and delete operations read and write (``_routes``), request
bodies checked against the spec (``_validate``), and the spec's example answer for anything
else. Money fields (the spec-map.toml rule) are served as JSON numbers or strings
(``money_as``). Here: the public class, the key check, the rate limit and the faults.
"""

from __future__ import annotations

import collections
import hmac
import json
import math
import secrets
import threading
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from mijnklantportaal._generated import examples as tables
from mijnklantportaal.testing._clock import FakeClock
from mijnklantportaal.testing._faults import Fault
from mijnklantportaal.testing._routes import (
    BASE_PATH,
    DEFAULT_PER_PAGE,
    Reply,
    Request,
    answer,
    error,
    match,
)
from mijnklantportaal.testing._store import Store, copied, normalize, words

if TYPE_CHECKING:
    from mijnklantportaal import AsyncMijnKlantportaal, LocalRateBudget, MijnKlantportaal
    from mijnklantportaal.testing._transport import FakeTransport

__all__ = [
    "DEFAULT_PER_PAGE",
    "EXAMPLE_INVOICE",
    "EXAMPLE_INVOICE_ID",
    "FakeMijnKlantportaal",
    "RecordedRequest",
    "Reply",
]

MoneyAs = Literal["number", "string"]

RATE_LIMIT_WINDOW = 60.0  # seconds, rolling: the real API's window (rate_window= changes it)

# The spec's example invoice, in the API's JSON shape (money as the spec's strings), as
# ./generate.sh builds it from the schema examples of openapi.yaml.
EXAMPLE_INVOICE: Mapping[str, Any] = tables.EXAMPLES["Invoice"]
EXAMPLE_INVOICE_ID: str = EXAMPLE_INVOICE["id"]


def stored_schemas() -> list[str]:
    """The schemas the spec's operations store (get, list, create, ... them), in route order."""
    routes = tables.ROUTES
    return list(dict.fromkeys(r.schema for r in routes if r.kind != "example" and r.schema))


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake received. ``headers`` has lower-case names; the credential in
    ``authorization`` is replaced by ``[redacted]`` (``Bearer [redacted]``)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None  # what the fake answered; None when the connection was dropped
    authenticated: bool  # the request carried the fake's key
    fault: Fault | None = None

    @property
    def invoice_id(self) -> str | None:
        prefix = BASE_PATH + "/invoices/"
        return unquote(self.path[len(prefix) :]) if self.path.startswith(prefix) else None


@dataclass
class _EveryRule:
    every: int
    fault: Fault
    times: int | None
    seen: int = 0


class FakeMijnKlantportaal:
    """An in-memory stand-in for the MijnKlantportaal API.

    ``FakeMijnKlantportaal(api_key=None, rate_limit=60, money_as="number", clock=None,
    rate_window=60.0, invoices=())``

    - ``api_key``: the Bearer token it accepts (a random one when not given; read it back
      as ``fake.api_key``). Anything else gets the API's 401 ``{"message": ...}``.
    - ``rate_limit``: requests per rolling minute per key, as the real API (60); ``None``
      turns the limit off. Past it: the real 429 body with ``retry-after`` and
      ``x-ratelimit-reset``. ``X-RateLimit-Limit``/``-Remaining`` are on every response
      while a limit is in force.
    - ``money_as``: ``"number"`` sends money as JSON numbers like the real API does,
      ``"string"`` as the spec types it. Changeable later through ``fake.money_as``.
    - ``clock``: a :class:`FakeClock` (``fake.clock.advance(60)`` empties the window).
    - ``rate_window``: the rolling window's length in seconds (the API's is 60), so that a
      test of rate limiting in real time takes seconds: ``rate_limit=10, rate_window=2.0``.
    - ``invoices``: invoices to answer besides those added later: a number (that many
      fresh ids) or the ids themselves, each a copy of the spec's example invoice under its
      own id (``add_generated_invoices``), for bulk fetches and exports of thousands.

    Two ways in: ``fake.transport()`` (an httpx transport, sync and async) and
    ``with fake.serve() as base_url:`` (a real HTTP/1.1 server on loopback).
    """

    def __init__(
        self,
        api_key: str | None = None,
        rate_limit: int | None = 60,
        money_as: MoneyAs = "number",
        clock: FakeClock | None = None,
        rate_window: float = RATE_LIMIT_WINDOW,
        invoices: int | Iterable[str] = (),
    ) -> None:
        if api_key is not None and (not isinstance(api_key, str) or not api_key.strip()):
            raise ValueError("api_key must be a non-empty string (or None for a generated one)")
        if rate_limit is not None and (isinstance(rate_limit, bool) or rate_limit < 1):
            raise ValueError("rate_limit must be a positive int, or None for no limit")
        if (
            isinstance(rate_window, bool)
            or not isinstance(rate_window, int | float)
            or not 0 < rate_window < math.inf
        ):
            raise ValueError(
                f"rate_window must be a positive number of seconds, not {rate_window!r}"
            )
        self._check_money_as(money_as)
        self.api_key: str = api_key if api_key is not None else "mkp_fake_" + secrets.token_hex(16)
        self.rate_limit = rate_limit
        self.money_as: MoneyAs = money_as
        self.clock = clock if clock is not None else FakeClock()
        self._lock = threading.Lock()
        self._store = Store()
        self._requests: list[RecordedRequest] = []
        self._queued: collections.deque[Fault] = collections.deque()
        self._every: list[_EveryRule] = []
        self._windows: dict[str, collections.deque[float]] = {}
        self.rate_window = float(rate_window)
        self.add_generated_invoices(invoices)

    def __repr__(self) -> str:
        held = " ".join(
            f"{schema}={len(objects)}" for schema, objects in self._store.objects.items() if objects
        )
        return (
            f"<FakeMijnKlantportaal {held or 'empty'} "
            f"rate_limit={self.rate_limit} money_as={self.money_as!r}>"
        )

    # -- data ---------------------------------------------------------------------------

    def schema_of(self, schema: str) -> str:
        """The spec's schema ``schema`` stands for: a schema (``"Invoice"``) or a resource as
        the client names it (``"invoices"``, ``"payment_links"``: its objects' schema)."""
        if schema in tables.FIELDS:
            return schema
        if schema in tables.RESOURCES:
            return tables.RESOURCES[schema]
        raise ValueError(
            f"{schema!r} is neither a resource ({', '.join(sorted(tables.RESOURCES))}) nor a schema "
            f"({', '.join(sorted(tables.FIELDS))}) of the spec"
        )

    def add(self, schema: str, data: Mapping[str, Any]) -> str:
        """Store an object of a resource (``"invoices"``) or schema (``"Invoice"``), given in
        the API's JSON shape (the spec's keys; money as strings, ints or floats, floats read
        by their shortest repr). Returns its id; an object without ``id`` gets a fresh one
        (with the schema's id prefix). The same id again replaces it. The spec's operations
        read, list, change and delete what is stored, whichever way it got there."""
        schema = self.schema_of(schema)
        what = words(schema)
        if not isinstance(data, Mapping):
            raise TypeError(
                f"{what} must be a mapping in the API's JSON shape, got {type(data).__name__}"
            )
        obj = copied(data)
        with self._lock:
            object_id = obj.setdefault("id", self._store.fresh_id(schema))
            if not isinstance(object_id, str) or not object_id:
                raise ValueError(f"{what} id must be a non-empty string, got {object_id!r}")
            normalize(obj, schema, what)
            self._store.put(schema, obj)
        return object_id

    def add_example(self, schema: str) -> str:
        """Store the spec's example of a resource or schema (under its example id, if it
        has one); returns its id."""
        schema = self.schema_of(schema)
        return self.add(schema, tables.EXAMPLES.get(schema, {}))

    def add_examples(self, *, path_ids: bool = False) -> dict[str, list[str]]:
        """Store the spec's example of every schema the spec's operations store; with
        ``path_ids``, also a copy of it under each id the spec's path parameters give as
        their example (so that a request built from the spec's examples finds its object).
        Returns the ids stored, by schema."""
        added: dict[str, list[str]] = {}
        for schema in stored_schemas():
            added[schema] = [self.add_example(schema)]
            for object_id in tables.PATH_IDS.get(schema, ()) if path_ids else ():
                if object_id not in added[schema]:
                    added[schema].append(
                        self.add(schema, {**tables.EXAMPLES[schema], "id": object_id})
                    )
        return added

    def remove(self, schema: str, object_id: str) -> None:
        """Forget a stored object (nothing happens when there is none)."""
        schema = self.schema_of(schema)
        with self._lock:
            self._store.objects[schema].pop(object_id, None)

    def object_json(self, schema: str, object_id: str, money_as: MoneyAs | None = None) -> Any:
        """The JSON the fake serves for the stored object, parsed for assertions (a number
        with a fraction or exponent as a ``Decimal``, never a float); a ``KeyError`` when
        there is none."""
        schema = self.schema_of(schema)
        with self._lock:
            stored = self._store.objects[schema][object_id]
        return json.loads(stored.bodies[money_as or self.money_as], parse_float=Decimal)

    def ids(self, schema: str) -> list[str]:
        """The ids of the stored objects of a resource or schema, oldest first."""
        schema = self.schema_of(schema)
        with self._lock:
            return list(self._store.objects[schema])

    def add_invoice(self, invoice: Mapping[str, Any]) -> str:
        """Store an invoice (``add("Invoice", invoice)``); returns its id (a fresh ``fac_``
        one when it has none)."""
        return self.add("Invoice", invoice)

    def add_example_invoice(self) -> str:
        """Store the spec's example invoice (``fac_abc12345def678``); returns its id."""
        return self.add_invoice(EXAMPLE_INVOICE)

    def add_generated_invoices(self, invoices: int | Iterable[str]) -> list[str]:
        """Store a copy of the spec's example invoice under each id (or under ``invoices``
        fresh ``fac_`` ids when it is a number); returns the ids, in order."""
        if isinstance(invoices, bool) or (isinstance(invoices, int) and invoices < 0):
            raise ValueError(
                f"invoices must be a count >= 0 or an iterable of ids, not {invoices!r}"
            )
        ids: Iterable[str] = (
            (f"{tables.ID_PREFIX.get('Invoice', '')}{n:012x}" for n in range(1, invoices + 1))
            if isinstance(invoices, int)
            else invoices
        )
        added = []
        for invoice_id in ids:
            if not isinstance(invoice_id, str) or not invoice_id:
                raise ValueError(f"invoice ids must be non-empty strings, got {invoice_id!r}")
            added.append(self.add_invoice({**EXAMPLE_INVOICE, "id": invoice_id}))
        return added

    def remove_invoice(self, invoice_id: str) -> None:
        self.remove("Invoice", invoice_id)

    def invoice_json(self, invoice_id: str, money_as: MoneyAs | None = None) -> Any:
        """The JSON the fake serves for ``invoice_id`` (parsed), for assertions."""
        return self.object_json("Invoice", invoice_id, money_as)

    @property
    def invoice_ids(self) -> list[str]:
        return self.ids("Invoice")

    # -- what it received ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- faults -------------------------------------------------------------------------

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` requests with ``fault`` (queued after earlier calls)."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._queued.extend([fault] * times)

    def fail_every(self, every: int, fault: Fault, times: int | None = None) -> None:
        """Answer every ``every``-th request from now on with ``fault`` (request number
        ``every``, ``2*every``, ...), ``times`` times in all or without end when ``None``."""
        if every < 1:
            raise ValueError("every must be >= 1")
        with self._lock:
            self._every.append(_EveryRule(every, fault, times))

    def clear_faults(self) -> None:
        with self._lock:
            self._queued.clear()
            self._every.clear()

    def reset_rate_limit(self) -> None:
        with self._lock:
            self._windows.clear()

    # -- ways in ------------------------------------------------------------------------

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) answering from this fake, in-process."""
        from mijnklantportaal.testing._transport import FakeTransport

        return FakeTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> AbstractContextManager[str]:
        """``with fake.serve() as base_url:`` a real HTTP/1.1 keep-alive server on
        ``host:port`` (0: a free port) in a background thread; ``base_url`` ends in
        ``/v1``. The server stops, and its threads and sockets are closed, on exit."""
        from mijnklantportaal.testing._server import serve

        return serve(self, host, port)

    def client_rate_budget(self) -> LocalRateBudget | None:
        """The budget a client of this fake gets from ``client()``: the fake's own limit and
        window, so that the client paces itself as it would against the API; None when the
        fake has no limit, or its clock is frozen (its windows then pass only when a test
        moves the clock, and a budget waits in real time), so that its 429s reach the code
        under test."""
        from mijnklantportaal import LocalRateBudget

        if self.rate_limit is None or self.clock.frozen:
            return None
        return LocalRateBudget(limit=self.rate_limit, window=self.rate_window)

    def client(self, **overrides: Any) -> MijnKlantportaal:
        """A :class:`MijnKlantportaal` wired to this fake in-process (its key, its
        transport, a rate budget matching its limit: see ``client_rate_budget``). Keyword
        arguments override the client's own."""
        import httpx

        from mijnklantportaal import MijnKlantportaal

        kwargs: dict[str, Any] = {"api_key": self.api_key, "rate_budget": self.client_rate_budget()}
        kwargs.update(overrides)
        if kwargs.get("http_client") is None:
            kwargs["http_client"] = httpx.Client(transport=self.transport())
        return MijnKlantportaal(**kwargs)

    def async_client(self, **overrides: Any) -> AsyncMijnKlantportaal:
        """An :class:`AsyncMijnKlantportaal` wired to this fake in-process."""
        import httpx

        from mijnklantportaal import AsyncMijnKlantportaal

        kwargs: dict[str, Any] = {"api_key": self.api_key, "rate_budget": self.client_rate_budget()}
        kwargs.update(overrides)
        if kwargs.get("http_client") is None:
            kwargs["http_client"] = httpx.AsyncClient(transport=self.transport())
        return AsyncMijnKlantportaal(**kwargs)

    # -- the API itself -----------------------------------------------------------------

    def handle(
        self,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes = b"",
        *,
        origin: str | None = None,
    ) -> Reply:
        """Answer one request (``target`` is the path with its query; ``origin`` the
        ``scheme://host[:port]`` it was sent to, for the page URLs of a list: by default
        ``http://`` and the ``Host`` header). Thread-safe; it never sleeps: latency, drops
        and truncation are for the caller to carry out."""
        path, _, query = target.partition("?")
        lowered: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            lowered[key] = f"{lowered[key]}, {value}" if key in lowered else value
        token = _bearer(lowered.get("authorization"))
        authenticated = token is not None and hmac.compare_digest(
            token.encode(), self.api_key.encode()
        )
        if "authorization" in lowered:
            lowered["authorization"] = _redact(lowered["authorization"])
        if origin is None:
            origin = f"http://{lowered['host']}" if lowered.get("host") else ""
        incoming = _Incoming(method.upper(), path, query, body, origin)
        with self._lock:
            fault = self._next_fault()
            if fault is not None and fault.kind != "pass":
                reply = self._fault_reply(fault, token if authenticated else None, incoming)
            else:
                reply = self._answer(incoming, token, authenticated)
            if fault is not None:
                reply.latency = fault.delay
            self._requests.append(
                RecordedRequest(
                    method=incoming.method,
                    path=path,
                    query=query,
                    headers=lowered,
                    body=body,
                    status=None if reply.drop else reply.status,
                    authenticated=authenticated,
                    fault=fault,
                )
            )
        return reply

    # everything below runs under self._lock

    def _next_fault(self) -> Fault | None:
        chosen = self._queued.popleft() if self._queued else None
        for rule in list(self._every):
            rule.seen += 1
            if rule.seen % rule.every == 0:
                if chosen is None:
                    chosen = rule.fault
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._every.remove(rule)
        return chosen

    def _fault_reply(self, fault: Fault, token: str | None, incoming: _Incoming) -> Reply:
        if fault.kind == "drop":
            return Reply(0, [], b"", drop=True)
        if fault.kind == "truncate":
            reply = self._answer(incoming, token, token is not None)  # acted on; the body, cut
            reply.truncate = True
            return reply
        if fault.kind == "rate_limited":
            now = self.clock.now()
            limit = self.rate_limit if self.rate_limit is not None else 60
            return self._too_many(limit, fault.retry_after, math.ceil(now + fault.retry_after))
        return Reply(fault.status_code, list(fault.headers), fault.body)

    def _answer(self, incoming: _Incoming, token: str | None, authenticated: bool) -> Reply:
        if not authenticated:
            reply = error(401, "Unauthenticated.")
            reply.headers.append(("WWW-Authenticate", "Bearer"))
            if self.rate_limit is not None:  # a call without a valid key counts against none
                reply.headers.append(("X-RateLimit-Limit", str(self.rate_limit)))
                reply.headers.append(("X-RateLimit-Remaining", str(self.rate_limit)))
            return reply
        assert token is not None
        limit = self.rate_limit
        rate_headers: list[tuple[str, str]] = []
        if limit is not None:
            now = self.clock.now()
            window = self._windows.setdefault(token, collections.deque())
            while window and window[0] <= now - self.rate_window:
                window.popleft()
            if len(window) >= limit:
                free_at = window[0] + self.rate_window
                return self._too_many(limit, max(1, math.ceil(free_at - now)), math.ceil(free_at))
            window.append(now)
            rate_headers = [
                ("X-RateLimit-Limit", str(limit)),
                ("X-RateLimit-Remaining", str(limit - len(window))),
            ]
        reply = self._route(incoming)
        reply.headers.extend(rate_headers)
        return reply

    def _route(self, incoming: _Incoming) -> Reply:
        matched = match(incoming.path)
        if not matched:
            return error(404, f"The route {incoming.path.lstrip('/')} could not be found.")
        for route, params in matched:
            if route.method == incoming.method:
                request = Request(
                    route=route,
                    params={name: unquote(value) for name, value in params.items()},
                    query=incoming.query,
                    body=incoming.body,
                    origin=incoming.origin,
                    path=incoming.path,
                    now=self.clock.now(),
                    money_as=self.money_as,
                )
                return answer(self._store, request)
        allowed = ", ".join(sorted({route.method for route, _ in matched}))
        reply = error(
            405,
            f"The {incoming.method} method is not supported for this route. "
            f"Supported methods: {allowed}.",
        )
        reply.headers.append(("Allow", allowed))
        return reply

    def _too_many(self, limit: int, retry_after: int, reset_at: int) -> Reply:
        reply = Reply(
            429,
            [
                ("Content-Type", "application/json"),
                ("X-RateLimit-Limit", str(limit)),
                ("X-RateLimit-Remaining", "0"),
                ("retry-after", str(retry_after)),
                ("x-ratelimit-reset", str(reset_at)),
            ],
            b'{"code":429,"message":"Too many requests."}',
        )
        return reply

    @staticmethod
    def _check_money_as(money_as: str) -> None:
        if money_as not in ("number", "string"):
            raise ValueError(f"money_as must be 'number' or 'string', got {money_as!r}")


# -- helpers ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Incoming:
    method: str
    path: str
    query: str
    body: bytes
    origin: str


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _redact(value: str) -> str:
    scheme, sep, _ = value.strip().partition(" ")
    return f"{scheme} [redacted]" if sep and scheme.lower() == "bearer" else "[redacted]"
