"""The fake's part of the second generation step: ``_generated/examples.py``.

``tools/gen_wrapper.py`` calls ``emit(api, spec)`` from its ``generate()``; what it writes is
data only (tables), read by the handwritten fake in ``mijnklantportaal.testing``:

- ``ROUTES``: one ``Route`` per operation, saying what the fake does for it (``kind``):

  ``get``      a GET of ``<collection>/{id}`` answering an object: the stored object, or 404;
  ``list``     a GET of a collection answering the page envelope (or an array) of a schema:
               the stored objects, a page at a time, filtered by the query (``filters``);
  ``create``   a POST to a collection answering an object: stores a new one (fresh id, body
               fields, server fields), answers it with the operation's 2xx;
  ``update``   a PATCH of ``<collection>/{id}`` (or a POST/PATCH of ``.../{id}/<action>``)
               answering that object or nothing: merges the body's fields;
  ``replace``  a PUT of the same: sets every field the body schema names (absent: removed);
  ``delete``   a DELETE of ``<collection>/{id}``: removes it (then 404);
  ``example``  anything else: the operation's example answer, built from the spec's examples.

  A collection's schema is read from the operations on it (a get's or update's answer, a
  list's items, a create's answer); path parameters before the object's own (``{ticketId}``
  in ``/tickets/{ticketId}/replies``) name stored objects that must exist (``parents``).

- ``BODIES``/``SHAPES``: the JSON request bodies as a subset of JSON Schema (types,
  ``null``, ``required``, ``enum``, ``format`` date/date-time, properties, items, one-of),
  which the fake validates a request against before it acts (422 in the vendor's shape);
- per schema: its fields, money fields (and their JSON type), timestamps, nested models,
  free-text fields, id prefix and example; ``RESOURCES``: client attribute -> its schema.

Spec text enters the file only through ``literal`` (values) and ``doc_text`` (never here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gen_wrapper import (
    HEADER,
    PAGE_FIELDS,
    Api,
    FieldType,
    ModelSpec,
    Operation,
    SpecError,
    _model_example,
    _ref_name,
    _split_words,
    _union_members,
    json_value,
    literal,
    object_properties,
)

# Query parameters the fake reads as paging, not as filters.
PAGING = ("page", "per_page", "limit")

# Kinds of field a query parameter can filter on (exactly, or as one of a list).
FILTERABLE = ("text", "integer", "boolean", "money")


@dataclass
class FakeRoute:
    op: Operation
    kind: str
    schema: str | None
    id_param: str | None = None
    collection: str | None = None
    parents: tuple[tuple[str, str], ...] = ()
    filters: tuple[tuple[str, str, str, str], ...] = ()


def emit(api: Api, spec: Mapping[str, Any]) -> dict[str, str]:
    """File name -> unformatted source of what the fake serves."""
    return {"examples.py": emit_examples(api, spec)}


# -- routes ----------------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def _param(segment: str) -> str | None:
    found = re.fullmatch(r"\{([^{}]+)\}", segment)
    return found.group(1) if found else None


def _join(segments: Iterable[str]) -> str:
    return "/" + "/".join(segments)


def _answer_model(op: Operation) -> str | None:
    return op.response.model if op.response.kind == "model" else None


def collections(api: Api) -> dict[str, str]:
    """Collection path template -> the schema of the objects in it, read from the operations
    that show it: a get or a write of ``<collection>/{id}`` answering an object, a list
    answering items, and then (where nothing else said otherwise) a POST answering an object."""
    found: dict[str, str] = {}
    for op in api.operations:
        segments = _segments(op.path)
        last = _param(segments[-1]) if segments else None
        if op.kind == "get" and op.schema and last:
            found.setdefault(_join(segments[:-1]), op.schema)
        elif op.kind == "list" and op.schema:
            found.setdefault(op.path, op.schema)
        elif op.method in ("patch", "put", "delete") and last and _answer_model(op):
            found.setdefault(_join(segments[:-1]), str(_answer_model(op)))
    for op in api.operations:
        segments = _segments(op.path)
        model = _answer_model(op)
        if op.method == "post" and model and segments and not _param(segments[-1]):
            if _item_of(segments, model, found) is None:
                found.setdefault(op.path, model)
    return found


def _item_of(
    segments: list[str], schema: str, found: Mapping[str, str]
) -> tuple[list[str], str] | None:
    """For ``/things/{thingId}/<action>...``: (the item's segments, its id parameter) when
    the item's collection holds ``schema``, the object the operation acts on."""
    for end in range(len(segments) - 1, 0, -1):
        name = _param(segments[end])
        if name is not None:
            if found.get(_join(segments[:end])) == schema:
                return segments[: end + 1], name
            return None
    return None


def _parents(segments: list[str], found: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """(path parameter, schema) of each stored object the path goes through."""
    result = []
    for at, segment in enumerate(segments):
        name = _param(segment)
        schema = found.get(_join(segments[:at])) if name else None
        if name and schema:
            result.append((name, schema))
    return tuple(result)


def fake_routes(api: Api) -> list[FakeRoute]:
    found = collections(api)
    routes = []
    for op in sorted(api.operations, key=lambda o: (o.path, o.method)):
        routes.append(_route(op, found, api))
    return routes


def _route(op: Operation, found: Mapping[str, str], api: Api) -> FakeRoute:
    segments = _segments(op.path)
    last = _param(segments[-1]) if segments else None
    model = _answer_model(op)
    if op.method == "get":
        if op.kind == "get" and op.schema and last:
            collection = _join(segments[:-1])
            parents = _parents(segments[:-1], found)
            return FakeRoute(op, "get", op.schema, last, collection, parents)
        if op.kind == "list" and op.schema:
            filters = _filters(op, api.models.get(op.schema))
            return FakeRoute(
                op, "list", op.schema, None, op.path, _parents(segments, found), filters
            )
        return FakeRoute(op, "example", op.schema)
    # The object a write acts on: <collection>/{id}, or <collection>/{id}/<action> answering it.
    item: tuple[list[str], str] | None = None
    if last and _join(segments[:-1]) in found:
        item = segments, last
    elif model and segments:
        item = _item_of(segments, model, found)
    if item is not None:
        item_segments, id_param = item
        collection = _join(item_segments[:-1])
        schema = found[collection]
        answers_it = model in (None, schema) and (model is not None or op.response.kind == "none")
        kinds = {"patch": "update", "put": "replace", "post": "update", "delete": "delete"}
        kind = kinds.get(op.method)
        if kind == "delete" and item_segments != segments:
            kind = None  # DELETE /things/{id}/labels removes a part, not the thing
        if kind is not None and (answers_it or kind == "delete"):
            parents = _parents(item_segments[:-1], found)
            return FakeRoute(op, kind, schema, id_param, collection, parents)
    if op.method == "post" and model and found.get(op.path) == model:
        return FakeRoute(op, "create", model, None, op.path, _parents(segments, found))
    return FakeRoute(op, "example", op.schema)


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def is_free_text(name: str) -> bool:
    """A query parameter that searches text: named ``q`` or ``query``, or ending in ``search``
    (``search``, ``drillSearch``, ``full_text_search``)."""
    normal = _normal(name)
    return normal in ("q", "query") or normal.endswith("search")


def _filters(op: Operation, model: ModelSpec | None) -> tuple[tuple[str, str, str, str], ...]:
    """(query parameter, field, match, field kind) for each query parameter of a list that
    the fake applies: one naming a field of the items (its spelling, or the same letters
    in another case or with ``_``) matches it exactly (``equals``; a query array: ``in``;
    an array field: ``contains``/``overlaps``); a free-text one (``is_free_text``) that
    names no field matches a substring of any text field, case-insensitively (``text``)."""
    if model is None:
        return ()
    fields = {prop.key: prop.type for prop in model.props}
    by_normal = {_normal(key): key for key in fields}
    result = []
    for param in op.params:
        if param.location != "query" or param.name in PAGING:
            continue
        key = param.name if param.name in fields else by_normal.get(_normal(param.name))
        ftype: FieldType | None = fields.get(key) if key is not None else None
        if key is not None and ftype is not None:
            array = ftype.kind == "list" and ftype.item is not None
            kind = ftype.item.kind if array and ftype.item is not None else ftype.kind
            if kind not in FILTERABLE:
                continue
            if array:
                match = "overlaps" if param.array else "contains"
            else:
                match = "in" if param.array else "equals"
            result.append((param.name, key, match, kind))
        elif param.type.kind == "text" and not param.array and is_free_text(param.name):
            result.append((param.name, "", "text", "text"))
    return tuple(result)


# -- request bodies ----------------------------------------------------------------------------


class _Shapes:
    """The request bodies' schemas as plain JSON data the fake validates against."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self.schemas = schemas
        self.named: dict[str, Any] = {}

    def node(self, schema: Any, where: str) -> dict[str, Any]:
        if not isinstance(schema, Mapping):
            return {}
        ref = _ref_name(schema)
        if ref is not None:
            target = self.schemas.get(ref)
            if not isinstance(target, Mapping):
                raise SpecError(f"{where} names {ref}, which the spec does not define")
            if ref not in self.named:
                self.named[ref] = {}  # a placeholder: a schema that holds itself stops here
                self.named[ref] = self.node(target, f"schema {ref}")
            return {"ref": ref}
        node: dict[str, Any] = {}
        nullable = schema.get("nullable") is True
        kinds = schema.get("type")
        if isinstance(kinds, str):
            kinds = [kinds]
        if isinstance(kinds, list):
            nullable = nullable or "null" in kinds
            node["type"] = [str(k) for k in kinds if k != "null"]
        members = _union_members(schema)
        if members is not None:
            nullable = nullable or len(members) < len(schema.get("oneOf") or schema.get("anyOf"))
            node["one_of"] = [self.node(m, f"{where}: oneOf") for m in members]
        if "enum" in schema:
            values = json_value(list(schema.get("enum") or ()), f"{where}: enum")
            nullable = nullable or None in values
            node["enum"] = [v for v in values if v is not None]
        if schema.get("format") in ("date-time", "date"):
            node["format"] = str(schema["format"])
        if "properties" in schema or "allOf" in schema:
            props, required = object_properties(schema, self.schemas, where)
            node.setdefault("type", ["object"])
            node["properties"] = {
                str(k): self.node(v, f"{where}: property {k!r}") for k, v in props.items()
            }
            # in the order of the properties, as the API reports them
            node["required"] = [str(k) for k in props if k in required]
            node["required"] += sorted(required - set(node["required"]))
        if "items" in schema:
            node["items"] = self.node(schema.get("items"), f"{where}: items")
        if nullable:
            node["nullable"] = True
        return node


def _spec_operations(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        str(op.get("operationId")): op
        for item in (spec.get("paths") or {}).values()
        if isinstance(item, Mapping)
        for op in item.values()
        if isinstance(op, Mapping) and op.get("operationId")
    }


def _bodies(api: Api, spec: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schemas = spec.get("components", {}).get("schemas", {}) or {}
    shapes = _Shapes(schemas)
    bodies = {}
    by_id = _spec_operations(spec)
    for op in sorted(api.operations, key=lambda o: o.op_id):
        request = by_id.get(op.op_id, {}).get("requestBody") or {}
        media = (request.get("content") or {}).get("application/json")
        if isinstance(media, Mapping):
            node = shapes.node(media.get("schema") or {}, f"operation {op.op_id!r}: body")
            node["required_body"] = bool(request.get("required"))
            bodies[op.op_id] = node
    return bodies, dict(sorted(shapes.named.items()))


def path_ids(routes: list[FakeRoute], spec: Mapping[str, Any]) -> dict[str, list[str]]:
    """Schema -> the ids the spec's path parameters give as examples for objects of it
    (``invoiceId: {example: fac_abc12345678}``): ``fake.add_examples(path_ids=True)`` stores
    a copy of the schema's example under each, so that a request built from the examples
    reaches a stored object."""
    by_id = _spec_operations(spec)
    found: dict[str, list[str]] = {}
    for route in routes:
        named = [*route.parents, *([(route.id_param, route.schema)] if route.id_param else [])]
        for param in by_id.get(route.op.op_id, {}).get("parameters") or ():
            if not isinstance(param, Mapping) or param.get("in") != "path":
                continue
            schema = next((s for name, s in named if name == param.get("name")), None)
            example = param.get("example", (param.get("schema") or {}).get("example"))
            if schema and isinstance(example, str) and example not in found.get(schema, []):
                found.setdefault(schema, []).append(example)
    return dict(sorted(found.items()))


# -- ids -----------------------------------------------------------------------------------------


def id_prefix(model: ModelSpec, known: tuple[str, str] | None = None) -> str:
    """The prefix of a fresh id of ``model``: the one spec-map.toml ties to it; else the one
    its ``id`` example or description shows (``dtk_abc123`` -> ``dtk_``; "always starting
    with `fac_`"); else its name's initials (``DrillTicketReply`` -> ``dtr_``)."""
    if known is not None:
        return known[0]
    prop = next((p for p in model.props if p.key == "id"), None)
    if prop is not None:
        found = re.match(r"([a-z][a-z0-9]{1,9}_)[A-Za-z0-9]", str(prop.example or ""))
        found = found or re.search(r"`([a-z][a-z0-9]{1,9}_)`", prop.description)
        if found:
            return found.group(1)
    words = [w.lower() for w in _split_words(model.name) if w[:1].isalpha()]
    initials = "".join(w[0] for w in words) if len(words) > 1 else "".join(words)[:3]
    return (initials or "obj") + "_"


# -- the file ------------------------------------------------------------------------------------


def _tuple(values: Iterable[Any], where: str) -> str:
    items = [literal(v, where) if not isinstance(v, tuple) else _tuple(v, where) for v in values]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def _emit_route(route: FakeRoute) -> list[str]:
    op = route.op
    where = f"the route of {op.op_id!r}"
    fields = [
        ("method", literal(op.method.upper(), where)),
        ("path", literal(op.path, where)),
        ("operation_id", literal(op.op_id, where)),
        ("kind", literal(route.kind, where)),
        ("schema", literal(route.schema, where)),
        ("id_param", literal(route.id_param, where)),
        ("page", literal(_answer_model(op) if route.kind == "list" else None, where)),
        ("status", str(int(op.status or 200))),
        ("query", _tuple(op.query, where)),
        ("content", str(op.response.kind != "none")),
        ("collection", literal(route.collection, where)),
        ("parents", _tuple(route.parents, where)),
        ("filters", _tuple(route.filters, where)),
    ]
    return ["    Route(", *[f"        {name}={value}," for name, value in fields], "    ),"]


def _resources(api: Api, routes: list[FakeRoute]) -> dict[str, str]:
    """Client attribute -> the schema of its top-level collection (fewest path segments)."""
    result = {}
    for tag, (attribute, _) in sorted(api.resources.items()):
        held = [
            (len(_segments(r.collection)), r.collection, r.schema)
            for r in routes
            if r.op.tag == tag and r.collection is not None and r.schema is not None
        ]
        if held:
            result[attribute] = str(min(held)[2])
    return result


def emit_examples(api: Api, spec: Mapping[str, Any]) -> str:
    """The fake's routes and tables (see the module docstring)."""
    rules = api.rules
    assert rules is not None
    models = dict(sorted(api.models.items()))
    routes = fake_routes(api)
    bodies, shapes = _bodies(api, spec)
    fields = {name: tuple(p.key for p in model.props) for name, model in models.items()}
    money = {
        name: {p.key: p.type.wire or "string" for p in model.props if p.type.kind == "money"}
        for name, model in models.items()
    }
    timestamps = {
        name: tuple(p.key for p in model.props if p.type.kind == "timestamp")
        for name, model in models.items()
    }
    nested = {
        name: {p.key: str(p.type.model) for p in model.props if p.type.kind in ("model", "models")}
        for name, model in models.items()
    }
    text = {
        name: tuple(p.key for p in model.props if p.type.kind == "text")
        for name, model in models.items()
    }
    examples = {name: _model_example(model, api.models) for name, model in models.items()}
    prefixes = {name: id_prefix(model, rules.prefix_of(name)) for name, model in models.items()}
    ids = {name: tuple(found) for name, found in path_ids(routes, spec).items()}
    out = [
        HEADER,
        '"""What the fake (mijnklantportaal.testing) serves, derived from openapi.yaml',
        '(tools/gen_fake.py: how each operation is read is told there)."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, NamedTuple",
        "",
        "",
        "class Route(NamedTuple):",
        '    """One operation as the fake answers it."""',
        "",
        "    method: str",
        "    path: str",
        '    """The spec\'s path template, e.g. ``/invoices/{invoiceId}``."""',
        "    operation_id: str",
        "    kind: str",
        '    """``get``, ``list``, ``create``, ``update`` (merge), ``replace``, ``delete`` (a stored',
        '    object of ``schema``) or ``example`` (the spec\'s example answer)."""',
        "    schema: str | None",
        "    id_param: str | None",
        '    """The path parameter holding the id of the object it reads or writes."""',
        "    page: str | None",
        '    """For a list answered as a page object: its schema (``data`` holds the items)."""',
        "    status: int",
        "    query: tuple[str, ...]",
        "    content: bool = True",
        '    """False for an answer without content (204): the fake sends none."""',
        "    collection: str | None = None",
        '    """The path template of the collection its objects are in (``/tickets``)."""',
        "    parents: tuple[tuple[str, str], ...] = ()",
        '    """(path parameter, schema) of the stored objects its path goes through."""',
        "    filters: tuple[tuple[str, str, str, str], ...] = ()",
        '    """(query parameter, field, match, field kind): ``equals``, ``in``, ``contains``,',
        '    ``overlaps`` or ``text`` (a substring of any text field)."""',
        "",
        "",
        "ROUTES: tuple[Route, ...] = (",
    ]
    for route in routes:
        out += _emit_route(route)
    out += [
        ")",
        '# client attribute -> the schema its objects are (fake.add("tickets", ...))',
        f"RESOURCES: dict[str, str] = {literal(_resources(api, routes), 'the resources')}",
        "# schema -> its properties (JSON keys); a request body's other keys are not stored",
        f"FIELDS: dict[str, tuple[str, ...]] = {_mapping_of_tuples(fields, 'the fields')}",
        "# schema -> property -> the JSON type of a money or percentage field (Decimal in the store)",
        f"MONEY_FIELDS: dict[str, dict[str, str]] = {literal(money, 'the money fields')}",
        "# schema -> its timestamps (a created object's that the request did not give: now)",
        f"TIMESTAMPS: dict[str, tuple[str, ...]] = {_mapping_of_tuples(timestamps, 'timestamps')}",
        "# schema -> property -> the schema of the nested object(s) it holds",
        f"NESTED: dict[str, dict[str, str]] = {literal(nested, 'the nested models')}",
        "# schema -> its text fields (what a free-text query parameter searches)",
        f"TEXT_FIELDS: dict[str, tuple[str, ...]] = {_mapping_of_tuples(text, 'text fields')}",
        "# schema -> the prefix of a fresh id (spec-map.toml, else the id's example, else initials)",
        f"ID_PREFIX: dict[str, str] = {literal(prefixes, 'the id prefixes')}",
        "# schema -> the ids its objects have in the examples of the spec's path parameters",
        f"PATH_IDS: dict[str, tuple[str, ...]] = {_mapping_of_tuples(ids, 'the path ids')}",
        "# schema -> one example in the API's JSON shape, from the spec's examples (money as text)",
        f"EXAMPLES: dict[str, dict[str, Any]] = {literal(examples, 'the examples')}",
        "# operation id -> the example answer of an operation answered from examples",
        "OPERATION_EXAMPLES: dict[str, Any] = "
        + literal(
            {op.op_id: op.example for op in sorted(api.operations, key=lambda o: o.op_id)},
            "the operation examples",
        ),
        "# operation id -> its JSON request body's schema (type, nullable, required, properties,",
        "# items, enum, format, one_of, ref: a name in SHAPES); required_body: it must be sent",
        f"BODIES: dict[str, dict[str, Any]] = {literal(bodies, 'the request bodies')}",
        "# schema -> its shape, for the bodies that name it",
        f"SHAPES: dict[str, dict[str, Any]] = {literal(shapes, 'the request body schemas')}",
        f"PAGE_FIELDS: tuple[str, ...] = {_tuple(PAGE_FIELDS, 'the page fields')}",
        "",
    ]
    return "\n".join(out)


def _mapping_of_tuples(value: Mapping[str, tuple[str, ...]], where: str) -> str:
    items = [f"{literal(k, where)}: {_tuple(v, where) if v else '()'}" for k, v in value.items()]
    return "{" + ", ".join(items) + "}"
