"""Issue 19, item 1, proven by the drill: a resource the spec gains is served by a stateful
fake after ``./generate.sh`` alone.

One repo copy takes in the drill's resource mutations (tests/_drill.py: the drill tickets get
a create, writes, a page list, a get, a delete and a free-text search), one ``./generate.sh``
each, with zero hand-edited lines (checked with git). Then, in the copy, scripts use the
generated clients against the fake: create, read, list (several pages, filtered), update,
replace, sub-resources and delete, exact values (money as ``Decimal``, timestamps from the
fake's clock), with the sync and the async client, in-process and over the loopback server;
a body the spec refuses gets the vendor's 422; the README's test of a create-then-get flow
runs; and schemathesis holds the fake to the drilled spec.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from _doc_blocks import python_blocks
from _drill import RESOURCE_MUTATIONS, readme_for_drill
from _support import REPO, copy_repo
from spec_mutations import write_mutated
from test_spec_drill import COPIED, SCHEMATHESIS, Copy, _generated_only, _step_output

pytestmark = [pytest.mark.drill, pytest.mark.slow]


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory, tools_venv: Path) -> Copy:
    root = tmp_path_factory.mktemp("fake-drill") / "repo"
    copy = Copy(
        copy_repo(root, *[n for n in COPIED if (REPO / n).exists()]),
        tools_venv,
        tmp_path_factory.mktemp("fake-drill-mypy"),
    )
    copy.git("init", "-q")
    copy.git("add", "-A")
    copy.git("commit", "-q", "-m", "as checked out")
    for name in RESOURCE_MUTATIONS:
        write_mutated(root / "openapi.yaml", name, with_base=False)
        generated = copy.generate()
        assert generated.returncode == 0, _step_output(generated)
        changed = copy.changed_paths()
        assert changed, f"{name}: ./generate.sh changed nothing"
        assert set(changed) == _generated_only(changed), (
            f"{name}: ./generate.sh changed handwritten files: "
            + ", ".join(sorted(set(changed) - _generated_only(changed)))
        )
        copy.git("add", "-A")
        copy.git("commit", "-q", "-m", name)
    return copy


PRELUDE = """
import asyncio, datetime, json
from decimal import Decimal

import httpx
from mijnklantportaal import (
    AsyncMijnKlantportaal, MijnKlantportaal, NotFoundError, UnprocessableEntityError,
)
from mijnklantportaal.testing import FakeClock, FakeMijnKlantportaal

START = 1_750_000_000  # frozen: the timestamps the fake fills are known exactly
STARTED = datetime.datetime(2025, 6, 15, 15, 6, 40, tzinfo=datetime.UTC)
OFFSET = datetime.timezone(datetime.timedelta(hours=2))
fake = FakeMijnKlantportaal(rate_limit=None, clock=FakeClock(start=START))


def run(way, mode):
    if way == "loopback":
        with fake.serve() as base_url:
            go(
                lambda: MijnKlantportaal(api_key=fake.api_key, base_url=base_url),
                lambda: AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url),
                mode,
            )
    else:
        go(fake.client, fake.async_client, mode)


def go(make_sync, make_async, mode):
    if mode == "sync":
        with make_sync() as client:
            check(client)
    else:
        async def main():
            async with make_async() as client:
                await acheck(client)
        asyncio.run(main())
