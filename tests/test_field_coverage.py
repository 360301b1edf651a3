"""Every field of every generated model is a conscious decision in the wrapper.

When the spec grows a field, ``./generate.sh`` adds it to the generated model and this
test fails naming it, until the wrapper declares it with ``wire(...)`` (exposed as a typed
attribute) or lists it in ``PASSED_THROUGH`` (left in ``.extra`` on purpose, with a reason).
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import mijnklantportaal
import mijnklantportaal_api.models as generated_models
import pytest
from mijnklantportaal._models import Model

# generated model -> the wrapper model that exposes it
WRAPPED: dict[str, type[Model]] = {
    "Invoice": mijnklantportaal.Invoice,
    "InvoiceLine": mijnklantportaal.InvoiceLine,
}
# generated models the wrapper does not wrap as a value object, and why
NOT_WRAPPED = {
    "ErrorApiError": "error bodies become the APIStatusError tree (message, body)",
}
# (generated model, snake_case field) -> why the wrapper leaves it in .extra
PASSED_THROUGH: dict[tuple[str, str], str] = {}

GENERATED = {
    name: cls
    for name, cls in inspect.getmembers(generated_models, inspect.isclass)
    if attrs.has(cls) and cls.__module__.startswith("mijnklantportaal_api.models")
}


def _generated_json_keys(cls: type[Any]) -> dict[str, str]:
    """snake_case attribute -> JSON key, read from the generated to_dict() itself."""
    names = [field.name for field in attrs.fields(cls) if field.init]
    keys = {}
    for name in names:
        instance = cls(**{name: _Marker()})
        (key,) = (k for k, v in instance.to_dict().items() if _is_marker(v))
        keys[name] = key
    return keys


def _is_marker(value: object) -> bool:
    return isinstance(value, _Marker) or (
        isinstance(value, list) and any(isinstance(v, _Marker) for v in value)
    )


class _Marker:
    def to_dict(self) -> _Marker:
        return self

    def __iter__(self) -> Any:  # list fields iterate their items
        return iter([self])


def test_every_generated_model_is_wrapped_or_explained() -> None:
    unknown = sorted(set(GENERATED) - set(WRAPPED) - set(NOT_WRAPPED))
    assert not unknown, (
        f"generated models {unknown} have no wrapper model: add one in wrapper/mijnklantportaal/_models.py "
        "and list it in WRAPPED, or list it in NOT_WRAPPED with the reason"
    )
    stale = sorted((set(WRAPPED) | set(NOT_WRAPPED)) - set(GENERATED))
    assert not stale, (
        f"{stale} are no longer generated from openapi.yaml: remove them from the wrapper"
    )


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_every_generated_field_is_exposed_or_passed_through(name: str) -> None:
    generated_keys = _generated_json_keys(GENERATED[name])
    wrapper = WRAPPED[name]
    exposed = {attribute: key for attribute, key, _ in wrapper._wire_fields}
    passed = {field for (model, field), _ in PASSED_THROUGH.items() if model == name}

    missing = sorted(set(generated_keys) - set(exposed) - passed)
    assert not missing, (
        f"the spec's {name} has fields the wrapper neither exposes nor passes through: "
        + ", ".join(f"{field} (JSON {generated_keys[field]!r})" for field in missing)
        + f". Declare each in {wrapper.__name__} with wire(...) or list it in PASSED_THROUGH with a reason."
    )
    removed = sorted(set(exposed) - set(generated_keys))
    assert not removed, (
        f"{wrapper.__name__} exposes {removed}, which the spec's {name} no longer has"
    )
    renamed = {
        a: (exposed[a], generated_keys[a]) for a in exposed if exposed[a] != generated_keys[a]
    }
    assert not renamed, f"{wrapper.__name__} reads different JSON keys than the spec: {renamed}"


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_wrapper_field_names_match_generated_names(name: str) -> None:
    wrapper_fields = [field.name for field in attrs.fields(WRAPPED[name]) if field.name != "extra"]  # type: ignore[arg-type]
    assert wrapper_fields == [a for a, _, _ in WRAPPED[name]._wire_fields]
