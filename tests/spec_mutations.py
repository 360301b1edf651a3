"""Realistic vendor changes to the spec, applied to the CURRENT openapi.yaml at test time.

No test keeps a full copy of the spec: a test that needs "the spec plus one change" calls
``mutated_text(name)`` (or ``write_mutated``) and gets today's openapi.yaml with that one
change applied, so the tests keep working when the vendored spec grows.

Each ``Mutation`` says what a maintainer would see:

- ``breaking``: whether code written against the current package can fail after it;
- ``report``: the line the change report (tools/spec_diff.py) prints for it;
- ``adds``: what the naming rules expose for it in the wrapper (an attribute of a model, a
  keyword argument or a method of a resource), or ``None`` when it adds nothing;
- ``base``: the mutation that must already be in the spec (an enum value can only be added
  to an enum the spec has; the current spec has none, so ``enum-field-added`` comes first).

New names follow the vendor's conventions, so that the generator's rules apply to them (a
``...At`` timestamp, a ``...Amount`` money field sent as a JSON number), but start with
``drill`` so that no real vendor release can ever collide with them: fields, parameters,
schemas, paths, operationIds and tags alike (the vendor's own ``GET /invoices`` once broke
a mutation that added that very operation). A mutation whose target the spec already has
(a new name that is there, or an old one that is gone) raises ``MutationConflict`` saying
so, instead of producing a spec that differs in some other way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC = Path(__file__).resolve().parents[1] / "openapi.yaml"

Spec = dict[str, Any]

# The vendor's page fields (docs: list endpoints paginate by page), in the order it sends them.
PAGE_FIELDS = (
    "current_page",
    "data",
    "first_page_url",
    "from",
    "next_page_url",
    "path",
    "per_page",
    "prev_page_url",
    "to",
)


class MutationConflict(Exception):
    """The spec already has what a mutation adds, or lacks what it changes."""


@dataclass(frozen=True)
class Mutation:
    name: str
    breaking: bool
    report: str
    adds: str | None
    apply: Callable[[Spec], None]
    base: str | None = None


def load_spec(path: Path = SPEC) -> Spec:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path} is not a mapping"
    return document


def dump_spec(document: Spec) -> str:
    """YAML in the spec's own key order (PyYAML keeps dict order with sort_keys=False)."""
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


def _schema(spec: Spec, name: str) -> dict[str, Any]:
    schema = spec["components"]["schemas"].get(name)
    if not isinstance(schema, dict):
        raise MutationConflict(f"the spec has no schema {name!r} for the mutation to change")
    return schema


def _properties(spec: Spec, name: str) -> dict[str, Any]:
    properties = _schema(spec, name)["properties"]
    assert isinstance(properties, dict)
    return properties


def _insert_before(mapping: dict[str, Any], before: str, key: str, value: Any) -> None:
    """Insert ``key`` just before ``before`` (where a vendor would put it), keeping order."""
    if key in mapping:
        raise MutationConflict(
            f"the spec already has {key!r}, which the mutation adds: a vendor release took "
            "the name; give the mutation another drill... name"
        )
    items = list(mapping.items())
    at = next((n for n, (k, _) in enumerate(items) if k == before), len(items))
    items.insert(at, (key, value))
    mapping.clear()
    mapping.update(items)


def _operation(spec: Spec, operation_id: str) -> dict[str, Any]:
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise MutationConflict(f"the spec has no operation {operation_id!r} for the mutation to change")


def _tags(spec: Spec) -> set[str]:
    """Every tag the spec declares or an operation uses."""
    declared = {t.get("name") for t in spec.get("tags", []) if isinstance(t, dict)}
    used = {
        tag
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for tag in op.get("tags", [])
    }
    return declared | used


def _new_operation(spec: Spec, path: str, operation_id: str, tag: str) -> None:
    """Refuse a path, operationId or tag the spec already has (the mutation adds them)."""
    taken = [
        f"path {path}" if path in spec["paths"] else "",
        f"operationId {operation_id!r}"
        if any(
            isinstance(op, dict) and op.get("operationId") == operation_id
            for item in spec["paths"].values()
            for op in item.values()
        )
        else "",
        f"tag {tag!r}" if tag in _tags(spec) else "",
    ]
    if any(taken):
        raise MutationConflict(
            f"the spec already has the {', '.join(t for t in taken if t)} the mutation adds: a "
            "vendor release took the name; give the mutation another drill... name"
        )