"""

WAYS = ("transport", "loopback")
MODES = ("sync", "async")


def run_script(copy: Copy, way: str, mode: str, body: str) -> None:
    """Run ``body`` as ``check(client)`` (sync: ``AW ``/``AF `` dropped) and ``acheck(client)``
    (async: ``await ``/``async ``), with the copy's packages, against the fake reached
    ``way`` (in-process transport or loopback server)."""
    body = textwrap.dedent(body)
    sync_body = textwrap.indent(body.replace("AW ", "").replace("AF ", ""), "    ")
    async_body = textwrap.indent(body.replace("AW ", "await ").replace("AF ", "async "), "    ")
    script = (
        PRELUDE
        + "\n\ndef check(client):\n"
        + sync_body
        + "\n\nasync def acheck(client):\n"
        + async_body
        + f"\n\nrun({way!r}, {mode!r})\nprint('fake drill ok')\n"
    )
    path = copy.root / f"drill_fake_{way}_{mode}.py"
    path.write_text(script, encoding="utf-8")
    done = copy.python("fake", str(path))
    assert done.returncode == 0 and "fake drill ok" in done.stdout, _step_output(done)


CRUD = """
ticket = AW client.drill_tickets.create(
    subject="Invoice too high",
    drill_amount=Decimal("12.950"),
    drill_total=Decimal("0.10"),
    expires_at=datetime.datetime(2025, 7, 1, 9, 30, tzinfo=OFFSET),
    drill_priority="high",
    drill_contact={"drillName": "Ada", "drillEmail": "ada@example.com"},
    drill_labels=["billing", "urgent"],
)
seen = fake.requests[-1]
assert (seen.method, seen.path, seen.status) == ("POST", "/v1/drill-tickets", 201), seen
# a fresh id, with the prefix of the schema's id example (dtk_abc12345def678)
assert ticket.id.startswith("dtk_") and len(ticket.id) == 18, ticket.id
assert str(ticket.drill_amount) == "12.950", ticket  # exact, every digit
assert ticket.expires_at == datetime.datetime(2025, 7, 1, 9, 30, tzinfo=OFFSET), ticket
assert ticket.expires_at.utcoffset() == datetime.timedelta(hours=2), ticket
assert (ticket.subject, ticket.drill_priority) == ("Invoice too high", "high"), ticket
assert ticket.drill_labels == ("billing", "urgent"), ticket
assert (ticket.drill_contact.drill_name, ticket.drill_contact.drill_email) == (
    "Ada", "ada@example.com"), ticket
# stored under the spec's keys; drillTotal is not a field of the ticket, so not kept
stored = fake.object_json("drill_tickets", ticket.id)
assert stored == {
    "id": ticket.id,
    "subject": "Invoice too high",
    "drillAmount": Decimal("12.950"),
    "expiresAt": "2025-07-01T09:30:00+02:00",
    "drillPriority": "high",
    "drillContact": {"drillName": "Ada", "drillEmail": "ada@example.com"},
    "drillLabels": ["billing", "urgent"],
}, stored
assert str(stored["drillAmount"]) == "12.950", stored  # a JSON number, as the vendor sends it

# read
got = AW client.drill_tickets.get(ticket.id)
assert got == ticket, (got, ticket)

# list: several pages, lazily, with the same query; exact amounts
made = [ticket]
for n in range(19):
    made.append(AW client.drill_tickets.create(
        subject=f"Ticket {n}",
        drill_amount=f"{n}.05",
        drill_priority="low" if n % 2 else "high",
        drill_labels=["billing"] if n % 3 == 0 else [],
    ))
walked = [t AF for t in client.drill_tickets.list(per_page=7)]
assert [t.id for t in walked] == [t.id for t in made], walked
assert [str(t.drill_amount) for t in walked] == ["12.950"] + [f"{n}.05" for n in range(19)]
asked = [r.query for r in fake.requests if r.method == "GET" and r.path == "/v1/drill-tickets"]
assert asked == ["per_page=7", "per_page=7&page=2", "per_page=7&page=3"], asked
raw = AW client.drill_tickets.with_raw_response.list(per_page=7, page=3, drill_priority="high")
page = raw.parsed  # 11 high ones: page 3 is past the end
assert (page.current_page, page.data, page.from_, page.to) == (3, (), None, None), page
assert page.next_page_url is None, page
raw = AW client.drill_tickets.with_raw_response.list(per_page=4, drill_priority="high")
page = raw.parsed
assert (page.current_page, len(page.data), page.from_, page.to) == (1, 4, 1, 4), page
# the page URLs are built from the request: its URL and query, another page
assert page.next_page_url.endswith("/v1/drill-tickets?drillPriority=high&per_page=4&page=2"), page
assert page.prev_page_url is None and page.first_page_url.endswith("&page=1"), page
second = AW client.drill_tickets.list(page=2, per_page=7)
assert [t.id for t in second.data] == [t.id for t in made[7:14]], second

