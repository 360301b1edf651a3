"""Keyword arguments to the exact JSON bytes of a request body, checked before anything is sent.

The generated write methods call this module in two steps:

1. Each argument goes through its field's *encoder*, ``encoder(value, argument) -> wire
   value``, which checks the type the spec gives it and raises ``InvalidArgumentError``
   naming the argument (``amount``, ``lines[2].amount``) when it does not fit.
2. ``json_body`` (or ``encode_fields`` then ``dumps``) builds the body object under the
   spec's JSON keys, leaving out every optional argument the caller did not give
   (``NOT_GIVEN``; an explicit ``None`` is sent as ``null``), and writes it as compact
   UTF-8 JSON.

No value passes through a float: a ``Decimal`` is written from its own digits, as a JSON
number (``money_number``) or as a string (``money_string``), so ``Decimal("12.950")`` goes
out as ``12.950``/``"12.950"`` and ``Decimal("1E+2")`` as ``1E+2`` (a valid JSON number:
the digits the caller gave are kept, never normalised). A float is refused with a message
saying to pass a ``Decimal``.

A generated method looks like this::

    def create(
        self,
        *,
        amount: Decimal | int | str,
        description: str | NotGiven = NOT_GIVEN,
        expires_at: datetime | None | NotGiven = NOT_GIVEN,
        status: Literal["open", "paid"] | NotGiven = NOT_GIVEN,
    ) -> PaymentLink:
        body = _encode.json_body(
            ("amount", amount, "amount", _encode.money_string),
            ("description", description, "description", _encode.text),
            ("expiresAt", expires_at, "expires_at", _encode.nullable(_encode.timestamp)),
            ("status", status, "status", _encode.one_of("open", "paid")),
            required=("amount",),
        )
        ...  # the transport sends ``body`` with Content-Type: application/json

Encoders with a parameter (``one_of``, ``nested``, ``list_of``, ``nullable``) are built once
at import time in generated code (a module-level constant) or inline; both are cheap.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal, TypeVar

from mijnklantportaal._constants import MAX_JSON_DEPTH
from mijnklantportaal._decode import _DECIMAL_TEXT, _MAX_EXPONENT
from mijnklantportaal._exceptions import InvalidArgumentError
from mijnklantportaal._models import Model

__all__ = [
    "NOT_GIVEN",
    "Encoder",
    "NotGiven",
    "boolean",
    "day",
    "dumps",
    "encode_fields",
    "integer",
    "json_body",
    "list_of",
    "money_number",
    "money_string",
    "nested",
    "nullable",
    "one_of",
    "text",
    "timestamp",
]

T = TypeVar("T")

#: ``encoder(value, argument)``: the wire value of an argument, or ``InvalidArgumentError``.
Encoder = Callable[[Any, str], Any]


class NotGiven:
    """The type of ``NOT_GIVEN``: "the caller did not pass this argument".

    Distinct from ``None``, which a nullable property sends as JSON ``null``. There is one
    instance; it is falsy, its repr is ``NOT_GIVEN`` and it pickles to itself, so a
    signature reads ``description: str | NotGiven = NOT_GIVEN``.
    """

    __slots__ = ()
    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"  # pickle: the module-level name, so the same instance comes back

    def __copy__(self) -> NotGiven:
        return self

    def __deepcopy__(self, memo: object) -> NotGiven:
        return self


NOT_GIVEN: Final = NotGiven()


# -- the body ---------------------------------------------------------------------------

#: One body property: (JSON key, the argument's value, the argument's name, its encoder).
BodyField = tuple[str, object, str, Encoder]


def encode_fields(*fields: BodyField, required: Collection[str] = ()) -> dict[str, Any]:
    """The body object: each given argument's wire value under its JSON key, in order.

    An argument whose value is ``NOT_GIVEN`` is left out, unless its name is in
    ``required`` (then it is refused: a required property cannot be left out).
    """
    body: dict[str, Any] = {}
    for key, value, argument, encoder in fields:
        if value is NOT_GIVEN:
            if argument in required:
                raise InvalidArgumentError(
                    f"{argument} is required; pass a value for it; nothing was sent"
                )
            continue
        body[key] = encoder(value, argument)
    return body


def json_body(*fields: BodyField, required: Collection[str] = ()) -> bytes:
    """``dumps(encode_fields(*fields, required=required))``: the request's JSON bytes."""
    return dumps(encode_fields(*fields, required=required))


