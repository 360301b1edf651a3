"""Compare two OpenAPI 3.x specs and say what changed for a client of the generated package.

    spec_diff.py OLD NEW                         text report on stdout
    spec_diff.py OLD NEW --changelog CHANGELOG.md --version-file wrapper/.../_version.py
                                                 also append the Markdown report to CHANGELOG.md
                                                 under "## Unreleased" (once per spec pair)
    spec_diff.py OLD NEW --json                  machine-readable list of changes

Run by ./generate.sh with the pinned tool venv (needs only PyYAML). No mature differ for
OpenAPI 3.1 is installable here, so this is a deliberately small one: it resolves `$ref`s
(cycles guarded), then compares operations, parameters, request bodies, responses,
component schemas (fields, types, required, nullable) and enums.

Every change gets a severity for a *client* of this package (code that calls the API through
the generated or wrapped Python package):

- breaking: code that works today can fail after upgrading (=> major version).
- potentially breaking: works unless the client assumed a closed set (=> minor, review it).
- non-breaking: additive or relaxing (=> minor when something was added, else patch).

Each rule is one entry in RULES below, with its one-line reason; the report quotes it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from changelog import (
    Bump,
    append_to_unreleased,
    format_version,
    next_version,
    read_version,
    unreleased_bump,
)

BREAKING: Final = "breaking"
POTENTIALLY: Final = "potentially breaking"
NON_BREAKING: Final = "non-breaking"
Severity = Literal["breaking", "potentially breaking", "non-breaking"]

# Where a schema is used decides how some changes classify: a client *reads* responses and
# *writes* requests. A schema used on both sides gets the worse of the two verdicts.
Side = Literal["request", "response"]
BOTH: frozenset[Side] = frozenset({"request", "response"})

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Rule:
    severity: Severity
    why: str


# rule id -> (severity, one-line reason). Context-dependent rules have a -request/-response
# variant; the differ picks the variant(s) that apply to where the schema is used.
RULES: dict[str, Rule] = {
    "operation-added": Rule(
        NON_BREAKING, "a new operation adds a new function; existing calls are unaffected"
    ),
    "operation-removed": Rule(
        BREAKING, "code calling the operation (its generated function) fails"
    ),
    "operation-moved": Rule(
        NON_BREAKING,
        "same operationId, new method or path: the generated function keeps its name and calls the new URL",
    ),
    "operation-tag-changed": Rule(
        BREAKING, "the generated function lives in a module named after the first tag, which moves"
    ),
    "operation-id-changed": Rule(
        BREAKING, "the generated module and function are named after the operationId"
    ),
    "parameter-added-required": Rule(
        BREAKING, "existing calls do not pass the new required parameter"
    ),
    "parameter-added-optional": Rule(NON_BREAKING, "existing calls keep working without it"),
    "parameter-removed": Rule(
        BREAKING, "calls passing the parameter fail (the keyword argument is gone)"
    ),
    "parameter-made-required": Rule(BREAKING, "existing calls that omit it fail"),
    "parameter-made-optional": Rule(NON_BREAKING, "existing calls still pass it"),
    "parameter-retyped": Rule(BREAKING, "values of the old type are rejected or mis-serialised"),
    "request-body-added-required": Rule(BREAKING, "existing calls send no body"),
    "request-body-added-optional": Rule(NON_BREAKING, "existing calls keep working without a body"),
    "request-body-removed": Rule(BREAKING, "calls passing a body fail (the argument is gone)"),
    "request-body-made-required": Rule(BREAKING, "existing calls that send no body fail"),
    "request-body-made-optional": Rule(NON_BREAKING, "existing calls still send one"),
    "response-added-success": Rule(
        POTENTIALLY, "the return type gains a variant; code assuming the old type may mis-handle it"
    ),
    "response-added-error": Rule(
        NON_BREAKING, "an error status gains a parsed body; the success path is unchanged"
    ),
    "response-removed-success": Rule(
        BREAKING, "code reading that success response no longer gets it"
    ),
    "response-removed-error": Rule(
        NON_BREAKING, "the return type narrows; existing handling still type-checks"
    ),
    "media-type-added": Rule(
        NON_BREAKING, "an extra content type is offered; the existing one still works"
    ),
    "media-type-removed": Rule(BREAKING, "clients using that content type lose it"),
    "schema-added": Rule(NON_BREAKING, "a new model class; nothing existing changes"),
    "schema-removed": Rule(BREAKING, "code importing the generated model class fails"),
    "field-added-optional": Rule(
        NON_BREAKING, "a new optional attribute; existing code ignores it"
    ),
    "field-added-required-request": Rule(
        BREAKING, "existing code building this model does not set the new required field"
    ),
    "field-added-required-response": Rule(
        NON_BREAKING, "a new attribute that is always present; existing code ignores it"
    ),
    "field-removed": Rule(BREAKING, "code reading or setting the attribute fails"),
    "field-made-required-request": Rule(
        BREAKING, "existing code that omits the field when sending fails"
    ),
    "field-made-required-response": Rule(
        NON_BREAKING, "the field is now always present: a stronger guarantee"
    ),
    "field-made-optional-request": Rule(NON_BREAKING, "existing code still sets it"),
    "field-made-optional-response": Rule(
        BREAKING, "the field may now be missing (Unset) where code expects a value"
    ),
    "type-changed": Rule(
        BREAKING, "values of the old type no longer fit: parsing, arithmetic or type checks fail"
    ),
    "nullable-added-request": Rule(
        NON_BREAKING, "null becomes allowed when sending; existing values still fit"
    ),
    "nullable-added-response": Rule(
        BREAKING, "the value may now be None where code expects a value"
    ),
    "nullable-removed-request": Rule(BREAKING, "code sending None is now rejected"),
    "nullable-removed-response": Rule(
        NON_BREAKING, "the value is never None any more: a stronger guarantee"
    ),
    "enum-value-added-request": Rule(
        NON_BREAKING, "one more accepted value; the old ones still work"
    ),
    "enum-value-added-response": Rule(
        POTENTIALLY,
        "the server may send a value old code does not expect (exhaustive matches, lookups)",
    ),
    "enum-value-removed": Rule(
        BREAKING, "code using the value (or its generated enum member) fails"
    ),
}


# What a maintainer edits for each kind of change (rule id prefix -> hint). Printed once per
# kind under "What to edit" at the end of the report; docs/updating-the-spec.md explains more.
TODO: dict[str, str] = {
    "operation-added": "nothing by hand: ./generate.sh writes the wrapper method and the fake's route; edit spec-map.toml only to rename the method or to list the operation as low-level only (with a reason)",
    "operation-removed": "a major release; fix the code that mypy --strict and the suite point at",
    "operation-moved": "nothing: the wrapper method keeps its name and calls the new URL",
    "operation-tag-changed": "the method moves to another resource (client.<first tag>): a major release",
    "operation-id-changed": "the method is renamed by the naming rule: a major release, or keep the old name in spec-map.toml",
    "parameter-": "nothing by hand: ./generate.sh updates the method's keyword arguments; fix callers mypy --strict points at",
    "request-body-": "nothing by hand: ./generate.sh updates the method's body argument; fix callers mypy --strict points at",
    "response-": "nothing by hand: ./generate.sh updates the method's return type; check code handling that response",
    "media-type-": "check the wrapper's request/response handling for that content type",
    "schema-added": "nothing by hand: ./generate.sh writes the model",
    "schema-removed": "a major release; fix the code that mypy --strict and the suite point at",
    "field-added": "nothing by hand when the name follows the vendor's conventions (money ...Amount sent as a number, timestamps ...At); otherwise record the field in spec-map.toml",
    "field-removed": "a major release; fix the code that mypy --strict and the suite point at",
    "field-made-": "nothing by hand: ./generate.sh updates the attribute's optionality; fix code that mypy --strict points at",
    "type-changed": "a major release; fix the code that mypy --strict and the suite point at (a money or timestamp field may need a spec-map.toml entry)",
    "nullable-": "nothing by hand: ./generate.sh updates the type hint; fix code that mypy --strict points at",
    "enum-value-": "nothing by hand: ./generate.sh updates the enum; review code matching over its values",
}


def todo_for(rule: str) -> str | None:
    for prefix, hint in TODO.items():
        if rule.startswith(prefix):
            return hint
    return None


@dataclass(frozen=True)
class Change:
    rule: str
    severity: Severity
    location: str
    detail: str
    why: str
    used_by: tuple[str, ...] = ()

    def sort_key(self) -> tuple[int, str, str]:
        order = {BREAKING: 0, POTENTIALLY: 1, NON_BREAKING: 2}[self.severity]
        return (order, self.location, self.detail)


class SpecError(Exception):
    """The document cannot be compared (not a mapping, bad $ref, ...)."""


# --------------------------------------------------------------------------- loading / refs


def load_spec(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from exc
    if text.lstrip().startswith(("{", "[")):  # JSON (a subset of YAML), no PyYAML needed
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise SpecError(f"cannot read {path}: {exc}") from exc
    else:
        import yaml  # type: ignore[import-untyped,unused-ignore]

        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise SpecError(f"{path} is not an OpenAPI document (top level is not a mapping)")
    return document


SCHEMA_REF = re.compile(r"^#/components/schemas/([^/]+)$")


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SpecError(f"only local $refs are supported, got {ref!r}")
    node: Any = document
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise SpecError(f"$ref {ref!r} does not resolve")
    return node


def deref(document: Mapping[str, Any], node: Any) -> Any:
    """Follow a chain of $refs (parameters, bodies, responses); cycles raise SpecError."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise SpecError(f"$ref cycle through {ref!r}")
        seen.add(ref)
        node = _pointer(document, ref)
    return node


