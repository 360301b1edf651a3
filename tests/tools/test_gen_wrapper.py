"""tools/gen_wrapper.py: reproducible output, and the right typed source for spec changes."""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tests"))

import gen_wrapper  # noqa: E402
from _hostile import HOSTILE, HOSTILE_NAME, MARKER, NAME_TEXTS, TIMESTAMP, hostile_spec  # noqa: E402
from _shapes import shapes_spec  # noqa: E402

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


def models_source(files: dict[str, str]) -> str:
    """Every generated models module (``models/<group>.py``, ``models/__init__.py``), joined."""
    return "\n".join(source for name, source in sorted(files.items()) if name.startswith("models/"))


def model_modules(files: dict[str, str]) -> list[str]:
    return [source for name, source in sorted(files.items()) if name.startswith("models/")]


_loaded = 0


def load_models(files: dict[str, str], tmp_path: Path) -> ModuleType:
    """Import a generated models package (it needs only the wrapper's runtime base)."""
    global _loaded
    _loaded += 1
    name = f"generated_models_under_test_{_loaded}"
    for file, source in files.items():
        if file.startswith("models/"):
            path = tmp_path / name / file.removeprefix("models/")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, tmp_path / name / "__init__.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        for loaded in [m for m in sys.modules if m.startswith(name + ".")]:
            # what the modules import (DecodeError, ...), reachable as one models.py had it
            for attribute, value in vars(sys.modules[loaded]).items():
                if not attribute.startswith("__") and not hasattr(module, attribute):
                    setattr(module, attribute, value)
    finally:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[loaded]
    return module


def test_the_committed_code_is_what_the_generator_writes(tmp_path: Path) -> None:
    if RUFF is None:
        pytest.skip("no ruff next to this Python")
    gen_wrapper.write(generate(), tmp_path, RUFF)
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*.py"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), name
    assert sorted(str(p.relative_to(COMMITTED)) for p in COMMITTED.rglob("*.py")) == written


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
    source = models_source(files)
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
    # A page-envelope list: sync, sync raw and async (a plain def returning AsyncPaginator,
    # both awaitable and async-iterable) are defs; the async raw one is an async def.
    assert resources.count("\n    def list(") == 3
    assert resources.count("\n    async def list(") == 1
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
    assert "-> SyncPage[Invoice]" in resources and "-> AsyncPaginator[Invoice]" in resources
    assert "-> RawResponse[PageData[Invoice]]" in resources
    models = load_models(files, tmp_path)
    page = models.InvoicePage.from_dict(
        {"current_page": 2, "data": [{"id": "fac_1", "totalAmount": "1.00"}], "zzTestOnly": 1}
    )
    assert page.current_page == 2 and page.data[0].total_amount == Decimal("1.00")
    assert page.extra == {"zzTestOnly": 1}
    (route,) = [
        r for r in namespace_of(files["examples.py"])["ROUTES"] if r.operation_id == "list-invoices"
    ]
    assert route[:9] == (
        *("GET", "/invoices", "list-invoices", "list", "Invoice", None, "InvoicePage", 200),
        ("limit", "isPaid", "zzState", "zzSince"),
    )
    # The fake filters the list by the parameter that names a field of the items.
    assert route.filters == (("isPaid", "isPaid", "equals", "boolean"),)


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
    assert "Known values: ``open``, ``paid``" in models_source(files)
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


# -- issue 17: spec text is untrusted input ------------------------------------------------------


def _constants(source: str) -> list[str]:
    """Every string constant of a module (docstrings included), as Python reads them."""
    tree = ast.parse(source)
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _assert_inert(source: str | list[str], texts: tuple[str, ...]) -> None:
    """``source`` (or each of several modules) compiles, holds each of ``texts`` verbatim
    inside a string, and has no statement the hostile texts carry (they call ``__import__``)."""
    sources = [source] if isinstance(source, str) else source
    for one in sources:
        compile(one, "generated", "exec")
        assert "__import__" not in {
            n.id for n in ast.walk(ast.parse(one)) if isinstance(n, ast.Name)
        }, "spec text became code"
    constants = "\n".join(c for one in sources for c in _constants(one))
    for text in texts:
        expected = text.replace("\r\n", "\n").strip()
        assert expected in constants, f"{text!r} did not come through as text"


