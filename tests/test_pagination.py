"""Pagination (issue 18, item 5): page objects over the vendor's page envelope, walked
lazily over real HTTP on loopback, sync and async.

The list "methods" here are written the way a generated one is: the first page fetched in
the call, then ``SyncPage``/``AsyncPaginator`` with a ``fetch(number)`` that asks the
client's own transport (so pages share its retries and rate budget) with the same query.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from mijnklantportaal import (
    APIResponseValidationError,
    AsyncMijnKlantportaal,
    MijnKlantportaal,
)
from mijnklantportaal._decode import DecodeError, text, timestamp
from mijnklantportaal._models import EMPTY_EXTRA, Model, decode_field, kind_of
from mijnklantportaal._pagination import (
    AsyncPage,
    AsyncPaginator,
    PageData,
    PaginationError,
    SyncPage,
)
from mijnklantportaal._transport import RequestSpec

API_KEY = "test_key_pagination"


@attrs.frozen(slots=True)
class Ticket(Model):
    id: str
    created_at: datetime
    extra: Mapping[str, Any] = attrs.field(default=EMPTY_EXTRA, kw_only=True)

    _wire_fields: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("id", "id", "text"),
        ("created_at", "createdAt", "timestamp"),
    )

    @classmethod
    def from_dict(cls, data: object) -> Self:
        if type(data) is not dict:
            raise DecodeError(f"expected a JSON object for Ticket, got {kind_of(data)}")
        return cls(
            id=decode_field(text, data.get("id"), "id"),
            created_at=decode_field(timestamp, data.get("createdAt"), "createdAt"),
        )


TICKET_PAGE = PageData.decoder(Ticket.from_dict)


def ticket(number: int) -> dict[str, Any]:
    return {"id": f"tkt_{number}", "createdAt": "2025-04-12T10:00:00Z"}


def envelope(page: int, last: int, per_page: int = 2, host: str = "") -> dict[str, Any]:
    """The vendor's page envelope for ``page`` of ``last`` pages."""
    base = f"{host}/v1/tickets"
    first_item = (page - 1) * per_page + 1
    return {
        "current_page": page,
        "data": [ticket(n) for n in range(first_item, first_item + per_page)],
        "first_page_url": f"{base}?page=1",
        "from": first_item,
        "next_page_url": f"{base}?page={page + 1}" if page < last else None,
        "path": base,
        "per_page": per_page,
        "prev_page_url": f"{base}?page={page - 1}" if page > 1 else None,
        "to": first_item + per_page - 1,
    }


class PageServer:
    """A loopback HTTP server answering ``GET /v1/tickets``; ``answer(page)`` gives the
    envelope for the requested ``page`` (None when the query has none). Records each query."""

    def __init__(self, answer: Callable[[int | None], dict[str, Any]]) -> None:
        self.answer = answer
        self.queries: list[dict[str, list[str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                server.queries.append(query)
                page = int(query["page"][0]) if "page" in query else None
                body = json.dumps(server.answer(page)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def pages_asked(self) -> list[int | None]:
        return [int(q["page"][0]) if "page" in q else None for q in self.queries]


def pages_of(last: int) -> Callable[[int | None], dict[str, Any]]:
    return lambda page: envelope(page or 1, last)


def _spec(status: str, page: int | None) -> RequestSpec:
    params: dict[str, Any] = {"status": status}
    if page is not None:
        params["page"] = page
    return RequestSpec(method="GET", path="/tickets", subject="tickets", params=params)


def sync_list(
    client: MijnKlantportaal, *, status: str, page: int | None = None
) -> SyncPage[Ticket]:
    """What a generated ``client.tickets.list`` does."""
    transport: Any = client._transport

    def fetch(number: int) -> PageData[Ticket]:
        result: PageData[Ticket] = transport.request(_spec(status, number), TICKET_PAGE).parsed
        return result

    first: PageData[Ticket] = transport.request(_spec(status, page), TICKET_PAGE).parsed
    return SyncPage(first, fetch)


def async_list(
    client: AsyncMijnKlantportaal, *, status: str, page: int | None = None
) -> AsyncPaginator[Ticket]:
    """What a generated ``aclient.tickets.list`` does (a plain def: awaitable and iterable)."""
    transport: Any = client._transport

    async def fetch(number: int) -> PageData[Ticket]:
        result: PageData[Ticket] = (
            await transport.request(_spec(status, number), TICKET_PAGE)
        ).parsed
        return result

    async def first() -> PageData[Ticket]:
        result: PageData[Ticket] = (
            await transport.request(_spec(status, page), TICKET_PAGE)
        ).parsed
        return result

    return AsyncPaginator(first, fetch)


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int | None], dict[str, Any]]], PageServer]]:
    servers: list[PageServer] = []

    def start(answer: Callable[[int | None], dict[str, Any]]) -> PageServer:
        server = PageServer(answer).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def walk(
    mode: str, base_url: str, *, stop_after: int | None = None, page: int | None = None
) -> list[str]:
    """The ids of every item ``for t in client.tickets.list(status="open")`` yields
    (breaking after ``stop_after`` items)."""
    ids: list[str] = []
    if mode == "sync":
        with MijnKlantportaal(api_key=API_KEY, base_url=base_url, max_retries=0) as client:
            for item in sync_list(client, status="open", page=page):
                ids.append(item.id)
                if len(ids) == stop_after:
                    break
        return ids

    async def run() -> None:
        async with AsyncMijnKlantportaal(
            api_key=API_KEY, base_url=base_url, max_retries=0
        ) as client:
            async for item in async_list(client, status="open", page=page):
                ids.append(item.id)
                if len(ids) == stop_after:
                    break

    asyncio.run(run())
    return ids


