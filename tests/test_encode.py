"""Request bodies (issue 18, item 2): keyword arguments to exact JSON bytes, checked before
anything is sent (``mijnklantportaal._encode``)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, ClassVar, TypedDict

import attrs
import pytest
from mijnklantportaal import InvalidArgumentError, _decode
from mijnklantportaal._constants import MAX_JSON_DEPTH
from mijnklantportaal._encode import (
    NOT_GIVEN,
    NotGiven,
    boolean,
    day,
    dumps,
    encode_fields,
    integer,
    json_body,
    list_of,
    money_number,
    money_string,
    nested,
    nullable,
    one_of,
    text,
    timestamp,
)
from mijnklantportaal._models import EMPTY_EXTRA, Model

CET = timezone(timedelta(hours=2))


@attrs.frozen(slots=True)
class Line(Model):
    """A handwritten request model: a string amount and a number amount."""

    description: str | None = None
    amount: Decimal | None = None
    vat_rate: Decimal | None = None
    extra: Mapping[str, Any] = attrs.field(default=EMPTY_EXTRA, kw_only=True)

    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("description", "description", "text"),
        ("amount", "amount", "money_string"),
        ("vat_rate", "vatRate", "money"),
    )


@attrs.frozen(slots=True)
class Order(Model):
    placed_at: datetime | None = None
    lines: tuple[Line, ...] | None = None
    extra: Mapping[str, Any] = attrs.field(default=EMPTY_EXTRA, kw_only=True)

    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("placed_at", "placedAt", "timestamp"),
        ("lines", "lines", "list"),
    )


class LineDict(TypedDict, total=False):
    description: str
    amount: str
    vatRate: Decimal


def refused(call: Any, *args: Any) -> str:
    with pytest.raises(InvalidArgumentError) as caught:
        call(*args)
    assert "nothing was sent" in str(caught.value)
    return str(caught.value)


# -- exact numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (Decimal("12.950"), b"12.950"),  # the trailing zero the caller wrote is kept
        (Decimal("-0.00"), b"-0.00"),
        (Decimal("1E+2"), b"1E+2"),  # a valid JSON number: the digits, not normalised
        (Decimal("1.5E-7"), b"1.5E-7"),
        (Decimal("0.1"), b"0.1"),
        (Decimal("123456789012345678901234567890.01"), b"123456789012345678901234567890.01"),
    ],
)
def test_i18_2_a_decimal_goes_out_as_the_json_number_of_its_digits(
    value: Decimal, wire: bytes
) -> None:
    body = dumps({"amount": value})
    assert body == b'{"amount":' + wire + b"}"
    back = _decode.loads(body)["amount"]  # what a server with an exact parser reads
    assert str(back) == str(value)


def test_i18_2_money_for_a_string_amount_is_the_string_of_its_digits() -> None:
    assert money_string(Decimal("12.950"), "amount") == "12.950"
    assert money_string("12.95", "amount") == "12.95"
    assert money_string(12, "amount") == "12"
    assert money_string(Decimal("-0.00"), "amount") == "-0.00"
    body = json_body(("amount", Decimal("12.95"), "amount", money_string))
    assert body == b'{"amount":"12.95"}'


def test_i18_2_money_for_a_number_amount_is_a_json_number() -> None:
    body = json_body(
        ("amount", Decimal("12.95"), "amount", money_number),
        ("fee", "0.10", "fee", money_number),
        ("whole", 7, "whole", money_number),
    )
    assert body == b'{"amount":12.95,"fee":0.10,"whole":7}'


@pytest.mark.parametrize("encoder", [money_string, money_number])
def test_i18_2_a_float_amount_is_refused_with_what_to_pass(encoder: Any) -> None:
    message = refused(encoder, 12.95, "amount")
    assert message.startswith("amount ")
    assert 'Decimal("12.95")' in message


@pytest.mark.parametrize("encoder", [money_string, money_number])
@pytest.mark.parametrize(
    "value",
    [
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        Decimal("1E+10001"),
        "NaN",
        "12,95",
        " 12.95",
        "1_000",
        "1e999999999999999999999",
        True,
        None,
        b"12.95",
    ],
)
def test_i18_2_an_amount_that_is_not_exact_and_finite_is_refused(
    encoder: Any, value: object
) -> None:
    assert refused(encoder, value, "lines[2].amount").startswith("lines[2].amount ")


def test_i18_2_dumps_refuses_non_finite_and_huge_decimals_naming_the_place() -> None:
    message = refused(dumps, {"lines": [{"amount": Decimal("1")}, {"amount": Decimal("sNaN")}]})
    assert "lines[1].amount" in message
    assert "lines[0].amount" in refused(dumps, {"lines": [{"amount": Decimal("Infinity")}]})
    assert "out of range" in refused(dumps, {"x": Decimal("1E-10001")})


def test_i18_2_dumps_refuses_a_float_anywhere() -> None:
    message = refused(dumps, {"lines": [{"vatRate": 21.0}]})
    assert "lines[0].vatRate" in message
    assert "Decimal" in message


# -- timestamps, dates, scalars ---------------------------------------------------------


def test_i18_2_a_timestamp_goes_out_as_iso_8601_with_its_offset() -> None:
    moment = datetime(2025, 4, 12, 10, 30, tzinfo=CET)
    assert timestamp(moment, "expires_at") == "2025-04-12T10:30:00+02:00"
    assert dumps({"at": datetime(2025, 4, 12, tzinfo=UTC)}) == b'{"at":"2025-04-12T00:00:00+00:00"}'
    assert dumps([date(2025, 4, 12)]) == b'["2025-04-12"]'
    assert day(date(2025, 4, 12), "due_on") == "2025-04-12"
    refused(day, moment, "due_on")  # a datetime is not a date


def test_i18_2_a_naive_timestamp_is_refused_saying_to_pass_an_aware_one() -> None:
    naive = datetime(2025, 4, 12, 10, 30)
    message = refused(timestamp, naive, "expires_at")
    assert message.startswith("expires_at ")
    assert "aware" in message
    assert "placedAt" in refused(dumps, {"placedAt": naive})
    refused(timestamp, "2025-04-12T10:30:00Z", "expires_at")  # a str is not a datetime


def test_i18_2_scalar_checks_bool_is_not_an_int() -> None:
    assert integer(3, "quantity") == 3
    assert "quantity" in refused(integer, True, "quantity")
    refused(integer, 3.0, "quantity")
    assert boolean(False, "is_paid") is False
    refused(boolean, 0, "is_paid")
    assert text("x", "description") == "x"
    refused(text, 5, "description")


def test_i18_2_enum_values_are_checked_and_the_error_lists_them() -> None:
    status = one_of("open", "paid", "expired")
    assert status("paid", "status") == "paid"
    message = refused(status, "Paid", "status")
    assert "'open', 'paid', 'expired'" in message
    assert message.startswith("status ")
    refused(status, None, "status")


def test_i18_2_json_keys_are_the_specs_names_strings_as_utf8() -> None:
    body = json_body(
        ("expiresAt", datetime(2025, 1, 1, tzinfo=UTC), "expires_at", timestamp),
        ("description", 'Café "De Hoek"\n', "description", text),
    )
    assert body == (
        b'{"expiresAt":"2025-01-01T00:00:00+00:00",'
        + '"description":"Café \\"De Hoek\\"\\n"}'.encode()
    )
    assert "lone surrogate" in refused(dumps, {"d": "\ud800"})
    assert "key 5" in refused(dumps, {5: "x"})
    assert "too many digits" in refused(dumps, {"n": 10**5000})


# -- leaving fields out -----------------------------------------------------------------


def test_i18_2_not_given_is_left_out_and_none_is_sent_as_null() -> None:
    body = json_body(
        ("amount", Decimal("12.95"), "amount", money_string),
        ("description", NOT_GIVEN, "description", text),
        ("expiresAt", None, "expires_at", nullable(timestamp)),
        required=("amount",),
    )
    assert body == b'{"amount":"12.95","expiresAt":null}'
    # None where the property is not nullable is refused, not sent as null
    refused(encode_fields, ("description", None, "description", text))


def test_i18_2_a_required_argument_cannot_be_not_given() -> None:
    # without ``required`` it would simply be left out
    assert encode_fields(("amount", NOT_GIVEN, "amount", money_string)) == {}
    message = refused(
        lambda: encode_fields(("amount", NOT_GIVEN, "amount", money_string), required=("amount",))
    )
    assert message.startswith("amount is required")


def test_i18_2_not_given_is_one_falsy_picklable_sentinel() -> None:
    assert not NOT_GIVEN
    assert repr(NOT_GIVEN) == "NOT_GIVEN"
    assert NotGiven() is NOT_GIVEN
    assert pickle.loads(pickle.dumps(NOT_GIVEN)) is NOT_GIVEN
    assert copy.deepcopy(NOT_GIVEN) is NOT_GIVEN
    assert copy.copy(NOT_GIVEN) is NOT_GIVEN
    assert NOT_GIVEN is not None


# -- nested objects, lists, models ------------------------------------------------------


def test_i18_2_a_nested_object_takes_the_model_or_a_typeddict_with_the_same_bytes() -> None:
    line = Line(description="Hosting", amount=Decimal("12.950"), vat_rate=Decimal("21"))
    as_dict: LineDict = {"description": "Hosting", "amount": "12.950", "vatRate": Decimal("21")}
    encode = list_of(nested(Line))
    from_models = json_body(("lines", [line], "lines", encode))
    from_dicts = json_body(("lines", (as_dict,), "lines", encode))
    assert (
        from_models
        == from_dicts
        == (b'{"lines":[{"description":"Hosting","amount":"12.950","vatRate":21}]}')
    )
    message = refused(encode, [line, "Hosting"], "lines")
    assert message.startswith("lines[1] must be a Line")
    refused(encode, line, "lines")  # one model is not a list


def test_i18_2_a_model_goes_out_through_to_wire_leaving_none_out() -> None:
    order = Order(
        placed_at=datetime(2025, 4, 12, 9, tzinfo=UTC),
        lines=(Line(amount=Decimal("1.10")), Line(description="x")),
        extra={"note": "kept"},
    )
    assert dumps(order) == (
        b'{"note":"kept","placedAt":"2025-04-12T09:00:00+00:00",'
        b'"lines":[{"amount":"1.10"},{"description":"x"}]}'
    )


def test_i18_2_a_self_referencing_body_is_a_typed_error_not_recursion_error() -> None:
    loop: dict[str, Any] = {"a": 1}
    loop["self"] = loop
    message = refused(dumps, loop)
    assert str(MAX_JSON_DEPTH) in message
    assert "self.self.self" in message
    deep: list[Any] = []
    for _ in range(10_000):
        deep = [deep]
    refused(dumps, deep)
    at_limit: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        at_limit = [at_limit]
    assert dumps(at_limit) == b"[" * MAX_JSON_DEPTH + b"1" + b"]" * MAX_JSON_DEPTH


def test_i18_2_subclasses_of_str_int_and_decimal_go_out_as_their_values() -> None:
    import enum

    class Status(enum.StrEnum):
        OPEN = "open"

    class Amount(Decimal):
        pass

    assert dumps([Status.OPEN, enum.IntEnum("N", "ONE").ONE, Amount("1.50")]) == b'["open",1,1.50]'


def test_i18_2_values_with_no_json_form_are_refused() -> None:
    assert "set" in refused(dumps, {"tags": {"a"}})
    assert "bytes" in refused(dumps, {"raw": b"x"})