def _new_parameter(op: dict[str, Any], name: str) -> None:
    if any(p.get("name") == name for p in op.get("parameters", [])):
        raise MutationConflict(
            f"operation {op.get('operationId')!r} already has a parameter {name!r}"
        )


# -- the mutations -------------------------------------------------------------------------


def add_datetime_field(spec: Spec) -> None:
    _insert_before(
        _properties(spec, "Invoice"),
        "isPaid",
        "drillCheckedAt",
        {
            "type": "string",
            "format": "date-time",
            "example": "2025-05-12T00:00:00.000Z",
            "description": "Date the invoice was last checked",
        },
    )


def add_money_field(spec: Spec) -> None:
    # Typed string, documented (and sent) as a JSON number, like every money field here.
    _insert_before(
        _properties(spec, "Invoice"),
        "issuedAt",
        "drillLateFeeAmount",
        {
            "type": "string",
            "example": 4.05,
            "description": "Late fee charged on top of the total, excluding VAT.",
        },
    )


DRILL_LIST_PATH = "/drill-invoices"
DRILL_LIST_OPERATION = "list-drill-invoices"
DRILL_LIST_TAG = "Drill Invoices API"
DRILL_PAGE = "DrillInvoicePage"


def add_list_operation(spec: Spec) -> None:
    """GET /drill-invoices (list-drill-invoices, tag Drill Invoices API): a page of invoices,
    ``limit`` (1 to 100) per page, as ``client.drill_invoices.list``.

    The vendor's own list operation would be ``GET /invoices`` (``list-invoices``); the drill's
    has names no vendor release can take. The page object is the vendor's (Laravel-style)
    one: on an empty or last page, ``from``, ``to``, ``next_page_url`` and ``prev_page_url``
    are null, so the spec says so."""
    _new_operation(spec, DRILL_LIST_PATH, DRILL_LIST_OPERATION, DRILL_LIST_TAG)
    page = {
        "type": "object",
        "description": "A page of invoices",
        "properties": {
            "current_page": {"type": "integer", "example": 1},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
            "first_page_url": {
                "type": "string",
                "example": "https://api.mijnklantportaal.nl/v1/invoices?page=1",
            },
            "from": {"type": ["integer", "null"], "example": 1},
            "next_page_url": {
                "type": ["string", "null"],
                "example": "https://api.mijnklantportaal.nl/v1/invoices?page=2",
            },
            "path": {"type": "string", "example": "https://api.mijnklantportaal.nl/v1/invoices"},
            "per_page": {"type": "integer", "example": 15},
            "prev_page_url": {"type": ["string", "null"], "example": None},
            "to": {"type": ["integer", "null"], "example": 1},
        },
    }
    assert tuple(page["properties"]) == PAGE_FIELDS
    _insert_before(spec["components"]["schemas"], "Error_ApiError", DRILL_PAGE, page)
    paths = spec["paths"]
    listing = {
        "get": {
            "tags": [DRILL_LIST_TAG],
            "summary": "List MijnKlantportaal Invoices",
            "description": "List the MijnKlantportaal invoices, newest first",
            "operationId": DRILL_LIST_OPERATION,
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "description": "Number of invoices per page",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "example": 15},
                }
            ],
            "responses": {
                "200": {
                    "description": "A page of invoices",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{DRILL_PAGE}"}
                        }
                    },
                }
            },
        }
    }
    items = list(paths.items())
    paths.clear()
    paths.update([(DRILL_LIST_PATH, listing), *items])
    spec.setdefault("tags", []).append({"name": DRILL_LIST_TAG})


def add_query_parameter(spec: Spec) -> None:
    op = _operation(spec, "get-invoice")
    _new_parameter(op, "drillLocale")
    op.setdefault("parameters", []).append(
        {
            "name": "drillLocale",
            "in": "query",
            "description": "Language of the descriptions in the answer",
            "required": False,
            "schema": {"type": "string", "example": "nl"},
        }
    )


def _existing(properties: dict[str, Any], schema: str, name: str) -> dict[str, Any]:
    if name not in properties:
        raise MutationConflict(f"the spec has no field {schema}.{name} for the mutation to change")
    value = properties[name]
    assert isinstance(value, dict)
    return value


def remove_field(spec: Spec) -> None:
    _existing(_properties(spec, "Invoice"), "Invoice", "isPaid")
    del _properties(spec, "Invoice")["isPaid"]


def retype_field(spec: Spec) -> None:
    quantity = _existing(_properties(spec, "InvoiceLine"), "InvoiceLine", "quantity")
    if quantity.get("type") != "integer":
        raise MutationConflict(
            f"InvoiceLine.quantity is already {quantity.get('type')!r}; the mutation retypes an integer"
        )
    quantity["type"] = "string"
    quantity["example"] = "1"


