"""Hypothesis strategies derived from openapi.yaml's ``Invoice`` and ``InvoiceLine`` schemas.

Each strategy draws the JSON *text* of a body together with what the client must make of
it: the expected model values, or ``INVALID`` when the client must raise
``APIResponseValidationError``. Field kinds come from the spec, so a property added to
the spec flows into the strategies without a change here:

- ``$ref`` -> a nested object of that schema; ``array`` -> a list of its items
- ``string`` with a numeric ``example`` (the spec's money fields: ``example: 12.95``) -> money
- ``string`` whose ``example`` is an ISO 8601 timestamp -> timestamp
- other ``string`` -> text; ``integer``; ``boolean``

Money is written as JSON numbers and strings with every shape the API may send
(negative, zero, ``-0.00``, many digits, exponents such as ``1E+2``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import yaml
from hypothesis import strategies as st

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

INVALID = object()
"""Expected outcome: the client raises APIResponseValidationError."""

# The JSON number grammar (RFC 8259), written out independently of the client's own.
JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?", re.ASCII)
MAX_AMOUNT_EXPONENT = 10_000  # documented: amounts beyond 1E+-10000 are refused
MAX_INT_DIGITS = 4300


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def field_kind(schema: dict[str, Any]) -> str:
    """money | timestamp | text | integer | boolean | array | object."""
    if "$ref" in schema:
        return "object"
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") in ("date-time", "date"):
            return "timestamp"
        example = schema.get("example")
        if isinstance(example, int | float) and not isinstance(example, bool):
            return "money"
        if isinstance(example, str) and _looks_like_timestamp(example):
            return "timestamp"
        return "text"
    if kind in ("integer", "boolean", "array"):
        return str(kind)
    raise AssertionError(f"openapi.yaml uses a schema type the strategies do not know: {schema}")


def _looks_like_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return "-" in text


def properties(schema_name: str) -> dict[str, dict[str, Any]]:
    return dict(SCHEMAS[schema_name]["properties"])


# -- money ----------------------------------------------------------------------------------------

_digits = st.text("0123456789", min_size=1, max_size=40)
_int_part = st.one_of(
    st.just("0"),
    st.builds(lambda a, b: a + b, st.sampled_from("123456789"), st.text("0123456789", max_size=39)),
)
_fraction = st.one_of(st.just(""), _digits.map(lambda d: "." + d))
_exponent = st.one_of(
    st.just(""),
    st.builds(
        lambda e, sign, n: f"{e}{sign}{n}",
        st.sampled_from("eE"),
        st.sampled_from(["", "+", "-"]),
        st.one_of(st.integers(0, 30), st.integers(0, 20_000)).map(str),
    ),
)
_special_money = st.sampled_from(
    [
        "0",
        "-0",
        "0.00",
        "-0.00",
        "1E+2",
        "1e2",
        "12.950",
        "-12.95",
        "0.01",
        "-0.01",
        "123456789012345678901234567890.123456789",
        "1E+10000",
        "1E-10000",
        "1E+10001",
        "9.99E-10001",
        "21",
        "9",
        "100",
        "1.0E+1",
        "-1E-2",
        "0E+100",
        "0e-7",
    ]
)


@st.composite
def money_text(draw: st.DrawFn) -> str:
    """A JSON number's text, as an amount could be written."""
    if draw(st.integers(0, 4)) == 0:
        return draw(_special_money)
    sign = draw(st.sampled_from(["", "", "-"]))
    return sign + draw(_int_part) + draw(_fraction) + draw(_exponent)


def expected_money(text: str) -> Any:
    if not JSON_NUMBER.fullmatch(text):
        return INVALID
    number = Decimal(text)
    if abs(number.adjusted()) > MAX_AMOUNT_EXPONENT:
        return INVALID
    is_int = re.fullmatch(r"-?[0-9]+", text) is not None
    if is_int and len(text.lstrip("-")) > MAX_INT_DIGITS:
        return INVALID
    return number


