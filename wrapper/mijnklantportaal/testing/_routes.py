"""What the fake does for each operation of the spec, from the generated ``ROUTES``
(``tools/gen_fake.py`` says how an operation's kind is read from the spec):

- ``get``: the stored object, or 404 ``{"message": ...}``;
- ``list``: the stored objects that match the query, a page at a time (``page``,
  ``per_page`` or ``limit``; 15 by default), in the spec's page envelope (or as an array),
  its page URLs built from the request (same query, another ``page``);
- ``create``: the body checked against the spec (422), a new object: the body's fields that
  the schema has, a fresh id with the schema's prefix, the schema's timestamps that the body
  does not give set to the fake's clock, its other fields that the body does not give from
  the spec's example; answered with the operation's 2xx;
- ``update`` (PATCH, or a POST to the object): the body checked, its fields merged in; a
  timestamp named for updates (``updatedAt``, ``lastModifiedAt``) that the body does not give
  is set to the clock;
- ``replace`` (PUT): every field the body's schema names is set, or removed when absent;
- ``delete``: removed; 204 (then 404);
- ``example``: the spec's example answer (no content for a 204).

Every path parameter that names a stored object (``{ticketId}`` in ``/tickets/{ticketId}/
replies``) must name one, else 404; objects created under it belong to it.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from mijnklantportaal._generated import examples as tables
from mijnklantportaal._generated.examples import Route
from mijnklantportaal.testing._store import (
    NumberDecimal,
    Raw,
    Scope,
    Store,
    Stored,
    dumps,
    normalize,
    render,
)
from mijnklantportaal.testing._validate import body_properties, message, validate

__all__ = ["BASE_PATH", "DEFAULT_PER_PAGE", "Reply", "Request", "answer", "error", "match"]

BASE_PATH = "/v1"
DEFAULT_PER_PAGE = 15  # the API's page size when the request names none
MAX_PER_PAGE = 10_000
_JSON = ("Content-Type", "application/json")


@dataclass
class Reply:
    """One answer of the fake, before a transport turns it into bytes or an httpx.Response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency: float = 0.0
    drop: bool = False
    truncate: bool = False  # send half the body; Content-Length still claims all of it


@dataclass(slots=True)
class Request:
    """One request as the operations see it."""

    route: Route
    params: Mapping[str, str]  # path parameters, decoded
    query: str  # as sent
    body: bytes
    origin: str  # scheme://host[:port], for the page URLs ("" when unknown: relative URLs)
    path: str  # as sent (with the base path)
    now: float  # the fake's clock
    money_as: str


def error(status: int, text: str, **extra: Any) -> Reply:
    return Reply(status, [_JSON], json.dumps({"message": text, **extra}).encode())


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


_PARAMETER = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True)
class _Compiled:
    route: Route
    pattern: re.Pattern[str]
    params: tuple[tuple[str, str], ...]  # (spec name, regex group) of each path parameter


_compiled: dict[str, Any] = {"routes": None, "patterns": []}


def _patterns() -> list[_Compiled]:
    """Each route with its path's pattern (compiled again when the table is another one, as
    a test of the fake may swap in the tables generated for another spec)."""
    if _compiled["routes"] is not tables.ROUTES:
        _compiled["patterns"] = [
            _Compiled(
                route,
                _pattern(route.path),
                tuple((name, _group(name)) for name in _PARAMETER.findall(route.path)),
            )
            for route in tables.ROUTES
        ]
        _compiled["routes"] = tables.ROUTES
    patterns: list[_Compiled] = _compiled["patterns"]
    return patterns


def match(path: str) -> list[tuple[Route, dict[str, str]]]:
    """Every route whose path template matches ``path`` (any method), with its parameters
    by their spec names (still percent-encoded)."""
    found = []
    for compiled in _patterns():
        hit = compiled.pattern.match(path)
        if hit is not None:
            found.append((compiled.route, {name: hit[group] for name, group in compiled.params}))
    return found


