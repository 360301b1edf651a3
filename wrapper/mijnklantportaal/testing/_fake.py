"""The in-memory, stateful MijnKlantportaal API that tests talk to.

It answers every operation of openapi.yaml, from the routes ``./generate.sh`` writes into
``mijnklantportaal._generated.examples``: a get-by-id operation (``/things/{thingId}``) serves
the stored objects of its schema, a list operation lists them (as a page when the spec's
answer is one), and any other operation answers its example, built from the spec's examples.
Money fields (the spec-map.toml rule) are served as JSON numbers or strings (``money_as``).
"""

from __future__ import annotations

import collections
import copy
import hmac
import json
import math
import re
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs, unquote

from mijnklantportaal._generated.examples import (
    EXAMPLES,
    ID_PREFIX,
    MONEY_FIELDS,
    NESTED,
    OPERATION_EXAMPLES,
    ROUTES,
    Route,
)
from mijnklantportaal.testing._clock import FakeClock
from mijnklantportaal.testing._faults import Fault

if TYPE_CHECKING:
    from mijnklantportaal import AsyncMijnKlantportaal, LocalRateBudget, MijnKlantportaal
    from mijnklantportaal.testing._transport import FakeTransport

__all__ = [
    "EXAMPLE_INVOICE",
    "EXAMPLE_INVOICE_ID",
    "FakeMijnKlantportaal",
    "RecordedRequest",
]

MoneyAs = Literal["number", "string"]

BASE_PATH = "/v1"
RATE_LIMIT_WINDOW = 60.0  # seconds, rolling: the real API's window (rate_window= changes it)

# The spec's example invoice, in the API's JSON shape (money as the spec's strings), as
# ./generate.sh builds it from the schema examples of openapi.yaml.
EXAMPLE_INVOICE: Mapping[str, Any] = EXAMPLES["Invoice"]
EXAMPLE_INVOICE_ID: str = EXAMPLE_INVOICE["id"]
DEFAULT_PER_PAGE = 15  # the API's page size when the request names none

