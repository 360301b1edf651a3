"""Python client for the MijnKlantportaal API.

    from mijnklantportaal import MijnKlantportaal
    client = MijnKlantportaal()                 # key from MIJNKLANTPORTAAL_API_KEY
    invoice = client.invoices.get("fac_abc12345def678")

The testing kit (``mijnklantportaal.testing``) and the CLI load only when imported.
"""

from mijnklantportaal._budget import LocalRateBudget, RateBudget, RedisRateBudget
from mijnklantportaal._client import AsyncMijnKlantportaal, MijnKlantportaal
from mijnklantportaal._constants import DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT
from mijnklantportaal._encode import NOT_GIVEN, NotGiven
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
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from mijnklantportaal._generated import *  # noqa: F403 (the models of openapi.yaml)
from mijnklantportaal._generated import __all__ as _models_all
from mijnklantportaal._models import ExtraFields
from mijnklantportaal._pagination import AsyncPage, AsyncPaginator, SyncPage
from mijnklantportaal._response import RateLimit, RawResponse
from mijnklantportaal._version import __version__

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncMijnKlantportaal",
    "AsyncPage",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ExtraFields",
    "InternalServerError",
    "InvalidArgumentError",
    "LocalRateBudget",
    "MijnKlantportaal",
    "MijnKlantportaalError",
    "NotFoundError",
    "NotGiven",
    "PaginationError",
    "PermissionDeniedError",
    "RateBudget",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
    "RedisRateBudget",
    "SyncPage",
    "UnprocessableEntityError",
    "__version__",
    *_models_all,  # Invoice, InvoiceLine, ...: every model generated from openapi.yaml
]
