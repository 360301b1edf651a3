"""What the command line prints for any answer (``_render``): fields by their API names, nested
objects and lists below them, money exactly as ``to_dict`` spells it, and server text that
cannot drive the terminal."""

from __future__ import annotations

import json

import pytest
from mijnklantportaal import Invoice
from mijnklantportaal._render import json_line, render_record, render_rows
from mijnklantportaal.testing import EXAMPLE_INVOICE


def test_a_record_shows_its_fields_then_nested_objects_and_lists_below() -> None:
    record = {
        "id": "zz_1",
        "amount": "1234567890123.10",
        "paid": False,
        "note": None,
        "labels": ["a", "b"],
        "empty": [],
        "contact": {"name": "Ada", "since": "2025-04-12T00:00:00+00:00"},
        "lines": [{"sku": "x", "qty": 2}, {"sku": "yy", "qty": 10, "extra": {"k": 1}}],
    }
    assert render_record("ZzThing", record).splitlines() == [
        "ZzThing",
        "  id       zz_1",
        "  amount   1234567890123.10",
        "  paid     false",
        "  note     null",
        "  labels   a, b",
        "  empty    (none)",
        "  contact  below",
        "  lines    2 items, below",
        "",
        "ZzThing contact",
        "  name   Ada",
        "  since  2025-04-12T00:00:00+00:00",
        "",
        "ZzThing lines",
        "  sku  qty  extra",
        "  x      2",
        '  yy    10  {"k":1}',
    ]


def test_rows_right_align_numbers_and_count_the_items() -> None:
    rows = [{"id": "a", "total": "9.95"}, {"id": "bbb", "total": "-12345.10"}]
    assert render_rows("ZzThing", rows).splitlines() == [
        "ZzThing: 2 items",
        "  id       total",
        "  a         9.95",
        "  bbb  -12345.10",
    ]
    assert render_rows("ZzThing", []) == "ZzThing: 0 items"


@pytest.mark.parametrize(
    "text", ["\x1b]0;owned\x07", "\u202eevil\u202c", "a\nb\rc", "x\ud800y", "\x9b31m", "\ufeff"]
)
def test_server_text_is_terminal_safe_everywhere_it_appears(text: str) -> None:
    record = {text: text, "nested": {text: [text]}, "rows": [{text: text}, {"deep": {text: 1}}]}
    for shown in (render_record(text, record), render_rows(text, [record])):
        assert all(line.isprintable() for line in shown.splitlines()), shown
        assert text not in shown
    line = json_line(record)
    assert line.isprintable() and "\n" not in line
    assert json.loads(line) == record  # still valid JSON, nothing lost


def test_a_model_renders_from_its_to_dict_with_money_as_its_digits() -> None:
    invoice = Invoice.from_dict({**EXAMPLE_INVOICE, "totalAmount": "1234567890123.10"})
    shown = render_record("Invoice", invoice.to_dict()).splitlines()
    assert "  totalAmount     1234567890123.10" in shown
    assert json.loads(json_line(invoice.to_dict()))["totalAmount"] == "1234567890123.10"