# filters the spec names: a field exactly, a query array against an array field, free text
high = [t.subject AF for t in client.drill_tickets.list(drill_priority="high")]
assert high == ["Invoice too high"] + [f"Ticket {n}" for n in range(0, 19, 2)], high
labelled = [t.subject AF for t in client.drill_tickets.list(drill_labels=["urgent", "billing"])]
assert labelled == ["Invoice too high"] + [f"Ticket {n}" for n in range(0, 19, 3)], labelled
found = [t.subject AF for t in client.drill_tickets.list(drill_search="TICKET 1")]
assert found == ["Ticket 1"] + [f"Ticket {n}" for n in range(10, 19)], found
both = [t.subject AF for t in client.drill_tickets.list(drill_search="ticket", drill_priority="low")]
assert both == [f"Ticket {n}" for n in range(1, 19, 2)], both

# update (PATCH merges the fields sent), then null where the spec allows it
updated = AW client.drill_tickets.update(ticket.id, subject="Invoice far too high")
assert updated.subject == "Invoice far too high", updated
assert str(updated.drill_amount) == "12.950" and updated.drill_labels == ("billing", "urgent")
cleared = AW client.drill_tickets.update(ticket.id, expires_at=None)
assert cleared.expires_at is None and cleared.subject == "Invoice far too high", cleared
assert fake.object_json("drill_tickets", ticket.id)["expiresAt"] is None
# replace (PUT sets what its body names)
relabelled = AW client.drill_tickets.replace_labels(ticket.id, drill_labels=["done"])
assert (fake.requests[-1].method, fake.requests[-1].status) == ("PUT", 202)
assert relabelled.drill_labels == ("done",) and relabelled.subject == "Invoice far too high"
assert AW client.drill_tickets.get(ticket.id) == relabelled

# a sub-resource: created under its ticket (its timestamp from the fake's clock), reached
# only through it, deleted once
reply = AW client.drill_tickets.create_reply(ticket.id, message="We are on it")
assert reply.id.startswith("drp_") and reply.message == "We are on it", reply
assert reply.created_at == STARTED, reply
other = made[1]
try:
    AW client.drill_tickets.delete_reply(other.id, reply.id)
except NotFoundError as exc:
    assert reply.id in str(exc), exc
else:
    raise AssertionError("another ticket's path reached the reply")
assert AW client.drill_tickets.delete_reply(ticket.id, reply.id) is None
assert (fake.requests[-1].method, fake.requests[-1].status) == ("DELETE", 204)
try:
    AW client.drill_tickets.delete_reply(ticket.id, reply.id)
except NotFoundError:
    pass
else:
    raise AssertionError("a deleted reply was deleted again")

# delete: 204, then 404 for every operation on it (and for what is under it)
assert AW client.drill_tickets.delete(ticket.id) is None
assert (fake.requests[-1].method, fake.requests[-1].status) == ("DELETE", 204)
for call in (
    lambda: client.drill_tickets.get(ticket.id),
    lambda: client.drill_tickets.update(ticket.id, subject="x"),
    lambda: client.drill_tickets.replace_labels(ticket.id, drill_labels=[]),
    lambda: client.drill_tickets.create_reply(ticket.id, message="x"),
    lambda: client.drill_tickets.delete(ticket.id),
):
    try:
        AW call()
    except NotFoundError as exc:
        assert exc.status_code == 404 and ticket.id in str(exc), exc
        assert json.loads(exc.response.content) == {"message": f"DrillTicket {ticket.id} not found."}
    else:
        raise AssertionError("a deleted ticket was still there")
assert fake.ids("drill_tickets") == [t.id for t in made[1:]]
remaining = [t.id AF for t in client.drill_tickets.list()]
assert remaining == [t.id for t in made[1:]], remaining
"""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("way", WAYS)
def test_create_read_list_update_delete(drilled: Copy, way: str, mode: str) -> None:
    run_script(drilled, way, mode, CRUD)


SHARED = """
assert fake.ids("drill_tickets") == []
with fake.client() as in_process:
    made = in_process.drill_tickets.create(subject="Made in-process", drill_amount="1.10")
