"""The wrapper's value objects: frozen, slotted, typed, exact.

Each wire field is declared once, as ``wire("jsonName", decoder)``; decoding, ``to_dict``
and the field-coverage test all read that declaration. Fields the API sends that the
model does not declare are kept in ``extra`` (decoded, money-safe), never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Self, TypeVar

import attrs

from mijnklantportaal import _decode
from mijnklantportaal._decode import DecodeError

__all__ = ["ExtraFields", "Invoice", "InvoiceLine", "Model"]

_WIRE = "mijnklantportaal.wire"


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


_EMPTY = ExtraFields()


def wire(name: str, decoder: Callable[[object], Any]) -> Any:
    """Declare a model field read from JSON key ``name`` with ``decoder``; absent or null is None."""
    return attrs.field(default=None, metadata={_WIRE: (name, decoder)})


def _extra_field() -> Any:
    # Not hashed: the values are arbitrary JSON. Not in repr: it would drown the known fields.
    return attrs.field(default=_EMPTY, kw_only=True, repr=False, eq=True, hash=False)


class Model:
    """Base of the response models: decoding from and encoding to the API's JSON shape."""

    __slots__ = ()
    # (attribute, JSON key, decoder) for each declared wire field, filled in by @model.
    _wire_fields: ClassVar[tuple[tuple[str, str, Callable[[object], Any]], ...]]
    _wire_keys: ClassVar[frozenset[str]]
    extra: Mapping[str, Any]

    @classmethod
    def from_dict(cls, data: object) -> Self:
        """Build from decoded JSON (as ``mijnklantportaal``'s decoder produces it).

        Raises ``DecodeError`` naming the field when a value does not fit.
        """
        if type(data) is not dict:
            raise DecodeError(
                f"expected a JSON object for {cls.__name__}, got {_decode._kind(data)}"
            )
        values: dict[str, Any] = {}
        for attribute, key, decoder in cls._wire_fields:
            raw = data.get(key)
            if raw is not None:
                try:
                    values[attribute] = decoder(raw)
                except DecodeError as exc:
                    raise exc.at(key) from None
        if len(data) > len(values) and not cls._wire_keys.issuperset(data):
            values["extra"] = ExtraFields(
                {k: v for k, v in data.items() if k not in cls._wire_keys}
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data in the API's shape: money as strings, timestamps as ISO 8601."""
        result: dict[str, Any] = {key: _jsonable(value) for key, value in self.extra.items()}
        for attribute, key, _ in self._wire_fields:
            value = getattr(self, attribute)
            if value is not None:
                result[key] = _jsonable(value)
        return result


def _jsonable(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Model):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


M = TypeVar("M", bound=Model)


def model(cls: type[M]) -> type[M]:
    """Make ``cls`` a frozen slotted attrs class and index its wire fields."""
    built = attrs.frozen(cls)
    fields = tuple(
        (field.name, *field.metadata[_WIRE])
        for field in attrs.fields(built)  # type: ignore[arg-type]
        if _WIRE in field.metadata
    )
    built._wire_fields = fields
    built._wire_keys = frozenset(key for _, key, _ in fields)
    fast = _compile_from_dict(built)
    if fast is not None:
        built.from_dict = classmethod(fast)  # type: ignore[assignment,method-assign]
    return built


class _Fallback(Exception):
    """Raised inside a compiled ``from_dict`` to hand the body to the checked one."""


def _compile_from_dict(cls: type[M]) -> Callable[..., Any] | None:
    """A ``from_dict`` for ``cls`` with no per-field loop, dict or keyword call: ~2x faster.

    It does exactly what ``Model.from_dict`` does on a body that fits; on anything else it
    hands over to ``Model.from_dict``, which raises the ``DecodeError`` naming the field.
    Instances are filled through the slots, as attrs' own ``__init__`` does, so it applies
    only to plain fields (no validator, converter or ``__attrs_post_init__``). A list
    builder with the same code inline is kept as ``cls._from_wire_list`` for ``list_of``.
    """
    fields = attrs.fields(cls)  # type: ignore[arg-type]
    names = [field.name for field in fields]
    if (
        "extra" not in names
        or hasattr(cls, "__attrs_post_init__")
        or any(field.validator or field.converter for field in fields)
        or any(_WIRE not in field.metadata for field in fields if field.name != "extra")
    ):
        return None
    namespace: dict[str, Any] = {
        "DecodeError": DecodeError,
        "_Fallback": _Fallback,
        "ExtraFields": ExtraFields,
        "_EMPTY": _EMPTY,
        "_new": object.__new__,
        "_checked": Model.from_dict.__func__,  # type: ignore[attr-defined]
        "_cls": cls,
        "_keys": cls._wire_keys,
        "_str": str,
        "_bool": bool,
        "_int": int,
        "_Decimal": Decimal,
        "_MAX_EXP": _decode._MAX_EXPONENT,
        "_SMALL": _decode._SMALL_INT_DECIMALS,
        "s_extra": cls.__dict__["extra"].__set__,
    }
    wire_fields = cls._wire_fields
    # One instance from the dict ``data`` into ``self``; raises on anything unusual.
    body = [
        "if type(data) is not dict:",
        "    raise _Fallback",
        "get = data.get",
    ]
    for index, (attribute, key, decoder) in enumerate(wire_fields):
        v = f"v{index}"
        namespace[f"d{index}"] = decoder
        namespace[f"s{index}"] = cls.__dict__[attribute].__set__
        body.append(f"{v} = get({key!r})")
        # The common case of each decoder inline; anything else goes through the decoder.
        if decoder is _decode.text:
            body += [f"if type({v}) is not _str and {v} is not None:", "    raise _Fallback"]
        elif decoder is _decode.boolean:
            body += [f"if type({v}) is not _bool and {v} is not None:", "    raise _Fallback"]
        elif decoder is _decode.integer:
            body += [f"if type({v}) is not _int and {v} is not None:", f"    {v} = d{index}({v})"]
        elif decoder is _decode.money:
            body += [
                f"if (type({v}) is _Decimal and {v}.is_finite()"
                f" and -_MAX_EXP <= {v}.adjusted() <= _MAX_EXP) or {v} is None:",
                "    pass",
                f"elif type({v}) is _int and 0 <= {v} < {len(_decode._SMALL_INT_DECIMALS)}:",
                f"    {v} = _SMALL[{v}]",
                "else:",
                f"    {v} = d{index}({v})",
            ]
        else:
            body += [f"if {v} is not None:", f"    {v} = d{index}({v})"]
    body.append("self = _new(_cls)")
    body += [f"s{index}(self, v{index})" for index in range(len(wire_fields))]
    all_present = " and ".join(f"v{index} is not None" for index in range(len(wire_fields)))
    body += [
        f"if (len(data) == {len(wire_fields)} and {all_present}) or _keys.issuperset(data):",
        "    s_extra(self, _EMPTY)",
        "else:",
        "    s_extra(self, ExtraFields({k: v for k, v in data.items() if k not in _keys}))",
    ]

    def indented(spaces: int) -> list[str]:
        return [" " * spaces + line for line in body]

    lines = [
        "def build(data):",
        "    try:",
        *indented(8),
        "    except (DecodeError, _Fallback):",
        "        return _checked(_cls, data)",
        "    return self",
        "",
        "def build_list(values):",
        "    out = []",
        "    append = out.append",
        "    try:",
        "        for data in values:",
        *indented(12),
        "            append(self)",
        "    except (DecodeError, _Fallback):",
        "        return None",
        "    return tuple(out)",
        "",
        "def from_dict(cls, data):",
        "    if cls is not _cls:",
        "        return _checked(cls, data)",
        "    return build(data)",
    ]
    source = "\n".join(lines)
    exec(compile(source, f"<compiled from_dict of {cls.__qualname__}>", "exec"), namespace)
    cls._from_wire_list = staticmethod(namespace["build_list"])  # type: ignore[attr-defined]
    fast: Callable[..., Any] = namespace["from_dict"]
    fast.__doc__ = Model.from_dict.__doc__
    fast.__qualname__ = f"{cls.__qualname__}.from_dict"
    return fast


def list_of(item: type[M]) -> Callable[[object], tuple[M, ...]]:
    def decode(value: object) -> tuple[M, ...]:
        if type(value) is not list:
            raise DecodeError(f"expected a list, got {_decode._kind(value)}")
        fast = getattr(item, "_from_wire_list", None)
        if fast is not None:
            decoded: tuple[M, ...] | None = fast(value)
            if decoded is not None:
                return decoded
        items = []  # the checked way, element by element, naming the one that fails
        for index, element in enumerate(value):
            try:
                items.append(item.from_dict(element))
            except DecodeError as exc:
                raise exc.at(f"[{index}]") from None
        return tuple(items)

    return decode


@model
class InvoiceLine(Model):
    """One line of an invoice; money and the VAT rate are exact ``Decimal``s."""

    id: str | None = wire("id", _decode.text)
    description: str | None = wire("description", _decode.text)
    quantity: int | None = wire("quantity", _decode.integer)
    currency: str | None = wire("currency", _decode.text)
    amount_excl_vat: Decimal | None = wire("amountExclVat", _decode.money)
    vat_rate: Decimal | None = wire("vatRate", _decode.money)
    """A percentage: ``Decimal("21")`` means 21 %."""
    vat_amount: Decimal | None = wire("vatAmount", _decode.money)
    amount_incl_vat: Decimal | None = wire("amountInclVat", _decode.money)
    extra: Mapping[str, Any] = _extra_field()
    """Fields the API sent that this version does not know, as decoded JSON."""


@model
class Invoice(Model):
    """A MijnKlantportaal invoice (id ``fac_...``)."""

    id: str | None = wire("id", _decode.text)
    invoice_number: str | None = wire("invoiceNumber", _decode.text)
    lines: tuple[InvoiceLine, ...] | None = wire("lines", list_of(InvoiceLine))
    currency: str | None = wire("currency", _decode.text)
    subtotal_amount: Decimal | None = wire("subtotalAmount", _decode.money)
    vat_amount: Decimal | None = wire("vatAmount", _decode.money)
    total_amount: Decimal | None = wire("totalAmount", _decode.money)
    issued_at: datetime | None = wire("issuedAt", _decode.timestamp)
    is_paid: bool | None = wire("isPaid", _decode.boolean)
    extra: Mapping[str, Any] = _extra_field()
    """Fields the API sent that this version does not know, as decoded JSON."""
