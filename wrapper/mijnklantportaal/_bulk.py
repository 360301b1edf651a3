"""Fetch many resources by id, a few at a time, as a stream in input order.

    for invoice_id, result in fetch_many(client.invoices.get, ids, concurrency=4):
        if isinstance(result, MijnKlantportaalError):
            ...  # this id failed (404, 429 after the retries, a malformed id...)
        else:
            ...  # an Invoice

    async for invoice_id, result in afetch_many(async_client.invoices.get, ids, concurrency=4):
        ...

Both read ``ids`` lazily and hold at most ``BULK_LOOKAHEAD_FACTOR * concurrency`` ids at a
time: ``concurrency`` calls in flight and the rest queued or finished, waiting for the id
in front of them to be yielded. Neither ever holds all the ids or all the results, so a
generator of a million ids streams in constant memory, and a consumer that stops early
leaves the rest of ``ids`` unread.

One id that fails is one ``MijnKlantportaalError`` value in the stream; the others go on.
Any other exception (a bug in ``fetch``, ``KeyboardInterrupt``) ends the stream and is
raised to the consumer. When reading ``ids`` raises (a read error), the results of the ids
already read, fetched or in flight, are yielded first, then that exception is raised. Stopping early (``break``, ``close()``/``aclose()``, an exception
in the consumer, Ctrl+C) cancels the calls not yet started. Async calls already running
are cancelled too; a thread's call already running finishes on its own (a thread cannot
be stopped), and nothing waits for it.

The sync flavour runs the calls on a ``ThreadPoolExecutor`` of ``concurrency`` threads,
made for the stream and shut down with it. The async flavour runs them as asyncio tasks.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from mijnklantportaal._constants import BULK_LOOKAHEAD_FACTOR, MAX_CONCURRENCY
from mijnklantportaal._exceptions import InvalidArgumentError, MijnKlantportaalError

if TYPE_CHECKING:
    import asyncio  # imported where it runs: the command line need not load it

__all__ = ["MAX_CONCURRENCY", "afetch_many", "check_concurrency", "fetch_many"]

T = TypeVar("T")

THREAD_NAME_PREFIX = "mijnklantportaal-bulk"


def check_concurrency(concurrency: object) -> int:
    """``concurrency`` when it is an int within 1..MAX_CONCURRENCY; InvalidArgumentError otherwise."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise InvalidArgumentError(
            f"concurrency must be a whole number from 1 to {MAX_CONCURRENCY}, "
            f"not {type(concurrency).__name__} {concurrency!r}"
        )
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidArgumentError(
            f"concurrency must be from 1 to {MAX_CONCURRENCY}, got {concurrency}; "
            "more parallel calls would only wait for the rate limit"
        )
    return concurrency


def _check_ids(ids: object, *, allow_async: bool) -> None:
    if isinstance(ids, str | bytes):
        raise InvalidArgumentError(
            f"ids must be an iterable of ids, not one {type(ids).__name__} "
            f"(that would fetch each character); pass [{ids!r}]"
        )
    if not (isinstance(ids, Iterable) or (allow_async and isinstance(ids, AsyncIterable))):
        hint = " (use afetch_many for an async iterable)" if isinstance(ids, AsyncIterable) else ""
        raise InvalidArgumentError(
            f"ids must be an iterable of ids (a list, a generator, a file's lines), "
            f"not {type(ids).__name__}{hint}"
        )


# -- sync -------------------------------------------------------------------------------


def fetch_many(
    fetch: Callable[[str], T], ids: Iterable[str], *, concurrency: int
) -> Iterator[tuple[str, T | MijnKlantportaalError]]:
    """``(id, fetch(id) or its MijnKlantportaalError)`` for each of ``ids``, in input order,
    with at most ``concurrency`` calls of ``fetch`` running at once on worker threads.

    The arguments are checked now (``InvalidArgumentError``); the calls start when the
    iteration does. Close the iterator (or leave the ``for`` loop) to stop early.
    """
    limit = check_concurrency(concurrency)
    _check_ids(ids, allow_async=False)
    return _stream(fetch, iter(ids), limit)


