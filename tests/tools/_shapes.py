"""A spec with one field of every schema shape issue 18 item 6 names (test-only ``zzTest``
names), added to the committed spec's ``Invoice``: the generator's own tests and the model
round-trip property tests generate models from it."""

from __future__ import annotations

import copy
from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def shapes_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    schemas["ZzTestCustomer"] = {  # a nested object, with arrays of scalars and nullables
        "type": "object",
        "required": ["id", "nickname"],
        "properties": {
            "id": {"type": "string", "example": "cst_zz1"},
            "tags": {"type": "array", "items": {"type": "string"}, "example": ["vip"]},
            "scores": {"type": "array", "items": {"type": "integer"}},
            "visits": {"type": "array", "items": {"type": "string", "format": "date-time"}},
            "nickname": {"type": ["string", "null"], "example": None},
            "legacyCode": {"type": "string", "nullable": True},
            "active": {"type": "boolean", "example": True},
        },
    }
    schemas["ZzTestDocument"] = {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "example": "zzd_1"},
            "issuedAt": {"type": "string", "example": "2025-04-12T10:00:00Z"},
            "totalAmount": {"type": "string", "example": 12.95},
        },
    }
    schemas["ZzTestCreditNote"] = {  # allOf: the parent's money and timestamps stay typed
        "allOf": [
            _ref("ZzTestDocument"),
            {
                "type": "object",
                "required": ["reason"],
                "properties": {
                    "reason": {"type": "string", "example": "returned"},
                    "refundAmount": {"type": "number", "example": 3.5},
                },
            },
        ],
    }
    schemas["ZzTestCard"] = {
        "type": "object",
        "required": ["method", "last4"],
        "properties": {
            "method": {"type": "string", "example": "card"},
            "last4": {"type": "string", "example": "4242"},
        },
    }
    schemas["ZzTestBankTransfer"] = {
        "type": "object",
        "required": ["method", "iban"],
        "properties": {
            "method": {"type": "string", "example": "bank"},
            "iban": {"type": "string", "example": "NL91ABNA0417164300"},
        },
    }
    schemas["ZzTestPayment"] = {  # oneOf with a discriminator and a mapping
        "oneOf": [_ref("ZzTestCard"), _ref("ZzTestBankTransfer")],
        "discriminator": {
            "propertyName": "method",
            "mapping": {
                "card": "#/components/schemas/ZzTestCard",
                "bank": "#/components/schemas/ZzTestBankTransfer",
            },
        },
    }
    schemas["ZzTestEmail"] = {
        "type": "object",
        "required": ["email"],
        "properties": {"email": {"type": "string", "example": "a@example.com"}},
    }
    schemas["ZzTestPhone"] = {
        "type": "object",
        "required": ["phone"],
        "properties": {"phone": {"type": "string", "example": "+31201234567"}},
    }
    schemas["ZzTestComment"] = {  # it holds itself, directly and through a union
        "type": "object",
        "properties": {
            "id": {"type": "string", "example": "zzc_1"},
            "createdAt": {"type": "string", "format": "date-time"},
            "replies": {"type": "array", "items": _ref("ZzTestComment")},
            "about": {"anyOf": [_ref("ZzTestComment"), _ref("ZzTestEmail")]},
        },
    }
    invoice = schemas["Invoice"]["properties"]
    invoice["zzTestCustomer"] = _ref("ZzTestCustomer")
    invoice["zzTestLabels"] = {"type": "array", "items": {"type": "string"}}
    invoice["zzTestRates"] = {"type": "array", "items": {"type": "number"}}
    invoice["zzTestCount"] = {"type": "integer"}
    invoice["zzTestState"] = {"type": "string", "enum": ["open", "paid"], "example": "open"}
    invoice["zzTestCredit"] = _ref("ZzTestCreditNote")
    invoice["zzTestPayment"] = _ref("ZzTestPayment")
    invoice["zzTestPayments"] = {"type": "array", "items": _ref("ZzTestPayment")}
    invoice["zzTestContact"] = {"anyOf": [_ref("ZzTestEmail"), _ref("ZzTestPhone")]}
    invoice["zzTestMaybeCustomer"] = {"anyOf": [_ref("ZzTestCustomer"), {"type": "null"}]}
    invoice["zzTestComments"] = {"type": "array", "items": _ref("ZzTestComment")}
    return spec
