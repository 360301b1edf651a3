"""The runtime base of the response models that ``tools/gen_wrapper.py`` generates.

The models themselves (``Invoice``, ``InvoiceLine``, ...) are in ``_generated/models.py``,
written from openapi.yaml with a straight-line ``from_dict``/``to_dict`` each. This module
holds what they share: the ``Model`` base, the read-only ``ExtraFields`` kept for fields the
API sends that a model does not declare, and the helpers the generated code calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self, TypeVar

from mijnklantportaal import _decode
from mijnklantportaal._decode import DecodeError
from mijnklantportaal._exceptions import InvalidArgumentError

__all__ = [
    "ABSENT",
    "EMPTY_EXTRA",
    "ExtraFields",
    "Model",
    "UnionDecoder",
    "WireTable",
    "decode_field",
    "decode_items",
    "decode_list",
    "jsonable",
]

T = TypeVar("T")

# Past this exponent a Decimal is refused (``_decode.money``); the generated code checks the
# common case inline and hands anything else to the decoder.
MAX_EXPONENT = _decode._MAX_EXPONENT
# Whole amounts and VAT rates (21, 9, 0) come as JSON integers on every line: one shared
# immutable Decimal each, as ``_decode.money`` gives them.
SMALL_DECIMALS = _decode._SMALL_INT_DECIMALS
SMALL_DECIMALS_END = len(SMALL_DECIMALS)
kind_of = _decode._kind


class ExtraFields(dict[str, Any]):
    """A read-only dict of the fields a model does not declare (picklable, unlike a proxy)."""

    __slots__ = ()

    def __init__(self, fields: Mapping[str, Any] | None = None) -> None:
        super().__init__(fields or {})
        _decode.check_depth(self)  # arbitrary JSON: bound its depth (DecodeError names the key)

    def _read_only(self, *args: object, **kwargs: object) -> Any:
        raise TypeError("extra fields are read-only; build a new model instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __reduce__(self) -> tuple[Any, ...]:
        return (ExtraFields, (dict(self),))


EMPTY_EXTRA = ExtraFields()


WireTable = tuple[tuple[str, str, str, bool, bool, tuple[Any, ...]], ...]
"""A model's fields: (attribute, JSON key, how it is sent, required, nullable, known values).
``how``: ``text``, ``integer``, ``boolean``, ``money:string``, ``money:number``, ``timestamp``,
``model``, ``models``, ``union``, ``json``, or ``list:<how>`` for an array of scalars."""


class _Absent:
    """A required key the object lacks (where ``None`` is a value: a nullable field)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


