"""``_decode.loads``: the fast parse refuses duplicate keys exactly as the checking parse does.

From 2 kB up, ``loads`` parses without an ``object_pairs_hook`` and proves by counting colons
that no key was repeated (``_decode._nothing_overwritten``); when it cannot, and for smaller
bodies, the checking parse runs. These tests run both ways (``_counted`` counts whatever the
size) and compare them with a plain reference parse on texts built to defeat the counting:
colons inside keys and strings, escaped colons, whitespace around colons, duplicates whose
overwritten value held the colons.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mijnklantportaal import Invoice, _decode
from mijnklantportaal._decode import DecodeError, loads


def _counted(text: str | bytes) -> Any:
    """``loads`` with the counting parse whatever the size (it only counts from 2 kB up)."""
    with mock.patch.object(_decode, "_COUNTING_PAYS_FROM", 0):
        return loads(text)


LOADS = [pytest.param(loads, id="as sized"), pytest.param(_counted, id="counted")]


class _Duplicate(Exception):
    pass


def _reference(text: str) -> Any:
    """The plain, slow parse: a pairs hook on every object, -0 kept as Decimal."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in items]
        if len(set(keys)) != len(keys):
            raise _Duplicate
        return dict(items)

    return json.loads(
        text,
        parse_float=Decimal,
        parse_int=lambda digits: Decimal(digits) if digits == "-0" else int(digits),
        object_pairs_hook=pairs,
    )


# Raw JSON string contents (as written between the quotes), chosen to upset colon counting.
_STRINGS = [
    "",
    "x",
    "10:00",
    "2025-04-12T00:00:00.000Z",
    "a:b:c",
    ":",
    "\\u003a",
    "\\u003A",
    '\\":',
    "\\\\u003a",
    " : ",
    "-0",
]
_KEYS = ["a", "b", "totalAmount", "a:b", ":", '\\":', "\\u003a"]
_SPACE = ["", " ", "\n", "\t", "\r\n  "]
_SCALARS = ["0", "-0", "7", "-0.0", "12.95", "1E+2", "true", "false", "null"]


def _json_texts() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(_STRINGS).map(lambda s: f'"{s}"'), st.sampled_from(_SCALARS))

    def containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        member = st.tuples(
            st.sampled_from(_KEYS), st.sampled_from(_SPACE), st.sampled_from(_SPACE), children
        )
        objects = st.lists(member, max_size=5).map(
            lambda members: (
                "{"
                + ",".join(
                    f'"{key}"{before}:{after}{value}' for key, before, after, value in members
                )
                + "}"
            )
        )
        arrays = st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]")
        return st.one_of(objects, arrays)

    return st.recursive(leaves, containers, max_leaves=24)


@settings(max_examples=600, deadline=None)
@given(_json_texts())
def test_loads_refuses_exactly_the_texts_with_a_repeated_key(text: str) -> None:
    try:
        expected = _reference(text)
    except _Duplicate:
        for parse in (loads, _counted):
            with pytest.raises(DecodeError, match="appears twice in one object"):
                parse(text)
        return
    # repr tells Decimal('-0') from 0 and an int from a Decimal.
    for parse in (loads, _counted):
        assert repr(parse(text)) == repr(expected)
        assert repr(parse(text.encode())) == repr(expected)


@pytest.mark.parametrize(
    "text",
    [
        # the text's colons = members + colons in strings; a duplicate must not hide behind them
        '{"issuedAt":"2025-04-12T00:00:00Z","totalAmount":1,"totalAmount":2}',
        # the overwritten value held the colons the count expects to find
        '{"issuedAt":"2025-04-12T00:00:00Z","issuedAt":"2025-04-12"}',
        '{"a":{"t":"10:00"},"a":{"t":"10:00"}}',
        # an escaped colon decodes to a colon the text's count does not hold
        '{"invoiceNumber":"a\\u003ab","totalAmount":1,"totalAmount":2}',
        '{"invoiceNumber":"a\\u003Ab","totalAmount":1,"totalAmount":2}',
        # whitespace around the colons
        '{"totalAmount" : 1 ,\n "totalAmount"\t:\t2}',
        # deep, under a list
        '[[{"x":"y"}],{"lines":[{"vatRate":21,"vatRate":9,"note":"10:00"}]}]',
    ],
)
@pytest.mark.parametrize("parse", LOADS)
def test_a_repeated_key_is_refused_whatever_else_the_body_holds(
    parse: Callable[[str], Any], text: str
) -> None:
    with pytest.raises(DecodeError, match="appears twice in one object"):
        parse(text)


@pytest.mark.parametrize("parse", LOADS)
def test_colons_in_keys_and_escapes_still_parse_exactly(parse: Callable[[str], Any]) -> None:
    text = (
        '{"zzTestOnly:Unknown":"a\\u003ab","note":"\\":",'
        '"lines":[{"description":"10:00 - 12:00","amountExclVat":-0}]}'
    )
    assert repr(parse(text)) == repr(_reference(text))


class _CountingDecoder(json.JSONDecoder):
    calls = 0

    def raw_decode(self, s: str, idx: int = 0) -> tuple[Any, int]:
        type(self).calls += 1
        return super().raw_decode(s, idx)


def test_a_timestamped_invoice_needs_no_second_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The counting settles an ordinary body (timestamps hold colons) on the fast parse."""
    checking = _CountingDecoder(
        parse_float=Decimal, object_pairs_hook=_decode._refuse_duplicate_keys
    )
    monkeypatch.setattr(_decode, "_checking_decoder", checking)
    line = '{"id":"fcl_1","description":"Support 09:00-17:00","amountExclVat":12.95}'
    body = (
        '{"id":"fac_abc12345def678","issuedAt":"2025-04-12T00:00:00.000Z",'
        f'"lines":[{",".join([line] * 50)}],"totalAmount":"15.67"}}'
    )
    assert len(body) > _decode._COUNTING_PAYS_FROM
    invoice = Invoice.from_dict(loads(body.encode()))
    assert invoice.lines is not None and len(invoice.lines) == 50
    assert invoice.lines[0].description == "Support 09:00-17:00"
    assert _CountingDecoder.calls == 0
    with pytest.raises(DecodeError, match="'totalAmount' appears twice"):
        loads(body.replace('"totalAmount"', '"totalAmount":1,"totalAmount"'))
    assert _CountingDecoder.calls == 1