@pytest.mark.parametrize("text", [*HOSTILE, "\ud800 a lone surrogate", "\\N{BULLET} \\x00 \\u0041"])
def test_i17_1_doc_text_keeps_every_hostile_string_inert(text: str) -> None:
    escaped = gen_wrapper.doc_text(text)
    for wrapped in (f'"""{escaped}"""', f'    """{escaped}"""'.strip()):
        assert ast.literal_eval(wrapped) == text.replace("\r\n", "\n").strip()
    assert all(c.isprintable() or c in "\n\t" for c in escaped), escaped
    escaped.encode("utf-8")  # no lone surrogate reaches the file


def test_i17_1_enum_values_of_a_field_stay_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["Invoice"]["properties"]["zzTestState"] = {
        "type": "string",
        "enum": list(HOSTILE),
    }
    files = generate(spec)
    _assert_inert(model_modules(files), HOSTILE)
    _assert_inert(files["examples.py"], HOSTILE[:1])  # the first value is the example
    monkeypatch.chdir(tmp_path)
    models = load_models(files, tmp_path)  # runs the module: the payload must not run
    assert not (tmp_path / MARKER).exists()
    assert models.Invoice.from_dict({"zzTestState": HOSTILE[0]}).zz_test_state == HOSTILE[0]


def test_i17_2_hostile_tags_stay_text(low_level_of: LowLevelOf) -> None:
    files = generate(hostile_spec(SPEC), low_level_of=low_level_of)
    _assert_inert(files["resources.py"], tuple(f"ZzTest{n} {t}" for n, t in enumerate(NAME_TEXTS)))


def test_i17_3_hostile_operation_ids_summaries_and_descriptions_stay_text(
    low_level_of: LowLevelOf,
) -> None:
    files = generate(hostile_spec(SPEC), low_level_of=low_level_of)
    op_ids = tuple(f"zz-test-{n}-{t}" for n, t in enumerate(NAME_TEXTS))
    _assert_inert(files["resources.py"], op_ids + NAME_TEXTS)
    _assert_inert(files["examples.py"], op_ids)
    for source in files.values():
        _assert_inert(source, ())


def test_i17_3_identifiers_made_from_spec_text_are_checked() -> None:
    for bad in ("class", "2fa", "_private", "two words", "\ufb01eld", "\uff21pi", ""):
        with pytest.raises(gen_wrapper.SpecError, match="cannot be used; rename"):
            gen_wrapper.checked_name(bad, "zz test", "rename")
    assert gen_wrapper.checked_name("get_many_things", "zz test", "rename") == "get_many_things"
    # Names are folded (NFKC) explicitly before the rules apply, as Python would fold them.
    assert gen_wrapper.identifier("\ufb01eld\uff21mount") == "field_amount"
    assert gen_wrapper.identifier("class") == "class_"
    with pytest.raises(gen_wrapper.SpecError, match="cannot be used"):
        gen_wrapper.generate(
            SPEC, {**MAP, "operations": {"get-invoice": {"method": "if"}}}, LOW_LEVEL
        )


def test_i17_4_the_low_level_module_of_a_digit_tag_is_the_one_written(
    low_level_of: LowLevelOf,
) -> None:
    low_level = low_level_of(hostile_spec(SPEC))
    written = low_level[("GET", "/zz-test-2fa/status")]
    resources = gen_wrapper.generate(hostile_spec(SPEC), MAP, low_level)["resources.py"]
    line = f"from mijnklantportaal_api.api.{written.tag_module} import {written.module} as"
    assert line in resources
    assert written.tag_module == "tag2fa_api"  # openapi-python-client's name, not the wrapper's
    assert "    field_2fa: Field2fa\n" in resources  # the wrapper's own rule


