"""JSON text to exact Python values, once, with no float on the way.

``loads`` parses a body with every JSON number that has a fraction or exponent read
straight into ``Decimal`` from its digits; the field decoders then turn wire values into
model values (``"12.95"`` and ``12.95`` both become ``Decimal("12.95")``) and reject
what does not fit with a ``DecodeError`` naming the field.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from mijnklantportaal._constants import MAX_JSON_DEPTH

__all__ = [
    "DecodeError",
    "boolean",
    "check_depth",
    "integer",
    "loads",
    "money",
    "text",
    "timestamp",
]


class DecodeError(ValueError):
    """A body or value that cannot be decoded; ``field`` is its path in the body."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def at(self, outer: str) -> DecodeError:
        """The same error, with its path prefixed by the enclosing field."""
        if self.field is None:
            return DecodeError(self.reason, outer)
        joiner = "" if self.field.startswith("[") else "."
        return DecodeError(self.reason, f"{outer}{joiner}{self.field}")

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"{name} is not valid JSON and not a number")


def _refuse_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DecodeError(
                    f"key {key!r} appears twice in one object, so its value is ambiguous"
                )
            seen.add(key)
    return result


def _parse_int(digits: str) -> int | Decimal:
    # int("-0") is 0: the sign the text spells would be lost, so "-0" stays a Decimal.
    return Decimal(digits) if digits == "-0" else int(digits)


# The checking parse: names a duplicate key, keeps the sign of an integer -0. Any
# object_pairs_hook makes the C scanner build a (key, value) tuple per member and then a dict
# from them, about a fifth of the parse of a large body, so ``loads`` uses it for a large body
# only when counting (below) cannot rule a duplicate key out.
_checking_decoder = json.JSONDecoder(
    parse_float=Decimal,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
    object_pairs_hook=_refuse_duplicate_keys,
)
# Python's int() is the scanner's C fast path; the Python-level _parse_int costs a call per
# JSON integer, so a large body only gets it when it has a "-0" that could be the integer -0
# (dates' "-04" are not). A false alarm (e.g. "-0" inside a string) only costs that call.
_MAYBE_MINUS_ZERO = re.compile(r"-0(?![0-9.eE])")
# Below this many characters the checking parse is as fast as counting (they cross at about
# 2,000: a one-invoice body of 370 takes 4.6 us checked, 6.9 us counted, which pays for a
# decoder and a walk per call).
_COUNTING_PAYS_FROM = 2048
# A colon the JSON text spells as an escape: the one way a decoded string can hold a colon
# that the text does not (a false alarm, such as an escaped backslash before "u003a", only
# means the checking parse runs).
_ESCAPED_COLON = re.compile(r"\\u003[aA]")


def loads(content: bytes | str) -> Any:
    """Parse a JSON body; numbers with a fraction or exponent become exact ``Decimal``s.

    Duplicate keys are refused (an amount sent twice is ambiguous) without paying for an
    ``object_pairs_hook`` on every large body: see ``_nothing_overwritten``.
    """
    try:
        text = content.decode("utf-8") if isinstance(content, bytes) else content
        if len(text) < _COUNTING_PAYS_FROM:
            return _parse(_checking_decoder, text)
        exact_ints = _MAYBE_MINUS_ZERO.search(text) is not None
        kept = 0

        def count_members(obj: dict[str, Any]) -> dict[str, Any]:
            nonlocal kept
            kept += len(obj)
            return obj

        decoder = json.JSONDecoder(
            parse_float=Decimal,
            parse_int=_parse_int if exact_ints else None,
            parse_constant=_reject_constant,
            object_hook=count_members,
        )
        value = _parse(decoder, text)
        if not _nothing_overwritten(text, value, kept):
            value = _parse(_checking_decoder, text)  # raises DecodeError naming the key
        return value
    except DecodeError:
        raise
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except InvalidOperation:
        # Decimal() refuses an exponent beyond its own range (e.g. 1e9999999999999999999).
        raise DecodeError("the body has a number whose exponent is out of range") from None
    except (ValueError, RecursionError) as exc:
        # e.g. an integer longer than Python's int-string conversion limit, or absurd nesting
        raise DecodeError(f"the body cannot be parsed: {exc}") from None


def _parse(decoder: json.JSONDecoder, text: str) -> Any:
    value, end = decoder.raw_decode(text, _first_non_space(text))
    if text[end:].strip():
        raise DecodeError(f"unexpected data after the JSON value at character {end}")
    return value


def _nothing_overwritten(text: str, value: Any, kept: int) -> bool:
    """Whether parsing ``text`` into ``value`` kept every object member: no key repeated.

    The fast parse keeps the last of two equal keys; counting finds whether it had to.

    - Each object member in the text has exactly one colon outside strings, so
      ``text.count(":")`` is the number of members plus the colons inside strings.
    - The ``object_hook`` saw every object the scanner built, so the sum of their sizes,
      ``kept``, is the number of members less those a repeated key overwrote.
    - The colons in the decoded strings are at most the colons inside the text's strings,
      unless the text spells one as an escape (then this answers False).

    So ``text.count(":") - kept`` is the colons inside strings plus the overwritten members.
    Once the decoded strings hold that many colons, no member was overwritten. False means
    "maybe": a duplicate key, or a colon this does not look for (e.g. in a key).
    """
    unaccounted = text.count(":") - kept
    if unaccounted == 0:
        return True
    if "\\" in text and _ESCAPED_COLON.search(text):
        return False
    return _string_colons_reach(value, unaccounted)


