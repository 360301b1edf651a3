"""Page objects for the API's page envelope, walked lazily, sync and async.

A list operation answers one page in the vendor's envelope::

    {"current_page": 2, "data": [...], "first_page_url": "...?page=1", "from": 16,
     "next_page_url": "...?page=3", "path": "...", "per_page": 15,
     "prev_page_url": "...?page=1", "to": 30}          (sometimes "last_page", "total")

``PageData.decoder(Item.from_dict)`` decodes it (errors name the path: ``data[3].createdAt``).
The generated method fetches the first page itself, in the call, and wraps it::

    def list(self, *, status: str | NotGiven = NOT_GIVEN,
             page: int | NotGiven = NOT_GIVEN) -> SyncPage[Ticket]:
        ...  # argument checks
        def fetch(number: int) -> PageData[Ticket]:
            return self._transport.request("GET", "/tickets", query={..., "page": number},
                                           cast_to=_TICKET_PAGE)   # PageData.decoder(...)
        first = first_page_without_a_page_parameter() if page is NOT_GIVEN else fetch(page)
        return SyncPage(first, fetch)

    # async: a plain ``def`` returning AsyncPaginator, so both ``await`` and ``async for``
    def list(self, ...) -> AsyncPaginator[Ticket]:
        ...  # argument checks, raised at the call
        async def fetch(number: int) -> PageData[Ticket]: ...
        async def first() -> PageData[Ticket]: ...
        return AsyncPaginator(first, fetch)

Which page comes next: the ``page`` query parameter of ``next_page_url`` when it is a sane
number, else ``current_page + 1``; only when ``next_page_url`` is not null. The URL itself
is never requested: ``fetch(number)`` asks the client's own base URL, with the same query
arguments, so the key never goes to a host a response names.

An empty page is the last one (as in openai-python): it is past the end of the list, and
a server that kept linking empty pages on would otherwise be walked forever.

Loops: a walk must move forward. A next page number that is not above ``current_page`` (a
page linking to itself or back), or a fetched page whose ``current_page`` is not the number
asked for (the server answered an earlier page again), raises ``PaginationError`` (an
``APIResponseValidationError``) instead of walking in circles. Page numbers only grow, so no
page can repeat; there is no cap on the number of pages: every page walked has items the caller
sees, a real list may be long, each page is a request under the rate budget, and the caller
can stop whenever they like (breaking out of a loop fetches nothing more).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, Self, TypeVar
from urllib.parse import parse_qs, urlsplit

import attrs

from mijnklantportaal._decode import DecodeError, integer, text
from mijnklantportaal._exceptions import PaginationError
from mijnklantportaal._models import decode_field, decode_list, kind_of

__all__ = ["AsyncPage", "AsyncPaginator", "PageData", "SyncPage"]

T = TypeVar("T")

# A page number is at most this many digits in a next_page_url; longer is not sane.
_MAX_PAGE_DIGITS = 18
_PAGE_NUMBER = re.compile(r"[1-9][0-9]*\Z", re.ASCII)


@attrs.frozen(slots=True)
class PageData(Generic[T]):
    """One decoded page envelope: the typed items and the envelope's fields."""

    data: tuple[T, ...]
    current_page: int
    next_page_url: str | None = None
    prev_page_url: str | None = None
    first_page_url: str | None = None
    path: str | None = None
    per_page: int | None = None
    from_: int | None = None
    """The envelope's ``from``: the 1-based position of this page's first item (null when empty)."""
    to: int | None = None
    last_page: int | None = None
    total: int | None = None

    @classmethod
    def from_dict(cls, body: object, item: Callable[[Any], T]) -> PageData[T]:
        """Decode an envelope; ``item`` decodes each element of ``data`` (``Ticket.from_dict``).

        ``data`` and ``current_page`` are required; the rest may be missing or null.
        Raises ``DecodeError`` naming the field (``data[3].createdAt``, ``current_page``).
        """
        if type(body) is not dict:
            raise DecodeError(f"expected a page (a JSON object with 'data'), got {kind_of(body)}")
        if "data" not in body:
            raise DecodeError("is missing: this is not a page", "data")
        if "current_page" not in body:
            raise DecodeError("is missing: this is not a page", "current_page")
        current = decode_field(integer, body["current_page"], "current_page")
        if current < 1:
            raise DecodeError(f"is {current}; pages are numbered from 1", "current_page")
        get = body.get
        return cls(
            data=decode_list(item, body["data"], "data"),
            current_page=current,
            next_page_url=_optional(text, get("next_page_url"), "next_page_url"),
            prev_page_url=_optional(text, get("prev_page_url"), "prev_page_url"),
            first_page_url=_optional(text, get("first_page_url"), "first_page_url"),
            path=_optional(text, get("path"), "path"),
            per_page=_optional(integer, get("per_page"), "per_page"),
            from_=_optional(integer, get("from"), "from"),
            to=_optional(integer, get("to"), "to"),
            last_page=_optional(integer, get("last_page"), "last_page"),
            total=_optional(integer, get("total"), "total"),
        )

    @staticmethod
    def decoder(item: Callable[[Any], T]) -> Callable[[object], PageData[T]]:
        """``body -> PageData`` for ``item``: the ``cast_to`` of a list method's request."""

        def decode_page(body: object) -> PageData[T]:
            return PageData.from_dict(body, item)

        return decode_page

    def next_page_number(self) -> int | None:
        """The number of the page after this one, or None on the last page.

        An empty page is the last, whatever its ``next_page_url`` says: pages are slices of
        one result list, so an empty one is past its end, and following such links could
        walk empty pages forever. Raises ``PaginationError`` when the envelope points back
        or at itself.
        """
        if self.next_page_url is None or not self.data:
            return None
        number = _page_parameter(self.next_page_url)
        if number is None:
            return self.current_page + 1
        if number <= self.current_page:
            raise PaginationError(
                f"Page {self.current_page} links to page {number} as its next page "
                f"(next_page_url {_short(self.next_page_url)}), so walking on would loop; "
                "stopped. This is a server-side fault.",
                response=None,
                field="next_page_url",
            )
        return number

    def check_is(self, asked: int) -> Self:
        """This page, when it is page ``asked``; else ``PaginationError`` (an earlier or other
        page came back, and walking on would repeat pages)."""
        if self.current_page != asked:
            raise PaginationError(
                f"Asked for page {asked}, the API answered page {self.current_page}, "
                "so walking on would repeat pages; stopped. This is a server-side fault.",
                response=None,
                field="current_page",
            )
        return self