_not_money_strings = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "12,95",
            " 12.95",
            "12.95 ",
            "+1",
            ".5",
            "1.",
            "01",
            "0x1F",
            "1_000",
            "NaN",
            "nan",
            "Infinity",
            "-Infinity",
            "inf",
            "-",
            "€12.95",
            "12.95EUR",
            "1e",
            "1e+",
            "--1",
            "1.2.3",
            "\uff11\uff12",
            "\u0661",
            "12.95\n",
            "1 000",
            "sNaN",
        ]
    ),
    st.text(max_size=12),
)


@st.composite
def money_value(draw: st.DrawFn) -> tuple[str, Any]:
    """(JSON text, expected Decimal or INVALID)."""
    choice = draw(st.integers(0, 9))
    if choice <= 4:  # as a JSON number
        text = draw(money_text())
        return text, expected_money(text)
    if choice <= 7:  # as a JSON string of a number
        text = draw(money_text())
        return json.dumps(text), expected_money(text)
    if choice == 8:  # a string that is no decimal number (or by chance is one)
        text = draw(_not_money_strings)
        return json.dumps(text), expected_money(text)
    return draw(_wrong_json_type(exclude="number"))


# -- the other kinds ---------------------------------------------------------------------------------


def _wrong_json_type(exclude: str) -> st.SearchStrategy[tuple[str, Any]]:
    options = {
        "string": ['"x"', '""', '"true"', '"12,95"'],
        "number": ["1", "1.5", "-3", "0"],
        "boolean": ["true", "false"],
        "array": ["[]", "[1]", '["a"]'],
        "object": ["{}", '{"a":1}'],
    }
    texts = [t for kind, values in options.items() if kind != exclude for t in values]
    return st.sampled_from(texts).map(lambda t: (t, INVALID))


def text_value() -> st.SearchStrategy[tuple[str, Any]]:
    valid = st.text(max_size=30).map(lambda s: (json.dumps(s, ensure_ascii=False), s))
    escaped = st.text(max_size=30).map(lambda s: (json.dumps(s), s))
    return st.one_of(valid, valid, escaped, _wrong_json_type(exclude="string"))


@st.composite
def integer_value(draw: st.DrawFn) -> tuple[str, Any]:
    choice = draw(st.integers(0, 5))
    if choice <= 2:
        n = draw(st.integers(-(10**30), 10**30))
        return str(n), n
    if choice == 3:  # a whole number written with a fraction or exponent: still whole
        n = draw(st.integers(-1000, 1000))
        text = draw(st.sampled_from([f"{n}.0", f"{n}.000", f"{n}E+0", f"{n}e0"]))
        return text, n
    if choice == 4:
        text = draw(st.sampled_from(["1.5", "-0.1", "1E-1", "1E+5000", "2.50"]))
        number = Decimal(text)
        whole = number == number.to_integral_value() and abs(number.adjusted()) < MAX_INT_DIGITS
        return text, int(number) if whole else INVALID
    return draw(_wrong_json_type(exclude="number"))


def boolean_value() -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.sampled_from([("true", True), ("false", False)]),
        st.sampled_from(['"true"', "1", "0", '"false"', "[]"]).map(lambda t: (t, INVALID)),
    )


_offsets = st.one_of(
    st.just(UTC),
    st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)


@st.composite
def timestamp_value(draw: st.DrawFn) -> tuple[str, Any]:
    choice = draw(st.integers(0, 6))
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30)))
    moment = moment.replace(tzinfo=draw(_offsets))
    if choice == 0:  # the API's own shape: milliseconds and Z
        utc = moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)
        text = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
        return json.dumps(text), utc
    if choice == 1:  # with an offset
        return json.dumps(moment.isoformat()), moment
    if choice == 2:  # a bare date, read as midnight UTC
        day = moment.date()
        return json.dumps(day.isoformat()), datetime.combine(day, datetime.min.time(), UTC)
    if choice == 3:  # no offset: read as UTC
        naive = moment.replace(tzinfo=None)
        return json.dumps(naive.isoformat()), naive.replace(tzinfo=UTC)
    if choice == 4:
        bad = draw(
            st.sampled_from(
                [
                    "yesterday",
                    "",
                    "2024-13-01",
                    "2024-02-30T00:00:00Z",
                    "12:00",
                    "2024-01-01T25:00:00Z",
                    "2024-01-01T00:00:00+99:00",
                    "0000-01-01",
                    "x" * 100,
                ]
            )
        )
        return json.dumps(bad), INVALID
    if choice == 5:  # anything: parsed or refused, never a crash (checked by the caller)
        return json.dumps(draw(st.text(max_size=40))), ANY_TIMESTAMP
    return draw(_wrong_json_type(exclude="string"))


