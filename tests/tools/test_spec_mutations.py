"""tests/spec_mutations.py: the drill's mutations use names no vendor release can take, and
refuse, saying so, a spec that already has what they add (issue 17, item 25)."""

from __future__ import annotations

import copy
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import spec_mutations
from spec_mutations import MUTATIONS, MutationConflict, dump_spec, load_spec, mutated

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

import spec_diff

# What a vendor release may well add: the list operation every REST API grows.
VENDOR_LIST = {
    "get": {
        "tags": ["Invoices API"],
        "operationId": "list-invoices",
        "responses": {
            "200": {
                "description": "A page of invoices",
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/InvoicePage"}}
                },
            }
        },
    }
}
VENDOR_PAGE = {
    "type": "object",
    "properties": {
        "current_page": {"type": "integer"},
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
    },
}


def _vendor_release() -> dict[str, Any]:
    spec = load_spec()
    spec["paths"]["/invoices"] = copy.deepcopy(VENDOR_LIST)
    spec["components"]["schemas"]["InvoicePage"] = copy.deepcopy(VENDOR_PAGE)
    return spec


def _names(spec: dict[str, Any], old: dict[str, Any] | None = None) -> set[str]:
    """The names a vendor release could also take: paths, operationIds, tags and schemas,
    and (with ``old``) the fields and parameters of the schemas and operations ``old`` has."""
    old = old or spec
    found = set(spec["paths"]) | set(spec["components"]["schemas"])
    for path, item in spec["paths"].items():
        for method, op in item.items():
            found |= {str(op.get("operationId")), *op.get("tags", [])}
            if method in old["paths"].get(path, {}):
                found |= {f"param {p.get('name')}" for p in op.get("parameters", [])}
    for name, schema in spec["components"]["schemas"].items():
        if name in old["components"]["schemas"]:
            found |= {f"field {key}" for key in schema.get("properties", {})}
    return found


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_i17_25_every_new_name_of_a_mutation_is_test_only(name: str) -> None:
    base = mutated(MUTATIONS[name].base) if MUTATIONS[name].base else load_spec()
    new = _names(mutated(name), base) - _names(base)
    assert new or MUTATIONS[name].adds is None or name == "enum-value-added"
    for added in new:
        assert re.search(r"drill", added, re.IGNORECASE), f"{name} adds {added!r}, a vendor's name"


def test_i17_25_the_list_mutation_survives_the_vendor_adding_get_invoices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The vendor ships GET /invoices (list-invoices) and an InvoicePage: the drill's list
    # operation must still add exactly what it says, on top of that release.
    release = _vendor_release()
    mutation = MUTATIONS["list-operation-added"]
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(dump_spec(release))
    new.write_text(dump_spec(mutated("list-operation-added", spec=release)))
    assert spec_diff.main([str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert f"  - {mutation.report}\n" in out, out
    assert "list-invoices" not in out.replace(spec_mutations.DRILL_LIST_OPERATION, "")


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_i17_25_a_mutation_whose_target_exists_says_so(name: str) -> None:
    # Applied to a spec that already has its change, every mutation stops and says why.
    spec = mutated(name)
    with pytest.raises(MutationConflict, match=r"already|has no") as caught:
        MUTATIONS[name].apply(spec)
    assert "Traceback" not in str(caught.value) and len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("path", "path /drill-invoices"),
        ("operation", "operationId 'list-drill-invoices'"),
        ("tag", "tag 'Drill Invoices API'"),
        ("schema", "'DrillInvoicePage'"),
    ],
)
def test_i17_25_a_vendor_name_equal_to_the_mutations_is_refused_naming_it(
    where: str, says: str
) -> None:
    spec = load_spec()
    op = copy.deepcopy(VENDOR_LIST)
    if where == "path":
        spec["paths"]["/drill-invoices"] = op
    elif where == "operation":
        op["get"]["operationId"] = "list-drill-invoices"
        spec["paths"]["/zz-vendor"] = op
    elif where == "tag":
        op["get"]["tags"] = ["Drill Invoices API"]
        spec["paths"]["/zz-vendor"] = op
    else:
        spec["components"]["schemas"]["DrillInvoicePage"] = copy.deepcopy(VENDOR_PAGE)
    with pytest.raises(MutationConflict) as caught:
        mutated("list-operation-added", spec=spec)
    assert says in str(caught.value) and "already has" in str(caught.value)