def test_i18_5_iterating_walks_every_item_of_every_page_with_the_same_query(
    mode: str, serve: Any
) -> None:
    server = serve(pages_of(3))
    assert walk(mode, server.base_url) == [f"tkt_{n}" for n in range(1, 7)]
    assert server.pages_asked == [None, 2, 3]
    assert all(query["status"] == ["open"] for query in server.queries)


def test_i18_5_breaking_out_of_the_loop_sends_nothing_more(mode: str, serve: Any) -> None:
    server = serve(pages_of(50))
    assert walk(mode, server.base_url, stop_after=3) == ["tkt_1", "tkt_2", "tkt_3"]
    assert server.pages_asked == [None, 2]  # page 3 never asked for


def test_i18_5_page_n_is_that_page_alone_sync(serve: Any) -> None:
    server = serve(pages_of(3))
    with MijnKlantportaal(api_key=API_KEY, base_url=server.base_url) as client:
        page = sync_list(client, status="open", page=2)
        assert server.pages_asked == [2]  # fetched in the call, nothing more
        assert [t.id for t in page.data] == ["tkt_3", "tkt_4"]
        assert page.current_page == 2
        assert page.from_ == 3 and page.to == 4 and page.per_page == 2
        assert page.prev_page_url is not None and page.prev_page_url.endswith("page=1")
        assert page.has_next_page()
        assert server.pages_asked == [2]
        last = page.next_page()
        assert last is not None and last.current_page == 3 and not last.has_next_page()
        assert last.next_page() is None
        assert [p.current_page for p in page.iter_pages()] == [2, 3]
        assert repr(page) == "SyncPage(current_page=2, items=2, has_next_page=True)"
        assert server.pages_asked == [2, 3, 3]


def test_i18_5_the_async_list_is_awaitable_for_one_page_and_async_iterable(serve: Any) -> None:
    server = serve(pages_of(3))

    async def run() -> None:
        async with AsyncMijnKlantportaal(api_key=API_KEY, base_url=server.base_url) as client:
            paginator = async_list(client, status="open", page=2)
            assert server.pages_asked == []  # nothing sent until awaited or iterated
            page = await paginator
            assert isinstance(page, AsyncPage)
            assert [t.id for t in page.data] == ["tkt_3", "tkt_4"]
            assert server.pages_asked == [2]
            following = await page.next_page()
            assert following is not None and following.current_page == 3
            assert await following.next_page() is None
            assert [p.current_page async for p in page.iter_pages()] == [2, 3]
            assert [t.id async for t in page] == ["tkt_3", "tkt_4", "tkt_5", "tkt_6"]
            assert [t.id async for t in async_list(client, status="open")] == [
                f"tkt_{n}" for n in range(1, 7)
            ]

    asyncio.run(run())


