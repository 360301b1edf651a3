from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.invoice_line import InvoiceLine


T = TypeVar("T", bound="Invoice")


@_attrs_define
class Invoice:
    """Invoice

    Attributes:
        id (str | Unset): ID of the invoice, always starting with `fac_`. Example: fac_abc12345def678.
        invoice_number (str | Unset): Number of the invoice Example: MKP-2025.0010.
        lines (list[InvoiceLine] | Unset): Invoice lines
        currency (str | Unset): Currency the invoice is using. For now, always `EUR` Example: EUR.
        subtotal_amount (str | Unset): Total amount of the invoice, excluding VAT. Example: 12.95.
        vat_amount (str | Unset): Total VAT amount charged Example: 2.72.
        total_amount (str | Unset): Total amount of the invoice, including VAT. Example: 15.67.
        issued_at (str | Unset): Date the invoice is issued Example: 2025-04-12T00:00:00.000Z.
        is_paid (bool | Unset): Indicates if the invoice is paid Example: True.
    """

    id: str | Unset = UNSET
    invoice_number: str | Unset = UNSET
    lines: list[InvoiceLine] | Unset = UNSET
    currency: str | Unset = UNSET
    subtotal_amount: str | Unset = UNSET
    vat_amount: str | Unset = UNSET
    total_amount: str | Unset = UNSET
    issued_at: str | Unset = UNSET
    is_paid: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        invoice_number = self.invoice_number

        lines: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.lines, Unset):
            lines = []
            for lines_item_data in self.lines:
                lines_item = lines_item_data.to_dict()
                lines.append(lines_item)

        currency = self.currency

        subtotal_amount = self.subtotal_amount

        vat_amount = self.vat_amount

        total_amount = self.total_amount

        issued_at = self.issued_at

        is_paid = self.is_paid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if invoice_number is not UNSET:
            field_dict["invoiceNumber"] = invoice_number
        if lines is not UNSET:
            field_dict["lines"] = lines
        if currency is not UNSET:
            field_dict["currency"] = currency
        if subtotal_amount is not UNSET:
            field_dict["subtotalAmount"] = subtotal_amount
        if vat_amount is not UNSET:
            field_dict["vatAmount"] = vat_amount
        if total_amount is not UNSET:
            field_dict["totalAmount"] = total_amount
        if issued_at is not UNSET:
            field_dict["issuedAt"] = issued_at
        if is_paid is not UNSET:
            field_dict["isPaid"] = is_paid

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.invoice_line import InvoiceLine

        d = dict(src_dict)
        id = d.pop("id", UNSET)

        invoice_number = d.pop("invoiceNumber", UNSET)

        _lines = d.pop("lines", UNSET)
        lines: list[InvoiceLine] | Unset = UNSET
        if _lines is not UNSET:
            lines = []
            for lines_item_data in _lines:
                lines_item = InvoiceLine.from_dict(lines_item_data)

                lines.append(lines_item)

        currency = d.pop("currency", UNSET)

        subtotal_amount = d.pop("subtotalAmount", UNSET)

        vat_amount = d.pop("vatAmount", UNSET)

        total_amount = d.pop("totalAmount", UNSET)

        issued_at = d.pop("issuedAt", UNSET)

        is_paid = d.pop("isPaid", UNSET)

        invoice = cls(
            id=id,
            invoice_number=invoice_number,
            lines=lines,
            currency=currency,
            subtotal_amount=subtotal_amount,
            vat_amount=vat_amount,
            total_amount=total_amount,
            issued_at=issued_at,
            is_paid=is_paid,
        )

        invoice.additional_properties = d
        return invoice

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