def test_i17_5_the_low_level_module_of_an_underscore_operation_id_is_the_one_written(
    low_level_of: LowLevelOf,
) -> None:
    low_level = low_level_of(hostile_spec(SPEC))
    written = low_level[("GET", "/zz-test-underscore/comments/latest")]
    resources = gen_wrapper.generate(hostile_spec(SPEC), MAP, low_level)["resources.py"]
    assert written.module == "field_zz_test_get_comment"
    assert f"import {written.module} as _{written.module}\n" in resources
    assert "    def zz_test_get_comment(" in resources


def test_i17_4_a_module_python_cannot_import_by_its_name_is_refused(tmp_path: Path) -> None:
    # openapi-python-client keeps a ligature in a module name; Python folds it on import.
    module = tmp_path / "api" / "zz_test_\ufb01les_api" / "get_zz_test.py"
    module.parent.mkdir(parents=True)
    module.write_text("def _get_kwargs(): return {'method': 'get', 'url': '/zz'}\n")
    with pytest.raises(gen_wrapper.SpecError, match="NFKC"):
        gen_wrapper.read_low_level(tmp_path)


def test_i17_6_a_nul_and_control_characters_in_descriptions_stay_text(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    text = "zz NUL\x00 VT\x0b FF\x0c ESC\x1b LS\u2028 end"
    spec["components"]["schemas"]["Invoice"]["description"] = text
    spec["components"]["schemas"]["Invoice"]["properties"]["isPaid"]["description"] = text
    spec["paths"]["/invoices/{invoiceId}"]["get"]["description"] = text
    files = generate(spec)
    for source in files.values():
        assert "\x00" not in source and "\u2028" not in source
    _assert_inert(model_modules(files), (text,))
    _assert_inert(files["resources.py"], (text,))
    assert load_models(files, tmp_path).Invoice.__doc__.startswith(text)


def test_i17_7_examples_are_json_literals(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    schemas = spec["components"]["schemas"]
    invoice = schemas["Invoice"]["properties"]
    invoice["zzTestMeta"] = {
        "type": "object",
        "example": {"seenAt": TIMESTAMP, "on": TIMESTAMP.date()},
    }
    invoice["zzTestCount"] = {"type": "integer", "example": TIMESTAMP.date()}
    schemas["InvoiceLine"]["example"] = {"id": "fcl_1", "zzTestAt": TIMESTAMP}
    examples = generate(spec)["examples.py"]
    namespace: dict[str, Any] = {}
    exec(compile(examples, "examples.py", "exec"), namespace)  # a NameError before the fix
    invoice_example = namespace["EXAMPLES"]["Invoice"]
    assert invoice_example["zzTestMeta"] == {
        "seenAt": "2025-04-12T00:00:00+00:00",
        "on": "2025-04-12",
    }
    assert invoice_example["zzTestCount"] == "2025-04-12"
    assert namespace["EXAMPLES"]["InvoiceLine"]["zzTestAt"] == "2025-04-12T00:00:00+00:00"
    json.dumps(namespace["EXAMPLES"])  # JSON data only
    for bad, why in (
        (b"\x00", "not a JSON value"),
        (float("nan"), "not a JSON number"),
        ({1: "x"}, "not a string"),
    ):
        invoice["zzTestMeta"]["example"] = {"zz": bad}
        with pytest.raises(gen_wrapper.SpecError, match=why) as caught:
            generate(spec)
        assert "zzTestMeta" in str(caught.value)


def test_i17_8_the_reserved_names_are_the_clients_own_members() -> None:
    from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
    from mijnklantportaal._generated.resources import AsyncResources, SyncResources

    reserved = gen_wrapper.client_members()
    assert {"close", "rate_limit", "with_options", "base_url", "timeout", "max_retries"} <= reserved
    assert set(dir(MijnKlantportaal)) - set(dir(SyncResources)) <= reserved
    assert set(dir(AsyncMijnKlantportaal)) - set(dir(AsyncResources)) <= reserved
    client = MijnKlantportaal(api_key="mkp_zz_test_key_0123456789", base_url="http://127.0.0.1:9")
    try:
        resources = set(SyncResources.__annotations__)
        assert set(vars(client)) - resources <= reserved
    finally:
        client.close()


@pytest.mark.parametrize(
    ("tag", "member"), [("Rate Limit API", "rate_limit"), ("Close API", "close")]
)
def test_i17_8_a_tag_named_like_a_client_member_is_refused_or_renamed_by_the_map(
    low_level_of: LowLevelOf, tag: str, member: str
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/zz-test-member"] = {
        "get": {
            "tags": [tag],
            "operationId": "zz-test-get-member",
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}}
                    },
                }
            },
        }
    }
    with pytest.raises(gen_wrapper.SpecError) as caught:
        generate(spec, low_level_of=low_level_of)
    message = str(caught.value)
    assert f"client.{member}" in message and f'[resources."{tag}"] attribute = ' in message
    spec_map = {**MAP, "resources": {tag: {"attribute": f"zz_test_{member}s"}}}
    resources = generate(spec, spec_map, low_level_of)["resources.py"]
    assert f"    zz_test_{member}s: " in resources and f"    {member}: " not in resources