def _call(fetch: Callable[[str], T], item: str) -> T | MijnKlantportaalError:
    try:
        return fetch(item)
    except MijnKlantportaalError as error:
        return error


def _stream(
    fetch: Callable[[str], T], source: Iterator[str], concurrency: int
) -> Iterator[tuple[str, T | MijnKlantportaalError]]:
    window: deque[tuple[str, Future[T | MijnKlantportaalError]]] = deque()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=THREAD_NAME_PREFIX)
    held = BULK_LOOKAHEAD_FACTOR * concurrency
    exhausted = False
    source_error: Exception | None = None
    try:
        while True:
            while not exhausted and len(window) < held:
                try:
                    item = next(source)
                except StopIteration:
                    exhausted = True
                    break
                except Exception as error:  # a read error: first hand over what was fetched
                    exhausted, source_error = True, error
                    break
                # In the consumer's context, so that each call's span (the otel extra)
                # has the caller's span as its parent, as on the consumer's own thread.
                context = contextvars.copy_context()
                window.append((item, pool.submit(context.run, _call, fetch, item)))
            if not window:
                if source_error is not None:
                    raise source_error
                return
            item, future = window[0]
            result = future.result()  # re-raises what is not a MijnKlantportaalError
            window.popleft()
            yield item, result
    finally:
        for _, pending in window:
            pending.cancel()
        window.clear()
        pool.shutdown(wait=False, cancel_futures=True)


# -- async ------------------------------------------------------------------------------


def afetch_many(
    fetch: Callable[[str], Awaitable[T]],
    ids: Iterable[str] | AsyncIterable[str],
    *,
    concurrency: int,
) -> AsyncIterator[tuple[str, T | MijnKlantportaalError]]:
    """The async twin of :func:`fetch_many`: ``async for id, result in afetch_many(...)``.

    ``ids`` may be a plain or an async iterable. The calls run as asyncio tasks, at most
    ``concurrency`` at once; ``aclose()`` (or leaving the ``async for``) cancels them.
    """
    limit = check_concurrency(concurrency)
    _check_ids(ids, allow_async=True)
    return _astream(fetch, ids, limit)


async def _acall(
    fetch: Callable[[str], Awaitable[T]], item: str, slots: asyncio.Semaphore
) -> T | MijnKlantportaalError:
    async with slots:
        try:
            return await fetch(item)
        except MijnKlantportaalError as error:
            return error


async def _astream(
    fetch: Callable[[str], Awaitable[T]],
    ids: Iterable[str] | AsyncIterable[str],
    concurrency: int,
) -> AsyncIterator[tuple[str, T | MijnKlantportaalError]]:
    import asyncio

    async_source = aiter(ids) if isinstance(ids, AsyncIterable) else None
    sync_source = iter(ids) if isinstance(ids, Iterable) and async_source is None else None
    slots = asyncio.Semaphore(concurrency)
    window: deque[tuple[str, asyncio.Task[T | MijnKlantportaalError]]] = deque()
    held = BULK_LOOKAHEAD_FACTOR * concurrency
    exhausted = False
    source_error: Exception | None = None
    try:
        while True:
            while not exhausted and len(window) < held:
                try:
                    if async_source is not None:
                        item = await anext(async_source)
                    else:
                        assert sync_source is not None
                        item = next(sync_source)
                except (StopIteration, StopAsyncIteration):
                    exhausted = True
                    break
                except Exception as error:  # a read error: first hand over what was fetched
                    exhausted, source_error = True, error
                    break
                window.append((item, asyncio.ensure_future(_acall(fetch, item, slots))))
            if not window:
                if source_error is not None:
                    raise source_error
                return
            item, task = window[0]
            result = await task  # re-raises what is not a MijnKlantportaalError
            window.popleft()
            yield item, result
    finally:
        tasks = [task for _, task in window]
        window.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
            for task in tasks:  # a result nobody will read: no "never retrieved" warning
                if not task.cancelled():
                    task.exception()