def add_required_parameter(spec: Spec) -> None:
    op = _operation(spec, "get-invoice")
    _new_parameter(op, "drillAdministration")
    op.setdefault("parameters", []).append(
        {
            "name": "drillAdministration",
            "in": "query",
            "description": "ID of the administration the invoice belongs to",
            "required": True,
            "schema": {"type": "string", "example": "adm_abc12345678"},
        }
    )


def add_enum_field(spec: Spec) -> None:
    _insert_before(
        _properties(spec, "Invoice"),
        "isPaid",
        "drillState",
        {
            "type": "string",
            "enum": ["open", "paid"],
            "example": "open",
            "description": "Where the invoice is in its life cycle",
        },
    )


def add_enum_value(spec: Spec) -> None:
    state = _existing(_properties(spec, "Invoice"), "Invoice", "drillState")
    if "overdue" in state["enum"]:
        raise MutationConflict(
            "the spec already has the enum value 'overdue' of Invoice.drillState"
        )
    state["enum"] = [*state["enum"], "overdue"]


# -- operation shapes (issue 18): writes with bodies, no-content answers, pages ----------------

DRILL_TICKETS_PATH = "/drill-tickets"
DRILL_TICKETS_TAG = "Drill Tickets API"
DRILL_TICKET_EXAMPLE_ID = "dtk_abc12345def678"  # the id example of DrillTicket


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_answer(status: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _new_schema(spec: Spec, name: str, schema: dict[str, Any]) -> None:
    _insert_before(spec["components"]["schemas"], "Error_ApiError", name, schema)


def _add_path_operation(spec: Spec, path: str, method: str, op: dict[str, Any]) -> None:
    """Add ``method`` on ``path`` (a new path, or one a base mutation added)."""
    taken = any(
        isinstance(o, dict) and o.get("operationId") == op["operationId"]
        for item in spec["paths"].values()
        for o in item.values()
    )
    item = spec["paths"].setdefault(path, {})
    if taken or method in item:
        raise MutationConflict(
            f"the spec already has {method.upper()} {path} or operationId "
            f"{op['operationId']!r}: give the mutation another drill... name"
        )
    item[method] = op


def add_create_operation(spec: Spec) -> None:
    """POST /drill-tickets (create-drill-ticket, tag Drill Tickets API): a JSON body with
    every kind of property (string money, number money, a nullable timestamp, an enum, a
    nested object, an array of strings), a header parameter, answered 201 with the ticket:
    ``client.drill_tickets.create(subject=..., drill_amount=Decimal("12.95"), ...)``."""
    _new_operation(spec, DRILL_TICKETS_PATH, "create-drill-ticket", DRILL_TICKETS_TAG)
    contact = {
        "type": "object",
        "description": "Who the ticket is about",
        "properties": {
            "drillName": {"type": "string", "example": "Ada"},
            "drillEmail": {"type": "string", "example": "ada@example.com"},
        },
    }
    ticket = {
        "type": "object",
        "description": "A drill ticket",
        "properties": {
            "id": {"type": "string", "example": DRILL_TICKET_EXAMPLE_ID},
            "subject": {"type": "string", "example": "Broken invoice"},
            # money as the vendor types it: a string in the spec, a number in its examples
            "drillAmount": {"type": "string", "example": 12.95},
            "expiresAt": {"type": ["string", "null"], "example": "2025-05-12T10:00:00+02:00"},
            "drillPriority": {"type": "string", "enum": ["low", "high"], "example": "low"},
            "drillContact": _ref("DrillContact"),
            "drillLabels": {"type": "array", "items": {"type": "string"}},
        },
    }
    body = {
        "type": "object",
        "required": ["subject", "drillAmount"],
        "properties": {
            "subject": {"type": "string", "description": "What the ticket is about"},
            "drillAmount": {"type": "string", "description": "Amount in dispute"},
            "drillTotal": {"type": "number"},
            "expiresAt": {"type": ["string", "null"]},
            "drillPriority": {"type": "string", "enum": ["low", "high"]},
            "drillContact": _ref("DrillContact"),
            "drillLabels": {"type": "array", "items": {"type": "string"}},
        },
    }
    _new_schema(spec, "DrillContact", contact)
    _new_schema(spec, "DrillTicket", ticket)
    _new_schema(spec, "DrillTicketCreate", body)
    _add_path_operation(
        spec,
        DRILL_TICKETS_PATH,
        "post",
        {
            "tags": [DRILL_TICKETS_TAG],
            "summary": "Create a drill ticket",
            "operationId": "create-drill-ticket",
            "parameters": [
                {
                    "name": "X-Drill-Request-Id",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("DrillTicketCreate")}},
            },
            "responses": _json_answer("201", "The ticket", _ref("DrillTicket")),
        },
    )
    spec.setdefault("tags", []).append({"name": DRILL_TICKETS_TAG})


