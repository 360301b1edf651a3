"""One module per API group; each resource turns arguments into a ``RequestSpec``."""

from mijnklantportaal.resources.invoices import AsyncInvoices, Invoices

__all__ = ["AsyncInvoices", "Invoices"]
