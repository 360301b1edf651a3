"""tools/gen_fake.py: how the fake's tables are read from the spec (issue 19, item 1).

The spec is today's plus the drill's resource mutations (tests/_drill.py) and a few test-only
operations of shapes the rules must tell apart: an action on a ticket answering it, a delete
of a part of a ticket, a GET of an object without an id, a write without content, a list of
a ticket's replies as a bare array.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from _drill import RESOURCE_MUTATIONS, built_api, fake_tables
from _support import REPO
from spec_mutations import MUTATIONS, load_spec

sys.path.insert(0, str(REPO / "tools"))

import gen_fake
import gen_wrapper


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(status: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    if schema is None:
        return {status: {"description": "done"}}
    return {status: {"description": "done", "content": {"application/json": {"schema": schema}}}}


TICKET_ID = {"name": "drillTicketId", "in": "path", "required": True, "schema": {"type": "string"}}


def _spec() -> dict[str, Any]:
    spec = load_spec()
    for name in RESOURCE_MUTATIONS:
        MUTATIONS[name].apply(spec)
    tag = ["Drill Tickets API"]
    paths = spec["paths"]
    paths["/drill-tickets/{drillTicketId}/close"] = {
        "post": {
            "tags": tag,
            "operationId": "close-drill-ticket",
            "parameters": [TICKET_ID],
            "responses": _answer("200", _ref("DrillTicket")),
        }
    }
    paths["/drill-tickets/{drillTicketId}/labels"]["delete"] = {
        "tags": tag,
        "operationId": "clear-drill-ticket-labels",
        "parameters": [TICKET_ID],
        "responses": _answer("204"),
    }
    paths["/drill-tickets/{drillTicketId}/replies"]["get"] = {
        "tags": tag,
        "operationId": "list-drill-ticket-replies",
        "parameters": [TICKET_ID],
        "responses": _answer("200", {"type": "array", "items": _ref("DrillTicketReply")}),
    }
    paths["/drill-profile"] = {
        "get": {
            "tags": tag,
            "operationId": "get-drill-profile",
            "responses": _answer("200", _ref("DrillContact")),
        }
    }
    paths["/drill-exports"] = {
        "post": {"tags": tag, "operationId": "start-drill-export", "responses": _answer("202")}
    }
    return spec


@pytest.fixture(scope="module")
def api(tools_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> gen_wrapper.Api:
    return built_api(_spec(), tools_venv, tmp_path_factory.mktemp("gen-fake"))


@pytest.fixture(scope="module")
def tables(tools_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return fake_tables(_spec(), tools_venv, tmp_path_factory.mktemp("gen-fake-tables"))


def test_each_operation_gets_the_kind_its_path_and_answer_show(api: gen_wrapper.Api) -> None:
    found = {
        route.op.op_id: (route.kind, route.schema, route.id_param, route.collection, route.parents)
        for route in gen_fake.fake_routes(api)
    }
    tickets, replies = "/drill-tickets", "/drill-tickets/{drillTicketId}/replies"
    parent = (("drillTicketId", "DrillTicket"),)
    assert found == {
        "get-invoice": ("get", "Invoice", "invoiceId", "/invoices", ()),
        "list-drill-tickets": ("list", "DrillTicket", None, tickets, ()),
        "create-drill-ticket": ("create", "DrillTicket", None, tickets, ()),
        "get-drill-ticket": ("get", "DrillTicket", "drillTicketId", tickets, ()),
        "update-drill-ticket": ("update", "DrillTicket", "drillTicketId", tickets, ()),
        "delete-drill-ticket": ("delete", "DrillTicket", "drillTicketId", tickets, ()),
        # PUT .../{id}/labels answering the ticket: replaces what its body names, on it
        "replace-drill-ticket-labels": ("replace", "DrillTicket", "drillTicketId", tickets, ()),
        # an action answering the object it is on: an update with what its body gives
        "close-drill-ticket": ("update", "DrillTicket", "drillTicketId", tickets, ()),
        # a POST under a ticket answering another schema: creates one, belonging to it
        "create-drill-ticket-reply": ("create", "DrillTicketReply", None, replies, parent),
        "list-drill-ticket-replies": ("list", "DrillTicketReply", None, replies, parent),
        "delete-drill-ticket-reply": (
            "delete",
            "DrillTicketReply",
            "drillReplyId",
            replies,
            parent,
        ),
        # what is not one of those answers its example (or no content)
        "clear-drill-ticket-labels": ("example", None, None, None, ()),
        "get-drill-profile": ("example", "DrillContact", None, None, ()),
        "start-drill-export": ("example", None, None, None, ()),
    }


def test_the_collections_are_read_from_the_operations_on_them(api: gen_wrapper.Api) -> None:
    assert gen_fake.collections(api) == {
        "/invoices": "Invoice",
        "/drill-tickets": "DrillTicket",
        "/drill-tickets/{drillTicketId}/replies": "DrillTicketReply",
    }


def test_a_lists_filters_are_the_parameters_naming_a_field_and_free_text(
    api: gen_wrapper.Api,
) -> None:
    (listing,) = [r for r in gen_fake.fake_routes(api) if r.op.op_id == "list-drill-tickets"]
    assert listing.filters == (
        ("drillSearch", "", "text", "text"),
        ("drillPriority", "drillPriority", "equals", "text"),
        ("drillLabels", "drillLabels", "overlaps", "text"),
    )  # per_page is paging, not a filter


@pytest.mark.parametrize(
    ("name", "free"),
    [
        ("search", True),
        ("q", True),
        ("query", True),
        ("drillSearch", True),
        ("full_text_search", True),
        ("searchMode", False),
        ("status", False),
        ("queue", False),
    ],
)
def test_free_text_is_told_by_the_parameters_name(name: str, free: bool) -> None:
    assert gen_fake.is_free_text(name) is free


def _model(name: str, example: Any = None, description: str = "") -> gen_wrapper.ModelSpec:
    text = gen_wrapper.FieldType("text")
    props = [gen_wrapper.Prop("id", "id", text, False, description, example)]
    return gen_wrapper.ModelSpec(name, "", props)


def test_an_id_prefix_comes_from_the_map_the_example_the_description_or_the_name() -> None:
    assert gen_fake.id_prefix(_model("Invoice", "x_1"), ("fac_", "an invoice")) == "fac_"
    assert gen_fake.id_prefix(_model("Ticket", "tck_abc12345678")) == "tck_"
    described = _model("Ticket", None, "ID of the ticket, always starting with `tkt_`.")
    assert gen_fake.id_prefix(described) == "tkt_"
    assert gen_fake.id_prefix(_model("PaymentLinkEvent", "12345")) == "ple_"
    assert gen_fake.id_prefix(_model("Customer")) == "cus_"


def test_the_request_bodies_are_kept_as_the_spec_gives_them(tables: dict[str, Any]) -> None:
    assert tables["BODIES"]["create-drill-ticket"] == {
        "ref": "DrillTicketCreate",
        "required_body": True,
    }
    create = tables["SHAPES"]["DrillTicketCreate"]
    assert create["required"] == ["subject", "drillAmount"]  # the properties' order
    assert create["properties"]["expiresAt"] == {"type": ["string"], "nullable": True}
    assert create["properties"]["drillPriority"] == {"type": ["string"], "enum": ["low", "high"]}
    assert create["properties"]["drillContact"] == {"ref": "DrillContact"}
    assert create["properties"]["drillLabels"] == {
        "type": ["array"],
        "items": {"type": ["string"]},
    }
    assert tables["BODIES"]["update-drill-ticket"]["required_body"] is False
    assert "close-drill-ticket" not in tables["BODIES"]  # no request body


def test_the_tables_of_each_schema(tables: dict[str, Any]) -> None:
    assert tables["RESOURCES"] == {"drill_tickets": "DrillTicket", "invoices": "Invoice"}
    assert tables["ID_PREFIX"]["DrillTicket"] == "dtk_"
    assert tables["ID_PREFIX"]["DrillTicketReply"] == "drp_"
    assert tables["MONEY_FIELDS"]["DrillTicket"] == {"drillAmount": "string"}
    assert tables["TIMESTAMPS"]["DrillTicketReply"] == ("createdAt",)
    assert tables["TEXT_FIELDS"]["DrillTicket"] == ("id", "subject", "drillPriority")
    assert tables["NESTED"]["DrillTicket"] == {"drillContact": "DrillContact"}
    assert tables["PATH_IDS"] == {
        "DrillTicket": ("dtk_drill0deleted1", "dtk_abc12345def678"),
        "DrillTicketReply": ("drp_abc12345def678",),
        "Invoice": ("fac_abc12345678",),
    }
