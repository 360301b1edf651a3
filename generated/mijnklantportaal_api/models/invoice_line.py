from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="InvoiceLine")


@_attrs_define
class InvoiceLine:
    """Invoice line

    Attributes:
        id (str | Unset): ID of the invoice line, always starting with `fcl_`. Example: fcl_abc12345def678.
        description (str | Unset): Description of the service or product which is charged Example: Pro subscription.
        quantity (int | Unset):  Example: 1.
        currency (str | Unset): Currency the invoice line is using. For now, always `EUR` Example: EUR.
        amount_excl_vat (str | Unset): Line amount excluding VAT Example: 12.95.
        vat_rate (str | Unset): VAT rate which applies to the line Example: 21.
        vat_amount (str | Unset): VAT amount for this line Example: 2.72.
        amount_incl_vat (str | Unset): Line amount including VAT Example: 15.67.
    """

    id: str | Unset = UNSET
    description: str | Unset = UNSET
    quantity: int | Unset = UNSET
    currency: str | Unset = UNSET
    amount_excl_vat: str | Unset = UNSET
    vat_rate: str | Unset = UNSET
    vat_amount: str | Unset = UNSET
    amount_incl_vat: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        description = self.description

        quantity = self.quantity

        currency = self.currency

        amount_excl_vat = self.amount_excl_vat

        vat_rate = self.vat_rate

        vat_amount = self.vat_amount

        amount_incl_vat = self.amount_incl_vat

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if description is not UNSET:
            field_dict["description"] = description
        if quantity is not UNSET:
            field_dict["quantity"] = quantity
        if currency is not UNSET:
            field_dict["currency"] = currency
        if amount_excl_vat is not UNSET:
            field_dict["amountExclVat"] = amount_excl_vat
        if vat_rate is not UNSET:
            field_dict["vatRate"] = vat_rate
        if vat_amount is not UNSET:
            field_dict["vatAmount"] = vat_amount
        if amount_incl_vat is not UNSET:
            field_dict["amountInclVat"] = amount_incl_vat

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id", UNSET)

        description = d.pop("description", UNSET)

        quantity = d.pop("quantity", UNSET)

        currency = d.pop("currency", UNSET)

        amount_excl_vat = d.pop("amountExclVat", UNSET)

        vat_rate = d.pop("vatRate", UNSET)

        vat_amount = d.pop("vatAmount", UNSET)

        amount_incl_vat = d.pop("amountInclVat", UNSET)

        invoice_line = cls(
            id=id,
            description=description,
            quantity=quantity,
            currency=currency,
            amount_excl_vat=amount_excl_vat,
            vat_rate=vat_rate,
            vat_amount=vat_amount,
            amount_incl_vat=amount_incl_vat,
        )

        invoice_line.additional_properties = d
        return invoice_line

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
