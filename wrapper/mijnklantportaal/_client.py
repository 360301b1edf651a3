"""``MijnKlantportaal`` and ``AsyncMijnKlantportaal``: configuration, lifecycle, resources.

A client is cheap to copy with ``with_options`` (same connection pool, other timeout or
retries) and safe to share between threads (sync) or tasks (async).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

import attrs
import httpcore
import httpx

from mijnklantportaal._budget import LocalRateBudget, Priority, RateBudget
from mijnklantportaal._config import (
    ClientConfig,
    checked_flag,
    checked_max_rate_wait,
    checked_max_retries,
    checked_priority,
    checked_timeout,
    is_loopback,
)
from mijnklantportaal._constants import (
    DEFAULT_CONNECTION_LIMITS,
    DEFAULT_MAX_RATE_WAIT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from mijnklantportaal._exceptions import ConfigurationError
from mijnklantportaal._generated.resources import AsyncResources, SyncResources
from mijnklantportaal._response import RateLimit
from mijnklantportaal._transport import AsyncTransport, SyncTransport

if TYPE_CHECKING:  # the otel extra; imported at run time only when installed
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import TracerProvider

    from mijnklantportaal._telemetry import Telemetry

__all__ = ["AsyncMijnKlantportaal", "MijnKlantportaal"]


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


class _ClientBase:
    _transport: SyncTransport | AsyncTransport
    _owns_http_client: bool
    _is_copy = False  # a with_options copy: its close() closes nothing
    # Set by each concrete client: the httpx client class it sends with, and its transport.
    _http_client_class: ClassVar[type[httpx.Client] | type[httpx.AsyncClient]]
    _transport_class: ClassVar[type[SyncTransport] | type[AsyncTransport]]

    def _setup(self, transport: Any, owns_http_client: bool) -> None:
        raise NotImplementedError

    def _configure(
        self,
        http_client: httpx.Client | httpx.AsyncClient | None,
        rate_budget: RateBudget | None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        **options: Any,
    ) -> None:
        if rate_budget is NOT_GIVEN:
            # On by default: this client and its with_options copies share one budget.
            rate_budget = LocalRateBudget()
        config = ClientConfig.resolve(rate_budget=rate_budget, **options)
        telemetry = _telemetry_for(tracer_provider, meter_provider)
        pool_class = self._http_client_class
        if http_client is not None and not isinstance(http_client, pool_class):
            raise ConfigurationError(
                f"http_client must be an httpx.{pool_class.__name__}, not "
                f"{type(http_client).__name__} (MijnKlantportaal takes an httpx.Client, "
                "AsyncMijnKlantportaal an httpx.AsyncClient)"
            )
        # Plain http:// is accepted for a loopback host because the bytes never leave this
        # machine; a proxy (HTTP_PROXY, ALL_PROXY, ...) would carry the key off it in clear.
        url = httpx.URL(config.base_url)
        plain_loopback = url.scheme == "http" and is_loopback(url.host)
        owns = http_client is None
        if http_client is None:
            http_client = pool_class(
                limits=DEFAULT_CONNECTION_LIMITS,
                timeout=config.timeout,
                headers=config.headers,
                follow_redirects=False,
                # No proxy (nor .netrc) from the environment for a plain-http loopback URL.
                trust_env=not plain_loopback,
            )
        elif plain_loopback and _proxies(http_client, url):
            raise ConfigurationError(
                f"http_client would send requests for base_url {config.base_url!r} through a "
                "proxy, carrying the API key in clear text off this machine (plain http:// is "
                "only accepted to a loopback host). Build the httpx client with "
                "trust_env=False or without a proxy for this host, or use https://."
            )
        transport = self._transport_class(
            config,
            http_client,  # type: ignore[arg-type]
            headers_on_client=owns,
            telemetry=telemetry,
        )
        self._setup(transport, owns)

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout = NOT_GIVEN,
        max_retries: int = NOT_GIVEN,
        check_response_id: bool = NOT_GIVEN,
        priority: Priority = NOT_GIVEN,
        max_rate_wait: float = NOT_GIVEN,
    ) -> Self:
        """A client on the same connection pool and rate budget with another timeout,
        retry count, answered-id check, priority or longest wait for the budget.

        ``priority="bulk"`` leaves the budget's reserve (20 % of each window by default) to
        interactive calls: use it for batch work that shares a key with users who wait.
        The copy does not own the pool: closing it is a no-op; close the original.
        """
        config = self._transport.config
        new_config = attrs.evolve(
            config,
            timeout=config.timeout if timeout is NOT_GIVEN else checked_timeout(timeout),
            max_retries=config.max_retries
            if max_retries is NOT_GIVEN
            else checked_max_retries(max_retries),
            check_response_id=config.check_response_id
            if check_response_id is NOT_GIVEN
            else checked_flag(check_response_id, "check_response_id"),
            priority=config.priority if priority is NOT_GIVEN else checked_priority(priority),
            max_rate_wait=config.max_rate_wait
            if max_rate_wait is NOT_GIVEN
            else checked_max_rate_wait(max_rate_wait),
        )
        copy = object.__new__(type(self))
        copy._setup(self._transport.with_config(new_config), owns_http_client=False)
        copy._is_copy = True
        return copy

    @property
    def base_url(self) -> str:
        return self._transport.config.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._transport.config.timeout

    @property
    def max_retries(self) -> int:
        return self._transport.config.max_retries

    @property
    def rate_budget(self) -> RateBudget | None:
        """The budget every request of this client (and its copies) reserves a start in."""
        return self._transport.config.rate_budget

    @property
    def priority(self) -> Priority:
        return self._transport.config.priority

    @property
    def rate_limit(self) -> RateLimit | None:
        """``X-RateLimit-Limit`` / ``-Remaining`` of the latest response this client's pool saw."""
        return self._transport.rate_limit_state.latest

    def __repr__(self) -> str:
        transport = getattr(self, "_transport", None)  # None while __init__ is still raising
        if transport is None:
            return f"<{type(self).__name__} (not configured)>"
        config = transport.config
        return (
            f"{type(self).__name__}(base_url={config.base_url!r}, api_key='[redacted]', "
            f"max_retries={config.max_retries})"
        )