def _optional(decoder: Callable[[Any], T], value: object, key: str) -> T | None:
    return None if value is None else decode_field(decoder, value, key)


def _page_parameter(url: str) -> int | None:
    """The ``page`` query parameter of ``url`` when it is one sane positive number."""
    try:
        values = parse_qs(urlsplit(url).query).get("page")
    except ValueError:
        return None
    if not values or len(values) != 1:
        return None
    value = values[0]
    if len(value) > _MAX_PAGE_DIGITS or not _PAGE_NUMBER.match(value):
        return None
    return int(value)


def _short(value: str) -> str:
    return repr(value) if len(value) <= 80 else repr(value[:77]) + "..."


class _PageFields(Generic[T]):
    """The envelope's fields as attributes of a page object."""

    __slots__ = ("_page",)
    _page: PageData[T]

    @property
    def data(self) -> tuple[T, ...]:
        """The typed items of this page alone."""
        return self._page.data

    @property
    def current_page(self) -> int:
        return self._page.current_page

    @property
    def next_page_url(self) -> str | None:
        return self._page.next_page_url

    @property
    def prev_page_url(self) -> str | None:
        return self._page.prev_page_url

    @property
    def first_page_url(self) -> str | None:
        return self._page.first_page_url

    @property
    def path(self) -> str | None:
        return self._page.path

    @property
    def per_page(self) -> int | None:
        return self._page.per_page

    @property
    def from_(self) -> int | None:
        return self._page.from_

    @property
    def to(self) -> int | None:
        return self._page.to

    @property
    def last_page(self) -> int | None:
        return self._page.last_page

    @property
    def total(self) -> int | None:
        return self._page.total

    @property
    def page_data(self) -> PageData[T]:
        """The decoded envelope itself."""
        return self._page

    def has_next_page(self) -> bool:
        """Whether there is a page after this one: ``next_page_url`` is set and this page
        has items (an empty page is past the end of the list)."""
        return self._page.next_page_url is not None and bool(self._page.data)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(current_page={self.current_page}, "
            f"items={len(self.data)}, has_next_page={self.has_next_page()})"
        )


class SyncPage(_PageFields[T]):
    """One page of a list, and the way to the next ones.

    ``page.data`` is this page's items; iterating the page walks every item of this page and
    of every later one, fetching each next page only when the items before it are used up.
    """

    __slots__ = ("_fetch",)

    def __init__(self, page: PageData[T], fetch: Callable[[int], PageData[T]]) -> None:
        """``page``: this page, decoded. ``fetch(number)``: page ``number`` with the same
        query arguments, from the client's own base URL (a generated method's closure)."""
        self._page = page
        self._fetch = fetch

    def next_page(self) -> SyncPage[T] | None:
        """The page after this one (one request), or None when this is the last."""
        number = self._page.next_page_number()
        if number is None:
            return None
        return SyncPage(self._fetch(number).check_is(number), self._fetch)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        """This page, then each later one, fetched as the iteration reaches it."""
        page: SyncPage[T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageFields[T]):
    """The async ``SyncPage``: ``await page.next_page()``, ``async for`` over the items."""

    __slots__ = ("_fetch",)

    def __init__(self, page: PageData[T], fetch: Callable[[int], Awaitable[PageData[T]]]) -> None:
        self._page = page
        self._fetch = fetch

    async def next_page(self) -> AsyncPage[T] | None:
        """The page after this one (one request), or None when this is the last."""
        number = self._page.next_page_number()
        if number is None:
            return None
        fetched = await self._fetch(number)
        return AsyncPage(fetched.check_is(number), self._fetch)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page, then each later one, fetched as the iteration reaches it."""
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()


class AsyncPaginator(Generic[T]):
    """What an async list method returns: ``await`` it for the first page (an
    ``AsyncPage``), or ``async for`` over it for every item of every page.

    Nothing is sent until it is awaited or iterated; each ``await`` or ``async for`` starts
    again from the first page the call asked for.
    """

    __slots__ = ("_fetch", "_first")

    def __init__(
        self,
        first: Callable[[], Awaitable[PageData[T]]],
        fetch: Callable[[int], Awaitable[PageData[T]]],
    ) -> None:
        """``first()``: the page the call asked for. ``fetch(number)``: as for ``AsyncPage``."""
        self._first = first
        self._fetch = fetch

    async def _first_page(self) -> AsyncPage[T]:
        return AsyncPage(await self._first(), self._fetch)

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first_page().__await__()

    async def _items(self) -> AsyncIterator[T]:
        page = await self._first_page()
        async for item in page:
            yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(not fetched yet: await it or use async for)"
