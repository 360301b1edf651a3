"""Arguments are checked before anything is sent: resource ids, and query values.

The generated code would happily turn ``""`` into ``GET /invoices/`` (a different
endpoint) and quote ``"../x"`` into the path; the wrapper refuses both, with a message
saying what was wrong. The generated resources call these checks for every parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mijnklantportaal._constants import MAX_ID_LENGTH
from mijnklantportaal._exceptions import InvalidArgumentError

_ID_BODY = re.compile(r"[A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)*\Z", re.ASCII)

# Prefixes of the API's resources, for a helpful hint on a mix-up: filled by the generated
# package when it is imported (``_generated/ids.py`` calls ``register_prefixes`` with what
# spec-map.toml says), so this handwritten module imports nothing generated.
KNOWN_PREFIXES: dict[str, str] = {}


def register_prefixes(prefixes: Mapping[str, str]) -> None:
    """Make ``prefixes`` (id prefix -> what it names) known to the mix-up hints."""
    KNOWN_PREFIXES.update(prefixes)


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
        looks_like = f" That looks like the id of {other}." if other else ""
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


def check_int(value: object, argument: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidArgumentError(
        f"{argument} must be a whole number (int), not {_shown(value)}; nothing was sent"
    )


def check_bool(value: object, argument: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidArgumentError(
        f"{argument} must be True or False, not {_shown(value)}; nothing was sent"
    )


def check_text(value: object, argument: str) -> str:
    if isinstance(value, str):
        return value
    raise InvalidArgumentError(f"{argument} must be a str, not {_shown(value)}; nothing was sent")


def check_choice(value: object, argument: str, choices: Sequence[object]) -> object:
    if value in choices and type(value) in {type(choice) for choice in choices}:
        return value
    known = ", ".join(repr(choice) for choice in choices)
    raise InvalidArgumentError(
        f"{argument} must be one of {known}, not {_shown(value)}; nothing was sent"
    )


def check_instance(value: object, argument: str, kind: type) -> object:
    if isinstance(value, kind):
        return value
    raise InvalidArgumentError(
        f"{argument} must be a {kind.__module__}.{kind.__qualname__}, not {_shown(value)}; nothing was sent"
    )


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