def schema_name(node: Any) -> str | None:
    """The component name of a `$ref: '#/components/schemas/Name'`, else None."""
    if isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        match = SCHEMA_REF.match(node["$ref"])
        if match:
            return match.group(1).replace("~1", "/").replace("~0", "~")
    return None


# --------------------------------------------------------------------------- schema shape


def resolve_schema(
    document: Mapping[str, Any], node: Any, seen: frozenset[str] = frozenset()
) -> Any:
    """Inline a $ref that is *not* a named component schema (named ones are compared by name)."""
    if (
        isinstance(node, Mapping)
        and isinstance(node.get("$ref"), str)
        and schema_name(node) is None
    ):
        ref = node["$ref"]
        if ref in seen:
            raise SpecError(f"$ref cycle through {ref!r}")
        return resolve_schema(document, _pointer(document, ref), seen | {ref})
    return node


def _types(schema: Mapping[str, Any]) -> tuple[frozenset[str], bool]:
    """The schema's JSON types without "null", and whether null is allowed.

    Understands 3.0 `nullable: true`, 3.1 `type: [x, "null"]`, and `anyOf`/`oneOf` with a
    `{type: "null"}` member (the member itself is then dropped from the comparison).
    """
    raw = schema.get("type")
    types = {raw} if isinstance(raw, str) else {t for t in raw or [] if isinstance(t, str)}
    nullable = "null" in types or schema.get("nullable") is True
    for key in ("anyOf", "oneOf"):
        for member in schema.get(key) or []:
            if isinstance(member, Mapping) and member.get("type") == "null":
                nullable = True
    if "enum" in schema and None in (schema.get("enum") or []):
        nullable = True
    types.discard("null")
    return frozenset(types), nullable


