"""Invoices API: ``client.invoices.get(invoice_id)``.

Adding an operation: build its ``RequestSpec`` from the generated ``_get_kwargs`` in a
``_..._request`` function, then add one method to each of the four classes below.
"""

from __future__ import annotations

from mijnklantportaal_api.api.invoices_api import get_invoice as _get_invoice

from mijnklantportaal._ids import check_id
from mijnklantportaal._models import Invoice
from mijnklantportaal._transport import AsyncTransport, RawResponse, RequestSpec, SyncTransport

__all__ = ["AsyncInvoices", "AsyncInvoicesWithRawResponse", "Invoices", "InvoicesWithRawResponse"]


def _get_request(invoice_id: str) -> RequestSpec:
    check_id(invoice_id, prefix="fac_", argument="invoice_id", what="a MijnKlantportaal invoice")
    return RequestSpec.from_generated(
        _get_invoice._get_kwargs(invoice_id=invoice_id),
        subject=f"invoice {invoice_id!r}",
        expected_id=invoice_id,
    )


class InvoicesWithRawResponse:
    """The same calls, returning ``RawResponse`` (status, headers, rate limit, parsed model)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def get(self, invoice_id: str) -> RawResponse[Invoice]:
        return self._transport.request(_get_request(invoice_id), Invoice.from_dict)


class Invoices:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport
        self.with_raw_response = InvoicesWithRawResponse(transport)

    def get(self, invoice_id: str) -> Invoice:
        """Fetch one invoice by its ``fac_`` id. Raises ``NotFoundError`` when there is none."""
        return self._transport.request(_get_request(invoice_id), Invoice.from_dict).parsed


class AsyncInvoicesWithRawResponse:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def get(self, invoice_id: str) -> RawResponse[Invoice]:
        return await self._transport.request(_get_request(invoice_id), Invoice.from_dict)


class AsyncInvoices:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self.with_raw_response = AsyncInvoicesWithRawResponse(transport)

    async def get(self, invoice_id: str) -> Invoice:
        """Fetch one invoice by its ``fac_`` id. Raises ``NotFoundError`` when there is none."""
        return (await self._transport.request(_get_request(invoice_id), Invoice.from_dict)).parsed
