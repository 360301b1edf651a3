"""``<resource> export --all``: a page list walked into OUT, resumable by page
(``_export.run_page_export`` and ``PageState``).

The walk is driven here by page objects of the client's own kind (``SyncPage`` over
``PageData``), fed by a list held in the test; the command over real loopback HTTP, against a
spec with a page list, is in tests/test_drill_cli.py.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mijnklantportaal import InvalidArgumentError, Invoice, PaginationError
from mijnklantportaal._export import (
    ExportFile,
    PageState,
    Progress,
    pages_path_for,
    run_page_export,
)
from mijnklantportaal._pagination import PageData, SyncPage
from mijnklantportaal.testing import EXAMPLE_INVOICE

PER_PAGE = 15
IDS = [f"fac_page{n:06d}" for n in range(40)]  # three pages: 15, 15, 10
OPERATION = "list-zz-test-invoices"


class PageFailed(Exception):
    """What the client raises for a page that still fails after its retries."""


class Listing:
    """A server's list of invoices, a page at a time, as the client's page objects; records
    the pages asked for. ``on_item(id)`` runs as each item is written (``to_dict``)."""

    def __init__(self, ids: list[str], on_item: Callable[[str], None] | None = None) -> None:
        self.ids = ids
        self.asked: list[int] = []
        self.on_item = on_item
        self.fail_page: int | None = None

    def page(self, number: int) -> PageData[Any]:
        self.asked.append(number)
        if number == self.fail_page:
            raise PageFailed(f"page {number}: 503 after the retries")
        chunk = self.ids[(number - 1) * PER_PAGE : number * PER_PAGE]
        last = -(-len(self.ids) // PER_PAGE)
        items = tuple(self._item(i) for i in chunk)
        next_url = f"https://api.invalid/v1/x?page={number + 1}" if number < last else None
        return PageData(data=items, current_page=number, next_page_url=next_url)

    def _item(self, invoice_id: str) -> Any:
        invoice = Invoice.from_dict({**EXAMPLE_INVOICE, "id": invoice_id})
        if self.on_item is None:
            return invoice
        hook = self.on_item

        class Watched:
            def to_dict(self) -> dict[str, Any]:
                hook(invoice_id)
                return invoice.to_dict()

        return Watched()

    def fetch_page(self, number: int) -> SyncPage[Any]:
        return SyncPage(self.page(number), self.page)


def walk(listing: Listing, out: Path, filters: dict[str, Any] | None = None) -> tuple[Any, Any]:
    state = PageState.read(out, OPERATION, filters or {})
    with ExportFile(out, what="invoice") as target:
        state.check(target)
        progress = Progress(mode="off", stream=io.StringIO(), total=None, already=len(target.done))
        result = run_page_export(listing.fetch_page, target, state, progress)
    return result, state


def lines(out: Path) -> list[str]:
    data = out.read_bytes()
    assert data == b"" or data.endswith(b"\n")
    return [json.loads(line)["id"] for line in data.splitlines()]


def pages_file(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(pages_path_for(out).read_bytes())
    return data


def test_every_page_is_walked_once_and_the_walk_is_recorded_as_finished(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    listing = Listing(IDS)
    result, state = walk(listing, out, {"status": "open"})
    assert (result.exported, result.interrupted, result.total) == (40, False, None)
    assert listing.asked == [1, 2, 3] and lines(out) == IDS
    expected = Invoice.from_dict({**EXAMPLE_INVOICE, "id": IDS[0]}).to_dict()
    assert json.loads(out.read_bytes().splitlines()[0]) == expected  # to_dict, money exact
    assert pages_file(out) == {
        "export": "pages",
        "operation": OPERATION,
        "filters": {"status": "open"},
        "next_page": None,
        "lines": 40,
    }
    assert state.next_page is None
    again = Listing(IDS)
    result, _ = walk(again, out, {"status": "open"})  # finished: nothing is asked
    assert again.asked == [] and result.exported == 0 and lines(out) == IDS


def test_ctrl_c_between_pages_resumes_at_the_next_page(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    listing = Listing(IDS)
    original = listing.page

    def interrupted(number: int) -> PageData[Any]:
        if number == 3:
            raise KeyboardInterrupt
        return original(number)

    listing.page = interrupted  # type: ignore[method-assign]
    result, _ = walk(listing, out)
    assert (result.exported, result.interrupted) == (30, True)
    assert pages_file(out)["next_page"] == 3 and pages_file(out)["lines"] == 30
    rerun = Listing(IDS)
    result, _ = walk(rerun, out)
    assert rerun.asked == [3] and result.exported == 10 and lines(out) == IDS


def test_ctrl_c_inside_a_page_walks_it_again_without_a_line_twice(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"

    def stop_at(invoice_id: str) -> None:
        if invoice_id == IDS[20]:  # page 2, after five of its items
            raise KeyboardInterrupt

    result, _ = walk(Listing(IDS, on_item=stop_at), out)
    assert (result.exported, result.interrupted) == (20, True)
    assert pages_file(out)["next_page"] == 2 and lines(out) == IDS[:20]
    rerun = Listing(IDS)
    result, _ = walk(rerun, out)
    assert rerun.asked == [2, 3] and result.exported == 20
    assert lines(out) == IDS  # the five of page 2 already there are not written again


def test_a_page_that_fails_stops_the_walk_and_the_pages_before_it_stay_done(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    listing = Listing(IDS)
    listing.fail_page = 2
    with pytest.raises(PageFailed):
        walk(listing, out)
    assert lines(out) == IDS[:15] and pages_file(out)["next_page"] == 2
    rerun = Listing(IDS)
    walk(rerun, out)
    assert rerun.asked == [2, 3] and lines(out) == IDS


def test_a_torn_last_line_is_cut_and_the_walk_goes_on(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"

    def stop_at(invoice_id: str) -> None:
        if invoice_id == IDS[17]:
            raise KeyboardInterrupt

    walk(Listing(IDS, on_item=stop_at), out)
    torn = json.dumps(Invoice.from_dict({**EXAMPLE_INVOICE, "id": IDS[17]}).to_dict())[:-30]
    out.write_bytes(out.read_bytes() + torn.encode())  # what a crash mid-write leaves
    walk(Listing(IDS), out)
    assert lines(out) == IDS


def test_a_pages_file_that_is_not_this_commands_is_refused_and_left_unchanged(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    foreign = pages_path_for(out)
    for content in (
        b"notes\n",
        b'{"export": "pages"}',
        b'{"export":"pages","operation":"x","filters":{},"next_page":0,"lines":0}',
        b"[" * 100_000,
    ):
        foreign.write_bytes(content)
        with pytest.raises(InvalidArgumentError, match="is not a pages file of this command"):
            walk(Listing(IDS), out)
        assert foreign.read_bytes() == content and not out.exists()


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_pages_file_that_is_not_a_regular_file_is_refused_without_waiting(
    tmp_path: Path, kind: str
) -> None:
    out = tmp_path / "out.jsonl"
    target = pages_path_for(out)
    if kind == "fifo":
        os.mkfifo(target)  # opening it for reading must not wait for a writer
    else:
        target.mkdir()
    with pytest.raises(InvalidArgumentError, match="is not a regular file"):
        walk(Listing(IDS), out)
    assert not out.exists()


def test_a_walk_with_other_filters_or_of_another_list_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    listing = Listing(IDS)
    listing.fail_page = 2
    with pytest.raises(PageFailed):
        walk(listing, out, {"status": "open"})
    before = (out.read_bytes(), pages_path_for(out).read_bytes())
    with pytest.raises(InvalidArgumentError, match="with the same filters"):
        walk(Listing(IDS), out, {"status": "closed"})
    with pytest.raises(InvalidArgumentError, match="with the same filters"):
        PageState.read(out, "list-zz-test-other", {"status": "open"})
    assert (out.read_bytes(), pages_path_for(out).read_bytes()) == before


def test_an_out_that_lost_lines_is_refused_rather_than_left_with_a_gap(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    listing = Listing(IDS)
    listing.fail_page = 3
    with pytest.raises(PageFailed):
        walk(listing, out)
    kept = b"".join(out.read_bytes().splitlines(keepends=True)[:10])
    out.write_bytes(kept)  # 20 lines of pages 1 and 2 gone
    with pytest.raises(InvalidArgumentError, match="lines were removed"):
        walk(Listing(IDS), out)
    assert out.read_bytes() == kept and pages_file(out)["next_page"] == 3


def test_a_page_list_that_loops_is_stopped(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    listing = Listing(IDS)

    def looping(number: int) -> PageData[Any]:
        page = Listing.page(listing, number)
        if number < 2:
            return page
        return PageData(data=page.data, current_page=number, next_page_url="https://x/v1?page=1")

    listing.page = looping  # type: ignore[method-assign]
    with pytest.raises(PaginationError, match="walking on would loop"):
        walk(listing, out)
    # Page 2 points back at page 1: its items are written, but it is not recorded as done.
    assert lines(out) == IDS[:30] and pages_file(out)["next_page"] == 2


def test_progress_of_a_walk_counts_the_lines_and_names_the_page(tmp_path: Path) -> None:
    stream = io.StringIO()
    out = tmp_path / "out.jsonl"
    state = PageState.read(out, OPERATION, {})
    with ExportFile(out) as target:
        progress = Progress(mode="lines", stream=stream, total=None, already=0)
        run_page_export(Listing(IDS).fetch_page, target, state, progress)
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("exported 40, ") and line.endswith("/s, page 3")
