"""Python client for the MijnKlantportaal API.

    from mijnklantportaal import MijnKlantportaal
    client = MijnKlantportaal()                 # key from MIJNKLANTPORTAAL_API_KEY
    invoice = client.invoices.get("fac_abc12345def678")

The testing kit (``mijnklantportaal.testing``) and the CLI load only when imported.
"""

from mijnklantportaal._client import AsyncMijnKlantportaal, MijnKlantportaal
from mijnklantportaal._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from mijnklantportaal._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    InvalidArgumentError,
    MijnKlantportaalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from mijnklantportaal._models import ExtraFields, Invoice, InvoiceLine
from mijnklantportaal._transport import RateLimit, RawResponse
from mijnklantportaal._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncMijnKlantportaal",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ExtraFields",
    "InternalServerError",
    "InvalidArgumentError",
    "Invoice",
    "InvoiceLine",
    "MijnKlantportaal",
    "MijnKlantportaalError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "UnprocessableEntityError",
    "__version__",
]