def _invoice_op(
    op_id: str, tag: str = "Invoices API", path: str = "/zz-test-invoices/{invoiceId}"
) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "operationId": op_id,
            "parameters": [
                {"name": "invoiceId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}}
                    },
                }
            },
        }
    }


@pytest.mark.parametrize(
    ("op_id", "tag", "parties"),
    [
        ("get-invoice-many", "Invoices API", ("'get-invoice'", "'get-invoice-many'", "get_many")),
        (
            "with-raw-response-invoice",
            "Invoices API",
            ("'with-raw-response-invoice'", "with_raw_response"),
        ),
        (
            "get-invoices",
            "Invoices API",
            ("'get-invoice'", "'get-invoices'", "client.invoices.get;"),
        ),
        ("zz-test-get-invoice", "Invoices", ("'Invoices API'", "'Invoices'", "client.invoices")),
    ],
    ids=["bulk-method", "with-raw-response", "same-method", "same-resource"],
)
def test_i17_9_collisions_are_refused_naming_both_parties(
    low_level_of: LowLevelOf, op_id: str, tag: str, parties: tuple[str, ...]
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/zz-test-invoices/{invoiceId}"] = _invoice_op(op_id, tag)
    with pytest.raises(gen_wrapper.SpecError) as caught:
        generate(spec, low_level_of=low_level_of)
    for party in parties:
        assert party in str(caught.value)
    assert "spec-map.toml" in str(caught.value)


def test_i17_10_parameters_named_like_per_call_options_get_a_trailing_underscore(
    low_level_of: LowLevelOf,
) -> None:
    resources = generate(hostile_spec(SPEC), low_level_of=low_level_of)["resources.py"]
    for name in ("timeout", "extra_headers", "concurrency"):
        assert f" {name}_: " in resources
        assert f"{name}=UNSET if {name}_ is None else {name}_" in resources  # low-level name
    assert "timeout: float | httpx.Timeout | None = None" in resources  # the option stays


def test_i17_11_a_schema_that_holds_itself_decodes_within_the_depth_limit(tmp_path: Path) -> None:
    spec = copy.deepcopy(SPEC)
    comment = hostile_spec(SPEC)["components"]["schemas"]["ZzTestComment"]
    spec["components"]["schemas"]["ZzTestComment"] = comment
    spec["components"]["schemas"]["Invoice"]["properties"]["zzTestComments"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/ZzTestComment"},
    }
    files = generate(spec)  # a RecursionError before the fix
    models = load_models(files, tmp_path)
    tree = {
        "id": "zzc_1",
        "replies": [{"id": "zzc_2", "replies": [{"id": "zzc_3"}]}],
        "parent": {"id": "zzc_0"},
    }
    invoice = models.Invoice.from_dict({"zzTestComments": [tree]})
    top = invoice.zz_test_comments[0]
    assert top.replies[0].replies[0].id == "zzc_3" and top.parent.id == "zzc_0"
    assert top.to_dict() == tree
    deep: dict[str, Any] = {"id": "zzc_deep"}
    for _ in range(5000):
        deep = {"replies": [deep]}
    for decode in (
        models.ZzTestComment.from_dict,
        lambda d: models.Invoice.from_dict({"zzTestComments": [d]}),
    ):
        with pytest.raises(models.DecodeError, match="nests more than"):
            decode(deep)
    example = namespace_of(files["examples.py"])["EXAMPLES"]["ZzTestComment"]
    assert example["replies"] == [] and "parent" not in example


def namespace_of(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "generated", "exec"), namespace)
    return namespace