def test_i18_5_a_page_linking_to_itself_stops_with_a_typed_error(mode: str, serve: Any) -> None:
    def answer(page: int | None) -> dict[str, Any]:
        body = envelope(page or 1, 5)
        body["next_page_url"] = body["first_page_url"] if page is None else body["next_page_url"]
        return body  # page 1 says its next page is page 1

    server = serve(answer)
    with pytest.raises(PaginationError) as caught:
        walk(mode, server.base_url)
    assert isinstance(caught.value, APIResponseValidationError)
    assert caught.value.field == "next_page_url"
    assert "Page 1 links to page 1" in str(caught.value)
    assert server.pages_asked == [None]


def test_i18_5_a_repeated_earlier_page_stops_with_a_typed_error(mode: str, serve: Any) -> None:
    # A server that ignores ?page= and answers page 1 every time.
    server = serve(lambda page: envelope(1, 5))
    with pytest.raises(PaginationError) as caught:
        walk(mode, server.base_url)
    assert caught.value.field == "current_page"
    assert "Asked for page 2, the API answered page 1" in str(caught.value)
    assert server.pages_asked == [None, 2]


def test_i18_5_a_next_page_url_pointing_back_stops(mode: str, serve: Any) -> None:
    def answer(page: int | None) -> dict[str, Any]:
        body = envelope(page or 1, 5)
        if page == 3:
            body["next_page_url"] = body["first_page_url"]  # page 3 -> page 1
        return body

    server = serve(answer)
    with pytest.raises(PaginationError, match="Page 3 links to page 1"):
        walk(mode, server.base_url)
    assert server.pages_asked == [None, 2, 3]


def test_i18_5_the_next_page_url_is_never_followed_only_its_page_number(
    mode: str, serve: Any
) -> None:
    def answer(page: int | None) -> dict[str, Any]:
        body = envelope(page or 1, 4)
        nexts = {
            None: "https://elsewhere.example/steal?page=3&key=x",  # another host: number only
            3: "/v1/tickets?cursor=abc",  # no page number: current + 1
            4: None,
        }
        body["next_page_url"] = nexts[page]
        return body

    server = serve(answer)
    assert walk(mode, server.base_url) == ["tkt_1", "tkt_2", "tkt_5", "tkt_6", "tkt_7", "tkt_8"]
    assert server.pages_asked == [None, 3, 4]
    assert all(set(query) == {"status", "page"} for query in server.queries[1:])


def test_i18_5_an_empty_page_is_the_last_whatever_it_links_to(mode: str, serve: Any) -> None:
    def answer(page: int | None) -> dict[str, Any]:
        body = envelope(page or 1, 1000)  # links on and on
        if page == 3:
            body["data"] = []
        return body

    server = serve(answer)
    assert walk(mode, server.base_url) == [f"tkt_{n}" for n in range(1, 5)]
    assert server.pages_asked == [None, 2, 3]
    empty = PageData(data=(), current_page=3, next_page_url="/v1/tickets?page=4")
    assert empty.next_page_number() is None


@pytest.mark.parametrize(
    "weird", ["?page=abc", "?page=0", "?page=-2", "?page=1&page=9", "?page=" + "9" * 30]
)
def test_i18_5_an_insane_page_parameter_falls_back_to_the_next_number(weird: str) -> None:
    page = PageData(data=("x",), current_page=4, next_page_url=f"https://x.example/t{weird}")
    assert page.next_page_number() == 5


def test_i18_5_a_bad_item_is_an_error_naming_its_path(mode: str, serve: Any) -> None:
    def answer(page: int | None) -> dict[str, Any]:
        body = envelope(page or 1, 3)
        if page == 2:
            body["data"][1]["createdAt"] = 5
        return body

    server = serve(answer)
    with pytest.raises(APIResponseValidationError) as caught:
        walk(mode, server.base_url)
    assert caught.value.field == "data[1].createdAt"
    assert not isinstance(caught.value, PaginationError)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"data": []}, "current_page"),
        ({"current_page": 1}, "data"),
        ({"current_page": 0, "data": []}, "current_page"),
        ({"current_page": True, "data": []}, "current_page"),
        ({"current_page": 1, "data": {}}, "data"),
        ({"current_page": 1, "data": [], "next_page_url": 7}, "next_page_url"),
        ({"current_page": 1, "data": [], "from": "1"}, "from"),
        ([], None),
    ],
)
def test_i18_5_a_malformed_envelope_is_a_decode_error_naming_the_field(
    body: object, field: str | None
) -> None:
    with pytest.raises(DecodeError) as caught:
        TICKET_PAGE(body)
    assert caught.value.field == field