ANY_TIMESTAMP = object()
"""Expected outcome: an aware datetime or APIResponseValidationError, nothing else."""


# -- unknown fields -------------------------------------------------------------------------------

_json_scalars = st.one_of(
    st.none().map(lambda _: ("null", None)),
    st.booleans().map(lambda b: (json.dumps(b), b)),
    st.integers(-(10**20), 10**20).map(lambda n: (str(n), n)),
    money_text().filter(lambda t: len(t) < 120).map(lambda t: (t, Decimal(t))),
    st.text(max_size=10).map(lambda s: (json.dumps(s), s)),
)


def _json_containers(
    children: st.SearchStrategy[tuple[str, Any]],
) -> st.SearchStrategy[tuple[str, Any]]:
    lists = st.lists(children, max_size=3).map(
        lambda items: ("[" + ",".join(t for t, _ in items) + "]", [v for _, v in items])
    )
    objects = st.dictionaries(st.text(max_size=5), children, max_size=3).map(
        lambda d: (
            "{" + ",".join(f"{json.dumps(k)}:{t}" for k, (t, _) in d.items()) + "}",
            {k: v for k, (_, v) in d.items()},
        )
    )
    return st.one_of(lists, objects)


any_json = st.recursive(_json_scalars, _json_containers, max_leaves=8)


# -- objects --------------------------------------------------------------------------------------


@attrs.frozen
class Expected:
    """What one generated JSON object must become (validity is judged against the model)."""

    schema: str
    known: dict[str, tuple[str, Any]]  # spec property -> (JSON text, expected value)
    extra: dict[str, Any]  # unknown key -> decoded JSON value
    duplicate_key: bool


def value_for(schema: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    kind = field_kind(schema)
    if kind == "object":
        return object_body(_ref_name(schema["$ref"]))
    if kind == "array":
        items = value_for(schema["items"])
        good = st.lists(items, max_size=4).map(
            lambda parts: ("[" + ",".join(t for t, _ in parts) + "]", [v for _, v in parts])
        )
        return st.one_of(good, good, good, _wrong_json_type(exclude="array"))
    return {
        "money": money_value(),
        "timestamp": timestamp_value(),
        "text": text_value(),
        "integer": integer_value(),
        "boolean": boolean_value(),
    }[kind]


@st.composite
def object_body(draw: st.DrawFn, schema_name: str) -> tuple[str, Expected]:
    """(JSON text of one object of ``schema_name``, what the client must make of it)."""
    parts: list[str] = []
    known: dict[str, tuple[str, Any]] = {}
    extra: dict[str, Any] = {}
    declared = properties(schema_name)
    for name, schema in declared.items():
        presence = draw(st.sampled_from(["value", "value", "value", "absent", "null"]))
        if presence == "absent":
            continue
        if presence == "null":
            parts.append(f"{json.dumps(name)}:null")
            continue
        text, expected = draw(value_for(schema))
        parts.append(f"{json.dumps(name)}:{text}")
        known[name] = (text, expected)
    unknown = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=12).filter(lambda k: k not in declared),
            any_json,
            max_size=3,
        )
    )
    for key, (text, value) in unknown.items():
        parts.append(f"{json.dumps(key)}:{text}")
        extra[key] = value
    duplicate = bool(parts) and draw(st.integers(0, 30)) == 0
    if duplicate:  # the same key twice: ambiguous, must be refused
        parts.append(parts[draw(st.integers(0, len(parts) - 1))])
    draw(st.randoms(use_true_random=False)).shuffle(parts)
    return "{" + ",".join(parts) + "}", Expected(schema_name, known, extra, duplicate)


def invoice_body() -> st.SearchStrategy[tuple[str, Expected]]:
    return object_body("Invoice")
