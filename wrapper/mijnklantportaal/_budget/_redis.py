"""The fleet budget: the same rule as LocalRateBudget, kept in Redis for every process.

Each acquire is one Lua script (``_lua.ACQUIRE``, EVALSHA with an EVAL fallback) that reads
Redis's clock, books the earliest allowed start in a sorted set and returns how long to
wait; the caller then sleeps locally. While Redis cannot be reached, calls go on under an
in-process ``LocalRateBudget`` (one warning per outage) and Redis is tried again every
``retry_interval`` seconds, by one caller at a time.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import AsyncGenerator
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from mijnklantportaal._budget import _lua
from mijnklantportaal._budget._common import (
    BudgetExhausted,
    Priority,
    Settings,
    check_call,
    epoch_seconds,
    finite,
    penalty,
)
from mijnklantportaal._budget._local import LocalRateBudget
from mijnklantportaal._budget._sleep import CancelToken, sleep, sleep_async
from mijnklantportaal._constants import (
    BULK_RESERVE,
    DEFAULT_MAX_RATE_WAIT,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_WINDOW,
    MAX_TIMEOUT,
    RATE_SAFETY_MARGIN,
    REDIS_RATE_PREFIX,
    REDIS_RETRY_INTERVAL,
    REDIS_SOCKET_TIMEOUT,
)
from mijnklantportaal._exceptions import ConfigurationError

if TYPE_CHECKING:
    import asyncio

    import redis
    import redis.asyncio

logger = logging.getLogger("mijnklantportaal")

_INSTALL_HINT = "RedisRateBudget needs the redis package: pip install 'mijnklantportaal[redis]'"


def _import_redis() -> Any:
    try:
        import redis
        import redis.asyncio
    except ImportError as exc:
        raise ConfigurationError(_INSTALL_HINT) from exc
    return redis


class _Script:
    __slots__ = ("sha", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


_ACQUIRE = _Script(_lua.ACQUIRE)
_OBSERVE = _Script(_lua.OBSERVE)
_PENALIZE = _Script(_lua.PENALIZE)
_RELEASE = _Script(_lua.RELEASE)


class BadReply(Exception):
    """Redis answered, but not with what the script returns (a proxy, another program on the
    port, a server bug, a handshake redis-py cannot use): treated as an unreachable Redis."""


# A script's microseconds, as Lua's string.format('%d') writes them (or an int).
_MICROS = re.compile(rb"-?[0-9]{1,20}\Z")


def _micros(value: object, what: str) -> float:
    """Seconds from a reply's microseconds; BadReply for anything that is not an integer."""
    if isinstance(value, str):
        value = value.encode("ascii", "replace")
    if isinstance(value, bytes) and _MICROS.match(value):
        return int(value) / 1e6
    if isinstance(value, int) and not isinstance(value, bool):
        return value / 1e6
    raise BadReply(f"{what} is {_shape(value)}, not microseconds")


def _shape(value: object) -> str:
    """What a reply was, for the warning (never its content: it may be anything)."""
    if isinstance(value, list | tuple):
        return f"an array of {len(value)}"
    return "nothing" if value is None else f"a {type(value).__name__}"


def _acquire_reply(reply: object, max_wait: float) -> tuple[bytes | str | None, float]:
    """``(member, seconds to sleep)`` for a reservation, ``(None, retry_after)`` for a refusal.

    The script answers ``{1, wait_us, member}`` or ``{0, wait_us, ''}``; anything else is
    BadReply. A wait is clamped to ``0..max_wait`` (the script never books past it), a
    refusal's retry-after to ``MAX_TIMEOUT``: a reply never makes a caller sleep longer.
    """
    if not isinstance(reply, list | tuple) or len(reply) != 3:
        raise BadReply(f"ACQUIRE returned {_shape(reply)}, not an array of 3")
    status, wait_us, member = reply
    if isinstance(status, bool) or status not in (0, 1):
        raise BadReply(f"ACQUIRE returned a status that is {_shape(status)}, not 0 or 1")
    seconds = max(0.0, _micros(wait_us, "the wait ACQUIRE returned"))
    if status == 0:
        return None, min(seconds, MAX_TIMEOUT)
    if not isinstance(member, bytes | str) or not member:
        raise BadReply(f"ACQUIRE returned a reservation that is {_shape(member)}")
    return member, min(seconds, max_wait)


def _check_done(reply: object, script: str) -> None:
    """OBSERVE and PENALIZE return 1."""
    if isinstance(reply, bool) or reply != 1:
        raise BadReply(f"{script} returned {_shape(reply)}, not 1")