def answer(store: Store, request: Request) -> Reply:
    """The answer to ``request`` (authenticated, within the rate limit). Runs under the
    fake's lock."""
    route = request.route
    if route.kind == "example" or route.schema is None:
        return _example(route, request.money_as)
    for name, schema in route.parents:
        parent_id = request.params[name]
        if store.get(schema, parent_id) is None:
            return _not_found(schema, parent_id)
    scope = _scope(route, request.params)
    if route.kind == "list":
        return _list(store, request, scope)
    if route.kind == "create":
        return _create(store, request, scope)
    assert route.id_param is not None
    object_id = request.params[route.id_param]
    stored = store.get(route.schema, object_id, scope)
    if stored is None:
        return _not_found(route.schema, object_id)
    if route.kind == "get":
        return Reply(route.status, [_JSON], stored.bodies[request.money_as])
    if route.kind == "delete":
        del store.objects[route.schema][object_id]
        return _object_reply(route, stored, request.money_as)
    body = _checked_body(route, request.body)
    if isinstance(body, Reply):
        return body
    data = copy.deepcopy(stored.data)
    if route.kind == "replace":  # PUT: what its body names is set, or removed when not sent
        named = body_properties(tables.BODIES.get(route.operation_id, {}))
        for key in named & set(tables.FIELDS[route.schema]) - {"id"}:
            data.pop(key, None)
    given = _fields(route.schema, body)
    data.update(given)
    _stamp(route.schema, data, request.now, keys=_updated(route.schema) - set(given))
    return _object_reply(route, store.put(route.schema, data, stored.scope), request.money_as)


# -- the kinds -----------------------------------------------------------------------------------


def _example(route: Route, money_as: str) -> Reply:
    if not route.content:  # a 204, or a 2xx the spec gives no content: nothing to send
        return Reply(route.status, [], b"")
    example = copy.deepcopy(tables.OPERATION_EXAMPLES.get(route.operation_id))
    if isinstance(example, dict) and route.schema is not None:
        normalize(example, route.schema, "example")
    return Reply(route.status, [_JSON], dumps(render(example, money_as)).encode())


def _create(store: Store, request: Request, scope: Scope | None) -> Reply:
    route = request.route
    assert route.schema is not None
    body = _checked_body(route, request.body)
    if isinstance(body, Reply):
        return body
    schema = route.schema
    given = _fields(schema, body)
    sent = body_properties(tables.BODIES.get(route.operation_id, {}))
    data: dict[str, Any] = {}
    example = tables.EXAMPLES.get(schema, {})
    for key in tables.FIELDS[schema]:
        if key == "id":
            data[key] = store.fresh_id(schema)
        elif key in given:
            data[key] = given[key]
        elif key not in sent and key in example and key not in tables.TIMESTAMPS[schema]:
            data[key] = copy.deepcopy(example[key])  # a server field: the spec's example
    normalize(data, schema, "example", strict=False)
    _stamp(schema, data, request.now, keys=set(tables.TIMESTAMPS[schema]) - sent)
    return _object_reply(route, store.put(schema, data, scope), request.money_as)


def _list(store: Store, request: Request, scope: Scope | None) -> Reply:
    """The stored objects of the route's schema that match the query, a page at a time, as
    the API's page object when the spec answers with one."""
    route = request.route
    assert route.schema is not None
    query: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query):
        query.setdefault(name.removesuffix("[]"), []).append(value)
    try:
        page = _positive(query, "page", 1)
        per_page = _positive(query, "per_page", _positive(query, "limit", DEFAULT_PER_PAGE))
    except ValueError as exc:
        return error(422, str(exc))
    active = _active_filters(route, query)
    items = [
        stored
        for stored in store.within(route.schema, scope)
        if not active or _matches(stored.data, route.schema, active)
    ]
    chosen = items[(page - 1) * per_page : page * per_page]
    data = [Raw(stored.bodies[request.money_as]) for stored in chosen]
    if route.page is None:
        return Reply(route.status, [_JSON], dumps(data).encode())
    last = max(1, math.ceil(len(items) / per_page))
    url = request.origin + request.path
    kept = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "page"]

    def page_url(number: int) -> str | None:
        if not 1 <= number <= last:
            return None
        return f"{url}?{urlencode([*kept, ('page', str(number))])}"

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
    return Reply(route.status, [_JSON], dumps(body).encode())


# -- helpers -------------------------------------------------------------------------------------


def _not_found(schema: str, object_id: str) -> Reply:
    return error(404, f"{schema} {object_id} not found.")