# -- JSON writing -----------------------------------------------------------------------

_encode_string: Callable[[str], str] = json.encoder.encode_basestring


def dumps(value: object, *, where: str = "the request body") -> bytes:
    """``value`` as compact UTF-8 JSON, exactly.

    - ``Decimal``: a JSON number written from its digits (``12.950``, ``-0.00``, ``1E+2``);
      NaN, Infinity and exponents beyond +-10000 are refused.
    - aware ``datetime``: an ISO 8601 string with its offset; a naive one is refused.
    - ``date``: ``"2025-04-12"``.
    - a ``Model``: its ``to_wire()`` object.
    - ``Mapping`` (a dict or TypedDict; keys must be ``str``), ``list``/``tuple``: recursively.
    - ``str``, ``int``, ``bool``, ``None``: as JSON. A ``float`` is refused (pass a Decimal).

    Nesting deeper than ``MAX_JSON_DEPTH`` (such as a dict that contains itself) is refused.
    Every refusal is an ``InvalidArgumentError`` naming the place (``lines[2].amount``).
    """
    parts: list[str] = []
    _write(value, parts, "", 0, where)
    return "".join(parts).encode("utf-8")


def _write(value: object, parts: list[str], path: str, depth: int, where: str) -> None:
    kind = type(value)
    if kind is str:
        parts.append(_string(value, path, where))  # type: ignore[arg-type]
    elif value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif kind is int:
        parts.append(_int_text(value, path, where))  # type: ignore[arg-type]
    elif kind is Decimal:
        parts.append(_decimal_text(value, path or "value", where))  # type: ignore[arg-type]
    elif isinstance(value, Mapping | list | tuple | Model):
        if depth >= MAX_JSON_DEPTH:
            raise _refuse(
                path,
                where,
                f"nests more than {MAX_JSON_DEPTH} levels of objects and lists "
                "(does it contain itself?)",
            )
        if isinstance(value, Model):
            value = value.to_wire()
        if isinstance(value, Mapping):
            _write_object(value, parts, path, depth + 1, where)
        else:
            _write_array(value, parts, path, depth + 1, where)
    else:
        _write_other(value, parts, path, where)


def _write_object(
    value: Mapping[Any, Any], parts: list[str], path: str, depth: int, where: str
) -> None:
    parts.append("{")
    first = True
    for key, item in value.items():
        if type(key) is not str:
            raise _refuse(path, where, f"has the key {key!r}; JSON object keys must be str")
        if not first:
            parts.append(",")
        first = False
        parts.append(_string(key, path, where))
        parts.append(":")
        _write(item, parts, f"{path}.{key}" if path else key, depth, where)
    parts.append("}")


def _write_array(value: Sequence[Any], parts: list[str], path: str, depth: int, where: str) -> None:
    parts.append("[")
    for index, item in enumerate(value):
        if index:
            parts.append(",")
        _write(item, parts, f"{path}[{index}]", depth, where)
    parts.append("]")


def _write_other(value: object, parts: list[str], path: str, where: str) -> None:
    """The rarer kinds: subclasses of str/int (e.g. a str enum), timestamps, dates, floats."""
    if isinstance(value, bool):
        parts.append("true" if value else "false")
    elif isinstance(value, str):
        parts.append(_string(str.__str__(value), path, where))
    elif isinstance(value, int):
        parts.append(_int_text(int(value), path, where))
    elif isinstance(value, Decimal):
        parts.append(_decimal_text(value, path or "value", where))
    elif isinstance(value, datetime):
        parts.append(_encode_string(_iso_timestamp(value, path or "value")))
    elif isinstance(value, date):
        parts.append(_encode_string(value.isoformat()))
    elif isinstance(value, float):
        raise _refuse(
            path,
            where,
            f"is the float {value!r}, which cannot carry an exact amount; "
            f'pass a Decimal such as Decimal("12.95") (or an int)',
        )
    else:
        raise _refuse(path, where, f"is a {type(value).__name__}, which has no JSON form here")