def test_i17_4_the_import_check_names_a_module_that_does_not_import(tmp_path: Path) -> None:
    # The last step of ./generate.sh: a fresh package that does not import fails the run with
    # one line naming the module (no traceback). Here: the committed code, one module broken.
    fresh = tmp_path / "fresh"
    shutil.copytree(COMMITTED, fresh, ignore=shutil.ignore_patterns("__pycache__"))
    (fresh / "resources.py").write_text(
        "from mijnklantportaal_api.api.zz_missing_api import zz_get as _zz_get\n"
    )
    command = [sys.executable, "-B", "-I", str(REPO / "tools" / "import_check.py")]
    paths = [str(REPO / "generated"), str(REPO / "wrapper" / "mijnklantportaal"), str(fresh)]
    done = subprocess.run([*command, *paths], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "mijnklantportaal._generated.resources: ModuleNotFoundError" in done.stderr
    assert "zz_missing_api" in done.stderr and "Traceback" not in done.stderr
    ok = subprocess.run([*command, *paths[:2], str(COMMITTED)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_i17_3_hostile_property_and_parameter_names_stay_text(
    tmp_path: Path, low_level_of: LowLevelOf, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = generate(hostile_spec(SPEC), low_level_of=low_level_of)
    _assert_inert(model_modules(files), (HOSTILE_NAME,))  # the wire key, as a literal
    _assert_inert(files["examples.py"], (HOSTILE_NAME,))  # the fake's route and example
    monkeypatch.chdir(tmp_path)
    models = load_models(files, tmp_path)
    assert not (tmp_path / MARKER).exists()
    comment = models.ZzTestComment.from_dict({HOSTILE_NAME: "zz"})
    assert comment.to_dict() == {HOSTILE_NAME: "zz"} and comment.extra == {}


def _create_op_spec(**extra_body: Any) -> dict[str, Any]:
    from spec_mutations import MUTATIONS

    spec = copy.deepcopy(SPEC)
    MUTATIONS["create-operation-added"].apply(spec)
    spec["components"]["schemas"]["DrillTicketCreate"]["properties"].update(extra_body)
    return spec


def test_i18_7_a_body_property_named_like_a_per_call_option_gets_a_trailing_underscore(
    low_level_of: LowLevelOf,
) -> None:
    spec = _create_op_spec(timeout={"type": "integer"}, idempotencyKey={"type": "string"})
    resources = generate(spec, low_level_of=low_level_of)["resources.py"]
    assert "timeout_: int | NotGiven = NOT_GIVEN" in resources
    assert "('timeout', timeout_, 'timeout_', _encode.integer)" in resources
    assert "idempotency_key_: str | NotGiven = NOT_GIVEN" in resources
    assert "('idempotencyKey', idempotency_key_, 'idempotency_key_', _encode.text)" in resources
    # the per-call options keep their names
    assert "idempotency_key: str | None = None" in resources
    assert "timeout: float | httpx.Timeout | None = None" in resources


def test_i18_7_a_body_property_and_a_parameter_with_one_python_name_are_refused(
    low_level_of: LowLevelOf,
) -> None:
    spec = _create_op_spec(xDrillRequestId={"type": "string"})
    with pytest.raises(gen_wrapper.SpecError) as caught:
        generate(spec, low_level_of=low_level_of)
    message = str(caught.value)
    assert "'xDrillRequestId'" in message and "'X-Drill-Request-Id'" in message, message
    assert "x_drill_request_id" in message and "rename one in the spec" in message, message


# -- issue 18 item 6: every schema shape ---------------------------------------------------


def test_i18_6_every_schema_shape_is_typed(tmp_path: Path) -> None:
    source = models_source(generate(shapes_spec(SPEC)))
    for line in (
        "zz_test_customer: ZzTestCustomer | None = None",
        "zz_test_labels: tuple[str, ...] | None = None",
        "zz_test_rates: tuple[Decimal, ...] | None = None",
        "zz_test_count: int | None = None",
        "zz_test_state: str | None = None",
        "zz_test_credit: ZzTestCreditNote | None = None",
        "zz_test_payment: ZzTestPayment | None = None",
        "zz_test_payments: tuple[ZzTestPayment, ...] | None = None",
        "zz_test_contact: ZzTestEmail | ZzTestPhone | None = None",
        "zz_test_maybe_customer: ZzTestCustomer | None = None",
        "nickname: str | None = attrs.field(kw_only=True)",  # required, nullable
        "visits: tuple[datetime, ...] | None = None",
        "ZzTestPayment: TypeAlias = ZzTestCard | ZzTestBankTransfer",
        # allOf: the parent's fields, typed by the same rules
        "issued_at: datetime | None = None",
        "total_amount: Decimal | None = None",
        "refund_amount: Decimal | None = None",
        "reason: str = attrs.field(kw_only=True)",
    ):
        assert line in source, line
    assert "Known values: ``open``, ``paid``" in source


def _shapes_invoice() -> dict[str, Any]:
    return {
        "id": "fac_zz1",
        "zzTestCustomer": {
            "id": "cst_zz1",
            "tags": ["vip", "b2b"],
            "scores": [3, 4],
            "visits": ["2025-04-12T10:00:00+02:00"],
            "nickname": None,
            "active": False,
        },
        "zzTestLabels": ["a", "b"],
        "zzTestRates": [Decimal("0.21"), 9],
        "zzTestCount": 7,
        "zzTestState": "disputed",  # a value this version does not know
        "zzTestCredit": {
            "id": "zzd_1",
            "issuedAt": "2025-04-12T10:00:00Z",
            "totalAmount": Decimal("12345678901234567.89"),
            "reason": "returned",
            "refundAmount": Decimal("3.50"),
        },
        "zzTestPayment": {"method": "bank", "iban": "NL91ABNA0417164300"},
        "zzTestPayments": [
            {"method": "card", "last4": "4242"},
            {"method": "bank", "iban": "NL02RABO0123456789"},
        ],
        "zzTestContact": {"phone": "+31201234567"},
        "zzTestMaybeCustomer": None,
        "zzTestComments": [
            {
                "id": "zzc_1",
                "replies": [{"id": "zzc_2", "about": {"email": "x@example.com"}}],
                "about": {"id": "zzc_0", "createdAt": "2025-04-12T10:00:00Z"},
            }
        ],
    }


def test_i18_6_every_schema_shape_decodes_exactly(tmp_path: Path) -> None:
    models = load_models(generate(shapes_spec(SPEC)), tmp_path)
    invoice = models.Invoice.from_dict(_shapes_invoice())
    customer = invoice.zz_test_customer
    assert type(customer) is models.ZzTestCustomer
    assert customer.tags == ("vip", "b2b") and customer.scores == (3, 4)
    assert customer.visits[0].utcoffset() == timedelta(hours=2)
    assert customer.nickname is None and customer.active is False
    assert invoice.zz_test_labels == ("a", "b")
    assert [str(r) for r in invoice.zz_test_rates] == ["0.21", "9"]
    assert invoice.zz_test_count == 7 and invoice.zz_test_state == "disputed"
    credit = invoice.zz_test_credit
    assert str(credit.total_amount) == "12345678901234567.89" and credit.reason == "returned"
    assert credit.issued_at == datetime(2025, 4, 12, 10, tzinfo=UTC)
    assert str(credit.refund_amount) == "3.50"
    assert type(invoice.zz_test_payment) is models.ZzTestBankTransfer
    card, wallet = invoice.zz_test_payments
    assert type(card) is models.ZzTestCard and card.last4 == "4242"
    assert type(wallet) is models.ZzTestBankTransfer and wallet.iban == "NL02RABO0123456789"
    assert type(invoice.zz_test_contact) is models.ZzTestPhone
    assert invoice.zz_test_maybe_customer is None
    (comment,) = invoice.zz_test_comments
    assert type(comment.about) is models.ZzTestComment and comment.about.id == "zzc_0"
    assert type(comment.replies[0].about) is models.ZzTestEmail
    # and back: the same JSON, money as text
    again = models.Invoice.from_dict(invoice.to_dict())
    assert again == invoice


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda d: d["zzTestComments"][0]["replies"].append({"createdAt": "yesterday"}),
            "zzTestComments[0].replies[1].createdAt",
        ),
        (lambda d: d["zzTestCustomer"]["scores"].append("3"), "zzTestCustomer.scores[2]"),
        (lambda d: d["zzTestCustomer"].pop("nickname"), "zzTestCustomer.nickname"),
        (lambda d: d["zzTestCredit"].update(totalAmount="12,95"), "zzTestCredit.totalAmount"),
        (lambda d: d["zzTestPayments"][1].pop("iban"), "zzTestPayments[1].iban"),
        (lambda d: d["zzTestPayments"][1].update(method="wallet"), "zzTestPayments[1].method"),
        (lambda d: d["zzTestPayments"][0].update(last4=4242), "zzTestPayments[0].last4"),
        (lambda d: d.update(zzTestContact={"fax": "1"}), "zzTestContact"),
        (lambda d: d.update(zzTestLabels="a"), "zzTestLabels"),
    ],
)
def test_i18_6_errors_name_the_field_path(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], path: str
) -> None:
    models = load_models(generate(shapes_spec(SPEC)), tmp_path)
    data = _shapes_invoice()
    change(data)
    with pytest.raises(models.DecodeError) as caught:
        models.Invoice.from_dict(data)
    assert caught.value.field == path, str(caught.value)