def _not_found() -> dict[str, Any]:
    """The vendor's 404 answer of an operation on one object (as get-invoice documents it)."""
    return _json_answer("404", "Not found", _ref("Error_ApiError"))


def _ticket_id(example: str = DRILL_TICKET_EXAMPLE_ID) -> dict[str, Any]:
    return {
        "name": "drillTicketId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "example": example},
    }


def add_write_methods(spec: Spec) -> None:
    """On the drill tickets: POST .../replies (create-drill-ticket-reply -> ``create_reply``,
    201), PATCH one ticket (update-drill-ticket -> ``update``, 200, a nullable property),
    PUT its labels (replace-drill-ticket-labels, 202) and DELETE a reply with two path
    parameters (delete-drill-ticket-reply -> ``delete_reply``, 204 without content).
    Each documents its 404, and its path parameters have the examples' ids, as get-invoice."""
    _schema(spec, "DrillTicket")
    one = DRILL_TICKETS_PATH + "/{drillTicketId}"
    ticket_id = _ticket_id()
    reply_id = {
        "name": "drillReplyId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "example": "drp_abc12345def678"},
    }
    _new_schema(
        spec,
        "DrillTicketReply",
        {
            "type": "object",
            "properties": {
                "id": {"type": "string", "example": "drp_abc12345def678"},
                "message": {"type": "string", "example": "Thanks"},
                "createdAt": {"type": "string", "example": "2025-05-12T10:00:00+02:00"},
            },
        },
    )
    tag = [DRILL_TICKETS_TAG]
    _add_path_operation(
        spec,
        one + "/replies",
        "post",
        {
            "tags": tag,
            "operationId": "create-drill-ticket-reply",
            "parameters": [ticket_id],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {"message": {"type": "string"}},
                        }
                    }
                },
            },
            "responses": {
                **_json_answer("201", "The reply", _ref("DrillTicketReply")),
                **_not_found(),
            },
        },
    )
    _add_path_operation(
        spec,
        one,
        "patch",
        {
            "tags": tag,
            "operationId": "update-drill-ticket",
            "parameters": [ticket_id],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "subject": {"type": "string"},
                                "expiresAt": {"type": ["string", "null"]},
                            },
                        }
                    }
                }
            },
            "responses": {
                **_json_answer("200", "The ticket", _ref("DrillTicket")),
                **_not_found(),
            },
        },
    )
    _add_path_operation(
        spec,
        one + "/labels",
        "put",
        {
            "tags": tag,
            "operationId": "replace-drill-ticket-labels",
            "parameters": [ticket_id],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["drillLabels"],
                            "properties": {
                                "drillLabels": {"type": "array", "items": {"type": "string"}}
                            },
                        }
                    }
                },
            },
            "responses": {
                **_json_answer("202", "The ticket", _ref("DrillTicket")),
                **_not_found(),
            },
        },
    )
    _add_path_operation(
        spec,
        one + "/replies/{drillReplyId}",
        "delete",
        {
            "tags": tag,
            "operationId": "delete-drill-ticket-reply",
            "parameters": [ticket_id, reply_id],
            "responses": {"204": {"description": "Deleted"}, **_not_found()},
        },
    )


DRILL_TICKET_PAGE = "DrillTicketPage"


def add_page_list(spec: Spec) -> None:
    """GET /drill-tickets (list-drill-tickets -> ``client.drill_tickets.list``): the vendor's
    page envelope of drill tickets, with an enum query parameter and a query array; the
    wrapper returns a page object that walks every page."""
    _schema(spec, "DrillTicket")
    page = {
        "type": "object",
        "description": "A page of drill tickets",
        "properties": {
            "current_page": {"type": "integer", "example": 1},
            "data": {"type": "array", "items": _ref("DrillTicket")},
            "first_page_url": {"type": "string"},
            "from": {"type": ["integer", "null"], "example": 1},
            "next_page_url": {"type": ["string", "null"]},
            "path": {"type": "string"},
            "per_page": {"type": "integer", "example": 15},
            "prev_page_url": {"type": ["string", "null"]},
            "to": {"type": ["integer", "null"], "example": 1},
        },
    }
    _new_schema(spec, DRILL_TICKET_PAGE, page)
    _add_path_operation(
        spec,
        DRILL_TICKETS_PATH,
        "get",
        {
            "tags": [DRILL_TICKETS_TAG],
            "operationId": "list-drill-tickets",
            "parameters": [
                {
                    "name": "drillPriority",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["low", "high"]},
                },
                {
                    "name": "drillLabels",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "array", "items": {"type": "string"}},
                },
                {
                    "name": "per_page",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                },
            ],
            "responses": _json_answer("200", "A page of tickets", _ref(DRILL_TICKET_PAGE)),
        },
    )


