"""Hypothesis strategies for the wire JSON of any generated model, derived from the spec.

``wire_strategy(api, name)`` builds, for the schema ``name`` as ``tools/gen_wrapper.py``
read it (``gen_wrapper.build``: its properties, their types, ``required`` and nullability),
objects in the API's JSON shape: required keys always present, optional ones present or not,
null where the spec allows it, money as exact digits (a JSON number or a string), timestamps
as ISO 8601 with an offset, unions as one of their models (with its discriminator value).
No field list is restated here: a new field of the spec is covered by the same code.

``check_round_trip(cls, wire)`` is the property: wire -> model -> wire -> model is stable,
and what ``to_wire`` sends is exactly what the wire said (same keys, same digits, same
instants).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import gen_wrapper

MAX_DEPTH = 2  # a schema that holds itself: nested this deep at most

_money_digits = st.builds(
    lambda units, cents, places: Decimal(units).scaleb(0) + Decimal(cents).scaleb(-places),
    st.integers(-(10**17), 10**17),
    st.integers(0, 99),
    st.integers(0, 4),
)
_timestamps = st.builds(
    lambda moment, minutes: moment.replace(tzinfo=UTC).astimezone(
        timezone(timedelta(minutes=minutes))
    ),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2999, 12, 30)),
    st.sampled_from([0, 60, 120, -300, 330]),
)
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


def _scalar(ftype: gen_wrapper.FieldType) -> st.SearchStrategy[Any]:
    kind = ftype.kind
    if ftype.enum:  # a request sends known values only (an unknown one is refused)
        return st.sampled_from(ftype.enum)
    if kind == "text":
        return _text
    if kind == "integer":
        return st.integers(-(2**53), 2**53)
    if kind == "boolean":
        return st.booleans()
    if kind == "money":
        # the vendor sends money as a JSON number (exact digits) or as a string
        return _money_digits.flatmap(lambda d: st.sampled_from([d, format(d, "f")]))
    if kind == "timestamp":
        return _timestamps.map(lambda t: t.isoformat())
    return st.none() | st.integers(-1000, 1000) | _text  # untyped JSON


def _value(api: Any, ftype: gen_wrapper.FieldType, depth: int) -> st.SearchStrategy[Any]:
    kind = ftype.kind
    if kind == "model":
        return wire_strategy(api, str(ftype.model), depth + 1)
    if kind == "models":
        return st.lists(wire_strategy(api, str(ftype.model), depth + 1), max_size=2)
    if kind == "list":
        assert ftype.item is not None
        return st.lists(_value(api, ftype.item, depth), max_size=3)
    if kind == "union":
        return st.one_of([_variant(api, ftype, variant, depth + 1) for variant in ftype.variants])
    return _scalar(ftype)


def _variant(
    api: Any, union: gen_wrapper.FieldType, variant: str, depth: int
) -> st.SearchStrategy[dict[str, Any]]:
    base = wire_strategy(api, variant, depth)
    if union.discriminator is None:
        return base
    tag = next(value for value, model in union.mapping if model == variant)
    return base.map(lambda data: {**data, str(union.discriminator): tag})


def _cyclic(api: Any, ftype: gen_wrapper.FieldType) -> bool:
    return bool(set(ftype.refers) & gen_wrapper._cyclic(api.models, api.unions))


def wire_strategy(api: Any, name: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Objects of schema ``name`` in the API's JSON shape (values exact: Decimals, text)."""
    model = api.models[name]
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for prop in model.props:
        if depth >= MAX_DEPTH and _cyclic(api, prop.type) and not prop.required:
            continue  # bound a schema that holds itself
        value = _value(api, prop.type, depth)
        if prop.type.nullable:
            value = st.none() | value
        if prop.required:
            required[prop.key] = value
        else:
            optional[prop.key] = st.none() | value
    return st.fixed_dictionaries(required, optional=optional)


def dumps(data: Any) -> str:
    """JSON text with each Decimal written from its digits (as the API sends money)."""
    if isinstance(data, Decimal):
        return format(data, "f")
    if isinstance(data, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{dumps(v)}" for k, v in data.items()) + "}"
    if isinstance(data, list | tuple):
        return "[" + ",".join(dumps(v) for v in data) + "]"
    return json.dumps(data)


def check_round_trip(cls: Any, wire: dict[str, Any], loads: Any) -> None:
    """wire -> model -> wire: the model ``to_wire`` gives back is the same model, and each
    field it sends is what the wire held: same keys, the same digits, the same instants."""
    model = cls.from_dict(loads(dumps(wire)))
    out = model.to_wire()
    again = cls.from_dict(loads(dumps(out)))
    assert again == model, (wire, out)
    assert again.to_wire() == out
    _same(model, wire, out, cls.__name__)


def _same(model: Any, wire: dict[str, Any], out: dict[str, Any], where: str) -> None:
    rows = {row[1]: row for row in type(model)._wire}
    sent = {key for key, value in wire.items() if value is not None and key in rows}
    nulls = {
        key for key in wire if wire[key] is None and key in rows and rows[key][3] and rows[key][4]
    }
    assert set(out) == sent | nulls, (where, sorted(wire), sorted(out))
    for key in sent:
        attribute, _, how, *_ = rows[key]
        _same_value(how, getattr(model, attribute), wire[key], out[key], f"{where}.{key}")


def _same_value(how: str, value: Any, sent: Any, out: Any, where: str) -> None:
    if how.startswith("list:"):
        assert len(sent) == len(out) == len(value), where
        for n, (v, a, b) in enumerate(zip(value, sent, out, strict=True)):
            _same_value(how[5:], v, a, b, f"{where}[{n}]")
    elif how == "models":
        assert len(sent) == len(out) == len(value), where
        for n, (v, a, b) in enumerate(zip(value, sent, out, strict=True)):
            _same(v, a, b, f"{where}[{n}]")
    elif how in ("model", "union"):
        _same(value, sent, out, where)
    elif how.startswith("money:"):
        exact = Decimal(sent) if isinstance(sent, str) else sent
        if how == "money:string":  # the string of the same digits
            assert type(out) is str and Decimal(out).as_tuple() == exact.as_tuple(), (where, out)
        else:
            assert type(out) is Decimal and out.as_tuple() == exact.as_tuple(), (where, out)
    elif how == "timestamp":
        a, b = datetime.fromisoformat(sent), datetime.fromisoformat(out)
        assert a == b and a.utcoffset() == b.utcoffset(), (where, sent, out)
    else:
        assert out == sent and type(out) is type(sent), (where, sent, out)
