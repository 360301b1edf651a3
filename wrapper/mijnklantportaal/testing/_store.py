"""The fake's stored objects: one store per schema of the spec, each object in the API's JSON
shape (the spec's keys) with its money as ``Decimal``, and its answer rendered once per way
of sending money (``number``/``string``) whenever it changes.

An object created under a collection with path parameters (``/tickets/{ticketId}/replies``)
belongs to those values: another ticket's path does not reach it. One seeded with
``fake.add`` belongs to every path.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from mijnklantportaal._generated import examples as tables

__all__ = ["MONEY_MODES", "Scope", "Store", "Stored", "dumps", "normalize", "words"]

MONEY_MODES = ("number", "string")
MAX_EXPONENT = 100  # beyond it a "number" is not an amount (and would render as huge text)

Scope = tuple[str, tuple[str, ...]]
"""(collection path template, the values of its path parameters)."""


@dataclass
class Stored:
    data: dict[str, Any]
    scope: Scope | None = None
    bodies: dict[str, bytes] = field(default_factory=dict)

    def render(self) -> None:
        self.bodies = {mode: dumps(render(self.data, mode)).encode() for mode in MONEY_MODES}


class Store:
    """Every stored object, by schema and id. Not locked: the fake holds its lock."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Stored]] = {schema: {} for schema in tables.FIELDS}

    def fresh_id(self, schema: str) -> str:
        held = self.objects[schema]
        while True:
            object_id = tables.ID_PREFIX.get(schema, "") + secrets.token_hex(7)
            if object_id not in held:
                return object_id

    def put(self, schema: str, data: dict[str, Any], scope: Scope | None = None) -> Stored:
        """Store ``data`` (normalized, with its ``id``) under its id, replacing any."""
        stored = Stored(data, scope)
        stored.render()
        self.objects[schema][str(data["id"])] = stored
        return stored

    def get(self, schema: str, object_id: str, scope: Scope | None = None) -> Stored | None:
        stored = self.objects[schema].get(object_id)
        return stored if stored is not None and _reaches(stored, scope) else None

    def within(self, schema: str, scope: Scope | None = None) -> Iterator[Stored]:
        held = self.objects[schema].values()
        return iter(held) if scope is None else (s for s in held if _reaches(s, scope))


def _reaches(stored: Stored, scope: Scope | None) -> bool:
    """An object is reached from a path unless it was created under the same collection
    with other path values."""
    return (
        scope is None
        or stored.scope is None
        or stored.scope[0] != scope[0]
        or stored.scope == scope
    )


def words(schema: str) -> str:
    """``InvoiceLine`` -> ``invoice line``, for messages."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", schema).lower()


# -- money ------------------------------------------------------------------------------------


class NumberDecimal(Decimal):
    """A ``type: number`` field's value: sent as a JSON number whatever ``money_as`` says."""

    __slots__ = ()


def normalize(obj: dict[str, Any], schema: str, where: str, *, strict: bool = True) -> None:
    """Money of ``schema`` (and of the objects nested in it) as Decimals, in place.

    ``strict`` (objects a test adds): a money value that is not a number is refused with
    ``ValueError``. Otherwise (a request the spec allowed: a ``type: string`` amount may be
    any text) such a value is kept as it came."""
    for key, json_type in tables.MONEY_FIELDS.get(schema, {}).items():
        if key in obj and obj[key] is not None:
            try:
                amount = to_decimal(obj[key], f"{where} {key}")
            except ValueError:
                if strict:
                    raise
                continue
            obj[key] = NumberDecimal(amount) if json_type == "number" else amount
    for key, inner in tables.NESTED.get(schema, {}).items():
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, dict):
            normalize(value, inner, f"{where} {key}", strict=strict)
            continue
        if not isinstance(value, list | tuple):
            if strict:
                raise ValueError(f"{where} {key!r} must be a list of {words(inner)} objects")
            continue
        obj[key] = list(value)
        for n, item in enumerate(obj[key]):
            if isinstance(item, dict):
                normalize(item, inner, f"{words(inner)} {n}", strict=strict)
            elif strict:
                raise ValueError(f"{where} {key!r}: {words(inner)} {n} must be an object")


def to_decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise ValueError(f"{where}: money must be a number or a numeric string, got {value!r}")
    if isinstance(value, float):
        value = repr(value)  # the shortest repr: 12.95 stays 12.95
    try:
        result = Decimal(value) if isinstance(value, str | int | Decimal) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite() or abs(result.adjusted()) > MAX_EXPONENT:
        raise ValueError(f"{where}: money must be a number or a numeric string, got {value!r}")
    return result


def copied(data: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(data))


# -- JSON out -----------------------------------------------------------------------------------


def render(value: Any, money_as: str) -> Any:
    if isinstance(value, NumberDecimal):
        return Number(format(value, "f"))
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if money_as == "string" else Number(text)
    if isinstance(value, dict):
        return {k: render(v, money_as) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, money_as) for v in value]
    return value


class Number(str):
    """A decimal written into JSON as a bare number, digit for digit."""


class Raw(bytes):
    """JSON already encoded (a stored object's body), written into a list or page as is."""


def dumps(value: Any) -> str:
    return "".join(_encode(value))


def _encode(value: Any) -> Iterator[str]:
    if isinstance(value, Number):
        yield str.__str__(value)
    elif isinstance(value, Raw):
        yield value.decode()
    elif isinstance(value, Decimal):  # a request's number kept as given
        yield format(value, "f") if value.is_finite() else json.dumps(str(value))
    elif isinstance(value, dict):
        yield "{"
        for n, (k, v) in enumerate(value.items()):
            if n:
                yield ","
            yield json.dumps(str(k))
            yield ":"
            yield from _encode(v)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for n, v in enumerate(value):
            if n:
                yield ","
            yield from _encode(v)
        yield "]"
    else:
        yield json.dumps(value)