# -- a whole resource (issue 19): with these, the drill tickets have a get, a list, a create,
# writes and a delete, which the fake serves statefully and the drill proves end to end --

DRILL_DELETED_TICKET_ID = "dtk_drill0deleted1"  # the example of the delete's path parameter


def add_read_delete(spec: Spec) -> None:
    """GET /drill-tickets/{drillTicketId} (get-drill-ticket -> ``client.drill_tickets.get``)
    and DELETE it (delete-drill-ticket -> ``client.drill_tickets.delete``, 204), each with
    its 404. The delete's path example is another ticket than the get's, so that a tool
    trying every operation with the examples deletes one the others do not need."""
    _schema(spec, "DrillTicket")
    one = DRILL_TICKETS_PATH + "/{drillTicketId}"
    tag = [DRILL_TICKETS_TAG]
    _add_path_operation(
        spec,
        one,
        "get",
        {
            "tags": tag,
            "summary": "Get a drill ticket",
            "operationId": "get-drill-ticket",
            "parameters": [_ticket_id()],
            "responses": {
                **_json_answer("200", "The ticket", _ref("DrillTicket")),
                **_not_found(),
            },
        },
    )
    _add_path_operation(
        spec,
        one,
        "delete",
        {
            "tags": tag,
            "summary": "Delete a drill ticket",
            "operationId": "delete-drill-ticket",
            "parameters": [_ticket_id(DRILL_DELETED_TICKET_ID)],
            "responses": {"204": {"description": "Deleted"}, **_not_found()},
        },
    )


def add_search_parameter(spec: Spec) -> None:
    """``drillSearch`` on list-drill-tickets: free text, which names no field of the ticket
    (the vendor's lists call theirs ``search``)."""
    op = _operation(spec, "list-drill-tickets")
    _new_parameter(op, "drillSearch")
    op["parameters"].insert(
        0,
        {
            "name": "drillSearch",
            "in": "query",
            "description": "Free text to search the tickets for",
            "required": False,
            "schema": {"type": "string", "example": "invoice"},
        },
    )


# -- schema shapes (issue 18, item 6): one mutation per shape, each a field of Invoice ---------


def _new_schemas(spec: Spec, schemas: dict[str, Any]) -> None:
    """Add component schemas just before ``Error_ApiError`` (refusing a name taken)."""
    for name, schema in schemas.items():
        _insert_before(spec["components"]["schemas"], "Error_ApiError", name, schema)


def add_nested_object(spec: Spec) -> None:
    _new_schemas(
        spec,
        {
            "DrillCustomer": {
                "type": "object",
                "description": "The customer an invoice is addressed to",
                "properties": {
                    "id": {"type": "string", "example": "cst_drill0000001"},
                    "name": {"type": "string", "example": "Drill B.V."},
                    "drillCreditAmount": {"type": "string", "example": 250.5},
                },
            }
        },
    )
    _insert_before(_properties(spec, "Invoice"), "isPaid", "drillCustomer", _ref("DrillCustomer"))


def add_scalar_array(spec: Spec) -> None:
    _insert_before(
        _properties(spec, "Invoice"),
        "isPaid",
        "drillReminderDays",
        {
            "type": "array",
            "items": {"type": "integer"},
            "example": [7, 14],
            "description": "Days after the due date on which a reminder is sent",
        },
    )


def add_scalar_fields(spec: Spec) -> None:
    invoice = _properties(spec, "Invoice")
    _insert_before(invoice, "isPaid", "drillReminderCount", {"type": "integer", "example": 2})
    _insert_before(invoice, "isPaid", "drillIsDisputed", {"type": "boolean", "example": False})
    _insert_before(
        invoice, "isPaid", "drillNote", {"type": ["string", "null"], "example": "Paid in cash"}
    )


DRILL_UNKNOWN_STATE = "drill-escalated"  # a value the server sends that the spec does not list


