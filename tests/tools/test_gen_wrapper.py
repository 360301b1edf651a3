"""tools/gen_wrapper.py: reproducible output, and the right typed source for spec changes."""

from __future__ import annotations

import copy
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import gen_wrapper  # noqa: E402

SPEC: dict[str, Any] = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
MAP: dict[str, Any] = tomllib.loads((REPO / "spec-map.toml").read_text(encoding="utf-8"))
COMMITTED = REPO / "wrapper" / "mijnklantportaal" / "_generated"
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent))
# What openapi-python-client wrote for the committed spec: the names the wrapper imports.
LOW_LEVEL = gen_wrapper.read_low_level(REPO / "generated" / "mijnklantportaal_api")

LowLevelOf = Callable[[dict[str, Any]], gen_wrapper.LowLevel]


@pytest.fixture(scope="session")
def low_level_of(tools_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> LowLevelOf:
    """What the pinned openapi-python-client writes for a spec (as ./generate.sh runs it)."""
    cache: dict[str, gen_wrapper.LowLevel] = {}

    def run(spec: dict[str, Any]) -> gen_wrapper.LowLevel:
        text = yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
        if text not in cache:
            work = tmp_path_factory.mktemp("low-level")
            (work / "spec.yaml").write_text(text, encoding="utf-8")
            command = [str(tools_venv / "bin" / "openapi-python-client"), "generate"]
            command += ["--path", "spec.yaml", "--meta", "none", "--output-path", "pkg"]
            command += ["--config", str(REPO / "tools" / "openapi-python-client.yml")]
            path = f"{tools_venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
            done = subprocess.run(
                command, cwd=work, env={**os.environ, "PATH": path}, capture_output=True, text=True
            )
            assert done.returncode == 0, done.stdout + done.stderr
            cache[text] = gen_wrapper.read_low_level(work / "pkg")
        return cache[text]

    return run


def generate(
    spec: dict[str, Any] = SPEC,
    spec_map: dict[str, Any] = MAP,
    low_level_of: LowLevelOf | None = None,
) -> dict[str, str]:
    """gen_wrapper.generate with the low-level names openapi-python-client writes for ``spec``."""
    low_level = LOW_LEVEL if low_level_of is None else low_level_of(spec)
    return gen_wrapper.generate(spec, spec_map, low_level)


def mutated() -> dict[str, Any]:
    """The spec with a money field, a date-time field and a paginated list operation added."""
    spec = copy.deepcopy(SPEC)
    invoice = spec["components"]["schemas"]["Invoice"]["properties"]
    invoice["zzTestLateFeeAmount"] = {"type": "string", "example": 1.5}
    invoice["zzTestSentOn"] = {"type": "string", "format": "date-time"}
    spec["components"]["schemas"]["InvoicePage"] = {
        "type": "object",
        "properties": {
            "current_page": {"type": "integer", "example": 1},
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
            "next_page_url": {"type": "string"},
            "per_page": {"type": "integer", "example": 15},
        },
    }
    spec["paths"]["/invoices"] = {
        "get": {
            "tags": ["Invoices API"],
            "summary": "List invoices",
            "operationId": "list-invoices",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                {"name": "isPaid", "in": "query", "schema": {"type": "boolean"}},
                {
                    "name": "zzState",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["open", "paid"]},
                },
                {
                    "name": "zzSince",
                    "in": "query",
                    "schema": {"type": "string", "format": "date-time"},
                },
            ],
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
    return spec


def load_models(files: dict[str, str], tmp_path: Path) -> ModuleType:
    """Import a generated models.py (it needs only the wrapper's runtime base)."""
    path = tmp_path / "generated_models.py"
    path.write_text(files["models.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("generated_models_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_committed_code_is_what_the_generator_writes(tmp_path: Path) -> None:
    if RUFF is None:
        pytest.skip("no ruff next to this Python")
    gen_wrapper.write(generate(), tmp_path, RUFF)
    for name in sorted(p.name for p in tmp_path.glob("*.py")):
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    assert sorted(p.name for p in COMMITTED.glob("*.py")) == sorted(
        p.name for p in tmp_path.glob("*.py")
    )


def test_output_is_reproducible_and_marked_do_not_edit() -> None:
    first = generate()
    again = generate(copy.deepcopy(SPEC), copy.deepcopy(MAP))
    assert first == again
    for name, source in first.items():
        assert source.startswith("# Generated by ./generate.sh"), name
        assert "do not edit" in source.splitlines()[0], name
        compile(source, name, "exec")
        assert "exec(" not in source


def test_a_new_money_and_date_time_field_are_typed_and_decoded(
    tmp_path: Path, low_level_of: LowLevelOf
) -> None:
    files = generate(mutated(), low_level_of=low_level_of)
    source = files["models.py"]
    assert "zz_test_late_fee_amount: Decimal | None = None" in source
    assert "zz_test_sent_on: datetime | None = None" in source
    models = load_models(files, tmp_path)
    invoice = models.Invoice.from_dict(
        {"zzTestLateFeeAmount": Decimal("1.50"), "zzTestSentOn": "2025-05-01T10:00:00Z"}
    )
    assert invoice.zz_test_late_fee_amount.as_tuple() == Decimal("1.50").as_tuple()
    assert invoice.zz_test_sent_on == datetime.fromisoformat("2025-05-01T10:00:00+00:00")
    assert invoice.extra == {}
    as_string = models.Invoice.from_dict({"zzTestLateFeeAmount": "-0.10"})
    assert str(as_string.zz_test_late_fee_amount) == "-0.10"
    assert as_string.to_dict() == {"zzTestLateFeeAmount": "-0.10"}
    with pytest.raises(models.DecodeError) as caught:
        models.Invoice.from_dict({"zzTestLateFeeAmount": 1.5})  # a float never gets this far
    assert caught.value.field == "zzTestLateFeeAmount"
    # The fake's money rule follows the same map rule: the new field is rendered as money.
    assert "zzTestLateFeeAmount" in files["examples.py"]


def test_a_decode_error_names_the_element_of_a_list(tmp_path: Path) -> None:
    models = load_models(generate(), tmp_path)
    good = {"vatRate": 21}
    with pytest.raises(models.DecodeError) as caught:
        models.Invoice.from_dict({"lines": [good, good, {"vatRate": "21%"}]})
    assert str(caught.value).startswith("lines[2].vatRate: ")


def test_a_new_list_operation_gets_a_method_with_checked_query_parameters(
    tmp_path: Path, low_level_of: LowLevelOf
) -> None:
    files = generate(mutated(), low_level_of=low_level_of)
    resources = files["resources.py"]
    # generate() returns the source before ruff formats it: one statement per line.
    assert (
        "from mijnklantportaal_api.api.invoices_api import list_invoices as _list_invoices"
        in resources
    )
    assert "_list_invoices._get_kwargs(limit=UNSET if limit is None else limit," in resources
    for prefix in ("    def list(", "    async def list("):
        assert resources.count("\n" + prefix) == 2  # the plain and the raw-response method
    assert "limit: int | None = None" in resources
    assert "is_paid: bool | None = None" in resources
    assert "check_int(limit, 'limit')" in resources
    assert "check_bool(is_paid, 'is_paid')" in resources
    # An enum is checked against the spec's values, then passed as the low-level enum class.
    assert "check_choice(zz_state, 'zz_state', ('open', 'paid'))" in resources
    assert "zz_state=UNSET if zz_state is None else ListInvoicesZzState(zz_state)" in resources
    assert "from mijnklantportaal_api.models import ListInvoicesZzState" in resources
    # A date-time parameter takes a datetime, which the low-level package formats.
    assert "zz_since: datetime | None = None" in resources
    assert "check_instance(zz_since, 'zz_since', datetime)" in resources
    assert "-> InvoicePage" in resources and "-> RawResponse[InvoicePage]" in resources
    models = load_models(files, tmp_path)
    page = models.InvoicePage.from_dict(
        {"current_page": 2, "data": [{"id": "fac_1", "totalAmount": "1.00"}], "zzTestOnly": 1}
    )
    assert page.current_page == 2 and page.data[0].total_amount == Decimal("1.00")
    assert page.extra == {"zzTestOnly": 1}
    route = "Route('GET', '/invoices', 'list-invoices', 'list', 'Invoice', None, 'InvoicePage', 200, ('limit', 'isPaid', 'zzState', 'zzSince'))"
    assert route in files["examples.py"]


def test_method_names_follow_the_rule_and_the_map() -> None:
    assert gen_wrapper._method_name("get-invoice", "Invoices API") == "get"
    assert gen_wrapper._method_name("list-invoices", "Invoices API") == "list"
    assert gen_wrapper._method_name("list-customer-groups", "Customer Groups API") == "list"
    assert gen_wrapper._method_name("send-invoice-reminder", "Invoices API") == "send_reminder"
    assert gen_wrapper.resource_attribute("Customer Groups API") == "customer_groups"
    spec_map = {**MAP, "operations": {"get-invoice": {"method": "fetch"}}}
    assert "def fetch(" in generate(SPEC, spec_map)["resources.py"]


def test_low_level_operations_need_a_reason_and_get_no_method() -> None:
    with pytest.raises(gen_wrapper.SpecError, match="needs a reason"):
        generate(SPEC, {**MAP, "low_level": {"get-invoice": {}}})
    spec_map = {**MAP, "low_level": {"get-invoice": {"reason": "zz test"}}}
    assert "def get(" not in generate(SPEC, spec_map)["resources.py"]
    with pytest.raises(gen_wrapper.SpecError, match="no longer has"):
        generate(SPEC, {**MAP, "low_level": {"zz-gone": {"reason": "x"}}})


def test_an_unknown_enum_value_is_kept_not_refused(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["Invoice"]["properties"]["zzTestState"] = {
        "type": "string",
        "enum": ["open", "paid"],
    }
    files = generate(spec)
    assert "Known values: ``open``, ``paid``" in files["models.py"]
    models = load_models(files, tmp_path)
    assert models.Invoice.from_dict({"zzTestState": "zz_new_state"}).zz_test_state == (
        "zz_new_state"
    )


def test_a_resource_named_like_a_model_gets_a_suffix(low_level_of: LowLevelOf) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/invoices/{invoiceId}"]["get"]["tags"] = ["Invoice API"]
    resources = generate(spec, low_level_of=low_level_of)["resources.py"]
    assert "class InvoiceResource:" in resources and "class Invoice:" not in resources
    assert "    invoice: InvoiceResource" in resources


def test_schema_names_that_cannot_be_classes_are_refused() -> None:
    for bad in ("Model", "Invoice-Line"):
        spec = copy.deepcopy(SPEC)
        spec["components"]["schemas"][bad] = {"type": "object", "properties": {}}
        prop = {"$ref": f"#/components/schemas/{bad}"}
        spec["components"]["schemas"]["Invoice"]["properties"]["zzTestNested"] = prop
        with pytest.raises(gen_wrapper.SpecError, match=f"schema '{bad}'"):
            generate(spec)


def test_an_unquoted_yaml_timestamp_example_stays_iso_8601() -> None:
    spec = copy.deepcopy(SPEC)
    issued = spec["components"]["schemas"]["Invoice"]["properties"]["issuedAt"]
    issued["example"] = yaml.safe_load("2025-04-12T00:00:00Z")  # a datetime, as YAML reads it
    examples = generate(spec)["examples.py"]
    assert "'issuedAt': '2025-04-12T00:00:00+00:00'" in examples