def test_i18_6_to_wire_sends_money_in_the_spec_type_and_checks_enums(tmp_path: Path) -> None:
    from mijnklantportaal import InvalidArgumentError

    models = load_models(generate(shapes_spec(SPEC)), tmp_path)
    credit = models.ZzTestCreditNote(
        id="zzd_1",
        reason="returned",
        total_amount=Decimal("12.950"),
        refund_amount=Decimal("12345678901234567.89"),
        issued_at=datetime(2025, 4, 12, 10, tzinfo=timezone(timedelta(hours=2))),
    )
    wire = credit.to_wire()
    assert wire == {
        "id": "zzd_1",
        "issuedAt": "2025-04-12T10:00:00+02:00",
        "totalAmount": "12.950",  # type: string
        "reason": "returned",
        "refundAmount": Decimal("12345678901234567.89"),  # type: number: the digits, no float
    }
    assert type(wire["refundAmount"]) is Decimal
    customer = models.ZzTestCustomer(id="cst_1", nickname=None, tags=("a",))
    assert customer.to_wire() == {"id": "cst_1", "tags": ["a"], "nickname": None}
    invoice = models.Invoice(zz_test_payment=models.ZzTestCard(method="card", last4="1"))
    assert invoice.to_wire() == {"zzTestPayment": {"method": "card", "last4": "1"}}
    for bad, named in (
        (models.Invoice(zz_test_state="disputed"), "Invoice.zz_test_state"),
        (models.Invoice(total_amount=12.95), "Invoice.total_amount"),
        (models.Invoice(issued_at=datetime(2025, 1, 1)), "Invoice.issued_at"),
        (models.Invoice(zz_test_count=True), "Invoice.zz_test_count"),
    ):
        with pytest.raises(InvalidArgumentError, match=named):
            bad.to_wire()
    assert models.Invoice(zz_test_state="paid").to_wire() == {"zzTestState": "paid"}


