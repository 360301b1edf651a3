"""Nothing in openapi.yaml is silently left out of the wrapper.

Read straight from the spec (and spec-map.toml for what the spec cannot say), with no list
of field or operation names here:
- every property of every schema a 2xx response uses is a typed attribute of the wrapper
  model of the same name, with the type the rules give, and decodes its spec example to it;
- every operation is a method on both clients, with sync, async and raw-response twins that
  take ``timeout=`` and ``extra_headers=``, or is listed low-level only, with a reason.

When this fails after a spec change, run ``./generate.sh`` (docs/updating-the-spec.md).
"""

from __future__ import annotations

import fnmatch
import inspect
import re
import tomllib
import typing
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import mijnklantportaal
import pytest
import yaml
from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
from mijnklantportaal._models import Model

REPO = Path(__file__).resolve().parents[1]  # standalone: the spec drill copies this file alone
SPEC: dict[str, Any] = yaml.safe_load((REPO / "openapi.yaml").read_text(encoding="utf-8"))
MAP: dict[str, Any] = tomllib.loads((REPO / "spec-map.toml").read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
METHODS = ("get", "put", "post", "delete", "patch")


def _ref(schema: Mapping[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    return ref.rsplit("/", 1)[1] if ref.startswith("#/components/schemas/") else None


def _operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def _members(schema: Mapping[str, Any]) -> list[Any] | None:
    """The non-null members of a ``oneOf``/``anyOf``, or None when it is not one."""
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list):
            return [m for m in schema[key] if m.get("type") not in ("null", ["null"])]
    return None


def _is_union(schema: Mapping[str, Any]) -> bool:
    members = _members(schema)
    return members is not None and len(members) > 1


def _nullable(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    members = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
    return (
        schema.get("nullable") is True
        or (isinstance(kind, list) and "null" in kind)
        or any(m.get("type") in ("null", ["null"]) for m in members)
    )


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of an object schema, ``allOf`` parts merged in order, then its own."""
    found: dict[str, Any] = {}
    for part in schema.get("allOf", ()):
        ref = _ref(part)
        found.update(_properties(SCHEMAS[ref] if ref else part))
    found.update(schema.get("properties", {}))
    return found


def _required(schema: Mapping[str, Any]) -> set[str]:
    found = set(schema.get("required", ()))
    for part in schema.get("allOf", ()):
        ref = _ref(part)
        found |= _required(SCHEMAS[ref] if ref else part)
    return found


def _response_schemas() -> dict[str, dict[str, Any]]:
    """Name -> schema of every object schema a 2xx response uses, directly or nested (through
    properties, items and the members of a ``oneOf``/``anyOf``)."""
    found: dict[str, dict[str, Any]] = {}

    def visit(schema: Mapping[str, Any], name: str | None) -> None:
        members = _members(schema)
        if members is not None:
            for member in members:
                visit(member, None)
            return
        ref = _ref(schema)
        if ref is not None:
            target = SCHEMAS[ref]
            if _is_union(target) or _members(target) is not None:
                visit(target, None)
            elif ref not in found and target.get("type", "object") == "object":
                found[ref] = target
                visit(target, ref)
            return
        if schema.get("type") == "array":
            visit(schema.get("items", {}), None)
        elif "properties" in schema or "allOf" in schema:
            if name is not None and name not in found:
                found[name] = dict(schema)
            for value in _properties(schema).values():
                visit(value, None)

    for _, _, op in _operations():
        for status, response in op.get("responses", {}).items():
            if str(status).startswith("2"):
                media = (response or {}).get("content", {}).get("application/json", {})
                schema = media.get("schema", {})
                inline = None if _ref(schema) else _pascal(op["operationId"]) + "Response"
                visit(schema, inline)
    return found


def _pascal(value: str) -> str:
    return "".join(word.capitalize() for word in value.replace("_", "-").split("-"))


def _matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def expected_type(name: str, schema: Mapping[str, Any]) -> Any:
    """The Python type the rules (docs/updating-the-spec.md) give a property."""
    members = _members(schema)
    if members is not None:  # a union of models; anyOf: [X, {type: "null"}] is X
        types = [expected_type(name, member) for member in members]
        return types[0] if len(types) == 1 else typing.Union[tuple(types)]  # noqa: UP007
    ref = _ref(schema)
    if ref is not None:
        target = SCHEMAS[ref]
        if _members(target) is not None or target.get("type", "object") != "object":
            return expected_type(name, target)
        return getattr(mijnklantportaal, ref)
    kind = schema.get("type")
    if isinstance(kind, list):  # OpenAPI 3.1: ["integer", "null"] is a nullable integer
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if len(kinds) == 1 else None
    if kind == "array":
        item = expected_type(name, schema.get("items", {}))
        return Any if item is Any else tuple[item, ...]
    if kind == "string":
        if schema.get("format") in ("date-time", "date") or _matches(
            name, MAP["timestamps"]["patterns"]
        ):
            return datetime
        if _matches(name, MAP["money"]["patterns"] + MAP["money"]["percentages"]):
            return Decimal
        return str
    return {"number": Decimal, "integer": int, "boolean": bool}.get(kind, Any)


RESPONSE_SCHEMAS = _response_schemas()
PROPERTIES = [
    (schema_name, key, prop)
    for schema_name, schema in sorted(RESPONSE_SCHEMAS.items())
    for key, prop in _properties(schema).items()
]


def test_the_spec_has_response_schemas_and_properties() -> None:
    # The parametrised tests below would pass vacuously on an empty reading of the spec.
    assert RESPONSE_SCHEMAS and PROPERTIES


@pytest.mark.parametrize("name", sorted(RESPONSE_SCHEMAS))
def test_every_response_schema_is_a_public_model(name: str) -> None:
    model = getattr(mijnklantportaal, name, None)
    assert model is not None and name in mijnklantportaal.__all__, (
        f"the spec's {name} has no public wrapper model: run ./generate.sh"
    )
    assert issubclass(model, Model)
    declared = {key for _, key, _ in model._wire_fields}
    spec_keys = set(_properties(RESPONSE_SCHEMAS[name]))
    assert declared == spec_keys, (
        f"{name} declares {sorted(declared - spec_keys)} the spec no longer has and misses "
        f"{sorted(spec_keys - declared)}: run ./generate.sh"
    )


@pytest.mark.parametrize(
    ("name", "key", "prop"), PROPERTIES, ids=[f"{n}.{k}" for n, k, _ in PROPERTIES]
)
def test_every_property_is_a_typed_attribute(name: str, key: str, prop: dict[str, Any]) -> None:
    model = getattr(mijnklantportaal, name)
    attribute = {k: a for a, k, _ in model._wire_fields}[key]
    hints = typing.get_type_hints(model)
    want = expected_type(key, prop)
    required = key in _required(RESPONSE_SCHEMAS[name]) and not _nullable(prop)
    assert hints[attribute] == (want if required else want | None), (
        f"{name}.{attribute} (JSON {key!r}) is typed {hints[attribute]}, the rules give {want}"
    )


@pytest.mark.parametrize(
    ("name", "key", "prop"),
    [p for p in PROPERTIES if p[2].get("example") is not None],
    ids=[f"{n}.{k}" for n, k, p in PROPERTIES if p.get("example") is not None],
)
def test_every_spec_example_decodes_to_its_type(name: str, key: str, prop: dict[str, Any]) -> None:
    model = getattr(mijnklantportaal, name)
    attribute = {k: a for a, k, _ in model._wire_fields}[key]
    schema = RESPONSE_SCHEMAS[name]
    required = {  # the object needs its required fields: their examples
        k: _wire(p["example"])
        for k, p in _properties(schema).items()
        if k in _required(schema) and "example" in p
    }
    value = _wire(prop["example"])
    decoded = getattr(model.from_dict({**required, key: value}), attribute)
    want = expected_type(key, prop)
    assert isinstance(decoded, typing.get_origin(want) or want), f"{name}.{key}: {decoded!r}"
    if want is datetime:
        assert decoded.tzinfo is not None
    if want is Decimal:
        assert decoded == Decimal(str(value))


def _wire(example: Any) -> Any:
    """A spec example as the wire carries it: YAML read 12.95 as a float, the wire has digits."""
    return Decimal(repr(example)) if isinstance(example, float) else example


# -- operations ---------------------------------------------------------------------------------

LOW_LEVEL: dict[str, Any] = MAP.get("low_level", {})
OPERATIONS = sorted(
    (op["operationId"], path, method, op)
    for path, method, op in _operations()
    if op["operationId"] not in LOW_LEVEL
)


def _resource_and_method(op_id: str, op: Mapping[str, Any]) -> tuple[str, str]:
    """The naming rule: resource from the first tag, method = operationId minus the noun."""
    noun = [w for w in op["tags"][0].lower().split() if w != "api"]
    resource = "_".join(noun)
    override = MAP.get("operations", {}).get(op_id, {}).get("method")
    if override:
        return resource, override
    words = op_id.lower().split("-")
    for candidate in (noun, [*noun[:-1], noun[-1].removesuffix("s")]):
        for start in range(len(words) - len(candidate) + 1):
            if words[start : start + len(candidate)] == candidate and len(words) > len(candidate):
                return resource, "_".join(words[:start] + words[start + len(candidate) :])
    return resource, "_".join(words)


def _body_properties(op: dict[str, Any]) -> list[str]:
    """The JSON keys of an operation's request body (each is a keyword argument)."""
    media = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
    schema = (media or {}).get("schema") or {}
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return [str(key) for key in schema.get("properties", {})]


def test_the_spec_has_operations() -> None:
    assert OPERATIONS


def test_low_level_operations_have_a_reason_and_exist() -> None:
    op_ids = {op["operationId"] for _, _, op in _operations()}
    for op_id, entry in LOW_LEVEL.items():
        assert op_id in op_ids, f"spec-map.toml lists {op_id} as low-level, but the spec has none"
        assert str(entry.get("reason", "")).strip(), f"low-level {op_id} needs a reason"


@pytest.mark.parametrize(
    ("op_id", "path", "method", "op"), OPERATIONS, ids=[o[0] for o in OPERATIONS]
)
def test_every_operation_is_a_method_on_both_clients(
    op_id: str, path: str, method: str, op: dict[str, Any]
) -> None:
    resource, name = _resource_and_method(op_id, op)
    sync = MijnKlantportaal(api_key="mkp_test")
    asynchronous = AsyncMijnKlantportaal(api_key="mkp_test")
    try:
        for client, is_async in ((sync, False), (asynchronous, True)):
            group = getattr(client, resource, None)
            assert group is not None, (
                f"{op_id} ({method.upper()} {path}): the client has no {resource!r}; run ./generate.sh"
            )
            for target in (group, group.with_raw_response):
                function = getattr(target, name, None)
                assert callable(function), (
                    f"{op_id}: no {type(target).__name__}.{name}; run ./generate.sh, or list "
                    "it under [low_level] in spec-map.toml with a reason"
                )
                signature = inspect.signature(function)
                if is_async and target is group and not inspect.iscoroutinefunction(function):
                    # A page list: a plain def returning an AsyncPaginator, which is both
                    # awaitable (one page) and async-iterable (every item).
                    assert "AsyncPaginator" in str(signature.return_annotation), op_id
                else:
                    assert inspect.iscoroutinefunction(function) is is_async
                parameters = signature.parameters
                options = ("timeout", "extra_headers")
                if method != "get":  # every write takes an Idempotency-Key
                    options += ("idempotency_key",)
                for option in options:
                    assert parameters[option].kind is inspect.Parameter.KEYWORD_ONLY, option
                for param in op.get("parameters", []):
                    argument = _snake(param["name"])
                    if param.get("in") == "header":  # X-Request-Id -> x_request_id
                        argument = "_".join(re.findall("[A-Za-z0-9]+", param["name"])).lower()
                    assert argument in parameters, f"{op_id}: {name}() lacks {argument}"
                for key in _body_properties(op):
                    argument = _snake(key)
                    assert argument in parameters, f"{op_id}: {name}() lacks {argument} (body)"
                    assert parameters[argument].kind is inspect.Parameter.KEYWORD_ONLY
    finally:
        sync.close()


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name)
    return out.replace("-", "_").lstrip("_")