class Model:
    """Base of the generated response models: decoding from and encoding to the API's JSON."""

    __slots__ = ()
    # The generated table: (attribute, JSON key, how it is sent, required, nullable, known
    # values) of each field the spec declares, in the spec's order.
    _wire: ClassVar[WireTable]
    # Derived from it (``__init_subclass__``): (attribute, JSON key, kind) of each field, the
    # JSON keys, and the keys the spec requires.
    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]]
    _wire_keys: ClassVar[frozenset[str]]
    _wire_required: ClassVar[frozenset[str]]
    extra: Mapping[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: WireTable | None = cls.__dict__.get("_wire")
        if table is not None:
            cls._wire_fields = tuple((row[0], row[1], row[2].split(":", 1)[0]) for row in table)
            cls._wire_keys = frozenset(row[1] for row in table)
            cls._wire_required = frozenset(row[1] for row in table if row[3])

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Build from decoded JSON (as ``mijnklantportaal``'s decoder produces it).

        Raises ``DecodeError`` naming the field when a value does not fit.
        """
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data in the API's shape: money as strings, timestamps as ISO 8601."""
        raise NotImplementedError

    def to_wire(self) -> dict[str, Any]:
        """This object as a request body sends it: the spec's keys; money in the JSON type the
        spec gives it (``type: string`` -> ``"12.95"``; ``type: number`` -> the ``Decimal``
        itself, which the request encoder writes as a JSON number from its digits, never
        through a float); timestamps as ISO 8601 with their offset; nested models encoded the
        same way. A field that is ``None`` is left out, except a required nullable one (sent
        as ``null``); ``extra`` is not sent. A value the spec cannot take (an enum value it
        does not list, a float or naive datetime) raises ``InvalidArgumentError``: nothing is
        sent."""
        name = type(self).__name__
        result: dict[str, Any] = {}
        for attribute, key, how, required, nullable, known in self._wire:
            value = getattr(self, attribute)
            if value is None:
                if required and nullable:
                    result[key] = None
                continue
            result[key] = encode_wire(how, value, f"{name}.{attribute}", known)
        return result


new_instance = object.__new__


def slot_setter(cls: type[Model], attribute: str) -> Callable[[Any, Any], None]:
    """The slot's own setter of ``cls.attribute``, which the generated ``from_dict`` uses to
    fill a new (frozen) instance: what attrs' ``__init__`` does, without the by-name lookup."""
    setter: Callable[[Any, Any], None] = cls.__dict__[attribute].__set__
    return setter


def decode_field(decoder: Callable[[Any], T], value: object, key: str) -> T:
    """``decoder(value)``, with a ``DecodeError`` located at ``key``."""
    try:
        return decoder(value)
    except DecodeError as exc:
        raise exc.at(key) from None


def decode_list(from_dict: Callable[[Any], T], values: object, key: str | None) -> tuple[T, ...]:
    """A JSON list of objects as a tuple of models; an error names the element (``lines[2].x``)."""
    if type(values) is not list:
        raise DecodeError(f"expected a list, got {kind_of(values)}", key)
    try:
        return tuple([from_dict(item) for item in values])
    except DecodeError:
        pass  # decode again, element by element, to name the one that does not fit
    items = []
    for index, item in enumerate(values):
        try:
            items.append(from_dict(item))
        except DecodeError as exc:
            located = exc.at(f"[{index}]")
            raise (located if key is None else located.at(key)) from None
    return tuple(items)


def jsonable(value: object) -> Any:
    """Decoded JSON (``extra``, or an untyped field) made JSON-safe: Decimals as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    return value


def decode_items(decoder: Callable[[Any], T], values: object, key: str) -> tuple[T, ...]:
    """A JSON list of scalars (or of a union) as a tuple; an error names the item
    (``tags[2]``)."""
    if type(values) is not list:
        raise DecodeError(f"expected a list, got {kind_of(values)}", key)
    items = []
    for index, item in enumerate(values):
        try:
            items.append(decoder(item))
        except DecodeError as exc:
            raise exc.at(f"[{index}]").at(key) from None
    return tuple(items)


class UnionDecoder:
    """Decodes a ``oneOf``/``anyOf`` of models: the variant the discriminator names, else the
    one the object's shape fits.

    By discriminator: ``data[discriminator]`` looked up in ``mapping`` (the spec's mapping,
    plus each model's own schema name). A value the mapping does not know (the API added a
    variant) is chosen by shape, like a union without a discriminator: among the variants
    whose required keys the object has, the one declaring most of its keys first (spec
    order on a tie), the first that decodes. None fits: a ``DecodeError`` naming them."""

    __slots__ = ("discriminator", "mapping", "name", "variants")

    def __init__(
        self,
        name: str,
        variants: tuple[type[Model], ...],
        *,
        discriminator: str | None = None,
        mapping: Mapping[str, type[Model]] | None = None,
    ) -> None:
        self.name = name
        self.variants = variants
        self.discriminator = discriminator
        self.mapping = dict(mapping or {})

    def __call__(self, data: object) -> Any:
        if type(data) is not dict:
            raise DecodeError(f"expected a JSON object ({self.name}), got {kind_of(data)}")
        if self.discriminator is not None:
            tag = data.get(self.discriminator)
            chosen = self.mapping.get(tag) if type(tag) is str else None
            if chosen is not None:
                return chosen.from_dict(data)
        keys = data.keys()
        fitting = [v for v in self.variants if v._wire_required <= keys]
        fitting.sort(key=lambda v: -len(v._wire_keys & keys))
        first: tuple[str, DecodeError] | None = None
        for variant in fitting:
            try:
                return variant.from_dict(data)
            except DecodeError as exc:
                first = first or (variant.__name__, exc)
        names = ", ".join(v.__name__ for v in self.variants)
        if first is not None:
            raise DecodeError(f"fits none of {names} (as {first[0]}: {first[1]})")
        how = (
            f"{self.discriminator!r} is {_shown(data.get(self.discriminator))}; "
            if (self.discriminator is not None)
            else ""
        )
        raise DecodeError(f"fits none of {names} ({how}required keys missing)")


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def encode_wire(how: str, value: Any, where: str, known: tuple[Any, ...] = ()) -> Any:
    """One field's value as ``Model.to_wire`` sends it (``how`` from the model's table)."""
    if known and value not in known:
        values = ", ".join(repr(v) for v in known)
        raise InvalidArgumentError(
            f"{where} must be one of {values}, not {_shown(value)}; nothing was sent"
        )
    if how.startswith("list:"):
        if not isinstance(value, list | tuple):
            raise InvalidArgumentError(f"{where} must be a tuple or list, not {_shown(value)}")
        return [encode_wire(how[5:], item, f"{where}[{n}]") for n, item in enumerate(value)]
    if how.startswith("money:"):
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise InvalidArgumentError(
                f"{where} must be a Decimal (money never goes through a float), not "
                f"{_shown(value)}; nothing was sent"
            )
        amount = Decimal(value)
        if not amount.is_finite():
            raise InvalidArgumentError(f"{where} must be a finite amount, not {amount}")
        return format(amount, "f") if how == "money:string" else amount
    if how == "timestamp":
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise InvalidArgumentError(
                f"{where} must be a datetime with a timezone, not {_shown(value)}; nothing was sent"
            )
        return value.isoformat()
    if how in ("model", "models", "union"):
        if how == "models":
            return [encode_wire("model", item, f"{where}[{n}]") for n, item in enumerate(value)]
        if not isinstance(value, Model):
            raise InvalidArgumentError(f"{where} must be a model, not {_shown(value)}")
        return value.to_wire()
    expected = _PLAIN.get(how)
    if expected is not None and (
        not isinstance(value, expected) or (how == "integer" and isinstance(value, bool))
    ):
        raise InvalidArgumentError(
            f"{where} must be {_PLAIN_NAMES[how]}, not {_shown(value)}; nothing was sent"
        )
    return value


_PLAIN: dict[str, type] = {"text": str, "integer": int, "boolean": bool}
_PLAIN_NAMES = {"text": "a str", "integer": "a whole number (int)", "boolean": "True or False"}