def test_i18_6_a_union_member_that_is_not_a_schema_ref_is_refused() -> None:
    spec = shapes_spec(SPEC)
    spec["components"]["schemas"]["Invoice"]["properties"]["zzTestOdd"] = {
        "oneOf": [{"type": "string"}, {"type": "integer"}]
    }
    with pytest.raises(gen_wrapper.SpecError, match=r"zzTestOdd.*own schema"):
        generate(spec)


def test_i18_8_models_are_split_per_tag_group() -> None:
    spec = shapes_spec(SPEC)
    files = generate(spec)
    groups = sorted(name for name in files if name.startswith("models/"))
    assert groups == ["models/__init__.py", "models/invoices.py"]
    # a schema a second tag's operation also answers with goes to models/_shared.py
    spec["paths"]["/zz-test-customers/{customerId}"] = {
        "get": {
            "tags": ["ZzTest Customers API"],
            "operationId": "get-zz-test-customer",
            "parameters": [
                {"name": "customerId", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "A customer",
                    "content": {"application/json": {"schema": _shape_ref("ZzTestCustomer")}},
                }
            },
        }
    }
    api = gen_wrapper.build(
        spec, {**MAP, "low_level": {"get-zz-test-customer": {"reason": "zz"}}}, LOW_LEVEL
    )
    groups_of = gen_wrapper.model_groups(api)
    assert groups_of["ZzTestCustomer"] == "_shared" and groups_of["Invoice"] == "invoices"
    files = gen_wrapper.emit_model_files(api)
    assert "from ._shared import ZzTestCustomer" in files["models/invoices.py"]
    assert "from ." not in files["models/_shared.py"]