class _LoopClient:
    """One event loop's async client, and the async generator that closes it on that loop."""

    __slots__ = ("client", "keeper", "loop_gone")

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self.keeper: AsyncGenerator[None, None] | None = None
        self.loop_gone = False

    def forget(self) -> None:
        """Its loop closed without finalizing the keeper: end the keeper here, off any loop
        (so that no finalizer later schedules it on the closed loop), leaving the client
        to the garbage collector."""
        self.loop_gone = True
        if self.keeper is None:
            return
        closing = self.keeper.aclose()
        try:
            closing.send(None)  # the keeper's finally awaits nothing when its loop is gone
        except StopIteration:
            pass
        finally:
            closing.close()


class _Health:
    """Whether Redis is in use, and when to try it again after it failed."""

    def __init__(self, retry_interval: float) -> None:
        self._lock = threading.Lock()
        self._retry_interval = retry_interval
        self._down = False
        self._next_try = 0.0

    def may_try(self) -> bool:
        """True if this caller should use Redis: it is up, or it is this caller's turn to probe."""
        with self._lock:
            if not self._down:
                return True
            now = time.monotonic()
            if now < self._next_try:
                return False
            self._next_try = now + self._retry_interval  # one prober per interval
            return True

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._next_try = time.monotonic() + self._retry_interval
            if self._down:
                return
            self._down = True
        if isinstance(error, BadReply):
            logger.warning(
                "Rate budget: Redis answered what the budget cannot use (%s); using the "
                "in-process budget until it answers properly.",
                error,
            )
        else:
            logger.warning(
                "Rate budget: Redis is unreachable (%s); using the in-process budget until "
                "it is back.",
                type(error).__name__,
            )

    def succeeded(self) -> None:
        with self._lock:
            if not self._down:
                return
            self._down = False
        logger.info("Rate budget: Redis is back; the fleet budget is in use again.")