class MijnKlantportaal(_ClientBase, SyncResources):
    """Synchronous client. ``MijnKlantportaal()`` reads the key from ``MIJNKLANTPORTAAL_API_KEY``.

    ``http_client`` is a caller-built ``httpx.Client`` (proxies, mTLS, custom transports); the
    caller keeps ownership of it, so ``close()`` leaves it open. For a plain-http loopback
    ``base_url`` the client's own pool ignores proxy environment variables, and an
    ``http_client`` that would proxy that URL is refused (``ConfigurationError``).

    ``check_response_id=False`` turns off the check that a fetch by id is answered with
    that id (and not another one, or none). Keep it on against the real API; turn it off
    only for a static mock (such as Prism serving the spec's example) that answers every
    id with the same record.

    ``rate_budget`` reserves each request's start before it is sent, so that no request is
    sent that the API's limit (60 per rolling minute per key) would answer with 429: by
    default a ``LocalRateBudget()`` of this client and its ``with_options`` copies; pass one
    budget to several clients on one key, a ``RedisRateBudget`` to share it across a fleet,
    or ``None`` to only react to 429 answers. A call waits for its start at most
    ``max_rate_wait`` seconds; beyond that it raises ``RateLimitError`` and sends nothing.

    With the ``otel`` extra installed, every call is an OpenTelemetry span and feeds the
    client's metrics (docs/observability.md), through the global providers, or through
    ``tracer_provider=`` / ``meter_provider=`` when given. Without it nothing is imported.
    """

    _transport: SyncTransport
    _http_client_class = httpx.Client
    _transport_class = SyncTransport

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.Client | None = None,
        allow_insecure_http: bool = False,
        check_response_id: bool = True,
        rate_budget: RateBudget | None = NOT_GIVEN,
        max_rate_wait: float = DEFAULT_MAX_RATE_WAIT,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._configure(
            http_client,
            rate_budget,
            tracer_provider,
            meter_provider,
            max_rate_wait=max_rate_wait,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            allow_insecure_http=allow_insecure_http,
            check_response_id=check_response_id,
        )

    def _setup(self, transport: SyncTransport, owns_http_client: bool) -> None:
        self._transport = transport
        self._owns_http_client = owns_http_client
        self._setup_resources(transport)  # one attribute per tag, from the generated code

    def close(self) -> None:
        """Close the client: its calls asleep in the rate budget or before a retry (in any
        thread, get_many's workers too) wake and raise ``ClientClosedError``, and nothing is
        sent after this returns; then the pool is closed, unless the caller gave it."""
        if not self._is_copy:
            self._transport.cancel.cancel()
        if self._owns_http_client:
            self._transport.http_client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMijnKlantportaal(_ClientBase, AsyncResources):
    """Asynchronous client with the same surface as ``MijnKlantportaal``; methods are awaitable."""

    _transport: AsyncTransport
    _http_client_class = httpx.AsyncClient
    _transport_class = AsyncTransport

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        check_response_id: bool = True,
        rate_budget: RateBudget | None = NOT_GIVEN,
        max_rate_wait: float = DEFAULT_MAX_RATE_WAIT,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self._configure(
            http_client,
            rate_budget,
            tracer_provider,
            meter_provider,
            max_rate_wait=max_rate_wait,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            allow_insecure_http=allow_insecure_http,
            check_response_id=check_response_id,
        )

    def _setup(self, transport: AsyncTransport, owns_http_client: bool) -> None:
        self._transport = transport
        self._owns_http_client = owns_http_client
        self._setup_resources(transport)

    async def close(self) -> None:
        """Close the client, as ``MijnKlantportaal.close`` does: its tasks asleep in the
        rate budget or before a retry wake and raise ``ClientClosedError``."""
        if not self._is_copy:
            self._transport.cancel.cancel()
        if self._owns_http_client:
            await self._transport.http_client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


