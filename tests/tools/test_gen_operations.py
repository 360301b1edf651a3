"""Issue 18 (operations side): every operation shape flows through ./generate.sh.

One repo copy is regenerated from today's spec plus the drill's operation mutations
(tests/spec_mutations.py, ``RESOURCE_MUTATIONS`` of tests/_drill.py: a create, writes, a
page list, a get and a delete), with no hand edit; each test then runs a script against the
copy's packages and the fake over loopback, with the sync and the async client.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from _doc_blocks import Block, all_blocks, clean_env, mypy_strict, run_block
from _drill import RESOURCE_MUTATIONS, readme_for_drill
from _support import copy_repo
from spec_mutations import MUTATIONS, dump_spec, load_spec

COPIED = ("generate.sh", "openapi.yaml", "spec-map.toml", "tools", "generated", "wrapper")
MODES = ("sync", "async")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory, tools_venv: Path) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("shapes") / "repo", *COPIED)
    spec = load_spec(repo / "openapi.yaml")
    for name in RESOURCE_MUTATIONS:
        MUTATIONS[name].apply(spec)
    (repo / "openapi.yaml").write_text(dump_spec(spec), encoding="utf-8")
    done = subprocess.run(
        [str(repo / "generate.sh")],
        cwd=repo,
        env={**os.environ, "MIJNKLANTPORTAAL_TOOLS_VENV": str(tools_venv)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return repo


PRELUDE = """
import asyncio, datetime
from decimal import Decimal
from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
from mijnklantportaal import InvalidArgumentError, UnprocessableEntityError, APITimeoutError
from mijnklantportaal.testing import Fault, FakeMijnKlantportaal

fake = FakeMijnKlantportaal(rate_limit=None)
for n in range(12):
    fake.add(  # each matches the filters the tests list with (the fake applies them)
        "DrillTicket",
        {"id": f"dtk_{n:014d}", "subject": f"s{n}", "drillAmount": "1.10", "drillLabels": ["a"]},
    )


def main(base_url, mode):
    if mode == "sync":
        with MijnKlantportaal(api_key=fake.api_key, base_url=base_url, max_retries=2) as client:
            check(client)
    else:
        async def go():
            async with AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url, max_retries=2) as client:
                await acheck(client)
        asyncio.run(go())
