"""tools/spec_diff.py: one test per classification rule, plus refs, cycles, reports, CHANGELOG."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import changelog  # noqa: E402
import spec_diff  # noqa: E402
import spec_mutations  # noqa: E402
from spec_diff import (  # noqa: E402
    BREAKING,
    NON_BREAKING,
    POTENTIALLY,
    RULES,
    TODO,
    Change,
    SpecError,
    diff_specs,
)

INVOICE_PATH = "/invoices/{invoiceId}"


def base_spec() -> dict[str, Any]:
    """A small spec: GET reads an Invoice, POST sends a NewInvoice and reads an Invoice."""
    return {
        "openapi": "3.1.1",
        "info": {"title": "t", "version": "v1"},
        "paths": {
            INVOICE_PATH: {
                "get": {
                    "operationId": "get-invoice",
                    "parameters": [
                        {
                            "name": "invoiceId",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"name": "expand", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Invoice"}
                                }
                            },
                        },
                        "404": {
                            "description": "no",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                    },
                }
            },
            "/invoices": {
                "post": {
                    "operationId": "create-invoice",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewInvoice"}
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "ok",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Invoice"}
                                }
                            },
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Invoice": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "string"},
                        "total": {"type": "string"},
                        "status": {"type": "string", "enum": ["open", "paid"]},
                        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
                    },
                },
                "Line": {"type": "object", "properties": {"quantity": {"type": "integer"}}},
                "NewInvoice": {
                    "type": "object",
                    "required": ["customer"],
                    "properties": {
                        "customer": {"type": "string"},
                        "note": {"type": "string"},
                        "kind": {"type": "string", "enum": ["standard", "credit"]},
                    },
                },
                "Error": {"type": "object", "properties": {"message": {"type": "string"}}},
            }
        },
    }


def changed(mutate: Any) -> list[Change]:
    old = base_spec()
    new = copy.deepcopy(old)
    mutate(new)
    return diff_specs(old, new)


def only(changes: list[Change]) -> Change:
    assert len(changes) == 1, changes
    return changes[0]


def schemas(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = spec["components"]["schemas"]
    return result


def get_op(spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = spec["paths"][INVOICE_PATH]["get"]
    return result


def test_identical_specs_have_no_changes() -> None:
    assert diff_specs(base_spec(), base_spec()) == []


def test_documentation_only_changes_are_not_reported() -> None:
    def mutate(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["total"]["description"] = "The total"
        schemas(s)["Invoice"]["properties"]["total"]["example"] = "12.95"
        get_op(s)["summary"] = "Get it"

    assert changed(mutate) == []
    assert spec_diff.required_bump([]) == "patch"


def test_every_rule_has_a_severity_and_a_one_line_reason() -> None:
    for rule_id, rule in RULES.items():
        assert rule.severity in (BREAKING, POTENTIALLY, NON_BREAKING), rule_id
        assert rule.why and "\n" not in rule.why, rule_id


# -- operations -------------------------------------------------------------------------


def test_operation_added_is_non_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["paths"]["/customers"] = {
            "get": {"operationId": "list-customers", "responses": {"200": {"description": "ok"}}}
        }

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("operation-added", NON_BREAKING)
    assert change.location == "GET /customers (list-customers)"
    assert change.detail == "operation added; parameters: none; returns no content (200)"


def test_operation_added_names_its_parameters_response_and_wrapper_method() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["paths"]["/invoices"]["get"] = {
            "tags": ["Invoices API"],
            "operationId": "list-invoices",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                {
                    "name": "since",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "format": "date-time"},
                },
            ],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Invoice"},
                            }
                        }
                    },
                },
                "422": {
                    "description": "bad",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }

    change = only(changed(mutate))
    assert change.location == "GET /invoices (list-invoices)"
    assert change.detail == (
        "operation added; parameters: `limit` (query, integer, optional), "
        "`since` (query, string(date-time), required); returns array of Invoice (200); "
        "errors Error (422); wrapper: client.invoices.list"
    )


def test_operation_added_with_path_parameter_and_body() -> None:
    def mutate(s: dict[str, Any]) -> None:
        s["paths"]["/invoices/{invoiceId}/lines"] = {
            "post": {
                "tags": ["Invoices API"],
                "operationId": "create-invoice-line",
                "parameters": [{"name": "invoiceId", "in": "path", "schema": {"type": "string"}}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Line"}}
                    },
                },
                "responses": {"204": {"description": "created"}},
            }
        }

    detail = only(changed(mutate)).detail
    assert "`invoiceId` (path, string, required)" in detail  # path parameters always are
    assert "required body Line" in detail
    assert "returns no content (204)" in detail
    assert detail.endswith("wrapper: client.invoices.create_line")


@pytest.mark.parametrize(
    ("tag", "operation_id", "method"),
    [
        ("Invoices API", "get-invoice", "client.invoices.get"),
        ("Invoices API", "list-invoices", "client.invoices.list"),
        ("Invoices API", "get-invoice-line", "client.invoices.get_line"),
        ("Customer Groups API", "list-customer-groups", "client.customer_groups.list"),
        (
            "Customer Groups API",
            "add-customer-to-group",
            "client.customer_groups.add_customer_to_group",
        ),
        ("Webhooks API", "webhooks", "client.webhooks.webhooks"),  # nothing left: keep it whole
        (None, "get-invoice", None),  # no tag, no resource: the report says nothing
    ],
)
def test_wrapper_method_follows_the_naming_rule(
    tag: str | None, operation_id: str, method: str | None
) -> None:
    op = spec_diff.Operation("get", "/x", operation_id, tag, {}, None, {})
    assert spec_diff.wrapper_method(op) == method


def test_operation_removed_is_breaking() -> None:
    change = only(changed(lambda s: s["paths"].pop("/invoices")))
    assert (change.rule, change.severity) == ("operation-removed", BREAKING)
    assert change.location == "POST /invoices (create-invoice)"


def test_operation_id_renamed_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        get_op(s)["operationId"] = "fetch-invoice"

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("operation-id-changed", BREAKING)
    assert "'get-invoice' -> 'fetch-invoice'" in change.detail


def test_operation_moved_keeps_its_operation_id_and_is_compared_in_place() -> None:
    def mutate(s: dict[str, Any]) -> None:
        item = s["paths"].pop(INVOICE_PATH)
        item["get"]["parameters"][1]["required"] = True
        s["paths"]["/v2/invoices/{invoiceId}"] = item

    found = {c.rule: c for c in changed(mutate)}
    assert set(found) == {"operation-moved", "parameter-made-required"}
    assert found["operation-moved"].severity == NON_BREAKING
    assert found["operation-moved"].detail == "moved from GET /invoices/{invoiceId}"
    assert found["parameter-made-required"].location == "GET /v2/invoices/{invoiceId} (get-invoice)"


def test_first_tag_changed_is_breaking() -> None:
    old = base_spec()
    get_op(old)["tags"] = ["Invoices API"]
    new = copy.deepcopy(old)
    get_op(new)["tags"] = ["Billing API", "Invoices API"]
    change = only(diff_specs(old, new))
    assert (change.rule, change.severity) == ("operation-tag-changed", BREAKING)
    assert change.detail == "first tag 'Invoices API' -> 'Billing API'"


# -- parameters -------------------------------------------------------------------------


def test_required_parameter_added_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        get_op(s)["parameters"].append(
            {"name": "tenant", "in": "header", "required": True, "schema": {"type": "string"}}
        )

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("parameter-added-required", BREAKING)
    assert "header parameter `tenant`" in change.detail


def test_optional_parameter_added_is_non_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        get_op(s)["parameters"].append(
            {"name": "lang", "in": "query", "schema": {"type": "string"}}
        )

    assert only(changed(mutate)).rule == "parameter-added-optional"


def test_parameter_removed_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        get_op(s)["parameters"].pop()

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("parameter-removed", BREAKING)
    assert "`expand`" in change.detail


def test_parameter_made_required_is_breaking_and_optional_is_not() -> None:
    def required(s: dict[str, Any]) -> None:
        get_op(s)["parameters"][1]["required"] = True

    assert (only(changed(required)).rule, only(changed(required)).severity) == (
        "parameter-made-required",
        BREAKING,
    )
    old = base_spec()
    get_op(old)["parameters"][1]["required"] = True
    change = only(diff_specs(old, base_spec()))
    assert (change.rule, change.severity) == ("parameter-made-optional", NON_BREAKING)


def test_parameter_retyped_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        get_op(s)["parameters"][1]["schema"] = {"type": "integer"}

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("type-changed", BREAKING)
    assert "type string -> integer" in change.detail


def test_path_level_and_referenced_parameters_are_resolved() -> None:
    old = base_spec()
    new = copy.deepcopy(old)
    new["components"]["parameters"] = {
        "Tenant": {"name": "tenant", "in": "header", "required": True, "schema": {"type": "string"}}
    }
    new["paths"][INVOICE_PATH]["parameters"] = [{"$ref": "#/components/parameters/Tenant"}]
    change = only(diff_specs(old, new))
    assert change.rule == "parameter-added-required"
    assert change.location == "GET /invoices/{invoiceId} (get-invoice)"


# -- request bodies and responses -------------------------------------------------------


def test_request_body_rules() -> None:
    def drop(s: dict[str, Any]) -> None:
        del s["paths"]["/invoices"]["post"]["requestBody"]

    assert only(changed(drop)).rule == "request-body-removed"
    old = base_spec()
    del old["paths"]["/invoices"]["post"]["requestBody"]
    assert only(diff_specs(old, base_spec())).rule == "request-body-added-required"

    def optional(s: dict[str, Any]) -> None:
        s["paths"]["/invoices"]["post"]["requestBody"]["required"] = False

    change = only(changed(optional))
    assert (change.rule, change.severity) == ("request-body-made-optional", NON_BREAKING)
    assert (
        only(diff_specs(changed_spec(optional), base_spec())).rule == "request-body-made-required"
    )


def changed_spec(mutate: Any) -> dict[str, Any]:
    spec = base_spec()
    mutate(spec)
    return spec


def test_response_status_rules() -> None:
    def drop_404(s: dict[str, Any]) -> None:
        del get_op(s)["responses"]["404"]

    def drop_200(s: dict[str, Any]) -> None:
        del get_op(s)["responses"]["200"]

    assert (only(changed(drop_404)).rule, only(changed(drop_404)).severity) == (
        "response-removed-error",
        NON_BREAKING,
    )
    assert only(changed(drop_200)).severity == BREAKING
    added = only(diff_specs(changed_spec(drop_200), base_spec()))
    assert (added.rule, added.severity) == ("response-added-success", POTENTIALLY)


def test_response_schema_swapped_for_another_model_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        get_op(s)["responses"]["200"]["content"]["application/json"]["schema"] = {
            "$ref": "#/components/schemas/Error"
        }

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("type-changed", BREAKING)
    assert change.location == "GET /invoices/{invoiceId} (get-invoice) response 200"
    assert "Invoice -> Error" in change.detail


def test_media_type_removed_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        content = get_op(s)["responses"]["200"]["content"]
        content["application/xml"] = content.pop("application/json")

    rules = {c.rule for c in changed(mutate)}
    assert rules == {"media-type-added", "media-type-removed"}


# -- schemas and fields -----------------------------------------------------------------


def test_schema_added_and_removed() -> None:
    def add(s: dict[str, Any]) -> None:
        schemas(s)["Customer"] = {"type": "object"}

    assert (only(changed(add)).rule, only(changed(add)).severity) == ("schema-added", NON_BREAKING)

    def remove(s: dict[str, Any]) -> None:
        del schemas(s)["Error"]
        del get_op(s)["responses"]["404"]["content"]

    found = {c.rule: c for c in changed(remove)}
    assert found["schema-removed"].severity == BREAKING
    assert found["schema-removed"].used_by == ("GET /invoices/{invoiceId} (get-invoice)",)


def test_response_field_added_is_non_breaking_and_names_its_users() -> None:
    def mutate(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["dueAt"] = {"type": "string", "format": "date"}

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("field-added-optional", NON_BREAKING)
    assert change.location == "schema Invoice.dueAt"
    assert "string(date)" in change.detail
    assert change.used_by == (
        "GET /invoices/{invoiceId} (get-invoice)",
        "POST /invoices (create-invoice)",
    )


def test_required_field_added_breaks_requests_not_responses() -> None:
    def request_side(s: dict[str, Any]) -> None:
        schemas(s)["NewInvoice"]["properties"]["due"] = {"type": "string"}
        schemas(s)["NewInvoice"]["required"].append("due")

    def response_side(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["number"] = {"type": "string"}
        schemas(s)["Invoice"]["required"].append("number")

    req, resp = only(changed(request_side)), only(changed(response_side))
    assert (req.rule, req.severity) == ("field-added-required-request", BREAKING)
    assert (resp.rule, resp.severity) == ("field-added-required-response", NON_BREAKING)


def test_field_removed_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        del schemas(s)["Invoice"]["properties"]["total"]

    change = only(changed(mutate))
    assert (change.rule, change.severity, change.location) == (
        "field-removed",
        BREAKING,
        "schema Invoice.total",
    )


def test_field_retyped_is_breaking_including_format_and_array_items() -> None:
    def scalar(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["total"] = {"type": "number"}

    def fmt(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["total"]["format"] = "decimal"

    def items(s: dict[str, Any]) -> None:
        schemas(s)["Line"]["properties"]["quantity"] = {"type": "number"}

    assert only(changed(scalar)).detail == "type string -> number"
    assert only(changed(fmt)).detail == "type string -> string(decimal)"
    change = only(changed(items))
    assert (change.rule, change.severity, change.location) == (
        "type-changed",
        BREAKING,
        "schema Line.quantity",
    )


def test_array_item_type_change_is_reported_at_the_items() -> None:
    def mutate(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["lines"]["items"] = {"type": "string"}

    change = only(changed(mutate))
    assert change.location == "schema Invoice.lines[]"
    assert change.detail == "type Line -> string"


def test_made_required_and_made_optional_depend_on_the_side() -> None:
    def resp_optional(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["required"] = []

    def req_required(s: dict[str, Any]) -> None:
        schemas(s)["NewInvoice"]["required"].append("note")

    def req_optional(s: dict[str, Any]) -> None:
        schemas(s)["NewInvoice"]["required"] = []

    def resp_required(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["required"].append("total")

    expected = {
        resp_optional: ("field-made-optional-response", BREAKING),
        req_required: ("field-made-required-request", BREAKING),
        req_optional: ("field-made-optional-request", NON_BREAKING),
        resp_required: ("field-made-required-response", NON_BREAKING),
    }
    for mutate, verdict in expected.items():
        change = only(changed(mutate))
        assert (change.rule, change.severity) == verdict


@pytest.mark.parametrize(
    "nullable",
    [
        {"type": ["string", "null"]},
        {"type": "string", "nullable": True},
        {"anyOf": [{"type": "string"}, {"type": "null"}]},
    ],
    ids=["3.1-type-list", "3.0-nullable", "anyOf-null"],
)
def test_nullable_added_breaks_responses_not_requests(nullable: dict[str, Any]) -> None:
    def response_side(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["total"] = nullable

    def request_side(s: dict[str, Any]) -> None:
        schemas(s)["NewInvoice"]["properties"]["note"] = nullable

    resp, req = only(changed(response_side)), only(changed(request_side))
    assert (resp.rule, resp.severity, resp.detail) == (
        "nullable-added-response",
        BREAKING,
        "now nullable",
    )
    assert (req.rule, req.severity) == ("nullable-added-request", NON_BREAKING)


def test_nullable_removed_breaks_requests_not_responses() -> None:
    old = base_spec()
    schemas(old)["Invoice"]["properties"]["total"]["type"] = ["string", "null"]
    schemas(old)["NewInvoice"]["properties"]["note"]["type"] = ["string", "null"]
    verdicts = {c.location: (c.rule, c.severity) for c in diff_specs(old, base_spec())}
    assert verdicts == {
        "schema Invoice.total": ("nullable-removed-response", NON_BREAKING),
        "schema NewInvoice.note": ("nullable-removed-request", BREAKING),
    }


def test_nullable_reference_is_not_a_type_change() -> None:
    def mutate(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["lines"]["items"] = {
            "anyOf": [{"$ref": "#/components/schemas/Line"}, {"type": "null"}]
        }

    change = only(changed(mutate))
    assert (change.rule, change.location) == ("nullable-added-response", "schema Invoice.lines[]")


def test_enum_value_added_is_potentially_breaking_in_responses_only() -> None:
    def response_side(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["status"]["enum"].append("void")

    def request_side(s: dict[str, Any]) -> None:
        schemas(s)["NewInvoice"]["properties"]["kind"]["enum"].append("proforma")

    resp, req = only(changed(response_side)), only(changed(request_side))
    assert (resp.rule, resp.severity) == ("enum-value-added-response", POTENTIALLY)
    assert '"void"' in resp.detail
    assert (req.rule, req.severity) == ("enum-value-added-request", NON_BREAKING)


def test_enum_value_removed_is_breaking() -> None:
    def mutate(s: dict[str, Any]) -> None:
        schemas(s)["NewInvoice"]["properties"]["kind"]["enum"] = ["standard"]

    change = only(changed(mutate))
    assert (change.rule, change.severity) == ("enum-value-removed", BREAKING)
    assert '"credit"' in change.detail


def test_enum_in_a_parameter_counts_as_request_side() -> None:
    old = base_spec()
    get_op(old)["parameters"][1]["schema"]["enum"] = ["lines"]
    new = copy.deepcopy(old)
    get_op(new)["parameters"][1]["schema"]["enum"].append("customer")
    assert only(diff_specs(old, new)).rule == "enum-value-added-request"


def test_schema_used_on_both_sides_gets_the_worse_verdict() -> None:
    old = base_spec()
    # NewInvoice is now also returned by GET: an added enum value is potentially breaking.
    get_op(old)["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/NewInvoice"
    }
    new = copy.deepcopy(old)
    schemas(new)["NewInvoice"]["properties"]["kind"]["enum"].append("proforma")
    assert only(diff_specs(old, new)).severity == POTENTIALLY


def test_inline_response_schema_fields_are_compared_in_place() -> None:
    old = base_spec()
    get_op(old)["responses"]["200"]["content"]["application/json"]["schema"] = {
        "type": "object",
        "properties": {"count": {"type": "integer"}},
    }
    new = copy.deepcopy(old)
    del get_op(new)["responses"]["200"]["content"]["application/json"]["schema"]["properties"][
        "count"
    ]
    change = only(diff_specs(old, new))
    assert change.rule == "field-removed"
    assert change.location == "GET /invoices/{invoiceId} (get-invoice) response 200.count"


def test_recursive_schemas_terminate() -> None:
    old = base_spec()
    schemas(old)["Node"] = {
        "type": "object",
        "properties": {
            "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            "parent": {"$ref": "#/components/schemas/Node"},
        },
    }
    get_op(old)["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Node"
    }
    new = copy.deepcopy(old)
    schemas(new)["Node"]["properties"]["name"] = {"type": "string"}
    change = only(diff_specs(old, new))
    assert change.location == "schema Node.name"
    assert change.used_by == ("GET /invoices/{invoiceId} (get-invoice)",)


def test_ref_cycle_outside_schemas_is_an_error_not_a_hang() -> None:
    spec = base_spec()
    spec["components"]["parameters"] = {
        "A": {"$ref": "#/components/parameters/B"},
        "B": {"$ref": "#/components/parameters/A"},
    }
    get_op(spec)["parameters"].append({"$ref": "#/components/parameters/A"})
    with pytest.raises(SpecError, match="cycle"):
        diff_specs(base_spec(), spec)


def test_dangling_ref_is_an_error() -> None:
    spec = base_spec()
    get_op(spec)["parameters"].append({"$ref": "#/components/parameters/Missing"})
    with pytest.raises(SpecError, match="does not resolve"):
        diff_specs(base_spec(), spec)


# -- bump, report, CHANGELOG ------------------------------------------------------------


def test_required_bump() -> None:
    breaking = changed(lambda s: s["paths"].pop("/invoices"))
    additive = changed(lambda s: schemas(s).__setitem__("Customer", {"type": "object"}))
    assert spec_diff.required_bump(breaking + additive) == "major"
    assert spec_diff.required_bump(additive) == "minor"
    assert changelog.next_version((0, 1, 0), "major") == (1, 0, 0)
    assert changelog.next_version((1, 4, 2), "minor") == (1, 5, 0)
    assert changelog.next_version((1, 4, 2), "patch") == (1, 4, 3)


def write_specs(tmp_path: Path, mutate: Any) -> tuple[Path, Path]:
    # JSON is YAML too, and needs no PyYAML (the "oldest dependencies" CI pass has none).
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(base_spec()))
    new.write_text(json.dumps(changed_spec(mutate)))
    return old, new


def test_text_report_says_what_breaks_why_and_what_to_edit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def mutate(s: dict[str, Any]) -> None:
        del schemas(s)["Invoice"]["properties"]["total"]
        schemas(s)["Invoice"]["properties"]["dueAt"] = {"type": "string"}

    old, new = write_specs(tmp_path, mutate)
    version = tmp_path / "_version.py"
    version.write_text('__version__ = "0.3.1"\n')
    assert spec_diff.main([str(old), str(new), "--version-file", str(version)]) == 0
    out = capsys.readouterr().out
    assert "2 change(s): 1 breaking, 0 potentially breaking, 1 non-breaking" in out
    assert "required version bump: major" in out and "next version 1.0.0 (from 0.3.1)" in out
    assert (
        out.index("BREAKING (1)")
        < out.index("schema Invoice.total: field removed")
        < out.index("NON-BREAKING (1)")
    )
    assert RULES["field-removed"].why in out
    assert "WHAT TO EDIT" in out and TODO["field-removed"] in out


def test_changelog_append_is_idempotent_and_keeps_released_sections(tmp_path: Path) -> None:
    def mutate(s: dict[str, Any]) -> None:
        schemas(s)["Invoice"]["properties"]["dueAt"] = {"type": "string"}

    old, new = write_specs(tmp_path, mutate)
    log = tmp_path / "CHANGELOG.md"
    log.write_text("# Changelog\n\nIntro.\n\n## 0.1.0\n\nFirst release.\n")
    assert spec_diff.main([str(old), str(new), "--changelog", str(log)]) == 0
    once = log.read_text()
    assert (
        once.index("## Unreleased") < once.index("### OpenAPI spec change") < once.index("## 0.1.0")
    )
    assert "`schema Invoice.dueAt`: optional field added (string)" in once
    assert once.endswith("## 0.1.0\n\nFirst release.\n")
    assert changelog.unreleased_bump(once) == "minor"
    assert spec_diff.main([str(old), str(new), "--changelog", str(log)]) == 0
    assert log.read_text() == once


def test_changelog_bump_is_the_largest_unreleased_marker() -> None:
    text = "# C\n\n## Unreleased\n\n<!-- spec-diff old=a new=b bump=minor -->\n<!-- bump=major -->\n\n## 0.1.0\n\n<!-- bump=patch -->\n"
    assert changelog.unreleased_bump(text) == "major"
    assert changelog.unreleased_bump("# C\n\n## 0.1.0\n\n<!-- bump=major -->\n") is None


def test_changelog_created_when_missing(tmp_path: Path) -> None:
    text, did = changelog.append_to_unreleased("", "### block\n", "### block")
    assert (
        did and text.startswith("# Changelog\n") and text.endswith("## Unreleased\n\n### block\n")
    )


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = write_specs(tmp_path, lambda s: s["paths"].pop("/invoices"))
    assert spec_diff.main([str(old), str(new), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["bump"] == "major"
    assert data["changes"][0]["rule"] == "operation-removed"


def test_unreadable_spec_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]\n")
    assert spec_diff.main([str(bad), str(bad)]) == 1
    assert "not an OpenAPI document" in capsys.readouterr().err


def test_enum_appearing_or_disappearing_is_a_type_change() -> None:
    def lift(s: dict[str, Any]) -> None:
        del schemas(s)["Invoice"]["properties"]["status"]["enum"]

    change = only(changed(lift))
    assert (change.rule, change.severity) == ("type-changed", BREAKING)
    assert change.detail == 'no longer restricted to "open", "paid"'
    back = only(diff_specs(changed_spec(lift), base_spec()))
    assert back.detail == 'now restricted to "open", "paid"'


# -- the drill's mutations of the real spec: each one reported as tests/spec_mutations.py says


@pytest.mark.parametrize("name", sorted(spec_mutations.MUTATIONS))
def test_report_on_each_spec_mutation(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mutation = spec_mutations.MUTATIONS[name]
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    base = spec_mutations.mutated(mutation.base) if mutation.base else spec_mutations.load_spec()
    old.write_text(spec_mutations.dump_spec(base))
    new.write_text(spec_mutations.mutated_text(name))
    assert spec_diff.main([str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert f"  - {mutation.report}\n" in out, out
    bump = "major" if mutation.breaking else "minor"
    assert f"required version bump: {bump}" in out
    if mutation.breaking:
        assert out.index("BREAKING (") < out.index(mutation.report)
        assert "NON-BREAKING" not in out and "POTENTIALLY" not in out
    else:
        assert "\nBREAKING" not in out


def test_mutations_change_only_what_they_say() -> None:
    """Dumping the spec back keeps it equal, key order included: the mutation is the only change."""
    current = spec_mutations.load_spec()
    assert list(spec_mutations.mutated("money-field-added")) == list(current)
    again = spec_mutations.dump_spec(current)
    assert diff_specs(current, spec_mutations.yaml.safe_load(again)) == []
    assert list(
        spec_mutations.yaml.safe_load(again)["components"]["schemas"]["Invoice"]["properties"]
    ) == list(current["components"]["schemas"]["Invoice"]["properties"])