def _string(value: str, path: str, where: str) -> str:
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _refuse(
                path, where, "has a string with a lone surrogate, which is not UTF-8 text"
            ) from None
    return _encode_string(value)


def _int_text(value: int, path: str, where: str) -> str:
    try:
        return str(value)
    except ValueError:  # longer than Python's int-to-str digit limit
        raise _refuse(path, where, "is an integer with too many digits to send") from None


def _decimal_text(value: Decimal, argument: str, where: str = "") -> str:
    """A finite ``Decimal``'s own digits, which ``str()`` always spells as a valid JSON number
    (``12.950``, ``-0.00``, ``1E+2``, ``1.5E-7``)."""
    if not value.is_finite():
        raise _refuse(argument, where, f"is {value}, which is not a number JSON can carry")
    if abs(value.adjusted()) > _MAX_EXPONENT:
        raise _refuse(argument, where, f"is {_short(value)}, whose exponent is out of range")
    return str(value)


def _refuse(path: str, where: str, reason: str) -> InvalidArgumentError:
    place = f"{path} in {where}" if path and where else (path or where or "the value")
    return InvalidArgumentError(f"{place} {reason}; nothing was sent")


def _short(value: object) -> str:
    shown = str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


# -- per-field encoders -----------------------------------------------------------------


def money_string(value: object, argument: str) -> str:
    """A ``type: string`` amount: the string of its exact digits (``"12.95"``).

    Takes a ``Decimal``, an ``int`` or a ``str`` that spells a decimal number exactly
    (``"12.95"``, as JSON writes numbers); refuses a float.
    """
    return _decimal_text(_exact_decimal(value, argument), argument)


def money_number(value: object, argument: str) -> Decimal:
    """A ``type: number`` amount: a ``Decimal`` that ``dumps`` writes as the JSON number of
    its digits (``12.95``). Takes what ``money_string`` takes."""
    number = _exact_decimal(value, argument)
    _decimal_text(number, argument)  # finite, exponent in range: refused here, not in dumps
    return number


def _exact_decimal(value: object, argument: str) -> Decimal:
    if type(value) is Decimal:
        return value
    if isinstance(value, bool):
        raise InvalidArgumentError(
            f'{argument} must be an amount such as Decimal("12.95"), not {value!r}; '
            "nothing was sent"
        )
    if isinstance(value, int):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return Decimal(value)
    if isinstance(value, str):
        if _DECIMAL_TEXT.match(value):
            try:
                return Decimal(value)
            except ArithmeticError:
                pass  # an exponent beyond Decimal's own range: refused below
        raise InvalidArgumentError(
            f"{argument} is {_shown(value)}, which is not an exact decimal number; "
            'pass a Decimal such as Decimal("12.95") or the string "12.95"; nothing was sent'
        )
    if isinstance(value, float):
        raise InvalidArgumentError(
            f"{argument} is the float {value!r}, which cannot carry an exact amount; "
            'pass a Decimal such as Decimal("12.95"); nothing was sent'
        )
    raise InvalidArgumentError(
        f'{argument} must be an amount such as Decimal("12.95"), not {_shown(value)}; '
        "nothing was sent"
    )


def timestamp(value: object, argument: str) -> str:
    """An aware ``datetime`` as ISO 8601 with its offset (``2025-04-12T10:00:00+02:00``)."""
    if not isinstance(value, datetime):
        raise InvalidArgumentError(
            f"{argument} must be a datetime with a time zone, such as "
            f"datetime(2025, 4, 12, 10, 0, tzinfo=UTC), not {_shown(value)}; nothing was sent"
        )
    return _iso_timestamp(value, argument)


def _iso_timestamp(value: datetime, argument: str) -> str:
    if value.utcoffset() is None:
        raise InvalidArgumentError(
            f"{argument} is a naive datetime ({value.isoformat()}), so the moment it means is "
            "ambiguous; pass an aware one, such as value.replace(tzinfo=UTC) or "
            "datetime.now(UTC); nothing was sent"
        )
    return value.isoformat()


def day(value: object, argument: str) -> str:
    """A ``format: date`` value: a ``date`` (not a ``datetime``) as ``"2025-04-12"``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    raise InvalidArgumentError(
        f"{argument} must be a date such as date(2025, 4, 12), not {_shown(value)}; "
        "nothing was sent"
    )


def integer(value: object, argument: str) -> int:
    """An ``int`` (``True`` is not a number here)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    raise InvalidArgumentError(
        f"{argument} must be a whole number (int), not {_shown(value)}; nothing was sent"
    )


