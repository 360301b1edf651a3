"""A hostile vendor spec: today's openapi.yaml plus spec text that must stay text.

Every piece of text a vendor controls (tags, operationIds, summaries, descriptions, enum
values, examples, parameter names) carries strings that would end a docstring or a literal
and run Python if the generator pasted them into source. The payload creates ``MARKER`` in
the working directory, so a test sees whether it ran. The spec also holds the names issue 17
found broken: a tag starting with a digit, an operationId starting with ``_``, query
parameters named like per-call options, a schema that holds itself and an unquoted YAML
timestamp in an example. All new names start with ``zzTest``/``zz-test`` (no vendor release
can collide with them).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

MARKER = "zz_injected_marker"
_PAYLOAD = f'__import__("pathlib").Path("{MARKER}").touch()'

HOSTILE = (
    f'""" ; {_PAYLOAD} ; """',
    f'"""\n{_PAYLOAD}\n"""',
    f"'''\n{_PAYLOAD}\n'''",
    f'\\"""\n{_PAYLOAD}\n#',
    'a closing quote at the end"',
    'two closing quotes at the end""',
    "a backslash at the end\\",
    "a NUL\x00 in the middle",
    "controls \x01\x0b\x0c\r\x1b\x7f\u2028\u2029\u200e and a tab\there",
    "NFKC folds these: \ufb01eld \uff21\uff30\uff29 \u2460",
)
"""Texts that must come out of the generated code exactly as they went in, and never run."""

# Texts a tag or an operationId can hold: openapi-python-client turns a name with characters
# that NFKC folds into a module Python cannot import (``read_low_level`` refuses it), so the
# last text goes into prose only.
NAME_TEXTS = HOSTILE[:-1]

# A property and a parameter name (a name that ends a string, then runs code).
HOSTILE_NAME = HOSTILE[0]

# Examples YAML reads as something other than JSON: an unquoted timestamp and date.
TIMESTAMP = datetime(2025, 4, 12, tzinfo=UTC)


def _ok(schema: dict[str, Any], description: str = "ok") -> dict[str, Any]:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def hostile_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    invoice = schemas["Invoice"]["properties"]
    # 1: enum values (and 6: a NUL and control characters in descriptions)
    invoice["zzTestState"] = {"type": "string", "enum": list(HOSTILE), "description": HOSTILE[0]}
    invoice["zzTestNote"] = {"type": "string", "description": HOSTILE[-3] + HOSTILE[-2]}
    schemas["Invoice"]["description"] = "\n".join(HOSTILE)
    # 11: a schema that holds itself; 7: an unquoted YAML timestamp in its examples
    schemas["ZzTestComment"] = {
        "type": "object",
        "description": HOSTILE[1],
        "properties": {
            "id": {"type": "string", "example": "zzc_1"},
            "zzTestPostedOn": {"type": "string", "format": "date", "example": TIMESTAMP.date()},
            "zzTestMeta": {"type": "object", "example": {"seenAt": TIMESTAMP, "n": 1}},
            "replies": {"type": "array", "items": _ref("ZzTestComment")},
            "parent": _ref("ZzTestComment"),
            HOSTILE_NAME: {"type": "string", "example": HOSTILE_NAME},  # a property name
        },
    }
    paths = spec["paths"]
    # 2, 3: hostile tags, operationIds, summaries, descriptions, enum values of a parameter
    for n, text in enumerate(NAME_TEXTS):
        paths[f"/zz-test-hostile-{n}"] = {
            "get": {
                "tags": [f"ZzTest{n} {text}"],
                "operationId": f"zz-test-{n}-{text}",
                "summary": text,
                "description": text,
                "parameters": [
                    {"name": HOSTILE_NAME, "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "zzTestChoice",
                        "in": "query",
                        "description": text,
                        "schema": {"type": "string", "enum": [text, "plain"]},
                    },
                ],
                "responses": _ok(_ref("ZzTestComment"), text),
            }
        }
    # 4: a tag that starts with a digit
    paths["/zz-test-2fa/status"] = {
        "get": {
            "tags": ["2FA API"],
            "operationId": "zz-test-get-2fa-status",
            "responses": _ok(
                {"type": "object", "properties": {"zzTestOn": {"type": "boolean", "example": True}}}
            ),
        }
    }
    # 5: an operationId that starts with an underscore
    paths["/zz-test-underscore/comments/latest"] = {
        "get": {
            "tags": ["ZzTest Underscore API"],
            "operationId": "_zz-test-get-comment",
            "responses": _ok(_ref("ZzTestComment")),
        }
    }
    # 10: query parameters named like the per-call options
    paths["/zz-test-options"] = {
        "get": {
            "tags": ["ZzTest Options API"],
            "operationId": "zz-test-list-options",
            "parameters": [
                {"name": name, "in": "query", "schema": {"type": kind}}
                for name, kind in (
                    ("timeout", "integer"),
                    ("extra_headers", "string"),
                    ("concurrency", "integer"),
                )
            ],
            "responses": _ok(_ref("ZzTestComment")),
        }
    }
    return spec
