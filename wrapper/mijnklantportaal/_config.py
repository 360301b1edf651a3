"""Client configuration: resolved once at construction, immutable afterwards."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from collections.abc import Mapping

import attrs
import httpx

from mijnklantportaal._budget import Priority, RateBudget, key_id_for
from mijnklantportaal._budget._common import shown
from mijnklantportaal._constants import (
    ACCEPT_ENCODING,
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RATE_WAIT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    LOG_ENV,
    MAX_TIMEOUT,
)
from mijnklantportaal._exceptions import ConfigurationError
from mijnklantportaal._version import __version__

__all__ = ["ClientConfig", "is_loopback"]

USER_AGENT = f"mijnklantportaal-python/{__version__}"
logger = logging.getLogger("mijnklantportaal")


@attrs.frozen
class ClientConfig:
    """What every request of one client uses. ``headers`` holds the key: never shown."""

    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    check_response_id: bool = True
    """Refuse an answer to a fetch by id that carries another id, or none (see the client)."""
    rate_budget: RateBudget | None = None
    """Reserves each request's start before it is sent (None: only react to 429s)."""
    max_rate_wait: float = DEFAULT_MAX_RATE_WAIT
    """Longest a call waits for the rate budget; beyond it, RateLimitError and nothing sent."""
    priority: Priority = "interactive"
    """``"bulk"`` leaves the budget's reserve to interactive calls."""
    key_id: str = attrs.field(default="", repr=False)
    """What the budget files this client's key under: a hash, never the key."""

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        allow_insecure_http: bool,
        check_response_id: bool = True,
        rate_budget: RateBudget | None = None,
        max_rate_wait: float = DEFAULT_MAX_RATE_WAIT,
    ) -> ClientConfig:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if key is None or (isinstance(key, str) and not key.strip()):
            raise ConfigurationError(
                "No MijnKlantportaal API key: pass api_key=... to the client or set the "
                f"{API_KEY_ENV} environment variable (create a key in the manage portal)."
            )
        _check_key(key)
        headers = {
            "Authorization": f"Bearer {key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            # Only what the transport decodes itself, with the decoded size bounded.
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        for name, value in (default_headers or {}).items():
            if name.lower() == "authorization":
                raise ConfigurationError(
                    "default_headers must not set Authorization; pass api_key=... instead"
                )
            headers[name] = value
        setup_logging_from_env()
        return cls(
            base_url=_checked_base_url(base_url, allow_insecure_http),
            timeout=checked_timeout(timeout),
            max_retries=checked_max_retries(max_retries),
            headers=headers,
            check_response_id=checked_flag(check_response_id, "check_response_id"),
            rate_budget=checked_rate_budget(rate_budget),
            max_rate_wait=checked_max_rate_wait(max_rate_wait),
            key_id=key_id_for(key),
        )


def _check_key(key: object) -> None:
    """A key is visible ASCII (``!`` to ``~``): anything else would reach the wire or an
    error message in a form that shows the key (h11 quotes an illegal header value whole;
    encoding a non-ASCII one raises UnicodeEncodeError carrying it). The message names the
    problem and its position, never the key."""
    where = f"check the value of {API_KEY_ENV} or api_key="
    if not isinstance(key, str):
        raise ConfigurationError(f"The API key must be a str, not {type(key).__name__}; {where}.")
    if key != key.strip():
        raise ConfigurationError(
            f"The API key has surrounding whitespace or control characters; {where}."
        )
    for position, char in enumerate(key):
        if "!" <= char <= "~":
            continue
        if char == " ":
            problem = "a space"
        elif char.isascii() or not char.isprintable():
            problem = f"a control or invisible character (U+{ord(char):04X})"
        else:
            problem = f"a non-ASCII character (U+{ord(char):04X})"
        raise ConfigurationError(
            f"The API key contains {problem} at position {position}; API keys are visible "
            f"ASCII only, so it was probably pasted with extra characters: {where}."
        )


def checked_rate_budget(budget: RateBudget | None) -> RateBudget | None:
    if budget is None or isinstance(budget, RateBudget):
        return budget
    raise ConfigurationError(
        f"rate_budget must be a LocalRateBudget, a RedisRateBudget (or another RateBudget), "
        f"or None to only react to 429 answers; not {type(budget).__name__}"
    )


def checked_max_rate_wait(seconds: float) -> float:
    if (
        isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and 0 <= seconds <= MAX_TIMEOUT
    ):
        return float(seconds)
    raise ConfigurationError(
        f"max_rate_wait must be a number of seconds from 0 to {MAX_TIMEOUT:g} (how long a call "
        f"may wait for the rate budget; default {DEFAULT_MAX_RATE_WAIT:g}), not {shown(seconds)}"
    )


def checked_priority(priority: Priority) -> Priority:
    if priority == "interactive" or priority == "bulk":
        return priority
    raise ConfigurationError(
        f'priority must be "interactive" (the default) or "bulk" (leaves a reserve of the rate '
        f"budget to interactive calls), not {shown(priority)}"
    )


def checked_flag(value: bool, name: str) -> bool:
    if type(value) is bool:
        return value
    raise ConfigurationError(f"{name} must be True or False, not {type(value).__name__}")


def checked_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        for name in ("connect", "read", "write", "pool"):
            seconds = getattr(timeout, name)
            if seconds is not None and not _valid_seconds(seconds):
                raise ConfigurationError(
                    f"the {name} component of timeout must be a positive number of seconds "
                    f"up to {MAX_TIMEOUT:g}, or None, not {shown(seconds)}"
                )
        return timeout
    if _valid_seconds(timeout):
        return httpx.Timeout(float(timeout))
    raise ConfigurationError(
        f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:g} or an "
        f"httpx.Timeout, not {shown(timeout)} (the default is {DEFAULT_TIMEOUT.read:g} s read, "
        f"{DEFAULT_TIMEOUT.connect:g} s connect)"
    )


def _valid_seconds(seconds: object) -> bool:
    # The chained comparison is False for NaN and infinity too.
    return (
        isinstance(seconds, int | float)
        and not isinstance(seconds, bool)
        and 0 < seconds <= MAX_TIMEOUT
    )


def checked_max_retries(max_retries: int) -> int:
    if (
        isinstance(max_retries, int)
        and not isinstance(max_retries, bool)
        and 0 <= max_retries <= 10
    ):
        return max_retries
    raise ConfigurationError(
        f"max_retries must be a whole number from 0 to 10, not {shown(max_retries)} (default {DEFAULT_MAX_RETRIES})"
    )


def _checked_base_url(base_url: str | None, allow_insecure_http: bool) -> str:
    raw = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url {raw!r} is not a valid URL: {exc}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(
            f"base_url {raw!r} must be an absolute https:// URL such as {DEFAULT_BASE_URL!r}"
        )
    if url.query or url.fragment or url.userinfo:
        raise ConfigurationError(
            f"base_url {raw!r} must not carry a query, fragment or credentials"
        )
    if url.scheme == "http" and not allow_insecure_http and not is_loopback(url.host):
        raise ConfigurationError(
            f"base_url {raw!r} uses plain http:// to a non-loopback host, which would send the API "
            "key in clear text. Use https://, or pass allow_insecure_http=True if you really mean it."
        )
    return str(url).rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_logging_configured = False


def setup_logging_from_env() -> None:
    """Honour MIJNKLANTPORTAAL_LOG=debug|info once per process, like openai-python does."""
    global _logging_configured
    if _logging_configured:
        return
    _logging_configured = True
    level = os.environ.get(LOG_ENV, "").strip().lower()
    if level not in ("debug", "info"):
        return
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s %(name)s %(levelname)s] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