_telemetry_missing = False  # set once importing opentelemetry failed


def _telemetry_for(tracer_provider: object, meter_provider: object) -> Telemetry | None:
    """The telemetry of a new client: None when opentelemetry is not installed."""
    global _telemetry_missing
    if not _telemetry_missing:
        try:
            from mijnklantportaal._telemetry import telemetry_for
        except ModuleNotFoundError as exc:
            if not (exc.name or "").startswith("opentelemetry"):
                raise
            _telemetry_missing = True
        else:
            return telemetry_for(tracer_provider, meter_provider)
    if tracer_provider is not None or meter_provider is not None:
        raise ConfigurationError(
            "tracer_provider= and meter_provider= need OpenTelemetry: "
            "pip install 'mijnklantportaal[otel]'"
        )
    return None


_PROXY_POOLS = (
    httpcore.HTTPProxy,
    httpcore.SOCKSProxy,
    httpcore.AsyncHTTPProxy,
    httpcore.AsyncSOCKSProxy,
)


def _proxies(http_client: httpx.Client | httpx.AsyncClient, url: httpx.URL) -> bool:
    """Whether ``http_client`` would send a request for ``url`` through a proxy.

    httpx installs every proxy (``proxy=``, ``mounts=`` or the environment) as a transport
    mounted for a URL pattern, with an httpcore proxy pool inside; a custom transport that
    is not httpx's own is taken at its word (it is the caller's code).
    """
    transport = http_client._transport_for_url(url)
    return isinstance(getattr(transport, "_pool", None), _PROXY_POOLS)
