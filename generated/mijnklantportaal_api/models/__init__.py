"""Contains all the data models used in inputs/outputs"""

from .error_api_error import ErrorApiError
from .invoice import Invoice
from .invoice_line import InvoiceLine

__all__ = (
    "ErrorApiError",
    "Invoice",
    "InvoiceLine",
)
