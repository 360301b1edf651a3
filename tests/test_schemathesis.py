"""The fake is held to the spec by a tool no one here wrote: schemathesis, run against the
loopback fake with every check it has, on positively generated requests, for EVERY operation
in openapi.yaml (the list comes from the spec, so an operation the vendor adds is checked too,
with or without examples; the run fails if one is not exercised).

- money as strings (the spec's own typing): no failures at all;
- money as numbers (what the real API sends): the only failures are the money fields being a
  JSON number where the spec says ``string`` (the documented divergence). The money fields are
  read from the spec too: typed ``string`` with a numeric example, as the vendor documents them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
import yaml
from mijnklantportaal.testing import FakeMijnKlantportaal

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def spec_operations(spec: Mapping[str, Any]) -> dict[str, set[str]]:
    """``"GET /invoices/{invoiceId}"`` (schemathesis's label) -> the statuses it documents."""
    found: dict[str, set[str]] = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            op = item.get(method) if isinstance(item, Mapping) else None
            if isinstance(op, Mapping):
                found[f"{method.upper()} {path}"] = {str(s) for s in op.get("responses") or {}}
    return found


def money_schemas(spec: Mapping[str, Any]) -> set[str]:
    """JSON pointers of the money fields: typed ``string``, documented with a number."""
    found = set()
    for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
        for prop, sub in (schema.get("properties") or {}).items():
            example = sub.get("example")
            if (
                sub.get("type") == "string"
                and isinstance(example, int | float)
                and not isinstance(example, bool)
            ):
                found.add(f"/components/schemas/{name}/properties/{prop}")
    return found


@dataclass
class Exercised:
    """What one schemathesis run did to each operation, read from its NDJSON events."""

    checks: dict[str, int] = field(default_factory=dict)  # label -> checks run
    statuses: dict[str, set[int]] = field(default_factory=dict)  # label -> statuses answered
    failures: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_events(cls, lines: Iterator[str]) -> Exercised:
        seen = cls()
        for line in lines:
            event = json.loads(line)
            if "NonFatalError" in event:
                seen.errors.append(json.dumps(event["NonFatalError"])[:2000])
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished.get("recorder") or {}
            label = str(recorder.get("label"))
            if finished.get("status") == "error":
                seen.errors.append(f"{label}: scenario errored")
            for results in (recorder.get("checks") or {}).values():
                for check in results:
                    seen.checks[label] = seen.checks.get(label, 0) + 1
                    if check["status"] == "failure":
                        seen.failures.append(check["failure_info"]["failure"])
            for interaction in (recorder.get("interactions") or {}).values():
                response = interaction.get("response") or {}
                if "status_code" in response:
                    seen.statuses.setdefault(label, set()).add(int(response["status_code"]))
        return seen

    def unexercised(self, operations: Mapping[str, set[str]]) -> list[str]:
        """Operations that got no check, or never a documented 2xx answer (so their success
        schema was never validated), each with what happened instead."""
        problems = []
        for label, documented in sorted(operations.items()):
            answered = self.statuses.get(label, set())
            if not self.checks.get(label):
                problems.append(f"{label}: not exercised (no checks ran)")
            elif not any(200 <= s < 300 and str(s) in documented for s in answered):
                problems.append(
                    f"{label}: never answered with a documented 2xx (answered {sorted(answered)})"
                )
        return problems


def _schemathesis(
    money_as: Literal["number", "string"], tmp_path: Path
) -> tuple[int, Exercised, str]:
    """Run ``st run`` against a loopback fake; returns (exit code, what it did, output)."""
    fake = FakeMijnKlantportaal(rate_limit=None, money_as=money_as)
    # The spec's example of every stored schema, also under the ids the path parameters give
    # as examples (get-invoice's is fac_abc12345678): schemathesis's example phase then
    # reaches a stored object, and a 2xx, on every operation that reads or writes one.
    added = fake.add_examples(path_ids=True)
    assert "fac_abc12345678" in added["Invoice"], added
    events = tmp_path / f"{money_as}.ndjson"
    with fake.serve() as base_url:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                str(SPEC),
                "--url",
                base_url,
                "--header",
                f"Authorization: Bearer {fake.api_key}",
                "--checks",
                "all",
                "--mode",
                "positive",
                "--max-examples",
                "50",
                "--seed",
                "20250412",
                "--report",
                "ndjson",
                "--report-ndjson-path",
                str(events),
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
    output = result.stdout + result.stderr
    seen = Exercised.from_events(iter(events.read_text().splitlines()))
    assert not seen.errors, "\n".join(seen.errors) + output
    operations = spec_operations(yaml.safe_load(SPEC.read_text()))
    assert operations, "the spec has no operations"
    missing = seen.unexercised(operations)
    assert not missing, "\n".join(missing) + "\n" + output
    base_path = urlsplit(base_url).path
    # The fake saw it too: requests reached it for every path in the spec.
    for label in operations:
        method, path = label.split(" ", 1)
        route = re.compile(
            re.escape(base_path) + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path))
        )
        assert any(r.method == method and route.fullmatch(r.path) for r in fake.requests), label
    return result.returncode, seen, output


@pytest.mark.slow
def test_money_as_strings_passes_every_check(tmp_path: Path) -> None:
    code, seen, output = _schemathesis("string", tmp_path)
    assert seen.failures == [], output
    assert code == 0, output


