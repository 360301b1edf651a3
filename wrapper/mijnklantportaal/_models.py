"""The runtime base of the response models that ``tools/gen_wrapper.py`` generates.

The models themselves (``Invoice``, ``InvoiceLine``, ...) are in ``_generated/models.py``,
written from openapi.yaml with a straight-line ``from_dict``/``to_dict`` each. This module
holds what they share: the ``Model`` base, the read-only ``ExtraFields`` kept for fields the
API sends that a model does not declare, and the helpers the generated code calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self, TypeVar

from mijnklantportaal import _decode
from mijnklantportaal._decode import DecodeError

__all__ = [
    "EMPTY_EXTRA",
    "ExtraFields",
    "Model",
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


class Model:
    """Base of the generated response models: decoding from and encoding to the API's JSON."""

    __slots__ = ()
    # (attribute, JSON key, kind) of each field the spec declares, in the spec's order.
    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]]
    _wire_keys: ClassVar[frozenset[str]]
    extra: Mapping[str, Any]

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
        """The object ``_encode.dumps`` writes for this model in a request body.

        Each declared field that is not None under its JSON key (fields the API sent that
        the model does not declare, ``extra``, first). Values stay Python values, so a
        ``Decimal`` goes out as a JSON number from its digits, a ``datetime`` as ISO 8601
        and a nested model as its own ``to_wire()``; a field whose kind is
        ``"money_string"`` (a ``type: string`` amount) goes out as the string of its digits.
        A generated model may override this with a straight-line version.
        """
        wire: dict[str, Any] = dict(self.extra)
        for attribute, key, kind in self._wire_fields:
            value = getattr(self, attribute)
            if value is None:
                continue
            wire[key] = str(value) if kind == "money_string" else value
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
    - Without: each variant is tried in order and the first that decodes wins (``anyOf``
      and ``oneOf`` alike: a value that fits two ``oneOf`` variants is the server's fault,
      not worth failing the call over). When none does, the ``DecodeError`` lists what
      each variant said.

    Wrap the call in ``decode_field`` to locate the error (``payment.method``).
    """
    if discriminator is not None and mapping is not None:
        return _decode_discriminated(value, discriminator, mapping)
    reasons = []
    for name, decoder in variants:
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
