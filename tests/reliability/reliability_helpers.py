"""Helpers for the reliability suite (imported by its tests; not a test module)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from mijnklantportaal import MijnKlantportaalError

# A recognisable key: any place it shows up where it should not is a leak.
API_KEY = "mkp_SECRET_canary_1234567890"
INVOICE_ID = "fac_abc12345def678"


def resolve(value: Any) -> Any:
    """Await ``value`` when it is awaitable (async client), else return it."""
    if inspect.isawaitable(value):

        async def wait() -> Any:
            return await value

        return asyncio.run(wait())
    return value


def outcome(call: Callable[[], Any]) -> Any:
    """The call's result, or the MijnKlantportaalError it raised (anything else propagates)."""
    try:
        return resolve(call())
    except MijnKlantportaalError as error:
        return error