def test_i18_5_a_minimal_envelope_with_last_page_and_total_decodes() -> None:
    page = TICKET_PAGE(
        {"current_page": 2, "data": [ticket(1)], "next_page_url": None, "last_page": 2, "total": 3}
    )
    assert page.last_page == 2 and page.total == 3 and page.next_page_number() is None
    assert page.data[0].id == "tkt_1" and page.from_ is None


TYPED_SAMPLE = """
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from mijnklantportaal._encode import NOT_GIVEN, NotGiven, json_body, money_string, one_of, text
from mijnklantportaal._models import decode_union
from mijnklantportaal._pagination import AsyncPaginator, PageData, SyncPage


class Ticket:
    @classmethod
    def from_dict(cls, data: object) -> "Ticket":
        return cls()


class Reply:
    @classmethod
    def from_dict(cls, data: object) -> "Reply":
        return cls()


def create(
    *,
    amount: Decimal,
    description: str | NotGiven = NOT_GIVEN,
    status: Literal["open", "closed"] | NotGiven = NOT_GIVEN,
) -> bytes:
    return json_body(
        ("amount", amount, "amount", money_string),
        ("description", description, "description", text),
        ("status", status, "status", one_of("open", "closed")),
    )


def walk(page: SyncPage[Ticket]) -> None:
    reveal_type(page.data)
    reveal_type(page.next_page())
    for ticket in page:
        reveal_type(ticket)
    for each in page.iter_pages():
        reveal_type(each.current_page)


async def awalk(paginator: AsyncPaginator[Ticket]) -> None:
    first = await paginator
    reveal_type(first)
    reveal_type(await first.next_page())
    async for ticket in paginator:
        reveal_type(ticket)


variants: tuple[tuple[str, Callable[[Any], Ticket | Reply]], ...] = (
    ("Ticket", Ticket.from_dict),
    ("Reply", Reply.from_dict),
)
reveal_type(decode_union({}, variants))
reveal_type(PageData.decoder(Ticket.from_dict))
reveal_type(NOT_GIVEN)
create(amount=Decimal("1"), status="closed")
create(amount=Decimal("1"), status="pending")
"""


@pytest.mark.slow
def test_i18_5_mypy_strict_sees_the_item_types_of_pages(tmp_path: Any) -> None:
    import subprocess
    import sys

    (tmp_path / "sample.py").write_text(TYPED_SAMPLE, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / ".mypy_cache"),
            "sample.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    notes = [  # mypy versions differ in spelling builtins.int or int
        line.split(": ", 2)[2].replace("builtins.", "")
        for line in result.stdout.splitlines()
        if ": note: " in line
    ]
    errors = [line for line in result.stdout.splitlines() if ": error: " in line]
    assert notes == [
        'Revealed type is "tuple[sample.Ticket, ...]"',
        'Revealed type is "mijnklantportaal._pagination.SyncPage[sample.Ticket] | None"',
        'Revealed type is "sample.Ticket"',
        'Revealed type is "int"',
        'Revealed type is "mijnklantportaal._pagination.AsyncPage[sample.Ticket]"',
        'Revealed type is "mijnklantportaal._pagination.AsyncPage[sample.Ticket] | None"',
        'Revealed type is "sample.Ticket"',
        'Revealed type is "sample.Ticket | sample.Reply"',
        'Revealed type is "def (object) -> mijnklantportaal._pagination.PageData[sample.Ticket]"',
        'Revealed type is "mijnklantportaal._encode.NotGiven"',
    ], result.stdout
    # the one deliberate mistake: an enum value the signature's Literal does not allow
    assert len(errors) == 1 and "'pending'" in errors[0] and "arg-type" in errors[0], result.stdout