def add_enum_field_for_unknown_values(spec: Spec) -> None:
    _insert_before(
        _properties(spec, "Invoice"),
        "isPaid",
        "drillDisputeState",
        {
            "type": "string",
            "enum": ["none", "open", "resolved"],
            "example": "none",
            "description": "Where a dispute about the invoice stands",
        },
    )


def add_all_of(spec: Spec) -> None:
    _new_schemas(
        spec,
        {
            "DrillDocument": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "example": "drd_0000000001"},
                    "drillIssuedAt": {"type": "string", "example": "2025-04-12T10:00:00Z"},
                    "drillTotalAmount": {"type": "string", "example": 12.95},
                },
            },
            "DrillCreditNote": {
                "description": "A credit note: a document with a reason",
                "allOf": [
                    _ref("DrillDocument"),
                    {
                        "type": "object",
                        "properties": {"drillReason": {"type": "string", "example": "returned"}},
                    },
                ],
            },
        },
    )
    _insert_before(
        _properties(spec, "Invoice"), "isPaid", "drillCreditNote", _ref("DrillCreditNote")
    )


def add_one_of_with_discriminator(spec: Spec) -> None:
    _new_schemas(
        spec,
        {
            "DrillCardPayment": {
                "type": "object",
                "required": ["drillMethod", "drillLast4"],
                "properties": {
                    "drillMethod": {"type": "string", "example": "card"},
                    "drillLast4": {"type": "string", "example": "4242"},
                },
            },
            "DrillBankPayment": {
                "type": "object",
                "required": ["drillMethod", "drillIban"],
                "properties": {
                    "drillMethod": {"type": "string", "example": "bank"},
                    "drillIban": {"type": "string", "example": "NL91ABNA0417164300"},
                },
            },
            "DrillPayment": {
                "oneOf": [_ref("DrillCardPayment"), _ref("DrillBankPayment")],
                "discriminator": {
                    "propertyName": "drillMethod",
                    "mapping": {
                        "card": "#/components/schemas/DrillCardPayment",
                        "bank": "#/components/schemas/DrillBankPayment",
                    },
                },
            },
        },
    )
    _insert_before(_properties(spec, "Invoice"), "isPaid", "drillPayment", _ref("DrillPayment"))


def add_any_of_by_shape(spec: Spec) -> None:
    _new_schemas(
        spec,
        {
            "DrillEmailContact": {
                "type": "object",
                "required": ["drillEmail"],
                "properties": {"drillEmail": {"type": "string", "example": "billing@example.com"}},
            },
            "DrillPhoneContact": {
                "type": "object",
                "required": ["drillPhone"],
                "properties": {"drillPhone": {"type": "string", "example": "+31201234567"}},
            },
        },
    )
    _insert_before(
        _properties(spec, "Invoice"),
        "isPaid",
        "drillContact",
        {"anyOf": [_ref("DrillEmailContact"), _ref("DrillPhoneContact")]},
    )


def add_self_reference(spec: Spec) -> None:
    _new_schemas(
        spec,
        {
            "DrillComment": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "example": "drc_0000000001"},
                    "drillCreatedAt": {"type": "string", "example": "2025-04-12T10:00:00Z"},
                    "drillReplies": {"type": "array", "items": _ref("DrillComment")},
                },
            }
        },
    )
    _insert_before(
        _properties(spec, "Invoice"),
        "isPaid",
        "drillComments",
        {"type": "array", "items": _ref("DrillComment")},
    )


DRILL_DOCUMENTS_TAG = "Drill Documents API"
DRILL_COMPOSED_ANSWERS = (
    # path, operationId, its path parameter and that parameter's example, the schema it answers
    (
        "/drill-credit-notes/{drillCreditNoteId}",
        "get-drill-credit-note",
        "drillCreditNoteId",
        "drd_0000000001",  # the id example of DrillDocument, so of DrillCreditNote
        "DrillCreditNote",
    ),
    (
        "/drill-payments/{drillPaymentId}",
        "get-drill-payment",
        "drillPaymentId",
        "dpy_0000000001",
        "DrillPayment",
    ),
)


