"""The runtime base of the response models that ``tools/gen_wrapper.py`` generates.

The models themselves (``Invoice``, ``InvoiceLine``, ...) are in ``_generated/models/``, one
module per tag group, written from openapi.yaml with a straight-line ``from_dict`` and a
``_wire`` table each (``to_dict``/``to_wire`` here read the table). This module holds what
they share: the ``Model`` base, the read-only ``ExtraFields`` kept for fields the API sends
that a model does not declare, and the helpers the generated code calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self, TypeVar

from mijnklantportaal import _decode
from mijnklantportaal._decode import DecodeError

__all__ = [
    "ABSENT",
    "EMPTY_EXTRA",
    "ExtraFields",
    "Model",
    "WireTable",
    "decode_field",
    "decode_list",
    "decode_union",
    "jsonable",
    "nullable",
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
        """JSON-safe data in the API's shape: money as strings, timestamps as ISO 8601
        (``extra`` first, then each declared field that is not None; a required nullable
        one as null)."""
        table: WireTable | None = getattr(type(self), "_wire", None)
        if table is None:
            raise NotImplementedError
        result: dict[str, Any] = {key: jsonable(value) for key, value in self.extra.items()}
        for attribute, key, _, required, nullable, _ in table:
            value = getattr(self, attribute)
            if value is not None:
                result[key] = jsonable(value)
            elif required and nullable:
                result[key] = None
        return result

    def to_wire(self) -> dict[str, Any]:
        """The object ``_encode.dumps`` writes for this model in a request body.

        Fields the API sent that the model does not declare (``extra``) first, then each
        declared field under its JSON key. A generated model (it has a ``_wire`` table) sends
        each field in the JSON type the spec gives it, checked by the ``_encode`` encoders
        before anything is sent (``InvalidArgumentError`` naming ``Model.attribute``): money
        of ``type: string`` as the string of its digits (``"12.95"``), of ``type: number`` as
        the ``Decimal``, which ``dumps`` writes as a JSON number from its digits (never a
        float); timestamps as ISO 8601 with their offset (a naive one refused); an enum value
        only if the spec lists it (a field stays ``str``, so a value the server added later
        is readable, but is not sent back); nested models as their own ``to_wire()``. A field
        that is None is left out, except a required nullable one (sent as ``null``).

        A handwritten model with ``_wire_fields`` only: each field that is not None as is (a
        field whose kind is ``"money_string"`` as the string of its digits).
        """
        wire: dict[str, Any] = dict(self.extra)
        table: WireTable | None = getattr(type(self), "_wire", None)
        if table is None:
            for attribute, key, kind in self._wire_fields:
                value = getattr(self, attribute)
                if value is None:
                    continue
                wire[key] = str(value) if kind == "money_string" else value
            return wire
        from mijnklantportaal._encode import wire_value  # _encode imports this module

        name = type(self).__name__
        for attribute, key, how, required, nullable, known in table:
            value = getattr(self, attribute)
            if value is None:
                if required and nullable:
                    wire[key] = None
                continue
            wire[key] = wire_value(how, value, f"{name}.{attribute}", known)
        return wire


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


# -- composed schemas (oneOf/anyOf), nullable fields and string enums ----------------------
#
# String enums need nothing here: a response field of an enum stays a plain ``str``, decoded
# with ``_decode.text``, so a value the server adds later is kept verbatim and readable (the
# known values are in the field's docstring). Request arguments are typed
# ``Literal["open", "paid"]`` and checked with ``_encode.one_of`` before sending.


def nullable(decoder: Callable[[Any], T]) -> Callable[[Any], T | None]:
    """``decoder`` that also takes JSON ``null`` (as None): a ``type: [X, "null"]`` value,
    e.g. the items of an array of nullable values (``decode_list(nullable(text), ...)``)."""

    def decode_nullable(value: object) -> T | None:
        return None if value is None else decoder(value)

    return decode_nullable


def decode_union(
    value: object,
    variants: Sequence[tuple[str, Callable[[Any], T]]],
    *,
    discriminator: str | None = None,
    mapping: Mapping[str, Callable[[Any], T]] | None = None,
) -> T:
    """A ``oneOf``/``anyOf`` value as the variant it is.

    ``variants`` are (name, decoder) in the spec's order; a decoder raises ``DecodeError``
    when the value does not fit (a model's ``from_dict``, or ``_decode.text``/``integer``...).

    - With ``discriminator`` (the property's JSON name) and ``mapping`` (its value -> the
      variant's decoder, the spec's ``discriminator.mapping`` or the schema names), the
      value must be an object whose discriminator is one of the mapping's keys; that
      variant decodes it, and its error, if any, is the error.
    - Without: each variant is tried and the first that decodes wins (``anyOf`` and
      ``oneOf`` alike: a value that fits two ``oneOf`` variants is the server's fault, not
      worth failing the call over). For an object, model variants (a ``Model``'s
      ``from_dict``) are tried by shape: those whose required keys it has first, and among
      them the one declaring most of its keys (so a model whose fields are all optional
      does not take every object); otherwise in the spec's order. When none decodes, the
      ``DecodeError`` lists what each variant said.

    Wrap the call in ``decode_field`` to locate the error (``payment.method``).
    """
    if discriminator is not None and mapping is not None:
        return _decode_discriminated(value, discriminator, mapping)
    reasons = []
    for name, decoder in _by_shape(value, variants) if type(value) is dict else variants:
        try:
            return decoder(value)
        except DecodeError as exc:
            reasons.append(f"as {name}: {exc}")
    raise DecodeError(f"{kind_of(value)} fits none of the variants ({'; '.join(reasons)})")


def _decode_discriminated(
    value: object, discriminator: str, mapping: Mapping[str, Callable[[Any], T]]
) -> T:
    if type(value) is not dict:
        raise DecodeError(f"expected a JSON object with {discriminator!r}, got {kind_of(value)}")
    tag = value.get(discriminator)
    decoder = mapping.get(tag) if type(tag) is str else None
    if decoder is None:
        known = ", ".join(repr(key) for key in mapping)
        shown = "missing" if discriminator not in value else kind_of(tag)
        raise DecodeError(f"is {shown}; expected one of {known}", discriminator)
    return decoder(value)


def _by_shape(
    value: dict[str, Any], variants: Sequence[tuple[str, Callable[[Any], T]]]
) -> list[tuple[str, Callable[[Any], T]]]:
    """``variants`` in the order to try an object with: a model variant lacking one of its
    required keys last, then by how many of the object's keys it declares (most first);
    the spec's order on a tie (the sort is stable)."""
    keys = value.keys()

    def rank(variant: tuple[str, Callable[[Any], T]]) -> tuple[bool, int]:
        model = getattr(variant[1], "__self__", None)  # a bound Model.from_dict
        if not (isinstance(model, type) and issubclass(model, Model)):
            return (False, 0)
        required: frozenset[str] = getattr(model, "_wire_required", frozenset())
        declared: frozenset[str] | None = getattr(model, "_wire_keys", None)
        if declared is None:
            declared = frozenset(key for _, key, _ in getattr(model, "_wire_fields", ()))
        return (not required <= keys, -len(declared & keys))

    return sorted(variants, key=rank)