def _members(schema: Mapping[str, Any], key: str) -> list[Any]:
    return [
        m for m in schema.get(key) or [] if not (isinstance(m, Mapping) and m.get("type") == "null")
    ]


def _core(document: Mapping[str, Any], node: Any) -> tuple[Any, bool]:
    """Split a schema into its non-null core and whether null is allowed.

    `anyOf: [{$ref: X}, {type: "null"}]` (the 3.1 way to make a reference nullable) becomes
    (`{$ref: X}`, True); `type: [string, "null"]` and `nullable: true` keep the schema as core.
    """
    schema = resolve_schema(document, node)
    if not isinstance(schema, Mapping) or schema_name(schema) is not None:
        return schema, False
    _, nullable = _types(schema)
    for key in ("anyOf", "oneOf"):
        members = _members(schema, key)
        others = set(schema) - {
            key,
            "description",
            "title",
            "example",
            "examples",
            "default",
            "nullable",
        }
        if nullable and len(members) == 1 and not others:
            return members[0], True
    return schema, nullable


def describe(document: Mapping[str, Any], node: Any, depth: int = 0) -> str:
    """A short, stable rendering of a schema's *type* (not its fields, not null), e.g.
    `array of Invoice`."""
    try:
        node, _ = _core(document, node)
    except SpecError:
        return "?"
    name = schema_name(node)
    if name is not None:
        return name
    try:
        schema = resolve_schema(document, node)
    except SpecError:
        return "?"
    if not isinstance(schema, Mapping) or depth > 8:
        return "any"
    types, _ = _types(schema)
    parts: list[str] = []
    for key in ("allOf", "oneOf", "anyOf"):
        members = _members(schema, key)
        if members:
            inner = ", ".join(describe(document, m, depth + 1) for m in members)
            parts.append(f"{key}[{inner}]")
    for t in sorted(types):
        if t == "array":
            parts.append(f"array of {describe(document, schema.get('items', {}), depth + 1)}")
        elif isinstance(schema.get("format"), str):
            parts.append(f"{t}({schema['format']})")
        else:
            parts.append(t)
    if not parts:
        parts.append("object" if "properties" in schema else "any")
    return " | ".join(parts)


def _required(schema: Mapping[str, Any]) -> set[str]:
    value = schema.get("required")
    return {r for r in value if isinstance(r, str)} if isinstance(value, list) else set()


def _enum(schema: Mapping[str, Any]) -> list[Any] | None:
    value = schema.get("enum")
    if isinstance(value, list):
        return [v for v in value if v is not None]
    if "const" in schema:
        return [schema["const"]]
    return None


# --------------------------------------------------------------------------- usage


def _schema_children(node: Any) -> Iterator[Any]:
    if not isinstance(node, Mapping):
        return
    for key in ("properties", "patternProperties", "$defs"):
        value = node.get(key)
        if isinstance(value, Mapping):
            yield from value.values()
    for key in ("items", "additionalProperties", "not", "contains"):
        if isinstance(node.get(key), Mapping):
            yield node[key]
    for key in ("allOf", "oneOf", "anyOf", "prefixItems"):
        value = node.get(key)
        if isinstance(value, list):
            yield from value