def _shape_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def test_i18_9_every_model_of_every_shape_round_trips_wire_model_wire(tmp_path: Path) -> None:
    from _model_strategies import check_round_trip, wire_strategy
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from mijnklantportaal import _decode

    spec = shapes_spec(SPEC)
    api = gen_wrapper.build(spec, MAP, LOW_LEVEL)
    models = load_models(gen_wrapper.generate(spec, MAP, LOW_LEVEL), tmp_path)
    assert {"ZzTestCreditNote", "ZzTestCard", "ZzTestComment"} <= set(api.models)

    def property_of(name: str) -> Callable[[], None]:
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(st.data())
        def round_trip(data: st.DataObject) -> None:
            wire = data.draw(wire_strategy(api, name))
            check_round_trip(getattr(models, name), wire, _decode.loads)

        return round_trip  # type: ignore[no-any-return]

    for name in sorted(api.models):
        property_of(name)()


def test_i18_6_every_name_the_model_modules_import_is_refused_as_a_schema_name() -> None:
    """A schema named like a helper the models import (``WireTable``, ``TypeAlias``, ...)
    would replace it: the names are read from the emitted modules, so a new helper is covered."""
    imported = set()
    for source in model_modules(generate(shapes_spec(SPEC))):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                imported |= {alias.asname or alias.name for alias in node.names}
    assert {"decode_union", "TypeAlias", "WireTable", "partial"} <= imported
    assert imported - {"annotations"} <= gen_wrapper._TAKEN, imported - gen_wrapper._TAKEN
    spec = shapes_spec(SPEC)
    spec["components"]["schemas"]["WireTable"] = spec["components"]["schemas"].pop("ZzTestCard")
    spec["components"]["schemas"]["ZzTestPayment"]["oneOf"][0] = _shape_ref("WireTable")
    del spec["components"]["schemas"]["ZzTestPayment"]["discriminator"]["mapping"]["card"]
    with pytest.raises(gen_wrapper.SpecError, match="WireTable"):
        generate(spec)


def test_i18_6_degenerate_unions_are_plain_types(tmp_path: Path) -> None:
    spec = shapes_spec(SPEC)
    invoice = spec["components"]["schemas"]["Invoice"]["properties"]
    invoice["zzTestOnlyNull"] = {"anyOf": [{"type": "null"}]}
    invoice["zzTestOneRef"] = {"oneOf": [_shape_ref("ZzTestEmail")]}
    source = models_source(generate(spec))
    assert "zz_test_only_null: Any | None = None" in source
    assert "zz_test_one_ref: ZzTestEmail | None = None" in source
    models = load_models(generate(spec), tmp_path)
    decoded = models.Invoice.from_dict({"zzTestOnlyNull": None, "zzTestOneRef": {"email": "e"}})
    assert decoded.zz_test_only_null is None and decoded.zz_test_one_ref.email == "e"