class RedisRateBudget:
    """At most ``limit`` starts per rolling ``window`` per key, across every process on one Redis.

    ``url_or_client`` is a ``redis://``/``rediss://``/``unix://`` URL (the budget makes its
    own sync and async clients, lazily, with ``socket_timeout`` bounds and no retries), or a
    ``redis.Redis`` or ``redis.asyncio.Redis`` client, used as given: its own timeouts and
    retries apply, so give it short ones (a client that retries for seconds holds each call
    that long before the fallback takes over).
    A sync client also serves ``acquire_async`` (in a worker thread); an async client serves
    only the async calls. Keys are ``prefix`` + a hash of the key id, so neither an API key
    nor a key id is ever stored in Redis. See ``mijnklantportaal._budget`` for the contract.
    """

    def __init__(
        self,
        url_or_client: Any,
        *,
        limit: int = DEFAULT_RATE_LIMIT,
        window: float = DEFAULT_RATE_WINDOW,
        bulk_reserve: float = BULK_RESERVE,
        prefix: str = REDIS_RATE_PREFIX,
        safety_margin: float = RATE_SAFETY_MARGIN,
        socket_timeout: float = REDIS_SOCKET_TIMEOUT,
        retry_interval: float = REDIS_RETRY_INTERVAL,
    ) -> None:
        redis_module = _import_redis()
        self._settings = Settings(limit, window, bulk_reserve, safety_margin)
        self._socket_timeout = finite("socket_timeout", socket_timeout, positive=True)
        interval = finite("retry_interval", retry_interval, positive=True)
        if not isinstance(prefix, str):
            raise ConfigurationError(f"RedisRateBudget prefix must be a str, got {prefix!r}.")
        self._prefix = prefix
        self._redis = redis_module
        self._url: str | None = None
        self._sync_client: redis.Redis | None = None
        self._async_client: redis.asyncio.Redis | None = None
        self._async_by_loop: dict[asyncio.AbstractEventLoop, _LoopClient] = {}
        self._clients_lock = threading.Lock()
        if isinstance(url_or_client, str):
            if not url_or_client.startswith(("redis://", "rediss://", "unix://")):
                raise ConfigurationError(
                    "RedisRateBudget needs a redis://, rediss:// or unix:// URL, or a redis "
                    "client; got a string that is none of these."
                )
            try:
                redis_module.connection.parse_url(url_or_client)
            except ValueError as exc:
                # Not the URL itself in the message: it may hold a password.
                raise ConfigurationError(
                    f"RedisRateBudget could not parse its Redis URL: {exc}"
                ) from None
            self._url = url_or_client
        elif isinstance(url_or_client, redis_module.asyncio.Redis):
            self._async_client = url_or_client
        elif isinstance(url_or_client, redis_module.Redis):
            self._sync_client = url_or_client
        else:
            raise ConfigurationError(
                "RedisRateBudget takes a Redis URL, a redis.Redis or a redis.asyncio.Redis; "
                f"got {type(url_or_client).__name__}."
            )
        self._health = _Health(interval)
        self._fallback = LocalRateBudget(
            limit, window, bulk_reserve=bulk_reserve, safety_margin=safety_margin
        )
        self._errors: tuple[type[BaseException], ...] = (
            BadReply,
            redis_module.RedisError,
            OSError,
            TimeoutError,  # asyncio.TimeoutError is TimeoutError since Python 3.11
        )

    @property
    def limit(self) -> int:
        return self._settings.limit

    @property
    def window(self) -> float:
        return self._settings.window

    @property
    def bulk_reserve(self) -> float:
        return self._settings.bulk_reserve

    def __repr__(self) -> str:
        # Not the URL: it may hold a Redis password.
        s = self._settings
        return f"RedisRateBudget(limit={s.limit}, window={s.window}, bulk_reserve={s.bulk_reserve})"

    def redis_keys(self, key_id: str) -> tuple[str, str]:
        """The two Redis keys that hold ``key_id``'s budget (for operators and tests)."""
        digest = hashlib.sha256(key_id.encode("utf-8", "replace")).hexdigest()[:32]
        base = f"{self._prefix}{{{digest}}}"  # a hash tag: both keys on one cluster slot
        return base, base + ":meta"

    # -- clients ----------------------------------------------------------------------------

    def _client_options(self) -> dict[str, Any]:
        return {
            "socket_timeout": self._socket_timeout,
            "socket_connect_timeout": self._socket_timeout,
            "health_check_interval": 0,
        }

    def _sync(self) -> redis.Redis | None:
        if self._sync_client is None and self._url is not None:
            with self._clients_lock:
                if self._sync_client is None:
                    from redis.backoff import NoBackoff
                    from redis.retry import Retry

                    self._sync_client = self._redis.Redis.from_url(
                        self._url, retry=Retry(NoBackoff(), 0), **self._client_options()
                    )
        return self._sync_client

    async def _async(self) -> redis.asyncio.Redis | None:
        """The async client for the running asyncio loop, or None (then: sync in a thread).

        An asyncio connection belongs to its loop, so each loop gets a client of its own,
        closed on that loop when the loop shuts down (see ``_close_at_loop_end``): used
        across many ``asyncio.run()`` calls, the budget holds no connection of a loop that
        ended.
        """
        if self._async_client is not None:
            return self._async_client
        if self._url is None:
            return None
        import asyncio  # here: sync users of the package do not pay for importing it

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): the sync client, in a worker thread
            return None
        with self._clients_lock:
            entry = self._async_by_loop.get(loop)
            if entry is not None:
                return entry.client
            gone = self._forget_closed_loops()
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff

            entry = _LoopClient(
                self._redis.asyncio.Redis.from_url(
                    self._url, retry=Retry(NoBackoff(), 0), **self._client_options()
                )
            )
            self._async_by_loop[loop] = entry
        for old in gone:
            old.forget()
        entry.keeper = self._close_at_loop_end(loop, entry)
        # Its first step, on this loop: asyncio now finalizes it when the loop shuts down
        # its async generators (asyncio.run and asyncio.Runner do, before closing the loop).
        await entry.keeper.asend(None)
        return entry.client

    async def _close_at_loop_end(
        self, loop: asyncio.AbstractEventLoop, entry: _LoopClient
    ) -> AsyncGenerator[None, None]:
        """Parks until its loop shuts down (or ``aclose()``), then closes the loop's client."""
        try:
            yield
        finally:
            with self._clients_lock:
                if self._async_by_loop.get(loop) is entry:
                    del self._async_by_loop[loop]
            if not entry.loop_gone:
                await entry.client.aclose()

    def _forget_closed_loops(self) -> list[_LoopClient]:
        """Take out the clients of loops closed without shutting down their async generators
        (a loop run by hand): they cannot be closed on their loop any more; dropped, their
        sockets close when collected. Called under ``_clients_lock``."""
        gone = [loop for loop in self._async_by_loop if loop.is_closed()]
        return [self._async_by_loop.pop(loop) for loop in gone]

    def _sync_or_raise(self) -> redis.Redis:
        client = self._sync()
        if client is None:
            raise ConfigurationError(
                "This RedisRateBudget was given a redis.asyncio client, which only async code "
                "can use; give it a URL or a redis.Redis client to use it from sync code."
            )
        return client

    def close(self) -> None:
        """Close the connections this budget made from a URL (not a client it was given):
        the sync client's. An event loop's async client is closed when that loop shuts
        down, or by ``aclose()`` on it. The budget stays usable: it connects again."""
        with self._clients_lock:
            client, self._sync_client = self._sync_client, None
            if self._url is None:
                self._sync_client = client  # the caller's: left as given
                client = None
            gone = self._forget_closed_loops()
        for old in gone:
            old.forget()
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """``close()``, and the running event loop's async client too."""
        self.close()
        import asyncio  # here: sync users of the package do not pay for importing it

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        with self._clients_lock:
            entry = self._async_by_loop.pop(loop, None)
        if entry is not None and entry.keeper is not None:
            await entry.keeper.aclose()  # closes the client on this loop

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _run_sync(self, client: redis.Redis, script: _Script, key_id: str, *args: Any) -> Any:
        keys = self.redis_keys(key_id)
        try:
            try:
                return client.evalsha(script.sha, 2, *keys, *args)
            except self._redis.exceptions.NoScriptError:
                return client.eval(script.text, 2, *keys, *args)
        except self._errors:
            raise
        except Exception as error:
            # Not a Redis error: redis-py choked on what the server sent (a HELLO reply
            # that is no map, say). The connection may be half set up: drop it.
            if self._url is not None:  # only a client the budget made: not a caller's pool
                client.connection_pool.disconnect()
            raise BadReply(f"redis-py could not read its answer ({type(error).__name__})") from None

    async def _run_async(
        self, client: redis.asyncio.Redis, script: _Script, key_id: str, *args: Any
    ) -> Any:
        keys = self.redis_keys(key_id)
        try:
            try:
                return await client.evalsha(script.sha, 2, *keys, *args)
            except self._redis.exceptions.NoScriptError:
                return await client.eval(script.text, 2, *keys, *args)
        except self._errors:
            raise
        except Exception as error:  # as in _run_sync: a reply redis-py could not read
            if self._url is not None:
                await client.connection_pool.disconnect()
            raise BadReply(f"redis-py could not read its answer ({type(error).__name__})") from None

    # -- waiting ----------------------------------------------------------------------------

    def _acquire_args(self, priority: Priority, max_wait: float) -> tuple[Any, ...]:
        s = self._settings
        return (
            s.limit,
            repr(s.bulk_reserve),
            round(s.span * 1e6),
            round(max_wait * 1e6),
            priority,
        )

    def acquire(
        self,
        key_id: str,
        *,
        priority: Priority = "interactive",
        max_wait: float = DEFAULT_MAX_RATE_WAIT,
        cancel: CancelToken | None = None,
    ) -> float:
        """Wait for a start in the fleet; return the seconds waited (see the module contract)."""
        max_wait = check_call(priority, max_wait)
        arrived = time.monotonic()
        client = self._sync_or_raise()
        if self._health.may_try():
            try:
                reply = self._run_sync(
                    client, _ACQUIRE, key_id, *self._acquire_args(priority, max_wait)
                )
                member, seconds = _acquire_reply(reply, max_wait)
            except self._errors as error:
                self._health.failed(error)
            else:
                self._health.succeeded()
                if member is None:
                    raise BudgetExhausted(retry_after=seconds)
                try:
                    # Counted from the reply, which came after Redis's "now": late, never early.
                    sleep(seconds, cancel)  # a closed client's cancel wakes it
                except BaseException:
                    self._release_sync(client, key_id, member)
                    raise
                return time.monotonic() - arrived
        left = max(0.0, max_wait - (time.monotonic() - arrived))
        self._fallback.acquire(key_id, priority=priority, max_wait=left, cancel=cancel)
        return time.monotonic() - arrived

    async def acquire_async(
        self,
        key_id: str,
        *,
        priority: Priority = "interactive",
        max_wait: float = DEFAULT_MAX_RATE_WAIT,
        cancel: CancelToken | None = None,
    ) -> float:
        """``acquire`` for async code; a cancelled task frees its reservation."""
        import anyio

        max_wait = check_call(priority, max_wait)
        arrived = time.monotonic()
        client = await self._async()
        if client is None:
            sync_client = self._sync_or_raise()
        if self._health.may_try():
            try:
                args = self._acquire_args(priority, max_wait)
                if client is not None:
                    reply = await self._run_async(client, _ACQUIRE, key_id, *args)
                else:
                    reply = await anyio.to_thread.run_sync(
                        lambda: self._run_sync(sync_client, _ACQUIRE, key_id, *args)
                    )
                member, seconds = _acquire_reply(reply, max_wait)
            except self._errors as error:
                self._health.failed(error)
            else:
                self._health.succeeded()
                if member is None:
                    raise BudgetExhausted(retry_after=seconds)
                try:
                    # From the reply: late, never early. A closed client's cancel wakes it.
                    await sleep_async(seconds, cancel)
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await self._release_async(client, key_id, member)
                    raise
                return time.monotonic() - arrived
        left = max(0.0, max_wait - (time.monotonic() - arrived))
        await self._fallback.acquire_async(key_id, priority=priority, max_wait=left, cancel=cancel)
        return time.monotonic() - arrived

    def _release_sync(self, client: redis.Redis, key_id: str, member: bytes | str) -> None:
        try:
            self._run_sync(client, _RELEASE, key_id, member)
        except self._errors:
            pass  # the reservation expires with the key; it only costs one slot a window

    async def _release_async(
        self, client: redis.asyncio.Redis | None, key_id: str, member: bytes | str
    ) -> None:
        try:
            if client is not None:
                await self._run_async(client, _RELEASE, key_id, member)
            else:
                import anyio  # the sync client blocks: off the event loop, as acquire does

                await anyio.to_thread.run_sync(
                    self._release_sync, self._sync_or_raise(), key_id, member
                )
        except self._errors:
            pass

    # -- learning from the server -----------------------------------------------------------

    def _observe_args(
        self, limit: int | None, remaining: int | None, reset_at: float | datetime | None
    ) -> tuple[Any, ...]:
        reset = epoch_seconds(reset_at)
        s = self._settings
        return (
            "" if limit is None else int(limit),
            "" if remaining is None else int(remaining),
            "" if reset is None else round(reset * 1e6),
            s.limit,
            round(s.span * 1e6),
            round(s.window * 1e6),
        )

    def observe(
        self,
        key_id: str,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_at: float | datetime | None = None,
    ) -> None:
        """Book what the API's rate headers say, where stricter, for the whole fleet."""
        self._fallback.observe(key_id, limit=limit, remaining=remaining, reset_at=reset_at)
        client = self._sync()
        if client is not None and self._health.may_try():
            try:
                reply = self._run_sync(
                    client, _OBSERVE, key_id, *self._observe_args(limit, remaining, reset_at)
                )
                _check_done(reply, "OBSERVE")
            except self._errors as error:
                self._health.failed(error)
            else:
                self._health.succeeded()

    async def observe_async(
        self,
        key_id: str,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_at: float | datetime | None = None,
    ) -> None:
        self._fallback.observe(key_id, limit=limit, remaining=remaining, reset_at=reset_at)
        await self._call_async(
            _OBSERVE, "OBSERVE", key_id, *self._observe_args(limit, remaining, reset_at)
        )

    def penalize(self, key_id: str, retry_after: float) -> None:
        """A 429 came anyway: no process starts on this key for ``retry_after`` seconds."""
        self._fallback.penalize(key_id, retry_after)
        seconds = penalty(retry_after)
        if seconds is None:
            return
        client = self._sync()
        if client is not None and self._health.may_try():
            try:
                reply = self._run_sync(client, _PENALIZE, key_id, round(seconds * 1e6))
                _check_done(reply, "PENALIZE")
            except self._errors as error:
                self._health.failed(error)
            else:
                self._health.succeeded()

    async def penalize_async(self, key_id: str, retry_after: float) -> None:
        self._fallback.penalize(key_id, retry_after)
        seconds = penalty(retry_after)
        if seconds is None:
            return
        await self._call_async(_PENALIZE, "PENALIZE", key_id, round(seconds * 1e6))

    async def _call_async(self, script: _Script, name: str, key_id: str, *args: Any) -> None:
        import anyio

        client = await self._async()
        sync_client = self._sync() if client is None else None
        if (client is None and sync_client is None) or not self._health.may_try():
            return
        try:
            reply: Any = None
            if client is not None:
                reply = await self._run_async(client, script, key_id, *args)
            elif sync_client is not None:
                reply = await anyio.to_thread.run_sync(
                    lambda: self._run_sync(sync_client, script, key_id, *args)
                )
            _check_done(reply, name)
        except self._errors as error:
            self._health.failed(error)
        else:
            self._health.succeeded()