_JSON = ("Content-Type", "application/json")


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
class Reply:
    """One answer of the fake, before a transport turns it into bytes or an httpx.Response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency: float = 0.0
    drop: bool = False
    truncate: bool = False  # send half the body; Content-Length still claims all of it


@dataclass
class _EveryRule:
    every: int
    fault: Fault
    times: int | None
    seen: int = 0


@dataclass
class _Stored:
    data: dict[str, Any]
    bodies: dict[str, bytes] = field(default_factory=dict)


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
        self._stored: dict[str, dict[str, _Stored]] = {schema: {} for schema in EXAMPLES}
        self._requests: list[RecordedRequest] = []
        self._queued: collections.deque[Fault] = collections.deque()
        self._every: list[_EveryRule] = []
        self._windows: dict[str, collections.deque[float]] = {}
        self.rate_window = float(rate_window)
        self.add_generated_invoices(invoices)

    def __repr__(self) -> str:
        return (
            f"<FakeMijnKlantportaal invoices={len(self._stored['Invoice'])} "
            f"rate_limit={self.rate_limit} money_as={self.money_as!r}>"
        )

    # -- data ---------------------------------------------------------------------------

    def add(self, schema: str, data: Mapping[str, Any]) -> str:
        """Store an object of the spec's ``schema`` (e.g. ``"Invoice"``) given in the API's
        JSON shape (camelCase keys; money as strings, ints or floats, floats read by their
        shortest repr). Returns its id; an object without ``id`` gets a fresh one (with the
        schema's id prefix). The same id again replaces it. Get and list operations of the
        spec serve what is stored."""
        if schema not in self._stored:
            raise ValueError(
                f"schema must be one of the spec's response schemas {sorted(self._stored)}, got {schema!r}"
            )
        what = _words(schema)
        if not isinstance(data, Mapping):
            raise TypeError(
                f"{what} must be a mapping in the API's JSON shape, got {type(data).__name__}"
            )
        copied: dict[str, Any] = copy.deepcopy(dict(data))
        object_id = copied.setdefault("id", ID_PREFIX.get(schema, "") + secrets.token_hex(7))
        if not isinstance(object_id, str) or not object_id:
            raise ValueError(f"{what} id must be a non-empty string, got {object_id!r}")
        _normalize(copied, schema, what)
        stored = _Stored(copied)
        stored.bodies = {m: _dumps(_render(copied, m)).encode() for m in ("number", "string")}
        with self._lock:
            self._stored[schema][object_id] = stored
        return object_id

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
            (f"{ID_PREFIX.get('Invoice', '')}{n:012x}" for n in range(1, invoices + 1))
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
        with self._lock:
            self._stored["Invoice"].pop(invoice_id, None)

    def invoice_json(self, invoice_id: str, money_as: MoneyAs | None = None) -> Any:
        """The JSON the fake serves for ``invoice_id`` (parsed), for assertions."""
        with self._lock:
            stored = self._stored["Invoice"][invoice_id]
        return json.loads(stored.bodies[money_as or self.money_as])

    @property
    def invoice_ids(self) -> list[str]:
        with self._lock:
            return list(self._stored["Invoice"])

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
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes = b""
    ) -> Reply:
        """Answer one request (``target`` is the path with its query). Thread-safe; it
        never sleeps: latency, drops and truncation are for the caller to carry out."""
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
        method = method.upper()
        with self._lock:
            fault = self._next_fault()
            if fault is not None and fault.kind != "pass":
                reply = self._fault_reply(fault, token if authenticated else None, target, method)
            else:
                reply = self._answer(method, target, token, authenticated)
            if fault is not None:
                reply.latency = fault.delay
            self._requests.append(
                RecordedRequest(
                    method=method,
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

    def _fault_reply(self, fault: Fault, token: str | None, target: str, method: str) -> Reply:
        if fault.kind == "drop":
            return Reply(0, [], b"", drop=True)
        if fault.kind == "truncate":
            reply = self._answer(method, target, token, token is not None)  # the body, cut
            reply.truncate = True
            return reply
        if fault.kind == "rate_limited":
            now = self.clock.now()
            limit = self.rate_limit if self.rate_limit is not None else 60
            return self._too_many(limit, fault.retry_after, math.ceil(now + fault.retry_after))
        return Reply(fault.status_code, list(fault.headers), fault.body)

    def _answer(self, method: str, target: str, token: str | None, authenticated: bool) -> Reply:
        if not authenticated:
            reply = _error(401, "Unauthenticated.")
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
        reply = self._route(method, target)
        reply.headers.extend(rate_headers)
        return reply

    def _route(self, method: str, target: str) -> Reply:
        path, _, query = target.partition("?")
        matched = [
            (route, found)
            for route, pattern in _PATTERNS
            if (found := pattern.match(path)) is not None
        ]
        if not matched:
            return _error(404, f"The route {path.lstrip('/')} could not be found.")
        for route, found in matched:
            if route.method == method:
                params = {name: unquote(value) for name, value in found.groupdict().items()}
                return self._operation(route, params, parse_qs(query))
        allowed = ", ".join(sorted({route.method for route, _ in matched}))
        reply = _error(
            405,
            f"The {method} method is not supported for this route. Supported methods: {allowed}.",
        )
        reply.headers.append(("Allow", allowed))
        return reply

    def _operation(
        self, route: Route, params: dict[str, str], query: dict[str, list[str]]
    ) -> Reply:
        if route.kind == "get" and route.schema is not None and route.id_param is not None:
            object_id = params[_group(route.id_param)]
            stored = self._stored[route.schema].get(object_id)
            if stored is None:
                return _error(404, f"{route.schema} {object_id} not found.")
            return Reply(route.status, [_JSON], stored.bodies[self.money_as])
        if route.kind == "list" and route.schema is not None:
            return self._list(route, query)
        if not route.content:  # a 204, or a 2xx the spec gives no content: nothing to send
            return Reply(route.status, [], b"")
        body = _render(_normalized_example(route), self.money_as)
        return Reply(route.status, [_JSON], _dumps(body).encode())

    def _list(self, route: Route, query: dict[str, list[str]]) -> Reply:
        """The stored objects of the route's schema, a page at a time (``page``, ``per_page``
        or ``limit``), as the API's page object when the spec answers with one."""
        try:
            page = _positive(query, "page", 1)
            per_page = _positive(query, "per_page", _positive(query, "limit", DEFAULT_PER_PAGE))
        except ValueError as exc:
            return _error(422, str(exc))
        assert route.schema is not None
        items = list(self._stored[route.schema].values())
        chosen = items[(page - 1) * per_page : page * per_page]
        data = [_Raw(stored.bodies[self.money_as]) for stored in chosen]
        if route.page is None:
            return Reply(route.status, [_JSON], _dumps(data).encode())
        last = max(1, math.ceil(len(items) / per_page))
        url = BASE_PATH + route.path

        def page_url(number: int) -> str | None:
            return f"{url}?page={number}&per_page={per_page}" if 1 <= number <= last else None

        body = {
            "current_page": page,
            "data": data,
            "first_page_url": page_url(1),
            "from": (page - 1) * per_page + 1 if chosen else None,
            "next_page_url": page_url(page + 1),
            "path": url,
            "per_page": per_page,
            "prev_page_url": page_url(page - 1),
            "to": (page - 1) * per_page + len(chosen) if chosen else None,
        }
        return Reply(route.status, [_JSON], _dumps(body).encode())

    def _too_many(self, limit: int, retry_after: int, reset_at: int) -> Reply:
        reply = Reply(
            429,
            [
                _JSON,
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


def _error(status: int, message: str) -> Reply:
    return Reply(status, [_JSON], json.dumps({"message": message}).encode())


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _redact(value: str) -> str:
    scheme, sep, _ = value.strip().partition(" ")
    return f"{scheme} [redacted]" if sep and scheme.lower() == "bearer" else "[redacted]"


def _words(schema: str) -> str:
    """``InvoiceLine`` -> ``invoice line``, for messages."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", schema).lower()


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _pattern(path: str) -> re.Pattern[str]:
    """``/invoices/{invoiceId}`` -> a regex matching ``/v1/invoices/<one segment>``."""
    parts = re.split(r"\{([^}]+)\}", path)
    regex = "".join(
        re.escape(part) if n % 2 == 0 else f"(?P<{_group(part)}>[^/]+)"
        for n, part in enumerate(parts)
    )
    return re.compile(re.escape(BASE_PATH) + regex + r"\Z")


_PATTERNS = [(route, _pattern(route.path)) for route in ROUTES]


def _positive(query: dict[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    value = values[-1]
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= 10_000:
        raise ValueError(f"The {name} must be a whole number from 1 to 10000.")
    return int(value)


def _normalize(obj: dict[str, Any], schema: str, where: str) -> None:
    """Money of ``schema`` (and of the objects nested in it) as Decimals, checked."""
    for key in MONEY_FIELDS.get(schema, ()):
        if key in obj and obj[key] is not None:
            obj[key] = _to_decimal(obj[key], f"{where} {key}")
    for key, inner in NESTED.get(schema, {}).items():
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            _normalize(value, inner, f"{where} {key}")
            continue
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} {key!r} must be a list of {_words(inner)} objects")
        obj[key] = list(value)
        for n, item in enumerate(obj[key]):
            if not isinstance(item, dict):
                raise ValueError(f"{where} {key!r}: {_words(inner)} {n} must be an object")
            _normalize(item, inner, f"{_words(inner)} {n}")


def _normalized_example(route: Route) -> Any:
    example = copy.deepcopy(OPERATION_EXAMPLES.get(route.operation_id))
    if isinstance(example, dict) and route.schema is not None:
        _normalize(example, route.schema, "example")
    return example


def _to_decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{where}: money must be a number or a numeric string, got {value!r}")
    if isinstance(value, float):
        value = repr(value)  # the shortest repr: 12.95 stays 12.95
    try:
        result = Decimal(value) if isinstance(value, str | int | Decimal) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        raise ValueError(f"{where}: money must be a number or a numeric string, got {value!r}")
    return result


def _render(value: Any, money_as: str) -> Any:
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if money_as == "string" else _Number(text)
    if isinstance(value, dict):
        return {k: _render(v, money_as) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_render(v, money_as) for v in value]
    return value


class _Number(str):
    """A decimal written into JSON as a bare number, digit for digit."""


class _Raw(bytes):
    """JSON already encoded (a stored object's body), written into a list or page as is."""


def _dumps(value: Any) -> str:
    return "".join(_encode(value))


def _encode(value: Any) -> Iterator[str]:
    if isinstance(value, _Number):
        yield str.__str__(value)
    elif isinstance(value, _Raw):
        yield value.decode()
    elif isinstance(value, dict):
        yield "{"
        for n, (k, v) in enumerate(value.items()):
            if n:
                yield ","
            yield json.dumps(str(k))
            yield ":"
            yield from _encode(v)
        yield "}"
    elif isinstance(value, list):
        yield "["
        for n, v in enumerate(value):
            if n:
                yield ","
            yield from _encode(v)
        yield "]"
    else:
        yield json.dumps(value)
