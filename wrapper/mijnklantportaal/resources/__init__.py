"""The resource classes of the clients (``client.invoices`` is an ``Invoices``).

Generated from openapi.yaml into ``_generated/resources.py`` (one class per first tag,
with sync, async and raw-response twins); public here so that their methods are part of
the checked public API (tools/api_check.py).
"""

from mijnklantportaal._generated.resources import *  # noqa: F403
from mijnklantportaal._generated.resources import __all__ as __all__