def _string_colons_reach(value: Any, wanted: int) -> bool:
    """Whether the strings in ``value`` hold ``wanted`` colons or more (keys not counted).

    Level by level, shallowest first: the strings with colons in a response are mostly its
    timestamps, which sit above its long lists of lines, so the walk usually stops early.
    """
    found = 0
    level: list[Any] = [[value]]
    while level:
        deeper: list[Any] = []
        for container in level:
            for item in container.values() if type(container) is dict else container:
                if type(item) is str:
                    found += item.count(":")
                elif type(item) is dict or type(item) is list:
                    deeper.append(item)
            if found >= wanted:
                return True
        level = deeper
    return False


def _first_non_space(text: str) -> int:
    return len(text) - len(text.lstrip(" \t\n\r"))


# A decimal number as JSON writes it, optionally as a string: no spaces, underscores,
# thousands separators, "NaN" or "Infinity" (all of which Decimal() would accept).
_DECIMAL_TEXT = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?\Z", re.ASCII)
_MAX_EXPONENT = 10_000
# Python's default limit for int <-> str (which the JSON integer path already enforces):
# a longer whole number would make repr() of the model raise ValueError.
_MAX_INT_DIGITS = 4300


# Whole amounts and VAT rates (21, 9, 0) repeat on every line: one shared immutable Decimal each.
_SMALL_INT_DECIMALS = tuple(Decimal(n) for n in range(1000))


def money(value: object) -> Decimal:
    """A JSON number or numeric string as the exact ``Decimal`` its digits spell."""
    if type(value) is Decimal:
        number = value
    elif type(value) is str:
        if not _DECIMAL_TEXT.match(value):
            raise DecodeError(
                f'{_show(value)} is not a decimal number (expected digits like "12.95")'
            )
        try:
            number = Decimal(value)
        except InvalidOperation:  # an exponent beyond Decimal's own range
            raise DecodeError(f"{_show(value)} is out of range for an amount") from None
    elif type(value) is int:
        return _SMALL_INT_DECIMALS[value] if 0 <= value < 1000 else Decimal(value)
    else:
        raise DecodeError(f"expected a decimal number, got {_kind(value)}")
    if not number.is_finite():
        raise DecodeError(f"{_show(value)} is not a finite number")
    if abs(number.adjusted()) > _MAX_EXPONENT:
        # Exact, but arithmetic on it would be a denial of service for the caller.
        raise DecodeError(f"{_show(value)} is out of range for an amount")
    return number


def check_depth(fields: dict[str, Any], limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ``DecodeError`` naming the first key whose value nests more than ``limit``
    levels of lists and objects: deeper data would make to_dict(), pickle and deepcopy
    fail with RecursionError later, far from the response that carried it."""
    for key, value in fields.items():
        if type(value) is dict or type(value) is list:
            if _nests_deeper(value, limit):
                raise DecodeError(
                    f"the value nests more than {limit} levels of lists and objects", key
                )


def _nests_deeper(value: dict[str, Any] | list[Any], limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > limit:
            return True
        children = container.values() if type(container) is dict else container
        stack.extend(
            (child, depth + 1) for child in children if type(child) is dict or type(child) is list
        )
    return False


def text(value: object) -> str:
    if type(value) is str:
        return value
    raise DecodeError(f"expected a string, got {_kind(value)}")


def boolean(value: object) -> bool:
    if type(value) is bool:
        return value
    raise DecodeError(f"expected true or false, got {_kind(value)}")


def integer(value: object) -> int:
    if type(value) is int:
        return value
    if type(value) is Decimal and value.is_finite() and value == value.to_integral_value():
        if abs(value.adjusted()) < _MAX_INT_DIGITS:
            return int(value)
    raise DecodeError(f"expected a whole number, got {_kind(value)}")


def timestamp(value: object) -> datetime:
    """An ISO 8601 timestamp as an aware ``datetime`` keeping the offset sent.

    ``Z`` is UTC. A bare date (``2024-04-29``), which some endpoints send, and a timestamp
    without offset are read as UTC: the API documents UTC and never sends local times.
    """
    if type(value) is not str:
        raise DecodeError(f"expected an ISO 8601 timestamp string, got {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = _parse_timestamp_fallback(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _parse_timestamp_fallback(value: str) -> datetime:
    if len(value) > 64:
        raise DecodeError(f"{_show(value)} is not an ISO 8601 timestamp")
    # The rare path: python-dateutil stays off the import cost of the common one.
    from dateutil.parser import isoparse  # type: ignore[import-untyped]

    try:
        parsed: datetime = isoparse(value)
        return parsed
    except (ValueError, OverflowError):
        raise DecodeError(f"{_show(value)} is not an ISO 8601 timestamp") from None


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return f"the number {_show(value)}"
    if isinstance(value, str):
        return f"the string {_show(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _show(value: object) -> str:
    shown = repr(value) if isinstance(value, str) else str(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
