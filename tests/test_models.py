"""The value objects: frozen, exact, round-trippable, picklable."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime
from decimal import Decimal

import attrs
import pytest
from _support import EXAMPLE_INVOICE_JSON
from mijnklantportaal import Invoice, InvoiceLine
from mijnklantportaal._decode import DecodeError, loads


def example() -> Invoice:
    return Invoice.from_dict(loads(EXAMPLE_INVOICE_JSON))


def test_models_are_frozen_slotted_and_hashable() -> None:
    invoice = example()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        invoice.total_amount = Decimal("0")  # type: ignore[misc]
    assert not hasattr(invoice, "__dict__") and not hasattr(invoice.lines[0], "__dict__")
    assert hash(invoice) == hash(example()) and invoice == example()


def test_to_dict_is_json_safe_with_money_as_strings_and_round_trips() -> None:
    invoice = Invoice.from_dict(
        loads(
            b'{"id":"fac_1","totalAmount":1.10,"issuedAt":"2024-04-28T21:00:00+02:00","x":{"n":2.50},"lines":[]}'
        )
    )
    data = invoice.to_dict()
    text = json.dumps(data)  # raises on Decimal or datetime
    assert data["totalAmount"] == "1.10" and data["x"] == {"n": "2.50"}
    assert data["issuedAt"] == "2024-04-28T21:00:00+02:00" and data["lines"] == []
    again = Invoice.from_dict(loads(text))
    # Known fields round-trip exactly; unknown numbers come back as the strings to_dict wrote.
    assert attrs.evolve(again, extra={}) == attrs.evolve(invoice, extra={})
    assert again.extra == {"x": {"n": "2.50"}}


def test_extra_fields_are_read_only_and_pickle() -> None:
    invoice = Invoice.from_dict(loads(b'{"id":"fac_1","zzTestOnlyUnknown":"2025-05-01"}'))
    with pytest.raises(TypeError):
        invoice.extra["zzTestOnlyUnknown"] = "x"  # type: ignore[index]
    copy = pickle.loads(pickle.dumps(invoice))
    assert copy == invoice and copy.extra == {"zzTestOnlyUnknown": "2025-05-01"}
    assert pickle.loads(pickle.dumps(example())) == example()


def test_bare_dates_and_naive_timestamps_are_read_as_utc() -> None:
    for text, expected in [
        ("2024-04-29", datetime(2024, 4, 29, tzinfo=UTC)),
        ("2024-04-29T10:00:00", datetime(2024, 4, 29, 10, tzinfo=UTC)),
        ("2025-04-12T00:00:00.000Z", datetime(2025, 4, 12, tzinfo=UTC)),
    ]:
        issued = Invoice.from_dict({"issuedAt": text}).issued_at
        assert issued == expected and issued.tzinfo is not None
    # a bare date becomes a datetime (at midnight UTC), not a datetime.date
    assert type(Invoice.from_dict({"issuedAt": "2024-04-29"}).issued_at) is datetime


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("12.95", "12.95"),
        ("1.10", "1.10"),
        ("-0.00", "-0.00"),
        ("1E+2", "1E+2"),
        ("0", "0"),
        ("21", "21"),
    ],
)
def test_money_keeps_every_digit_as_number_or_string(text: str, digits: str) -> None:
    for body in (f'{{"vatRate": {text}}}', f'{{"vatRate": "{text}"}}'):
        value = InvoiceLine.from_dict(loads(body)).vat_rate
        assert str(value) == digits and value.as_tuple() == Decimal(text).as_tuple()


def test_decode_errors_name_the_nested_field() -> None:
    with pytest.raises(DecodeError) as caught:
        Invoice.from_dict(loads(b'{"lines":[{},{},{"quantity":1.5}]}'))
    assert caught.value.field == "lines[2].quantity"


LINE = {
    "id": "fcl_1",
    "description": "Pro",
    "quantity": 2,
    "currency": "EUR",
    "amountExclVat": Decimal("12.95"),
    "vatRate": 21,
    "vatAmount": Decimal("2.72"),
    "amountInclVat": Decimal("15.67"),
}


@pytest.mark.parametrize(
    ("data", "extra"),
    [
        (LINE, {}),  # every declared key: read by subscript, no extras
        ({**LINE, "zzTestOnlyUnknown": 1}, {"zzTestOnlyUnknown": 1}),
        # as many keys as declared, but one of them unknown: its extra must be kept
        ({**{k: v for k, v in LINE.items() if k != "id"}, "zzTestOnlyUnknown": 1}, None),
        ({k: v for k, v in LINE.items() if k != "currency"}, {}),
        (dict.fromkeys(LINE), {}),  # explicit nulls read as absent
    ],
)
def test_declared_and_unknown_keys_read_the_same_whichever_are_present(
    data: dict[str, object], extra: dict[str, object] | None
) -> None:
    line = InvoiceLine.from_dict(data)
    for attribute, key, kind in InvoiceLine._wire_fields:
        sent = data.get(key)
        expected = Decimal(sent) if kind == "money" and sent is not None else sent  # type: ignore[arg-type]
        value = getattr(line, attribute)
        assert value == expected and type(value) is type(expected), key
    assert dict(line.extra) == (extra if extra is not None else {"zzTestOnlyUnknown": 1})


@pytest.mark.parametrize(
    ("digits", "fits"),
    [("1E+10000", True), ("1E-10000", True), ("1E+10001", False), ("1E-10001", False)],
)
def test_the_inline_amount_check_and_the_decoder_share_one_exponent_bound(
    digits: str, fits: bool
) -> None:
    # A Decimal takes the generated inline check; a string goes through _decode.money.
    for value in (Decimal(digits), digits):
        for data in ({"vatRate": value}, {**LINE, "vatRate": value}):
            if fits:
                assert InvoiceLine.from_dict(data).vat_rate == Decimal(digits)
            else:
                with pytest.raises(DecodeError, match="out of range") as caught:
                    InvoiceLine.from_dict(data)
                assert caught.value.field == "vatRate"
    for special in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with pytest.raises(DecodeError, match="not a finite number"):
            InvoiceLine.from_dict({**LINE, "vatRate": Decimal(special)})
