"""Client configuration: resolved once at construction, immutable afterwards."""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from collections.abc import Mapping

import attrs
import httpx

from mijnklantportaal._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    LOG_ENV,
)
from mijnklantportaal._exceptions import ConfigurationError
from mijnklantportaal._version import __version__

__all__ = ["ClientConfig"]

USER_AGENT = f"mijnklantportaal-python/{__version__}"
logger = logging.getLogger("mijnklantportaal")


@attrs.frozen
class ClientConfig:
    """What every request of one client uses. ``headers`` holds the key: never shown."""

    base_url: str
    timeout: httpx.Timeout
    max_retries: int
    headers: Mapping[str, str] = attrs.field(repr=False)

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
    ) -> ClientConfig:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if key is None or not key.strip():
            raise ConfigurationError(
                "No MijnKlantportaal API key: pass api_key=... to the client or set the "
                f"{API_KEY_ENV} environment variable (create a key in the manage portal)."
            )
        if not isinstance(key, str) or key != key.strip() or any(c in key for c in "\r\n\0"):
            raise ConfigurationError(
                "The API key has surrounding whitespace or control characters; "
                f"check the value of {API_KEY_ENV} or api_key=."
            )
        headers = {
            "Authorization": f"Bearer {key}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
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
        )


def checked_timeout(timeout: float | httpx.Timeout) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if (
        isinstance(timeout, int | float)
        and not isinstance(timeout, bool)
        and 0 < timeout < float("inf")
    ):
        return httpx.Timeout(float(timeout))
    raise ConfigurationError(
        f"timeout must be a positive number of seconds or an httpx.Timeout, not {timeout!r} "
        f"(the default is {DEFAULT_TIMEOUT.read:g} s read, {DEFAULT_TIMEOUT.connect:g} s connect)"
    )


def checked_max_retries(max_retries: int) -> int:
    if (
        isinstance(max_retries, int)
        and not isinstance(max_retries, bool)
        and 0 <= max_retries <= 10
    ):
        return max_retries
    raise ConfigurationError(
        f"max_retries must be a whole number from 0 to 10, not {max_retries!r} (default {DEFAULT_MAX_RETRIES})"
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
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ConfigurationError(
            f"base_url {raw!r} uses plain http:// to a non-loopback host, which would send the API "
            "key in clear text. Use https://, or pass allow_insecure_http=True if you really mean it."
        )
    return str(url).rstrip("/")


def _is_loopback(host: str) -> bool:
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