def _object_reply(route: Route, stored: Stored, money_as: str) -> Reply:
    if not route.content:
        return Reply(route.status, [], b"")
    return Reply(route.status, [_JSON], stored.bodies[money_as])


def _scope(route: Route, params: Mapping[str, str]) -> Scope | None:
    """The collection's path values: what a created object belongs to."""
    if route.collection is None or "{" not in route.collection:
        return None
    names = _PARAMETER.findall(route.collection)
    return (route.collection, tuple(params[name] for name in names))


def _checked_body(route: Route, raw: bytes) -> dict[str, Any] | Reply:
    """The request's JSON body, checked against the operation's body schema: the body, or
    the API's error answer (400 for JSON it cannot read, 422 for one the spec refuses)."""
    node = tables.BODIES.get(route.operation_id)
    if node is None:  # the spec gives the operation no JSON body (none, or a file upload)
        return {}
    if not raw.strip():
        value: Any = {}
    else:
        try:
            value = json.loads(raw, parse_float=NumberDecimal, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            return error(400, "The request body is not valid JSON.")
    errors = validate(node, value)
    if errors:
        return error(422, message(errors), errors=errors)
    return value if isinstance(value, dict) else {}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _fields(schema: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body's values of the schema's fields (not ``id``: the server gives it), with
    money as Decimals."""
    given = {
        k: copy.deepcopy(v) for k, v in body.items() if k in tables.FIELDS[schema] and k != "id"
    }
    normalize(given, schema, "request", strict=False)
    return given


def _updated(schema: str) -> set[str]:
    """The timestamps an update sets: those named for it (``updatedAt``, ``lastModifiedAt``)."""
    return {k for k in tables.TIMESTAMPS[schema] if re.search("updated|modified", k.lower())}


def _stamp(schema: str, data: dict[str, Any], now: float, keys: set[str]) -> None:
    """Set the timestamps ``keys`` of ``data`` to ``now``, as the API writes them."""
    moment = datetime.datetime.fromtimestamp(now, datetime.UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    for key in tables.TIMESTAMPS[schema]:
        if key in keys:
            data[key] = text


def _positive(query: Mapping[str, list[str]], name: str, default: int) -> int:
    values = query.get(name)
    if not values:
        return default
    value = values[-1]
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_PER_PAGE:
        raise ValueError(f"The {name} must be a whole number from 1 to {MAX_PER_PAGE}.")
    return int(value)


def _active_filters(
    route: Route, query: Mapping[str, list[str]]
) -> list[tuple[str, str, str, list[str]]]:
    """(field, match, field kind, values) of each filter of the route the query uses (a
    blank value is no filter)."""
    active = []
    for param, key, how, kind in route.filters:
        values = [v for v in query.get(param, ()) if v != ""]
        if values:
            active.append((key, how, kind, values))
    return active


def _matches(
    data: Mapping[str, Any], schema: str, active: list[tuple[str, str, str, list[str]]]
) -> bool:
    """Whether a stored object passes every filter the query uses."""
    for key, how, kind, values in active:
        if how == "text":
            needle = values[-1].casefold()
            texts = (data.get(k) for k in tables.TEXT_FIELDS.get(schema, ()))
            if not any(isinstance(t, str) and needle in t.casefold() for t in texts):
                return False
            continue
        field = data.get(key)
        if how == "equals" and not _same(field, values[-1], kind):
            return False
        if how == "in" and not any(_same(field, v, kind) for v in values):
            return False
        held = field if isinstance(field, list) else []
        if how == "contains" and not any(_same(item, values[-1], kind) for item in held):
            return False
        if how == "overlaps" and not any(_same(i, v, kind) for i in held for v in values):
            return False
    return True


def _same(value: Any, text: str, kind: str) -> bool:
    """A stored value and a query value (text) are the same value of the field's kind."""
    if value is None:
        return False
    if kind == "boolean":
        return isinstance(value, bool) and text.lower() in (
            ("true", "1") if value else ("false", "0")
        )
    if kind == "integer":
        return str(value) == text.strip().lstrip("+") or _decimal(text) == value
    if kind == "money":
        return _decimal(text) == _decimal(value)
    return isinstance(value, str) and value == text


def _decimal(value: Any) -> Decimal | None:
    try:
        result = Decimal(str(value).strip())
    except ArithmeticError:
        return None
    return result if result.is_finite() else None