def referenced_schemas(document: Mapping[str, Any], roots: list[Any]) -> set[str]:
    """Names of all component schemas reachable from `roots` (cycle-safe)."""
    found: set[str] = set()
    stack: list[Any] = list(roots)
    seen_refs: set[str] = set()
    while stack:
        node = stack.pop()
        if not isinstance(node, Mapping):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in seen_refs:
                continue
            seen_refs.add(ref)
            name = schema_name(node)
            if name is not None:
                found.add(name)
            try:
                stack.append(_pointer(document, ref))
            except SpecError:
                pass
            continue
        stack.extend(_schema_children(node))
    return found


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str | None
    tag: str | None  # the first tag: the generator puts the function in api/<tag>/
    parameters: dict[tuple[str, str], dict[str, Any]]
    request_body: dict[str, Any] | None
    responses: dict[str, dict[str, Any]]

    @property
    def label(self) -> str:
        base = f"{self.method.upper()} {self.path}"
        return f"{base} ({self.operation_id})" if self.operation_id else base


def wrapper_method(op: Operation) -> str | None:
    """The wrapper method the naming rule gives an operation (spec-map.toml may rename it):
    the resource is the first tag (`Invoices API` -> `client.invoices`), the method is the
    operationId without the resource noun (`list-invoices` -> `list`, `get-invoice` -> `get`,
    `get-invoice-line` -> `get_line`)."""
    if op.tag is None or op.operation_id is None:
        return None
    tag_words = re.findall(r"[a-z0-9]+", op.tag.lower().removesuffix(" api"))
    words = re.findall(r"[a-z0-9]+", op.operation_id.lower())
    if not tag_words or not words:
        return None
    singular = [*tag_words[:-1], tag_words[-1].removesuffix("s")]
    method = words
    for noun in (tag_words, singular):
        for at in range(len(words) - len(noun) + 1):
            if words[at : at + len(noun)] == noun and len(words) > len(noun):
                method = words[:at] + words[at + len(noun) :]
                break
        if method is not words:
            break
    return f"client.{'_'.join(tag_words)}.{'_'.join(method)}"


def operations(document: Mapping[str, Any]) -> dict[tuple[str, str], Operation]:
    result: dict[tuple[str, str], Operation] = {}
    paths = document.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise SpecError("'paths' is not a mapping")
    for path, raw_item in paths.items():
        item = deref(document, raw_item)
        if not isinstance(item, Mapping):
            continue
        shared = _parameters(document, item.get("parameters"))
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, Mapping):
                continue
            params = {**shared, **_parameters(document, op.get("parameters"))}
            body = deref(document, op.get("requestBody")) if "requestBody" in op else None
            responses: dict[str, dict[str, Any]] = {}
            for status, response in (op.get("responses") or {}).items():
                resolved = deref(document, response)
                responses[str(status)] = dict(resolved) if isinstance(resolved, Mapping) else {}
            op_id = op.get("operationId")
            tags = op.get("tags")
            first_tag = (
                tags[0] if isinstance(tags, list) and tags and isinstance(tags[0], str) else None
            )
            result[(method, str(path))] = Operation(
                method=method,
                path=str(path),
                operation_id=op_id if isinstance(op_id, str) else None,
                tag=first_tag,
                parameters=params,
                request_body=dict(body) if isinstance(body, Mapping) else None,
                responses=responses,
            )
    return result


