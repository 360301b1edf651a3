"""Making server-sent text safe to print, log or write as JSON: one module for all.

Imported by the transport (error messages), the export (error records, warnings) and the
command line (tables, JSON output), so that none of them imports another for a helper.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["PROG", "bounded", "json_escape", "json_safe", "terminal_safe"]

PROG = "mijnklantportaal"
"""The command's name, as it prefixes errors and warnings on stderr."""


def terminal_safe(text: str) -> str:
    """``text`` with every character that is not printable (C0 and C1 controls, ESC, DEL,
    bidi overrides and isolates and other format characters, line and paragraph separators,
    unpaired surrogates) replaced by its backslash escape, e.g. ``\\x1b`` or ``\\u202e``, so
    that it can neither drive the terminal, forge a log line, nor fail to encode."""
    if text.isprintable():
        return text
    return "".join(
        char if char.isprintable() else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


def bounded(text: str, limit: int = 500) -> str:
    """Server-sent text for a message: at most ``limit`` characters (then ``...``), made
    ``terminal_safe``."""
    if len(text) > limit:
        text = text[:limit] + "..."
    return terminal_safe(text)


def json_safe(data: Any) -> str:
    """``data`` as indented JSON, valid and safe for a terminal: what ``json.dumps`` leaves
    raw but is not printable (DEL, C1 controls, bidi and other format characters, unpaired
    surrogates) is written as a JSON ``\\uXXXX`` escape."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if text.replace("\n", "").isprintable():  # json.dumps escapes newlines inside strings
        return text
    return "".join(
        char if char.isprintable() or char == "\n" else json_escape(char) for char in text
    )


def json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters outside the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"