with fake.serve() as base_url:
    with MijnKlantportaal(api_key=fake.api_key, base_url=base_url) as over_http:
        assert over_http.drill_tickets.get(made.id) == made
        posted = over_http.drill_tickets.create(subject="Made over HTTP", drill_amount="2.20")
    async def listed():
        async with fake.async_client() as aclient:
            return [t.id async for t in aclient.drill_tickets.list()]
    assert asyncio.run(listed()) == [made.id, posted.id]
"""


def test_the_transport_and_the_loopback_server_serve_one_store(drilled: Copy) -> None:
    run_script(drilled, "transport", "sync", SHARED)


REFUSED = """
seeded = fake.add("drill_tickets", {"subject": "Seeded", "drillAmount": "5.00"})
before = fake.ids("drill_tickets")
with fake.serve() as base_url:
    auth = {"Authorization": f"Bearer {fake.api_key}", "Content-Type": "application/json"}
    bad = (
        b'{"drillAmount":12.95,"drillPriority":"urgent","expiresAt":null,'
        b'"drillContact":{"drillName":7},"drillLabels":["a",null]}'
    )
    answer = httpx.post(f"{base_url}/drill-tickets", content=bad, headers=auth)
    assert answer.status_code == 422, answer
    assert answer.json() == {
        "message": "The subject field is required. (and 4 more errors)",
        "errors": {
            "subject": ["The subject field is required."],
            "drillAmount": ["The drillAmount field must be a string."],
            "drillPriority": ["The selected drillPriority is invalid."],
            "drillContact.drillName": ["The drillContact.drillName field must be a string."],
            "drillLabels.1": ["The drillLabels.1 field must be a string."],
        },
    }, answer.text
    # every write checks its body; a 422 changes nothing
    for method, path, body, field in (
        ("PATCH", f"/drill-tickets/{seeded}", b'{"subject":5}', "subject"),
        ("PUT", f"/drill-tickets/{seeded}/labels", b"{}", "drillLabels"),
        ("POST", f"/drill-tickets/{seeded}/replies", b'{"message":["x"]}', "message"),
    ):
        answer = httpx.request(method, base_url + path, content=body, headers=auth)
        assert answer.status_code == 422 and list(answer.json()["errors"]) == [field], answer.text
    answer = httpx.post(f"{base_url}/drill-tickets", content=b'{"subject":', headers=auth)
    assert answer.status_code == 400, answer.text
    assert fake.ids("drill_tickets") == before
    assert fake.object_json("drill_tickets", seeded)["subject"] == "Seeded"
    # through the client: a nested object given as a mapping of its JSON shape is sent as
    # is, and the fake's 422 reaches the caller with its field errors
    with MijnKlantportaal(api_key=fake.api_key, base_url=base_url, max_retries=0) as client:
        try:
            client.drill_tickets.create(
                subject="Hi", drill_amount="1", drill_contact={"drillName": 7}
            )
        except UnprocessableEntityError as exc:
            assert exc.errors == {
                "drillContact.drillName": ["The drillContact.drillName field must be a string."]
            }, exc.errors
        else:
            raise AssertionError("the fake accepted a body the spec refuses")
    assert fake.ids("drill_tickets") == before
"""


def test_a_body_the_spec_refuses_gets_the_vendors_422(drilled: Copy) -> None:
    run_script(drilled, "loopback", "sync", REFUSED)


def test_the_readme_test_of_a_create_then_get_flow_passes(drilled: Copy, tmp_path: Path) -> None:
    """The README's dependent test, with the drill's names, run by pytest with the fixtures
    this package registers (against the copy's generated fake)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (test,) = [
        block.code
        for block in python_blocks(readme)
        if block.needs_spec and "def test_" in block.code
    ]
    (tmp_path / "test_readme_tickets.py").write_text(readme_for_drill(test), encoding="utf-8")
    done = drilled.python(
        "readme",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(tmp_path),
        str(tmp_path / "test_readme_tickets.py"),
    )
    assert done.returncode == 0 and " passed" in done.stdout, _step_output(done)
    assert "2 passed" in done.stdout, done.stdout


def test_schemathesis_holds_the_fake_to_the_drilled_spec(drilled: Copy) -> None:
    checked = drilled.python(
        "schemathesis", "-m", "pytest", "-q", "-p", "no:cacheprovider", SCHEMATHESIS
    )
    assert checked.returncode == 0, _step_output(checked)