def _parameters(document: Mapping[str, Any], raw: Any) -> dict[tuple[str, str], dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in raw or []:
        param = deref(document, entry)
        if isinstance(param, Mapping) and "name" in param and "in" in param:
            found[(str(param["name"]), str(param["in"]))] = dict(param)
    return found


def _content_schemas(container: Mapping[str, Any] | None) -> dict[str, Any]:
    if not container:
        return {}
    content = container.get("content") or {}
    return {
        str(media): (value or {}).get("schema", {})
        for media, value in content.items()
        if isinstance(value, Mapping) or value is None
    }


def _content_types(document: Mapping[str, Any], container: Mapping[str, Any]) -> str:
    """The type a response or body carries: `InvoicePage`, `array of Invoice`, `no content`;
    media types other than JSON are named."""
    shown = []
    for media, schema in _content_schemas(container).items():
        typ = describe(document, schema)
        shown.append(typ if media == "application/json" else f"{typ} as {media}")
    return " | ".join(shown) if shown else "no content"


def schema_usage(document: Mapping[str, Any]) -> dict[str, dict[Side, set[str]]]:
    """For each component schema: on which side (request/response) which operations use it."""
    usage: dict[str, dict[Side, set[str]]] = {}
    for op in operations(document).values():
        request_roots: list[Any] = [p.get("schema", {}) for p in op.parameters.values()]
        request_roots += list(_content_schemas(op.request_body).values())
        response_roots: list[Any] = []
        for response in op.responses.values():
            response_roots += list(_content_schemas(response).values())
        for side, roots in (("request", request_roots), ("response", response_roots)):
            for name in referenced_schemas(document, roots):
                usage.setdefault(name, {}).setdefault(side, set()).add(op.label)  # type: ignore[arg-type]
    return usage


# --------------------------------------------------------------------------- the differ


class Differ:
    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        old_usage = schema_usage(old)
        new_usage = schema_usage(new)
        self.usage: dict[str, dict[Side, set[str]]] = {}
        for usage in (old_usage, new_usage):
            for name, sides in usage.items():
                for side, ops in sides.items():
                    self.usage.setdefault(name, {}).setdefault(side, set()).update(ops)

    # -- recording

    def add(
        self,
        rule: str,
        location: str,
        detail: str,
        sides: frozenset[Side] = BOTH,
        used_by: tuple[str, ...] = (),
    ) -> None:
        """Record a change; for side-dependent rules, the worst verdict over `sides` wins."""
        candidates = (
            [f"{rule}-{side}" for side in sorted(sides)] if f"{rule}-request" in RULES else [rule]
        )
        worst = min(
            candidates,
            key=lambda r: {BREAKING: 0, POTENTIALLY: 1, NON_BREAKING: 2}[RULES[r].severity],
        )
        chosen = RULES[worst]
        self.changes.append(Change(worst, chosen.severity, location, detail, chosen.why, used_by))

    # -- entry point

    def run(self) -> list[Change]:
        self.compare_operations()
        self.compare_components()
        unique = {(c.rule, c.location, c.detail): c for c in self.changes}
        return sorted(unique.values(), key=Change.sort_key)

    # -- operations

    def compare_operations(self) -> None:
        old_ops, new_ops = operations(self.old), operations(self.new)
        added = sorted(new_ops.keys() - old_ops.keys())
        removed = sorted(old_ops.keys() - new_ops.keys())
        # Same operationId under another method/path: the same generated function, moved.
        by_id = {new_ops[k].operation_id: k for k in added if new_ops[k].operation_id}
        for old_key in list(removed):
            new_key = by_id.get(old_ops[old_key].operation_id)
            if new_key is not None and new_key in added:
                old_op, new_op = old_ops[old_key], new_ops[new_key]
                detail = f"moved from {old_op.method.upper()} {old_op.path}"
                self.add("operation-moved", new_op.label, detail)
                self.compare_operation(old_op, new_op)
                added.remove(new_key)
                removed.remove(old_key)
        for key in added:
            self.add("operation-added", new_ops[key].label, self.describe_operation(new_ops[key]))
        for key in removed:
            self.add("operation-removed", old_ops[key].label, "operation removed")
        for key in sorted(old_ops.keys() & new_ops.keys()):
            self.compare_operation(old_ops[key], new_ops[key])

    def describe_operation(self, op: Operation) -> str:
        """What a caller passes and gets back, from the new spec: "operation added;
        parameters: `limit` (query, integer, optional); returns InvoicePage (200);
        wrapper: client.invoices.list"."""
        params = []
        for (name, where), param in op.parameters.items():
            required = bool(param.get("required")) or where == "path"
            typ = describe(self.new, param.get("schema", {}))
            params.append(f"`{name}` ({where}, {typ}, {'required' if required else 'optional'})")
        parts = ["operation added", f"parameters: {', '.join(params) if params else 'none'}"]
        if op.request_body is not None:
            body = "required" if op.request_body.get("required") else "optional"
            parts.append(f"{body} body {_content_types(self.new, op.request_body)}")
        for success in (True, False):
            found = [
                f"{_content_types(self.new, response)} ({status})"
                for status, response in sorted(op.responses.items())
                if status.startswith("2") == success
            ]
            if found:
                parts.append(f"{'returns' if success else 'errors'} {', '.join(found)}")
        if not any(status.startswith("2") for status in op.responses):
            parts.append("returns nothing documented")
        method = wrapper_method(op)
        if method is not None:
            parts.append(f"wrapper: {method}")
        return "; ".join(parts)

    def compare_operation(self, old: Operation, new: Operation) -> None:
        where = new.label
        if old.tag != new.tag:
            self.add("operation-tag-changed", where, f"first tag {old.tag!r} -> {new.tag!r}")
        if old.operation_id != new.operation_id:
            self.add(
                "operation-id-changed",
                where,
                f"operationId {old.operation_id!r} -> {new.operation_id!r}",
            )
        self.compare_parameters(where, old, new)
        self.compare_request_body(where, old.request_body, new.request_body)
        self.compare_responses(where, old.responses, new.responses)

    def compare_parameters(self, where: str, old: Operation, new: Operation) -> None:
        def label(key: tuple[str, str]) -> str:
            return f"{key[1]} parameter `{key[0]}`"

        for key in sorted(new.parameters.keys() - old.parameters.keys()):
            required = bool(new.parameters[key].get("required")) or key[1] == "path"
            rule = "parameter-added-required" if required else "parameter-added-optional"
            kind = "required" if required else "optional"
            typ = describe(self.new, new.parameters[key].get("schema", {}))
            self.add(rule, where, f"{kind} {label(key)} added ({typ})")
        for key in sorted(old.parameters.keys() - new.parameters.keys()):
            self.add("parameter-removed", where, f"{label(key)} removed")
        for key in sorted(old.parameters.keys() & new.parameters.keys()):
            o, n = old.parameters[key], new.parameters[key]
            o_req = bool(o.get("required")) or key[1] == "path"
            n_req = bool(n.get("required")) or key[1] == "path"
            if o_req != n_req:
                rule = "parameter-made-required" if n_req else "parameter-made-optional"
                self.add(rule, where, f"{label(key)} made {'required' if n_req else 'optional'}")
            self.compare_schema(
                o.get("schema", {}),
                n.get("schema", {}),
                f"{where} {label(key)}",
                frozenset({"request"}),
                (where,),
            )

    def compare_request_body(
        self, where: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        if old is None and new is None:
            return
        if old is None:
            assert new is not None
            required = bool(new.get("required"))
            rule = "request-body-added-required" if required else "request-body-added-optional"
            self.add(rule, where, f"{'required' if required else 'optional'} request body added")
            return
        if new is None:
            self.add("request-body-removed", where, "request body removed")
            return
        if bool(old.get("required")) != bool(new.get("required")):
            made = "required" if new.get("required") else "optional"
            self.add(f"request-body-made-{made}", where, f"request body made {made}")
        self.compare_content(
            f"{where} request body",
            _content_schemas(old),
            _content_schemas(new),
            frozenset({"request"}),
            where,
        )

    def compare_responses(
        self, where: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
    ) -> None:
        def kind(status: str) -> str:
            return "success" if status.startswith("2") else "error"

        for status in sorted(new.keys() - old.keys()):
            self.add(f"response-added-{kind(status)}", where, f"response {status} added")
        for status in sorted(old.keys() - new.keys()):
            self.add(f"response-removed-{kind(status)}", where, f"response {status} removed")
        for status in sorted(old.keys() & new.keys()):
            self.compare_content(
                f"{where} response {status}",
                _content_schemas(old[status]),
                _content_schemas(new[status]),
                frozenset({"response"}),
                where,
            )

    def compare_content(
        self, where: str, old: dict[str, Any], new: dict[str, Any], sides: frozenset[Side], op: str
    ) -> None:
        for media in sorted(new.keys() - old.keys()):
            self.add("media-type-added", where, f"content type {media} added")
        for media in sorted(old.keys() - new.keys()):
            self.add("media-type-removed", where, f"content type {media} removed")
        for media in sorted(old.keys() & new.keys()):
            self.compare_schema(old[media], new[media], where, sides, (op,))

    # -- component schemas

    def compare_components(self) -> None:
        old_s = (self.old.get("components") or {}).get("schemas") or {}
        new_s = (self.new.get("components") or {}).get("schemas") or {}
        for name in sorted(new_s.keys() - old_s.keys()):
            self.add("schema-added", f"schema {name}", "schema added")
        for name in sorted(old_s.keys() - new_s.keys()):
            self.add(
                "schema-removed", f"schema {name}", "schema removed", used_by=self._used_by(name)
            )
        for name in sorted(old_s.keys() & new_s.keys()):
            sides = self._sides(name)
            self.compare_schema(
                old_s[name],
                new_s[name],
                f"schema {name}",
                sides,
                self._used_by(name),
                inline_top=True,
            )

    def _sides(self, name: str) -> frozenset[Side]:
        # Not used by any operation: still a public generated model, so assume both sides.
        sides = frozenset(self.usage.get(name, {}).keys())
        return sides or BOTH

    def _used_by(self, name: str) -> tuple[str, ...]:
        ops: set[str] = set()
        for found in self.usage.get(name, {}).values():
            ops |= found
        return tuple(sorted(ops))

    def compare_schema(
        self,
        old_node: Any,
        new_node: Any,
        where: str,
        sides: frozenset[Side],
        used_by: tuple[str, ...],
        *,
        inline_top: bool = False,
        depth: int = 0,
    ) -> None:
        """Compare two schemas at `where`. Named component refs are compared by name only
        (their fields are compared once, under `schema Name`), which also guards cycles."""
        if depth > 20:
            return
        try:
            old_core, old_null = _core(self.old, old_node)
            new_core, new_null = _core(self.new, new_node)
        except SpecError as exc:
            raise SpecError(f"{where}: {exc}") from exc
        if old_null != new_null:
            rule = "nullable-added" if new_null else "nullable-removed"
            self.add(rule, where, f"{'now' if new_null else 'no longer'} nullable", sides, used_by)
        old_name, new_name = schema_name(old_core), schema_name(new_core)
        if (old_name or new_name) and not inline_top:
            if old_name != new_name:
                old_desc, new_desc = describe(self.old, old_core), describe(self.new, new_core)
                self.add("type-changed", where, f"type {old_desc} -> {new_desc}", sides, used_by)
            return
        old = resolve_schema(self.old, old_core)
        new = resolve_schema(self.new, new_core)
        if not isinstance(old, Mapping) or not isinstance(new, Mapping):
            return
        old_types, new_types = _types(old)[0], _types(new)[0]
        both_arrays = old_types == new_types == {"array"}
        old_desc, new_desc = describe(self.old, old), describe(self.new, new)
        # Arrays of the same kind recurse into their items below, for a precise report.
        if old_desc != new_desc and not both_arrays:
            self.add("type-changed", where, f"type {old_desc} -> {new_desc}", sides, used_by)
        self.compare_enum(old, new, where, sides, used_by)
        if both_arrays:
            self.compare_schema(
                old.get("items", {}),
                new.get("items", {}),
                f"{where}[]",
                sides,
                used_by,
                depth=depth + 1,
            )
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, Mapping) and isinstance(new_extra, Mapping):
            self.compare_schema(
                old_extra, new_extra, f"{where}{{*}}", sides, used_by, depth=depth + 1
            )
        for key in ("allOf", "oneOf", "anyOf"):
            old_members, new_members = _members(old, key), _members(new, key)
            if len(old_members) != len(new_members):
                continue  # already reported as a type change by describe()
            for o, n in zip(old_members, new_members, strict=True):
                if schema_name(o) is None and schema_name(n) is None:
                    self.compare_schema(o, n, where, sides, used_by, depth=depth + 1)
        self.compare_properties(old, new, where, sides, used_by, depth)

    def compare_enum(
        self,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        where: str,
        sides: frozenset[Side],
        used_by: tuple[str, ...],
    ) -> None:
        o, n = _enum(old), _enum(new)
        if o is None or n is None:
            # An enum appearing or disappearing changes the generated Python type (an Enum
            # class versus a plain str), whichever way it goes.
            if o is not None:
                self.add(
                    "type-changed",
                    where,
                    f"no longer restricted to {_fmt_values(o)}",
                    sides,
                    used_by,
                )
            elif n is not None:
                self.add(
                    "type-changed", where, f"now restricted to {_fmt_values(n)}", sides, used_by
                )
            return
        added = [v for v in n if v not in o]
        removed = [v for v in o if v not in n]
        if added:
            self.add(
                "enum-value-added",
                where,
                f"enum value(s) added: {_fmt_values(added)}",
                sides,
                used_by,
            )
        if removed:
            self.add(
                "enum-value-removed",
                where,
                f"enum value(s) removed: {_fmt_values(removed)}",
                sides,
                used_by,
            )

    def compare_properties(
        self,
        old: Mapping[str, Any],
        new: Mapping[str, Any],
        where: str,
        sides: frozenset[Side],
        used_by: tuple[str, ...],
        depth: int,
    ) -> None:
        o_props = old.get("properties") if isinstance(old.get("properties"), Mapping) else {}
        n_props = new.get("properties") if isinstance(new.get("properties"), Mapping) else {}
        assert isinstance(o_props, Mapping) and isinstance(n_props, Mapping)
        o_req, n_req = _required(old), _required(new)
        for prop in sorted(n_props.keys() - o_props.keys()):
            typ = describe(self.new, n_props[prop])
            values = _enum(resolve_schema(self.new, _core(self.new, n_props[prop])[0]) or {})
            if values is not None:
                typ += f", one of {_fmt_values(values)}"
            if prop in n_req:
                self.add(
                    "field-added-required",
                    f"{where}.{prop}",
                    f"required field added ({typ})",
                    sides,
                    used_by,
                )
            else:
                self.add(
                    "field-added-optional",
                    f"{where}.{prop}",
                    f"optional field added ({typ})",
                    sides,
                    used_by,
                )
        for prop in sorted(o_props.keys() - n_props.keys()):
            self.add("field-removed", f"{where}.{prop}", "field removed", sides, used_by)
        for prop in sorted(o_props.keys() & n_props.keys()):
            if (prop in o_req) != (prop in n_req):
                made = "required" if prop in n_req else "optional"
                self.add(
                    f"field-made-{made}", f"{where}.{prop}", f"field made {made}", sides, used_by
                )
            self.compare_schema(
                o_props[prop], n_props[prop], f"{where}.{prop}", sides, used_by, depth=depth + 1
            )


def _fmt_values(values: list[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    return Differ(old, new).run()


# --------------------------------------------------------------------------- report


def required_bump(changes: list[Change]) -> Bump:
    """major if anything breaks a client; minor for any other API change; patch when only
    documentation (descriptions, examples, tags) changed."""
    if any(c.severity == BREAKING for c in changes):
        return "major"
    return "minor" if changes else "patch"


@dataclass
class Report:
    old_label: str
    new_label: str
    old_sha: str
    new_sha: str
    changes: list[Change] = field(default_factory=list)
    current_version: tuple[int, int, int] | None = None

    @property
    def bump(self) -> Bump:
        return required_bump(self.changes)

    @property
    def marker(self) -> str:
        return f"<!-- spec-diff old={self.old_sha[:16]} new={self.new_sha[:16]}"

    def of(self, severity: Severity) -> list[Change]:
        return [c for c in self.changes if c.severity == severity]

    def summary(self) -> str:
        counts = ", ".join(f"{len(self.of(s))} {s}" for s in (BREAKING, POTENTIALLY, NON_BREAKING))
        return (
            f"{len(self.changes)} change(s): {counts}"
            if self.changes
            else "no API changes (documentation only)"
        )

    def bump_line(self) -> str:
        reason = {
            "major": "breaking changes for clients",
            "minor": "backwards-compatible API changes",
            "patch": "no API change",
        }[self.bump]
        line = f"required version bump: {self.bump} ({reason})"
        if self.current_version is not None:
            nxt = format_version(next_version(self.current_version, self.bump))
            line += f"; next version {nxt} (from {format_version(self.current_version)})"
        return line

    def text(self) -> str:
        lines = [
            f"Spec change report: {self.old_label} -> {self.new_label}",
            f"  {self.summary()}",
            f"  {self.bump_line()}",
        ]
        for severity in (BREAKING, POTENTIALLY, NON_BREAKING):
            found = self.of(severity)
            if not found:
                continue
            lines.append("")
            lines.append(f"{severity.upper()} ({len(found)})")
            for c in found:
                lines.append(f"  - {c.location}: {c.detail}")
                lines.append(f"      why: {c.why} [{c.rule}]")
                if c.used_by:
                    lines.append(f"      used by: {', '.join(c.used_by)}")
        todos = self.todos()
        if todos:
            lines += ["", "WHAT TO EDIT"] + [f"  - {t}" for t in todos]
        return "\n".join(lines) + "\n"

    def todos(self) -> list[str]:
        found: list[str] = []
        for c in self.changes:
            hint = todo_for(c.rule)
            if hint is not None and hint not in found:
                found.append(hint)
        return found

    def markdown(self) -> str:
        lines = [
            f"### OpenAPI spec change ({self.old_label} -> {self.new_label})",
            "",
            f"{self.marker} bump={self.bump} -->",
            "",
            f"{self.summary().capitalize()}; {self.bump_line()}.",
        ]
        for severity in (BREAKING, POTENTIALLY, NON_BREAKING):
            found = self.of(severity)
            if not found:
                continue
            lines += ["", f"**{severity.capitalize()}**", ""]
            for c in found:
                entry = f"- `{c.location}`: {c.detail}. {c.why[0].upper()}{c.why[1:]}."
                if c.used_by:
                    entry += " Used by " + ", ".join(f"`{op}`" for op in c.used_by) + "."
                lines.append(entry)
        return "\n".join(lines) + "\n"


def build_report(old_path: Path, new_path: Path, version_file: Path | None = None) -> Report:
    old_doc, new_doc = load_spec(old_path), load_spec(new_path)

    def label(doc: Mapping[str, Any]) -> str:
        info = doc.get("info") if isinstance(doc.get("info"), Mapping) else {}
        assert isinstance(info, Mapping)
        return f"spec {info.get('version', '?')}"

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()

    old_sha, new_sha = sha(old_path), sha(new_path)
    old_label, new_label = label(old_doc), label(new_doc)
    if old_label == new_label:
        old_label, new_label = f"{old_label} @{old_sha[:8]}", f"{new_label} @{new_sha[:8]}"
    return Report(
        old_label=old_label,
        new_label=new_label,
        old_sha=old_sha,
        new_sha=new_sha,
        changes=diff_specs(old_doc, new_doc),
        current_version=read_version(version_file)
        if version_file and version_file.exists()
        else None,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("old", type=Path, help="the spec the committed code was generated from")
    parser.add_argument("new", type=Path, help="the new spec")
    parser.add_argument(
        "--changelog",
        type=Path,
        help="append the Markdown report to this file's Unreleased section",
    )
    parser.add_argument("--version-file", type=Path, help="_version.py holding the current version")
    parser.add_argument(
        "--json", action="store_true", help="print the changes as JSON instead of text"
    )
    args = parser.parse_args(argv)
    try:
        report = build_report(args.old, args.new, args.version_file)
    except (SpecError, ValueError) as exc:
        print(f"spec_diff.py: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(
            json.dumps(
                {"bump": report.bump, "changes": [asdict(c) for c in report.changes]}, indent=2
            )
        )
    else:
        print(report.text(), end="")
    if args.changelog is not None:
        text = args.changelog.read_text(encoding="utf-8") if args.changelog.exists() else ""
        updated, changed = append_to_unreleased(text, report.markdown(), report.marker)
        if changed:
            args.changelog.write_text(updated, encoding="utf-8")
            print(f"Appended this report to {args.changelog.name} under '## Unreleased'.")
        else:
            print(f"{args.changelog.name} already has this report under '## Unreleased'.")
        overall = unreleased_bump(updated)
        if overall is not None and report.current_version is not None:
            nxt = format_version(next_version(report.current_version, overall))
            print(
                f"All unreleased changes together need a {overall} release: {nxt} (tools/release.py)."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
