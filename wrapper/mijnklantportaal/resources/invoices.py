"""The module the invoice resources lived in up to 0.1.0, kept so that code importing from it
keeps working. The resource classes are generated from the spec now; import them from
``mijnklantportaal.resources``."""

from mijnklantportaal.resources import (
    AsyncInvoices,
    AsyncInvoicesWithRawResponse,
    Invoices,
    InvoicesWithRawResponse,
)

__all__ = ["AsyncInvoices", "AsyncInvoicesWithRawResponse", "Invoices", "InvoicesWithRawResponse"]
