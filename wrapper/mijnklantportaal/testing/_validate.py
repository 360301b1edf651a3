"""A request body checked against the spec, as the API checks it: the answer is Laravel's
422, ``{"message": "The subject field is required. (and 1 more error)", "errors": {"subject":
["The subject field is required."], ...}}``, fields named by their dotted path
(``drillContact.drillName``, ``drillLabels.0``).

What is checked is what the spec says (``BODIES``/``SHAPES``, generated): the JSON type
(``null`` only where the spec allows it), required properties, enum values, ``format``
``date-time``/``date``, nested objects and array items, and one-of alternatives. Nothing
the spec does not say: a ``type: string`` amount may be any text, unknown keys are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mijnklantportaal._generated import examples as tables
from mijnklantportaal._models import MAX_EXPONENT  # the client's own bound on a number

__all__ = ["Errors", "body_properties", "message", "validate"]

Errors = dict[str, list[str]]

_TYPE_RULES = {
    "string": "must be a string",
    "integer": "must be an integer",
    "number": "must be a number",
    "boolean": "must be true or false",
    "array": "must be an array",
    "object": "must be an object",
}
_DATE = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
_FORMATS = {  # RFC 3339, as JSON Schema reads the two formats
    "date": re.compile(_DATE + r"\Z"),
    "date-time": re.compile(
        _DATE
        + r"[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)\Z"
    ),
}


def resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """A node with its ``ref`` followed (``nullable`` on the reference kept)."""
    seen = 0
    while "ref" in node and seen < 100:
        target = tables.SHAPES.get(node["ref"], {})
        node = {**target, "nullable": True} if node.get("nullable") else target
        seen += 1
    return node


def body_properties(node: Mapping[str, Any]) -> set[str]:
    """The keys a body of this shape may carry (every alternative's, for a one-of)."""
    node = resolve(node)
    keys = set(node.get("properties", {}))
    for member in node.get("one_of", ()):
        keys |= body_properties(member)
    return keys


def validate(node: Mapping[str, Any], value: Any) -> Errors:
    """The errors of ``value`` (a parsed JSON body) against ``node``; ``{}`` when it fits."""
    errors: Errors = {}
    _check(node, value, "", errors)
    return errors


def message(errors: Errors) -> str:
    """Laravel's summary: the first message, and how many more there are."""
    first = next(iter(errors.values()))[0]
    more = sum(len(m) for m in errors.values()) - 1
    if more == 0:
        return first
    return f"{first} (and {more} more error{'s' if more > 1 else ''})"


def _subject(path: str) -> str:
    return f"The {path} field" if path else "The request body"


def _fail(errors: Errors, path: str, text: str) -> None:
    errors.setdefault(path or "body", []).append(text)


def _is(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if isinstance(value, Decimal) and not (
        value.is_finite() and abs(value.adjusted()) <= MAX_EXPONENT
    ):
        # 1e999999999999: no client could read it back, and its text would take gigabytes
        return False
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, Decimal) and value == value.to_integral_value()
        )
    if kind == "number":
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True  # a type the fake does not know: the spec's own business


def _check(node: Mapping[str, Any], value: Any, path: str, errors: Errors) -> None:
    node = resolve(node)
    subject = _subject(path)
    kinds = node.get("type") or []
    if value is None:
        if kinds and not node.get("nullable"):
            _fail(errors, path, f"{subject} {_TYPE_RULES.get(kinds[0], 'is invalid')}.")
        return
    if kinds and not any(_is(value, kind) for kind in kinds):
        _fail(errors, path, f"{subject} {_TYPE_RULES.get(kinds[0], 'is invalid')}.")
        return
    members = node.get("one_of")
    if members and not any(not validate(member, value) for member in members):
        _fail(errors, path, f"{subject} is invalid.")
        return
    if "enum" in node and value not in node["enum"]:
        _fail(errors, path, f"The selected {path or 'request body'} is invalid.")
        return
    form = _FORMATS.get(node.get("format", ""))
    if form is not None and isinstance(value, str) and not form.match(value):
        _fail(errors, path, f"{subject} must be a valid date.")
        return
    if isinstance(value, dict):
        prefix = f"{path}." if path else ""
        for key in node.get("required", ()):
            if key not in value:
                _fail(errors, prefix + key, f"The {prefix + key} field is required.")
        for key, inner in node.get("properties", {}).items():
            if key in value:
                _check(inner, value[key], prefix + key, errors)
    if isinstance(value, list) and "items" in node:
        for n, item in enumerate(value):
            _check(node["items"], item, f"{path}.{n}" if path else str(n), errors)
