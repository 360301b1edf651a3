"""Resource ids are checked before anything is sent.

The generated code would happily turn ``""`` into ``GET /invoices/`` (a different
endpoint) and quote ``"../x"`` into the path; the wrapper refuses both, with a message
saying what was wrong.
"""

from __future__ import annotations

import re

from mijnklantportaal._constants import MAX_ID_LENGTH
from mijnklantportaal._exceptions import InvalidArgumentError

_ID_BODY = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*\Z", re.ASCII)

# Prefixes of other resources of the same API, for a helpful hint on a mix-up.
KNOWN_PREFIXES = {
    "fac_": "a MijnKlantportaal invoice id",
    "fcl_": "an invoice line id",
    "inv_": "a customer invoice id (a different resource, under /customer-invoices)",
    "cst_": "a customer id",
    "cug_": "a customer group id",
}


def check_id(value: object, *, prefix: str, argument: str, what: str) -> str:
    """Return ``value`` when it is a well-formed id starting with ``prefix``; raise otherwise."""
    if not isinstance(value, str):
        raise TypeError(
            f"{argument} must be a str such as '{prefix}abc123', not {type(value).__name__}"
        )
    shown = repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
    if not value.strip():
        raise InvalidArgumentError(f"{argument} is empty; pass {what} id such as '{prefix}abc123'")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgumentError(
            f"{argument} {shown} is {len(value)} characters long; ids are at most {MAX_ID_LENGTH}"
        )
    if not value.startswith(prefix):
        other = next((name for p, name in KNOWN_PREFIXES.items() if value.startswith(p)), None)
        looks_like = f" That looks like {other}." if other else ""
        raise InvalidArgumentError(
            f"{argument} {shown} does not start with {prefix!r}.{looks_like} "
            f"This call takes {what} id, such as '{prefix}abc123'."
        )
    if not _ID_BODY.match(value, len(prefix)):
        raise InvalidArgumentError(
            f"{argument} {shown} has characters an id never has (only letters, digits, '_' and '-' "
            "are allowed: no '/', '%', '.', whitespace or control characters); nothing was sent"
        )
    return value
