"""What the command line prints for an answer: plain-text tables, or JSON lines.

Any model is shown from ``to_dict()`` (the API's field names, money as exact strings,
timestamps as ISO 8601), so the table and ``--json`` name and spell every value alike, and a
field the spec adds is shown without a line of code here:

    Invoice
      id              fac_abc12345def678
      invoiceNumber   MKP-2025.0010
      lines           1 item, below
      ...

    Invoice lines
      id                  description       quantity  ...
      fcl_abc12345def678  Pro subscription         1  ...

A nested object or a list of objects gets its own block below the fields; a list of objects
is a table, one row per item, one column per field (numbers right-aligned). Every piece of
text the server sent goes through ``terminal_safe``; a value too deep for a cell is shown as
one line of JSON, made safe the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mijnklantportaal._text import json_escape, terminal_safe

__all__ = ["json_line", "render_record", "render_rows"]

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
_GAP = "  "


def json_line(data: Any) -> str:
    """``data`` as one line of compact JSON, valid and safe for a terminal: what
    ``json.dumps`` leaves raw but is not printable becomes a ``\\uXXXX`` escape."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else json_escape(char) for char in text)


def render_record(title: str, record: Mapping[str, Any]) -> str:
    """One object (``model.to_dict()``) under ``title`` (its schema's name)."""
    return "\n".join(_record_block(title, record))


def render_rows(title: str, records: Sequence[Mapping[str, Any]]) -> str:
    """Many objects of one kind as one table under ``title``, with a count."""
    count = f"{len(records)} item{'' if len(records) == 1 else 's'}"
    if not records:
        return f"{terminal_safe(title)}: {count}"
    return "\n".join([f"{terminal_safe(title)}: {count}", *_table(records)])


def _record_block(title: str, record: Mapping[str, Any]) -> list[str]:
    rows: list[tuple[str, str]] = []
    below: list[tuple[str, Any]] = []
    for key, value in record.items():
        if isinstance(value, Mapping):
            rows.append((key, "below"))
            below.append((key, value))
        elif _is_objects(value):
            rows.append((key, f"{len(value)} item{'' if len(value) == 1 else 's'}, below"))
            below.append((key, value))
        else:
            rows.append((key, _cell(value)))
    out = [terminal_safe(title)]
    width = max((len(terminal_safe(key)) for key, _ in rows), default=0)
    out += [f"{_GAP}{terminal_safe(key).ljust(width)}{_GAP}{text}".rstrip() for key, text in rows]
    for key, value in below:
        inner = f"{title} {key}"
        out.append("")
        if isinstance(value, Mapping):
            out += _record_block(inner, value)
        else:
            out += [terminal_safe(inner), *_table(value)]
    return out


def _is_objects(value: object) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _table(records: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = list(records)
    columns: dict[str, None] = {}
    for record in rows:
        columns.update(dict.fromkeys(record))
    header = [terminal_safe(key) for key in columns]
    cells = [[_cell(record.get(key), present=key in record) for key in columns] for record in rows]
    widths = [max(len(row[i]) for row in (header, *cells)) for i in range(len(header))]
    numeric = [
        all(_NUMBER.match(row[i]) or row[i] == "" for row in cells) and any(row[i] for row in cells)
        for i in range(len(header))
    ]

    def line(row: list[str]) -> str:
        parts = (
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        )
        return _GAP + _GAP.join(parts).rstrip()

    return [line(header), *(line(row) for row in cells)]


def _cell(value: Any, *, present: bool = True) -> str:
    """One value as text: strings as they are (made safe), numbers and booleans as JSON
    spells them, a list of plain values comma-separated, anything deeper as one JSON line."""
    if not present:
        return ""
    if isinstance(value, str):
        return terminal_safe(value)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    if isinstance(value, list | tuple) and not any(
        isinstance(item, Mapping | list | tuple) for item in value
    ):
        if not value:
            return "(none)"
        return ", ".join(_cell(item) for item in value)
    return json_line(value)