@pytest.mark.slow
def test_money_as_numbers_fails_only_on_number_for_string(tmp_path: Path) -> None:
    code, seen, output = _schemathesis("number", tmp_path)
    assert code == 1 and seen.failures, output
    where = set()
    for failure in seen.failures:
        assert failure["code"] == "ST108", failure  # response violates schema, nothing else
        first = failure["message"].splitlines()[0]
        assert first.endswith('is not of type "string"'), failure["message"]
        value = json.loads(first.split(" is not of type")[0])
        assert isinstance(value, int | float) and not isinstance(value, bool), first
        schema_at = next(
            line for line in failure["message"].splitlines() if line.startswith("Schema at ")
        )
        where.add(schema_at.removeprefix("Schema at ").rstrip(":"))
    # Every failure is a money field; and every money field of an object a GET serves (the
    # stored examples) is among them. A write's answer holds what schemathesis sent, which
    # a random string amount need not make a number.
    spec = yaml.safe_load(SPEC.read_text())
    assert where <= money_schemas(spec), output
    assert where >= {p for p in money_schemas(spec) if p.split("/")[3] in reached_by_gets(spec)}, (
        output
    )


def reached_by_gets(spec: Mapping[str, Any]) -> set[str]:
    """The component schemas a GET's 2xx answer holds, through every ``$ref``."""
    found: set[str] = set()
    stack: list[Any] = [
        response
        for item in (spec.get("paths") or {}).values()
        for status, response in ((item.get("get") or {}).get("responses") or {}).items()
        if str(status).startswith("2")
    ]
    schemas = (spec.get("components") or {}).get("schemas") or {}
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    stack.append(schemas.get(name))
            stack.extend(v for k, v in node.items() if k != "$ref")
    return found


# -- the bookkeeping above, on its own (fast) ------------------------------------------------


def _scenario(label: str, status: int, check: str = "success") -> str:
    return json.dumps(
        {
            "ScenarioFinished": {
                "status": "success",
                "recorder": {
                    "label": label,
                    "checks": {"c1": [{"name": "not_a_server_error", "status": check}]},
                    "interactions": {"c1": {"response": {"status_code": status}}},
                },
            }
        }
    )


def _two_operations() -> dict[str, Any]:
    """A spec of its own (the drill runs these tests on mutated copies of openapi.yaml)."""
    ok = {"200": {"description": "ok"}}
    return {
        "paths": {
            "/invoices": {"get": {"operationId": "list-invoices", "responses": ok}},
            "/invoices/{invoiceId}": {
                "get": {"operationId": "get-invoice", "responses": {**ok, "404": {}}},
                "parameters": [],
            },
        }
    }


def test_an_operation_left_out_fails_and_is_named() -> None:
    operations = spec_operations(_two_operations())
    assert operations == {"GET /invoices": {"200"}, "GET /invoices/{invoiceId}": {"200", "404"}}
    only_get = Exercised.from_events(iter([_scenario("GET /invoices/{invoiceId}", 200)]))
    assert only_get.unexercised(operations) == ["GET /invoices: not exercised (no checks ran)"]
    # The issue's case: the fake does not know the route and answers 404.
    unrouted = Exercised.from_events(
        iter([_scenario("GET /invoices/{invoiceId}", 200), _scenario("GET /invoices", 404)])
    )
    assert unrouted.unexercised(operations) == [
        "GET /invoices: never answered with a documented 2xx (answered [404])"
    ]
    both = Exercised.from_events(
        iter([_scenario("GET /invoices/{invoiceId}", 200), _scenario("GET /invoices", 200)])
    )
    assert both.unexercised(operations) == []


def test_scenarios_without_checks_do_not_crash_the_reader() -> None:
    """A scenario schemathesis could not run has no "checks" (the issue's KeyError)."""
    bare = json.dumps({"ScenarioFinished": {"status": "skip", "recorder": {"label": "GET /x"}}})
    seen = Exercised.from_events(iter([bare]))
    assert seen.unexercised({"GET /x": {"200"}}) == ["GET /x: not exercised (no checks ran)"]


def test_money_fields_are_strings_documented_with_a_number() -> None:
    spec = {
        "components": {
            "schemas": {
                "Invoice": {
                    "properties": {
                        "totalAmount": {"type": "string", "example": 15.67},
                        "vatRate": {"type": "string", "example": 21},
                        "invoiceNumber": {"type": "string", "example": "MKP-2025.0010"},
                        "quantity": {"type": "integer", "example": 1},
                        "isPaid": {"type": "boolean", "example": True},
                        "issuedAt": {"type": "string"},
                    }
                }
            }
        }
    }
    assert money_schemas(spec) == {
        "/components/schemas/Invoice/properties/totalAmount",
        "/components/schemas/Invoice/properties/vatRate",
    }
    assert "/components/schemas/InvoiceLine/properties/amountExclVat" in money_schemas(
        yaml.safe_load(SPEC.read_text())
    )


def test_the_schemas_a_get_answers_with_are_found_through_every_ref() -> None:
    assert reached_by_gets(yaml.safe_load(SPEC.read_text())) >= {"Invoice", "InvoiceLine"}
    ok = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}
    spec = {
        "paths": {"/a": {"get": {"responses": {"200": ok}}, "post": {"responses": {"201": ok}}}},
        "components": {
            "schemas": {
                "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
                "B": {"properties": {"c": {"items": {"$ref": "#/components/schemas/C"}}}},
                "C": {"properties": {"a": {"$ref": "#/components/schemas/A"}}},
                "Posted": {"properties": {}},
            }
        },
    }
    assert reached_by_gets(spec) == {"A", "B", "C"}
    del spec["paths"]["/a"]["get"]
    assert reached_by_gets(spec) == set()