"""


def run_check(repo: Path, cwd: Path, mode: str, body: str) -> str:
    """Run ``body`` as ``check(client)`` (sync) or ``acheck(client)`` (async: ``AW `` is
    ``await ``, ``AF `` is ``async `` before a ``for``) against the fake's loopback server."""
    body = textwrap.dedent(body)
    sync_body = textwrap.indent(body.replace("AW ", "").replace("AF ", ""), "    ")
    async_body = textwrap.indent(body.replace("AW ", "await ").replace("AF ", "async "), "    ")
    script = (
        PRELUDE
        + "\n\ndef check(client):\n"
        + sync_body
        + "\n\nasync def acheck(client):\n"
        + async_body
        + f"\n\nwith fake.serve() as base_url:\n    main(base_url, {mode!r})\nprint('shape ok')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": f"{repo / 'wrapper'}{os.pathsep}{repo / 'generated'}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "shape ok" in done.stdout, done.stderr[-4000:]
    return done.stdout


@pytest.mark.parametrize("mode", MODES)
def test_i18_2_a_request_body_goes_out_as_exact_json_under_the_spec_keys(
    shapes: Path, tmp_path: Path, mode: str
) -> None:
    run_check(
        shapes,
        tmp_path,
        mode,
        """
        offset = datetime.timezone(datetime.timedelta(hours=2))
        ticket = AW client.drill_tickets.create(
            subject="Hi", drill_amount=Decimal("12.950"), drill_total=Decimal("0.10"),
            expires_at=datetime.datetime(2025, 5, 12, 10, tzinfo=offset),
            drill_priority="high", drill_contact={"drillName": "Ada"}, drill_labels=("x", "y"),
        )
        seen = fake.requests[-1]
        assert seen.body == (
            b'{"subject":"Hi","drillAmount":"12.950","drillTotal":0.10,'
            b'"expiresAt":"2025-05-12T10:00:00+02:00","drillPriority":"high",'
            b'"drillContact":{"drillName":"Ada"},"drillLabels":["x","y"]}'
        ), seen.body
        assert seen.headers["content-type"] == "application/json", seen.headers
        assert str(ticket.drill_amount) == "12.950", ticket  # stored as sent, every digit
        # optional properties not given are left out; None sends null where the spec allows it
        AW client.drill_tickets.create(subject="Hi", drill_amount=3, expires_at=None)
        assert fake.requests[-1].body == b'{"subject":"Hi","drillAmount":"3","expiresAt":null}'
        sent = len(fake.requests)
        for bad, named in (
            (dict(drill_amount=12.95), "drill_amount"),
            (dict(drill_priority="urgent"), "drill_priority"),
            (dict(expires_at=datetime.datetime(2025, 1, 1)), "expires_at"),
            (dict(subject=None), "subject"),
        ):
            try:
                AW client.drill_tickets.create(**{"subject": "Hi", "drill_amount": "1", **bad})
            except InvalidArgumentError as exc:
                assert named in str(exc), exc
            else:
                raise AssertionError(f"{bad} was accepted")
        assert len(fake.requests) == sent, "a bad argument reached the server"
        """,
    )


@pytest.mark.parametrize("mode", MODES)
def test_i18_3_every_method_answers_and_several_path_parameters_are_positional(
    shapes: Path, tmp_path: Path, mode: str
) -> None:
    run_check(
        shapes,
        tmp_path,
        mode,
        """
        fake.add("DrillTicket", {"id": "dtk_1", "subject": "s"})  # the fake is stateful
        fake.add("DrillTicketReply", {"id": "drp_2"})
        reply = AW client.drill_tickets.create_reply("dtk_1", message="Thanks")
        seen = fake.requests[-1]
        assert (seen.method, seen.path, seen.status) == ("POST", "/v1/drill-tickets/dtk_1/replies", 201)
        assert reply.message == "Thanks" and seen.body == b'{"message":"Thanks"}', reply
        assert AW client.drill_tickets.delete_reply("dtk_1", "drp_2") is None
        seen = fake.requests[-1]
        assert (seen.method, seen.path, seen.status, seen.body) == (
            "DELETE", "/v1/drill-tickets/dtk_1/replies/drp_2", 204, b""), seen
        fake.add("DrillTicketReply", {"id": "drp_2"})  # deleted: 404 now, so again
        raw = AW client.drill_tickets.with_raw_response.delete_reply("dtk_1", "drp_2")
        assert raw.status_code == 204 and raw.parsed is None, raw
        ticket = AW client.drill_tickets.update("dtk_1", subject="New")
        assert (fake.requests[-1].method, fake.requests[-1].body) == ("PATCH", b'{"subject":"New"}')
        assert ticket.id, ticket
        AW client.drill_tickets.replace_labels("dtk_1", drill_labels=["a"])
        assert (fake.requests[-1].method, fake.requests[-1].status) == ("PUT", 202)
        fake.fail_next(Fault.status(422, json_body={"message": "The subject field is required."}))
        try:
            AW client.drill_tickets.create(subject="", drill_amount="1")
        except UnprocessableEntityError as exc:
            assert "The subject field is required." in str(exc), exc
        else:
            raise AssertionError("a 422 was not an UnprocessableEntityError")
        sent = len(fake.requests)
        try:
            AW client.drill_tickets.delete_reply("dtk_1", "drp 2")
        except InvalidArgumentError as exc:
            assert "drill_reply_id" in str(exc), exc
        else:
            raise AssertionError("a malformed second path parameter was accepted")
        assert len(fake.requests) == sent
        """,
    )


@pytest.mark.parametrize("mode", MODES)
def test_i18_4_every_write_sends_its_idempotency_key_on_every_attempt(
    shapes: Path, tmp_path: Path, mode: str
) -> None:
    run_check(
        shapes,
        tmp_path,
        mode,
        """
        fake.add("DrillTicket", {"id": "dtk_1", "subject": "s"})  # the fake is stateful
        fake.add("DrillTicketReply", {"id": "drp_2"})
        fake.fail_next(Fault.status(503))
        AW client.drill_tickets.create(subject="Hi", drill_amount="1", idempotency_key="key-1")
        sent = fake.requests[-2:]
        assert [r.status for r in sent] == [503, 201], sent
        assert [r.headers.get("idempotency-key") for r in sent] == ["key-1", "key-1"], sent
        assert sent[0].body == sent[1].body == b'{"subject":"Hi","drillAmount":"1"}'
        AW client.drill_tickets.delete_reply("dtk_1", "drp_2", idempotency_key="key-2")
        assert fake.requests[-1].headers.get("idempotency-key") == "key-2"
        AW client.drill_tickets.update("dtk_1")
        assert "idempotency-key" not in fake.requests[-1].headers
        """,
    )


@pytest.mark.parametrize("mode", MODES)
def test_i18_5_a_page_list_walks_every_page_lazily_with_the_same_query(
    shapes: Path, tmp_path: Path, mode: str
) -> None:
    run_check(
        shapes,
        tmp_path,
        mode,
        """
            ids = [t.id AF for t in client.drill_tickets.list(drill_labels=["a", "b"], per_page=5)]
            assert ids == [f"dtk_{n:014d}" for n in range(12)], ids
            asked = [r.query for r in fake.requests][-3:]
            same = "drillLabels=a&drillLabels=b&per_page=5"
            assert asked == [same, same + "&page=2", same + "&page=3"], asked
            second = AW client.drill_tickets.list(page=2, per_page=5)
            assert [t.id for t in second.data] == ids[5:10], second
            assert fake.requests[-1].query == "per_page=5&page=2", fake.requests[-1]
            sent = len(fake.requests)
            AF for t in client.drill_tickets.list(per_page=5):
                break
            assert len(fake.requests) == sent + 1, "breaking out fetched more pages"
        """,
    )


@pytest.mark.parametrize("mode", MODES)
def test_i18_7_header_parameters_and_query_arrays_are_sent_and_checked(
    shapes: Path, tmp_path: Path, mode: str
) -> None:
    run_check(
        shapes,
        tmp_path,
        mode,
        """
        AW client.drill_tickets.create(subject="Hi", drill_amount="1", x_drill_request_id="req-7")
        assert fake.requests[-1].headers.get("x-drill-request-id") == "req-7", fake.requests[-1]
        AW client.drill_tickets.list(drill_priority="low", drill_labels=("a", "b"))
        assert fake.requests[-1].query == "drillPriority=low&drillLabels=a&drillLabels=b"
        sent = len(fake.requests)
        for bad, named in (
            (dict(drill_labels="ab"), "drill_labels"),
            (dict(drill_labels=[1]), "drill_labels[0]"),
            (dict(drill_priority="urgent"), "drill_priority"),
        ):
            try:
                AW client.drill_tickets.list(**bad)
            except InvalidArgumentError as exc:
                assert named in str(exc), exc
            else:
                raise AssertionError(f"{bad} was accepted")
        try:
            AW client.drill_tickets.create(subject="Hi", drill_amount="1", x_drill_request_id="a\\nb")
        except InvalidArgumentError as exc:
            pass
        else:
            raise AssertionError("a header value with a line break was accepted")
        assert len(fake.requests) == sent, "a bad argument reached the server"
        """,
    )


def spec_blocks() -> list[Block]:
    """The README's and docs/*.md's blocks marked as needing a spec with these operations,
    in the drill's names (they use the vendor's, which differ by the drill prefix)."""
    return [
        replace(block, code=readme_for_drill(block.code))
        for block in all_blocks()
        if block.needs_spec
    ]


def test_i18_3_5_the_readme_examples_of_writes_and_pages_pass_mypy_strict(
    shapes: Path, tmp_path: Path
) -> None:
    blocks = spec_blocks()
    assert sum(block.source == "README.md" for block in blocks) == 4, (
        "create, delete, paginate and a test against the fake"
    )
    assert any(block.source == "docs/pagination.md" for block in blocks)
    # The repo's mypy settings: strict, and the low-level package's own errors ignored.
    (tmp_path / "mypy.ini").write_text(
        "[mypy]\nstrict = True\n\n[mypy-mijnklantportaal_api.*]\nignore_errors = True\n"
    )
    errors = mypy_strict(
        blocks,
        tmp_path,
        env={**os.environ, "MYPYPATH": f"{shapes / 'wrapper'}{os.pathsep}{shapes / 'generated'}"},
    )
    assert not errors, "\n".join(
        f"block at {block.name}:\n  " + "\n  ".join(messages) for block, messages in errors.items()
    )


# What the fake holds for the guides' examples: 12 drill tickets, three pages of five, all of
# the priority the guide filters on (the fake applies a query parameter naming a field).
GUIDE_SEED = """
for n in range(12):
    fake.add(
        "DrillTicket",
        {"id": f"dtk_{n:014d}", "subject": f"s{n}", "drillAmount": "1.10", "drillPriority": "high"},
    )
"""


@pytest.mark.parametrize(
    "block",
    [block for block in spec_blocks() if block.source.startswith("docs/")],
    ids=lambda block: block.name,
)
def test_the_guides_examples_of_writes_and_pages_run(
    shapes: Path, tmp_path: Path, block: Block
) -> None:
    """Run as a reader would, against the generated code and the fake serving it."""
    env = clean_env(PYTHONPATH=f"{shapes / 'wrapper'}{os.pathsep}{shapes / 'generated'}")
    result = run_block(block, tmp_path, seed=GUIDE_SEED, env=env)
    if "tickets.list" in block.code:  # the walks reach the last of the three pages
        assert "s11" in result.stdout or "dtk_00000000000011" in result.stdout, result.stdout
