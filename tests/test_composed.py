"""Composed schemas, nullable values and enums at runtime (issue 18, item 6): the helpers in
``mijnklantportaal._models`` that generated models call, on small handwritten models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

import attrs
import pytest
from mijnklantportaal._decode import DecodeError, integer, loads, text
from mijnklantportaal._models import (
    EMPTY_EXTRA,
    Model,
    decode_field,
    decode_list,
    decode_union,
    kind_of,
    nullable,
)


def _object(data: object, name: str) -> dict[str, Any]:
    if type(data) is not dict:
        raise DecodeError(f"expected a JSON object for {name}, got {kind_of(data)}")
    return data


@attrs.frozen(slots=True)
class Card(Model):
    type: str
    last4: str
    extra: Mapping[str, Any] = attrs.field(default=EMPTY_EXTRA, kw_only=True)
    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("type", "type", "text"),
        ("last4", "last4", "text"),
    )

    @classmethod
    def from_dict(cls, data: object) -> Self:
        fields = _object(data, "Card")
        return cls(
            type=decode_field(text, fields.get("type"), "type"),
            last4=decode_field(text, fields.get("last4"), "last4"),
        )


@attrs.frozen(slots=True)
class BankTransfer(Model):
    type: str
    iban: str
    extra: Mapping[str, Any] = attrs.field(default=EMPTY_EXTRA, kw_only=True)
    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("type", "type", "text"),
        ("iban", "iban", "text"),
    )

    @classmethod
    def from_dict(cls, data: object) -> Self:
        fields = _object(data, "BankTransfer")
        return cls(
            type=decode_field(text, fields.get("type"), "type"),
            iban=decode_field(text, fields.get("iban"), "iban"),
        )


Method = Card | BankTransfer
# What a generated module holds for ``oneOf: [Card, BankTransfer]``.
METHOD_VARIANTS: tuple[tuple[str, Callable[[Any], Method]], ...] = (
    ("Card", Card.from_dict),
    ("BankTransfer", BankTransfer.from_dict),
)
METHOD_MAPPING: Mapping[str, Callable[[Any], Method]] = {
    "card": Card.from_dict,
    "bank_transfer": BankTransfer.from_dict,
}


@attrs.frozen(slots=True)
class Payment(Model):
    """A model with a discriminated union field, a union-by-shape field, a nullable list
    and an enum."""

    method: Method
    reference: str | int | None
    tags: tuple[str | None, ...]
    status: str
    extra: Mapping[str, Any] = attrs.field(default=EMPTY_EXTRA, kw_only=True)
    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    @classmethod
    def from_dict(cls, data: object) -> Self:
        fields = _object(data, "Payment")
        reference = fields.get("reference")
        return cls(
            method=decode_field(
                lambda v: decode_union(
                    v, METHOD_VARIANTS, discriminator="type", mapping=METHOD_MAPPING
                ),
                fields.get("method"),
                "method",
            ),
            reference=None
            if reference is None
            else decode_field(
                lambda v: decode_union(v, (("string", text), ("integer", integer))),
                reference,
                "reference",
            ),
            tags=decode_list(nullable(text), fields.get("tags"), "tags"),
            status=decode_field(text, fields.get("status"), "status"),
        )


def payment(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "method": {"type": "card", "last4": "4242"},
        "reference": "ord_1",
        "tags": ["a", None],
        "status": "paid",
    }
    body.update(changes)
    return body


def test_i18_6_a_discriminator_picks_the_variant() -> None:
    decoded = Payment.from_dict(payment())
    assert decoded.method == Card(type="card", last4="4242")
    bank = Payment.from_dict(payment(method={"type": "bank_transfer", "iban": "NL01"}))
    assert bank.method == BankTransfer(type="bank_transfer", iban="NL01")


@pytest.mark.parametrize(
    ("method", "field", "reason"),
    [
        ({"type": "crypto"}, "method.type", "is the string 'crypto'; expected one of 'card', "),
        ({"last4": "1"}, "method.type", "is missing; expected one of"),
        ({"type": 5}, "method.type", "is the number 5"),
        ("card", "method", "expected a JSON object with 'type', got the string 'card'"),
        ({"type": "card", "last4": 4242}, "method.last4", "expected a string"),
    ],
)
def test_i18_6_a_discriminated_value_that_does_not_fit_names_the_field(
    method: object, field: str, reason: str
) -> None:
    with pytest.raises(DecodeError) as caught:
        Payment.from_dict(payment(method=method))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_i18_6_without_a_discriminator_the_first_variant_that_fits_wins() -> None:
    assert decode_union({"type": "x", "iban": "NL01"}, METHOD_VARIANTS) == BankTransfer(
        type="x", iban="NL01"
    )
    assert Payment.from_dict(payment(reference=12)).reference == 12
    assert Payment.from_dict(payment(reference="r")).reference == "r"
    assert Payment.from_dict(payment(reference=None)).reference is None


def test_i18_6_a_value_fitting_no_variant_says_what_each_variant_said() -> None:
    with pytest.raises(DecodeError) as caught:
        decode_union({"type": "x"}, METHOD_VARIANTS)
    assert caught.value.reason == (
        "an object fits none of the variants "
        "(as Card: last4: expected a string, got null; "
        "as BankTransfer: iban: expected a string, got null)"
    )
    with pytest.raises(DecodeError) as located:
        Payment.from_dict(payment(reference=[1]))
    assert located.value.field == "reference"
    assert "as string: expected a string, got a list" in located.value.reason


def test_i18_6_nullable_items_and_an_unknown_enum_value_stay_readable() -> None:
    decoded = Payment.from_dict(
        loads(
            b'{"method":{"type":"card","last4":"1"},"reference":null,'
            b'"tags":[null,"b"],"status":"partially_refunded"}'
        )
    )
    assert decoded.tags == (None, "b")
    assert decoded.status == "partially_refunded"  # not in the spec's enum: kept as sent
    with pytest.raises(DecodeError) as caught:
        Payment.from_dict(payment(tags=["a", 3]))
    assert caught.value.field == "tags[1]"