def boolean(value: object, argument: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidArgumentError(
        f"{argument} must be True or False, not {_shown(value)}; nothing was sent"
    )


def text(value: object, argument: str) -> str:
    if isinstance(value, str):
        return str.__str__(value)
    raise InvalidArgumentError(f"{argument} must be a str, not {_shown(value)}; nothing was sent")


def one_of(*choices: str) -> Encoder:
    """The encoder of a string enum: the value must be one of ``choices`` (the spec's)."""
    allowed = frozenset(choices)
    listed = ", ".join(repr(choice) for choice in choices)

    def check_choice(value: object, argument: str) -> str:
        if isinstance(value, str) and value in allowed:
            return str.__str__(value)
        raise InvalidArgumentError(
            f"{argument} must be one of {listed}, not {_shown(value)}; nothing was sent"
        )

    return check_choice


def nullable(encoder: Encoder) -> Encoder:
    """``encoder`` that also takes ``None`` (sent as ``null``): a nullable property."""

    def check_nullable(value: object, argument: str) -> Any:
        return None if value is None else encoder(value, argument)

    return check_nullable


def nested(model: type[Model]) -> Encoder:
    """A nested object: an instance of ``model`` or a mapping of the wire shape (a TypedDict);
    ``dumps`` writes either (a mapping's values are checked as it writes them)."""

    def check_nested(value: object, argument: str) -> Any:
        if isinstance(value, model | Mapping):
            return value
        raise InvalidArgumentError(
            f"{argument} must be a {model.__name__} or a dict of its JSON shape, "
            f"not {_shown(value)}; nothing was sent"
        )

    return check_nested


def list_of(encoder: Encoder) -> Encoder:
    """An array: a list or tuple whose items each pass ``encoder`` (named ``lines[2]``)."""

    def check_list(value: object, argument: str) -> list[Any]:
        if not isinstance(value, list | tuple):
            raise InvalidArgumentError(
                f"{argument} must be a list, not {_shown(value)}; nothing was sent"
            )
        return [encoder(item, f"{argument}[{index}]") for index, item in enumerate(value)]

    return check_list


# -- a generated model's fields (``Model.to_wire``) -------------------------------------------

_PLAIN_ENCODERS: dict[str, Encoder] = {
    "text": text,
    "integer": integer,
    "boolean": boolean,
    "money:string": money_string,
    "money:number": money_number,
    "timestamp": timestamp,
}


def wire_value(how: str, value: object, argument: str, known: tuple[Any, ...] = ()) -> Any:
    """One field of a generated model as ``Model.to_wire`` sends it: ``how`` is its row in the
    model's ``_wire`` table (``text``, ``money:string``, ``list:integer``, ``model``, ...),
    ``known`` the enum values the spec lists (a value outside them is refused). The same
    encoders as a write method's arguments, so a field and an argument go out alike."""
    if known and (value not in known or type(value) not in {type(k) for k in known}):
        listed = ", ".join(repr(choice) for choice in known)
        raise InvalidArgumentError(
            f"{argument} must be one of {listed}, not {_shown(value)}; nothing was sent"
        )
    if how.startswith("list:"):
        item = how.removeprefix("list:")
        if not isinstance(value, list | tuple):
            raise InvalidArgumentError(
                f"{argument} must be a list, not {_shown(value)}; nothing was sent"
            )
        return [wire_value(item, v, f"{argument}[{n}]") for n, v in enumerate(value)]
    if how == "models":
        if not isinstance(value, list | tuple):
            raise InvalidArgumentError(
                f"{argument} must be a list, not {_shown(value)}; nothing was sent"
            )
        return [wire_value("model", v, f"{argument}[{n}]") for n, v in enumerate(value)]
    if how in ("model", "union"):
        if not isinstance(value, Model):
            raise InvalidArgumentError(
                f"{argument} must be a model, not {_shown(value)}; nothing was sent"
            )
        return value.to_wire()
    encoder = _PLAIN_ENCODERS.get(how)
    return value if encoder is None else encoder(value, argument)
