"""The stateful fake on a spec with a whole resource, over raw HTTP (issue 19, item 1).

The fake's tables are the ones ``./generate.sh`` writes (``tools/gen_fake.py``) for today's
spec plus the drill's resource mutations (tests/_drill.py), with a few server fields added to
the drill ticket (a status with an example, created and updated timestamps, a ``type: number``
total); they are swapped in for the committed ones. The requests are raw, so that what the
fake accepts, stores and answers is seen byte for byte; tests/test_drill_fake.py runs the
generated clients against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from _drill import RESOURCE_MUTATIONS, fake_tables
from mijnklantportaal.testing import FakeClock, FakeMijnKlantportaal, Fault
from spec_mutations import MUTATIONS, load_spec

START = 1_750_000_000
STARTED = "2025-06-15T15:06:40.000Z"  # START as the vendor writes timestamps
BASE = "https://api.example/v1"


@pytest.fixture(scope="module")
def tables(tools_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    spec = load_spec()
    for name in RESOURCE_MUTATIONS:
        MUTATIONS[name].apply(spec)
    ticket = spec["components"]["schemas"]["DrillTicket"]["properties"]
    ticket_ref = {"$ref": "#/components/schemas/DrillTicket"}
    ticket["drillStatus"] = {"type": "string", "enum": ["open", "closed"], "example": "open"}
    ticket["drillCreatedAt"] = {"type": "string", "example": "2025-01-01T00:00:00Z"}
    ticket["drillUpdatedAt"] = {"type": ["string", "null"]}
    ticket["drillTotal"] = {"type": "number", "example": 1.5}
    ok = {"description": "done", "content": {"application/json": {"schema": ticket_ref}}}
    spec["paths"]["/drill-tickets/{drillTicketId}/close"] = {
        "post": {  # an action answering the ticket, with no request body
            "tags": ["Drill Tickets API"],
            "operationId": "close-drill-ticket",
            "parameters": [
                {
                    "name": "drillTicketId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                }
            ],
            "responses": {"200": ok},
        }
    }
    return fake_tables(spec, tools_venv, tmp_path_factory.mktemp("tables"))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tables: dict[str, Any]) -> FakeMijnKlantportaal:
    from mijnklantportaal._generated import examples

    for name, value in tables.items():
        if name.isupper():
            monkeypatch.setattr(examples, name, value)
    return FakeMijnKlantportaal(rate_limit=None, clock=FakeClock(start=START))


@pytest.fixture
def raw(fake: FakeMijnKlantportaal) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {fake.api_key}"}
    with httpx.Client(transport=fake.transport(), base_url=BASE, headers=headers) as client:
        yield client


def exact(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def create(raw: httpx.Client, **fields: Any) -> dict[str, Any]:
    body = {"subject": "Hi", "drillAmount": "1.00", **fields}
    response = raw.post("/drill-tickets", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = exact(response)
    return answer


# -- create, read, update, replace, delete -----------------------------------------------------


def test_a_create_stores_the_body_and_fills_the_server_fields(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    sent = b'{"subject":"Hi","drillAmount":"12.950","drillTotal":0.10,"drillNote":"x"}'
    response = raw.post("/drill-tickets", content=sent)
    assert response.status_code == 201 and response.headers["content-type"] == "application/json"
    ticket = exact(response)
    assert ticket.pop("id").startswith("dtk_")  # the prefix of the schema's id example
    assert ticket == {
        "subject": "Hi",
        "drillAmount": Decimal("12.950"),  # as sent, every digit, sent on as a JSON number
        "drillStatus": "open",  # a field the body cannot give: the spec's example
        "drillCreatedAt": STARTED,  # a timestamp the body cannot give: the fake's clock
        "drillUpdatedAt": STARTED,
        "drillTotal": Decimal("0.10"),  # a field of both: as sent ("drillNote" is neither)
    }
    assert b'"drillAmount":12.950' in response.content and b'"drillTotal":0.10' in response.content


def test_a_number_typed_field_stays_a_number_when_money_goes_as_strings(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    fake.money_as = "string"
    response = raw.post("/drill-tickets", json={"subject": "Hi", "drillAmount": "2.5"})
    assert b'"drillAmount":"2.5"' in response.content  # typed string: a string
    ticket_id = exact(response)["id"]
    fake.add("drill_tickets", {"id": ticket_id, "subject": "Hi", "drillTotal": "7.25"})
    assert b'"drillTotal":7.25' in raw.get(f"/drill-tickets/{ticket_id}").content


def test_read_then_update_merges_and_replace_sets_what_its_body_names(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    ticket = create(raw, drillLabels=["a"], expiresAt="2025-07-01T09:30:00+02:00")
    url = f"/drill-tickets/{ticket['id']}"
    assert exact(raw.get(url)) == ticket
    fake.clock.advance(60)
    patched = raw.patch(url, json={"subject": "New"})
    assert patched.status_code == 200
    assert exact(patched) == {
        **ticket,
        "subject": "New",
        "drillUpdatedAt": "2025-06-15T15:07:40.000Z",  # an updated... timestamp: the clock
    }
    cleared = exact(raw.patch(url, json={"expiresAt": None}))
    assert cleared["expiresAt"] is None and cleared["subject"] == "New"
    replaced = raw.put(f"{url}/labels", json={"drillLabels": ["b", "c"]})
    assert replaced.status_code == 202
    assert exact(replaced)["drillLabels"] == ["b", "c"] and exact(replaced)["subject"] == "New"
    assert exact(raw.get(url)) == exact(replaced)
    assert fake.object_json("DrillTicket", ticket["id"]) == exact(replaced)


def test_an_action_without_a_body_in_the_spec_ignores_what_is_sent(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    ticket = create(raw)
    fake.clock.advance(1)
    closed = raw.post(f"/drill-tickets/{ticket['id']}/close", content=b"--boundary\r\n")
    assert closed.status_code == 200, closed.text
    assert exact(closed) == {**ticket, "drillUpdatedAt": "2025-06-15T15:06:41.000Z"}


def test_delete_answers_204_and_then_every_operation_404s(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    ticket_id = create(raw)["id"]
    url = f"/drill-tickets/{ticket_id}"
    deleted = raw.delete(url)
    assert (deleted.status_code, deleted.content) == (204, b"")
    message = {"message": f"DrillTicket {ticket_id} not found."}
    for response in (
        raw.get(url),
        raw.patch(url, json={}),
        raw.put(f"{url}/labels", json={"drillLabels": []}),
        raw.post(f"{url}/replies", json={"message": "x"}),
        raw.delete(url),
    ):
        assert (response.status_code, response.json()) == (404, message), response.request
    assert fake.ids("drill_tickets") == []


def test_an_object_created_under_another_belongs_to_it(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    first, second = create(raw)["id"], create(raw)["id"]
    reply = raw.post(f"/drill-tickets/{first}/replies", json={"message": "Thanks"})
    assert reply.status_code == 201
    assert exact(reply)["createdAt"] == STARTED and exact(reply)["id"].startswith("drp_")
    reply_id = exact(reply)["id"]
    # not under another ticket; nothing under a ticket that is not there
    assert raw.delete(f"/drill-tickets/{second}/replies/{reply_id}").status_code == 404
    missing = raw.post("/drill-tickets/dtk_missing/replies", json={"message": "x"})
    assert missing.json() == {"message": "DrillTicket dtk_missing not found."}
    assert raw.delete(f"/drill-tickets/{first}/replies/{reply_id}").status_code == 204
    # one a test adds belongs to no ticket: every ticket's path reaches it
    seeded = fake.add("DrillTicketReply", {"id": "drp_seeded", "message": "m"})
    assert raw.delete(f"/drill-tickets/{second}/replies/{seeded}").status_code == 204


# -- lists ---------------------------------------------------------------------------------------


def test_a_list_pages_through_what_is_stored_with_urls_built_from_the_request(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    ids = [create(raw, drillAmount=f"{n}.10")["id"] for n in range(17)]
    first = exact(raw.get("/drill-tickets", params={"drillPriority": "", "x": "1"}))
    assert [t["id"] for t in first["data"]] == ids[:15]  # 15 a page, the vendor's default
    assert first["data"][3]["drillAmount"] == Decimal("3.10")
    assert {k: v for k, v in first.items() if k != "data"} == {
        "current_page": 1,
        "first_page_url": f"{BASE}/drill-tickets?drillPriority=&x=1&page=1",
        "from": 1,
        "next_page_url": f"{BASE}/drill-tickets?drillPriority=&x=1&page=2",
        "path": f"{BASE}/drill-tickets",
        "per_page": 15,
        "prev_page_url": None,
        "to": 15,
    }
    second = exact(raw.get("/drill-tickets?page=2&per_page=15"))
    assert [t["id"] for t in second["data"]] == ids[15:] and second["next_page_url"] is None
    assert second["prev_page_url"] == f"{BASE}/drill-tickets?per_page=15&page=1"
    past = exact(raw.get("/drill-tickets?page=9"))
    assert (past["data"], past["from"], past["to"], past["next_page_url"]) == ([], None, None, None)
    refused = raw.get("/drill-tickets?per_page=0")
    assert refused.status_code == 422 and "per_page" in refused.json()["message"]


def test_over_loopback_the_page_urls_are_the_servers(fake: FakeMijnKlantportaal) -> None:
    fake.add_examples()
    auth = {"Authorization": f"Bearer {fake.api_key}"}
    with fake.serve() as base_url:
        page = httpx.get(f"{base_url}/drill-tickets?per_page=1", headers=auth).json()
    assert page["path"] == f"{base_url}/drill-tickets" and base_url.startswith("http://127.0.0.1:")
    assert page["first_page_url"] == f"{base_url}/drill-tickets?per_page=1&page=1"


def test_a_list_applies_the_filters_its_parameters_name(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    made = {
        "a": create(raw, subject="Refund please", drillPriority="low", drillLabels=["x"]),
        "b": create(raw, subject="Invoice wrong", drillPriority="high", drillLabels=["y", "z"]),
        "c": create(raw, subject="Another refund", drillPriority="high"),
    }
    names = {ticket["id"]: name for name, ticket in made.items()}

    def listed(query: str) -> str:
        body = raw.get(f"/drill-tickets?{query}").json()
        return "".join(names[t["id"]] for t in body["data"])

    assert listed("drillPriority=high") == "bc"  # a field: exactly
    assert listed("drillPriority=HIGH") == ""
    assert listed("drillLabels=z&drillLabels=x") == "ab"  # an array: any of the values
    assert listed("drillLabels[]=y") == "b"
    assert listed("drillSearch=REFUND") == "ac"  # free text: a substring, any case
    assert listed("drillSearch=refund&drillPriority=high") == "c"  # every filter at once
    assert listed("drillSearch=&drillPriority=") == "abc"  # blank: not a filter
    assert listed("unknown=1") == "abc"


# -- request bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (b"{}", {"subject": ["required"], "drillAmount": ["required"]}),
        (b'{"subject":"s","drillAmount":1}', {"drillAmount": ["must be a string"]}),
        (b'{"subject":null,"drillAmount":"1"}', {"subject": ["must be a string"]}),
        (b'{"subject":"s","drillAmount":"1","expiresAt":null}', {}),
        (b'{"subject":"s","drillAmount":"1","drillTotal":"1"}', {"drillTotal": ["be a number"]}),
        (b'{"subject":"s","drillAmount":"1","drillTotal":true}', {"drillTotal": ["be a number"]}),
        # an exponent no amount has: refused, not stored (its text would take gigabytes)
        (
            b'{"subject":"s","drillAmount":"1","drillTotal":1e999999999999999999}',
            {"drillTotal": ["be a number"]},
        ),
        (
            b'{"subject":"s","drillAmount":"1","drillPriority":"mid"}',
            {"drillPriority": ["selected"]},
        ),
        (b'{"subject":"s","drillAmount":"1","drillContact":[]}', {"drillContact": ["an object"]}),
        (
            b'{"subject":"s","drillAmount":"1","drillContact":{"drillEmail":false}}',
            {"drillContact.drillEmail": ["must be a string"]},
        ),
        (b'{"subject":"s","drillAmount":"1","drillLabels":"a"}', {"drillLabels": ["an array"]}),
        (b'{"subject":"s","drillAmount":"1","drillLabels":["a",2]}', {"drillLabels.1": ["string"]}),
        (b"[]", {"body": ["The request body must be an object."]}),
    ],
)
def test_a_body_the_spec_refuses_is_a_422_in_the_vendors_shape(
    fake: FakeMijnKlantportaal, raw: httpx.Client, body: bytes, errors: dict[str, list[str]]
) -> None:
    response = raw.post("/drill-tickets", content=body)
    if not errors:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    answer = response.json()
    assert list(answer) == ["message", "errors"] and list(answer["errors"]) == list(errors)
    for field, (part,) in errors.items():
        (text,) = answer["errors"][field]
        assert part in text and text.startswith("The "), text
    assert answer["message"].startswith(next(iter(answer["errors"].values()))[0])
    assert fake.ids("drill_tickets") == []


def test_the_422_message_counts_the_other_errors(raw: httpx.Client) -> None:
    one = raw.post("/drill-tickets", json={"drillAmount": "1"}).json()
    assert one["message"] == "The subject field is required."
    three = raw.post("/drill-tickets", json={"drillPriority": "x"}).json()
    assert three["message"] == "The subject field is required. (and 2 more errors)"
    assert three["errors"] == {
        "subject": ["The subject field is required."],
        "drillAmount": ["The drillAmount field is required."],
        "drillPriority": ["The selected drillPriority is invalid."],
    }


def test_a_body_that_is_not_json_is_a_400_and_changes_nothing(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    ticket = create(raw)
    for body in (b'{"subject":', b'{"subject":"s","drillAmount":"1","drillTotal":NaN}', b"\xff"):
        response = raw.patch(f"/drill-tickets/{ticket['id']}", content=body)
        assert response.status_code == 400, body
        assert response.json() == {"message": "The request body is not valid JSON."}
    deep = b'{"drillContact":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert raw.patch(f"/drill-tickets/{ticket['id']}", content=deep).status_code == 400
    assert fake.object_json("drill_tickets", ticket["id"]) == ticket


# -- seeding and reading back ------------------------------------------------------------------


def test_any_resource_is_seeded_by_its_name_or_its_schema(fake: FakeMijnKlantportaal) -> None:
    by_resource = fake.add("drill_tickets", {"subject": "s", "drillAmount": 1.5})
    by_schema = fake.add("DrillTicket", {"id": "dtk_mine", "subject": "t"})
    assert by_resource.startswith("dtk_") and by_schema == "dtk_mine"
    assert fake.ids("drill_tickets") == fake.ids("DrillTicket") == [by_resource, by_schema]
    assert fake.object_json("drill_tickets", by_resource)["drillAmount"] == Decimal("1.5")
    fake.remove("drill_tickets", by_schema)
    assert fake.ids("drill_tickets") == [by_resource]
    with pytest.raises(ValueError, match=r"'tickets' is neither a resource .*drill_tickets"):
        fake.add("tickets", {})
    with pytest.raises(ValueError, match="money must be a number"):
        fake.add("drill_tickets", {"drillAmount": "lots"})


def test_the_examples_are_seeded_also_under_the_path_parameters_examples(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    assert fake.add_examples() == {
        "DrillTicket": ["dtk_abc12345def678"],
        "DrillTicketReply": ["drp_abc12345def678"],
        "Invoice": ["fac_abc12345def678"],
    }
    added = fake.add_examples(path_ids=True)
    assert added["DrillTicket"] == ["dtk_abc12345def678", "dtk_drill0deleted1"]
    assert added["Invoice"] == ["fac_abc12345def678", "fac_abc12345678"]
    assert raw.delete("/drill-tickets/dtk_drill0deleted1").status_code == 204
    example = exact(raw.get("/drill-tickets/dtk_abc12345def678"))
    assert example["drillAmount"] == Decimal("12.95") and example["drillStatus"] == "open"


# -- the API's other behaviour applies to every route -----------------------------------------


def test_faults_and_the_rate_limit_apply_to_writes(
    fake: FakeMijnKlantportaal, raw: httpx.Client
) -> None:
    fake.fail_next(Fault.status(503))
    assert raw.post("/drill-tickets", json={"subject": "s", "drillAmount": "1"}).status_code == 503
    assert fake.ids("drill_tickets") == []  # the fault answered; nothing was done
    fake.fail_next(Fault.truncated())
    with pytest.raises(httpx.RemoteProtocolError):
        raw.post("/drill-tickets", json={"subject": "s", "drillAmount": "1"})
    assert len(fake.ids("drill_tickets")) == 1  # done, and the answer cut: as a real server
    fake.rate_limit = 1
    assert raw.post("/drill-tickets", json={"subject": "s", "drillAmount": "1"}).status_code == 201
    limited = raw.post("/drill-tickets", json={"subject": "s", "drillAmount": "1"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "60"
    assert len(fake.ids("drill_tickets")) == 2
    assert [r.status for r in fake.requests][-2:] == [201, 429]


def test_the_plugins_fake_serves_the_whole_spec_with_every_resources_example(
    fake: FakeMijnKlantportaal, mijnklantportaal_fake: FakeMijnKlantportaal
) -> None:
    # (``fake`` first: its tables are swapped in before the plugin's fixture builds its fake)
    assert mijnklantportaal_fake.ids("drill_tickets") == ["dtk_abc12345def678"]
    assert mijnklantportaal_fake.ids("invoices") == ["fac_abc12345def678"]
    headers = {"Authorization": f"Bearer {mijnklantportaal_fake.api_key}"}
    transport = mijnklantportaal_fake.transport()
    with httpx.Client(transport=transport, base_url=BASE, headers=headers) as client:
        created = client.post("/drill-tickets", json={"subject": "s", "drillAmount": "1"}).json()
        listed = client.get("/drill-tickets").json()["data"]
        assert [t["id"] for t in listed] == ["dtk_abc12345def678", created["id"]]
        reply = client.post(f"/drill-tickets/{created['id']}/replies", json={"message": "m"})
        assert reply.status_code == 201