def add_composed_answers(spec: Spec) -> None:
    """Two operations answering composed schemas, on a new tag: get-drill-credit-note
    (``client.drill_documents.get_drill_credit_note``) answers the ``allOf`` DrillCreditNote (the
    merged model), get-drill-payment (``get_drill_payment``) the ``oneOf`` DrillPayment (the typed
    union, chosen by its discriminator). Builds on one-of-with-discriminator-added."""
    add_all_of(spec)
    _schema(spec, "DrillPayment")
    for path, op_id, _param, _example, _answer in DRILL_COMPOSED_ANSWERS:
        _new_operation(spec, path, op_id, DRILL_DOCUMENTS_TAG)
    for path, op_id, param, example, answer in DRILL_COMPOSED_ANSWERS:
        _add_path_operation(
            spec,
            path,
            "get",
            {
                "tags": [DRILL_DOCUMENTS_TAG],
                "operationId": op_id,
                "parameters": [
                    {
                        "name": param,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                        "example": example,
                    }
                ],
                "responses": {
                    **_json_answer("200", f"The {answer}", _ref(answer)),
                    **_not_found(),
                },
            },
        )
    spec.setdefault("tags", []).append({"name": DRILL_DOCUMENTS_TAG})


MUTATIONS: dict[str, Mutation] = {
    m.name: m
    for m in (
        Mutation(
            "datetime-field-added",
            breaking=False,
            report="schema Invoice.drillCheckedAt: optional field added (string(date-time))",
            adds="Invoice.drill_checked_at",
            apply=add_datetime_field,
        ),
        Mutation(
            "money-field-added",
            breaking=False,
            report="schema Invoice.drillLateFeeAmount: optional field added (string)",
            adds="Invoice.drill_late_fee_amount",
            apply=add_money_field,
        ),
        Mutation(
            "list-operation-added",
            breaking=False,
            report=(
                "GET /drill-invoices (list-drill-invoices): operation added; "
                "parameters: `limit` (query, integer, optional); returns DrillInvoicePage (200); "
                "wrapper: client.drill_invoices.list"
            ),
            adds="drill_invoices.list",
            apply=add_list_operation,
        ),
        Mutation(
            "query-parameter-added",
            breaking=False,
            report=(
                "GET /invoices/{invoiceId} (get-invoice): "
                "optional query parameter `drillLocale` added (string)"
            ),
            adds="invoices.get(drill_locale=)",
            apply=add_query_parameter,
        ),
        Mutation(
            "field-removed",
            breaking=True,
            report="schema Invoice.isPaid: field removed",
            adds=None,
            apply=remove_field,
        ),
        Mutation(
            "field-retyped",
            breaking=True,
            report="schema InvoiceLine.quantity: type integer -> string",
            adds=None,
            apply=retype_field,
        ),
        Mutation(
            "required-parameter-added",
            breaking=True,
            report=(
                "GET /invoices/{invoiceId} (get-invoice): "
                "required query parameter `drillAdministration` added (string)"
            ),
            adds="invoices.get(drill_administration=)",
            apply=add_required_parameter,
        ),
        Mutation(
            "enum-field-added",
            breaking=False,
            report='schema Invoice.drillState: optional field added (string, one of "open", "paid")',
            adds="Invoice.drill_state",
            apply=add_enum_field,
        ),
        Mutation(
            "enum-value-added",
            breaking=False,  # potentially breaking: old code may match the values exhaustively
            report='schema Invoice.drillState: enum value(s) added: "overdue"',
            adds="Invoice.drill_state",
            apply=add_enum_value,
            base="enum-field-added",
        ),
        Mutation(
            "create-operation-added",
            breaking=False,
            report=(
                "POST /drill-tickets (create-drill-ticket): operation added; parameters: "
                "`X-Drill-Request-Id` (header, string, optional); required body DrillTicketCreate; "
                "returns DrillTicket (201); wrapper: client.drill_tickets.create"
            ),
            adds="drill_tickets.create",
            apply=add_create_operation,
        ),
        Mutation(
            "write-methods-added",
            breaking=False,
            report=(
                "DELETE /drill-tickets/{drillTicketId}/replies/{drillReplyId} "
                "(delete-drill-ticket-reply): operation added; parameters: `drillTicketId` "
                "(path, string, required), `drillReplyId` (path, string, required); returns no "
                "content (204); errors Error_ApiError (404); wrapper: client.drill_tickets.delete_reply"
            ),
            adds="drill_tickets.delete_reply",
            apply=add_write_methods,
            base="create-operation-added",
        ),
        Mutation(
            "page-list-added",
            breaking=False,
            report=(
                "GET /drill-tickets (list-drill-tickets): operation added; parameters: "
                "`drillPriority` (query, string, optional), `drillLabels` (query, array of "
                "string, optional), `per_page` (query, integer, optional); returns "
                "DrillTicketPage (200); wrapper: client.drill_tickets.list"
            ),
            adds="drill_tickets.list",
            apply=add_page_list,
            base="create-operation-added",
        ),
        # -- a whole resource (issue 19) --
        Mutation(
            "read-delete-added",
            breaking=False,
            report=(
                "DELETE /drill-tickets/{drillTicketId} (delete-drill-ticket): operation added; "
                "parameters: `drillTicketId` (path, string, required); returns no content (204); "
                "errors Error_ApiError (404); wrapper: client.drill_tickets.delete"
            ),
            adds="drill_tickets.delete",
            apply=add_read_delete,
            base="create-operation-added",
        ),
        Mutation(
            "search-parameter-added",
            breaking=False,
            report=(
                "GET /drill-tickets (list-drill-tickets): "
                "optional query parameter `drillSearch` added (string)"
            ),
            adds="drill_tickets.list(drill_search=)",
            apply=add_search_parameter,
            base="page-list-added",
        ),
        # -- schema shapes (issue 18, item 6) --
        Mutation(
            "nested-object-added",
            breaking=False,
            report="schema Invoice.drillCustomer: optional field added (DrillCustomer)",
            adds="Invoice.drill_customer",
            apply=add_nested_object,
        ),
        Mutation(
            "scalar-array-added",
            breaking=False,
            report="schema Invoice.drillReminderDays: optional field added (array of integer)",
            adds="Invoice.drill_reminder_days",
            apply=add_scalar_array,
        ),
        Mutation(
            "integer-boolean-nullable-added",
            breaking=False,
            report="schema Invoice.drillReminderCount: optional field added (integer)",
            adds="Invoice.drill_reminder_count",
            apply=add_scalar_fields,
        ),
        Mutation(
            "enum-with-unknown-value-added",
            breaking=False,
            report=(
                "schema Invoice.drillDisputeState: optional field added "
                '(string, one of "none", "open", "resolved")'
            ),
            adds="Invoice.drill_dispute_state",
            apply=add_enum_field_for_unknown_values,
        ),
        Mutation(
            "all-of-added",
            breaking=False,
            report="schema Invoice.drillCreditNote: optional field added (DrillCreditNote)",
            adds="Invoice.drill_credit_note",
            apply=add_all_of,
        ),
        Mutation(
            "one-of-with-discriminator-added",
            breaking=False,
            report="schema Invoice.drillPayment: optional field added (DrillPayment)",
            adds="Invoice.drill_payment",
            apply=add_one_of_with_discriminator,
        ),
        Mutation(
            "any-of-by-shape-added",
            breaking=False,
            report=(
                "schema Invoice.drillContact: optional field added "
                "(anyOf[DrillEmailContact, DrillPhoneContact])"
            ),
            adds="Invoice.drill_contact",
            apply=add_any_of_by_shape,
        ),
        Mutation(
            "self-reference-added",
            breaking=False,
            report="schema Invoice.drillComments: optional field added (array of DrillComment)",
            adds="Invoice.drill_comments",
            apply=add_self_reference,
        ),
        Mutation(
            "composed-answers-added",
            breaking=False,
            report=(
                "GET /drill-payments/{drillPaymentId} (get-drill-payment): operation added; "
                "parameters: `drillPaymentId` (path, string, required); returns DrillPayment "
                "(200); errors Error_ApiError (404); wrapper: "
                "client.drill_documents.get_drill_payment"
            ),
            adds="drill_documents.get_drill_payment",
            apply=add_composed_answers,
            base="one-of-with-discriminator-added",
        ),
    )
}


def chain(name: str) -> list[Mutation]:
    """The mutation and the ones it builds on, oldest first."""
    found = [MUTATIONS[name]]
    while found[0].base is not None:
        found.insert(0, MUTATIONS[found[0].base])
    return found


def mutated(name: str, spec: Spec | None = None, *, with_base: bool = True) -> Spec:
    """A parsed copy of ``spec`` (default: the current openapi.yaml) with ``name`` applied
    (and, with ``with_base``, the mutations it builds on before it)."""
    document = load_spec() if spec is None else yaml.safe_load(dump_spec(spec))
    for mutation in chain(name) if with_base else [MUTATIONS[name]]:
        mutation.apply(document)
    return document


def mutated_text(name: str, **kwargs: Any) -> str:
    return dump_spec(mutated(name, **kwargs))


def write_mutated(path: Path, name: str, *, with_base: bool = True) -> Path:
    """Apply ``name`` to the spec at ``path`` in place (a repo copy's openapi.yaml)."""
    path.write_text(mutated_text(name, spec=load_spec(path), with_base=with_base), encoding="utf-8")
    return path
