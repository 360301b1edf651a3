"""An operation's arguments on the command line, from the generated table (``_cli_table``).

``add_arguments`` puts a command's path parameters (positional, in path order) and its query,
header and body fields (``--options``) on its parser; ``collected`` hands them back as the
client method's positional and keyword arguments. Each value is read by its ``Kind`` before
anything is sent, and a value that does not fit is a usage error (exit 2) saying what would:

- money is an exact ``Decimal`` from the digits given (``12.950`` stays ``12.950``; no float,
  no exponent, no ``,``); a timestamp an aware ``datetime`` (ISO 8601 with an offset or ``Z``:
  a time without one is refused, not guessed); a date ``YYYY-MM-DD``; an integer whole digits;
  a boolean ``true`` or ``false``;
- an enum value must be one the spec lists; an array option may be given again for each item;
  a nested object is a JSON object (numbers in it exact as well);
- where the spec allows null, the word ``null`` sends it.

Spec text (descriptions, enum values) reaches the help through ``help_text``: terminal-safe,
and with ``%`` escaped for argparse, which formats help strings.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from mijnklantportaal._cli_table import Arg
from mijnklantportaal._decode import DecodeError, loads
from mijnklantportaal._text import terminal_safe

__all__ = ["add_arguments", "collected", "convert", "help_text", "prose"]

DEST_PREFIX = "arg:"
"""The namespace attribute of an operation's argument (``arg:drill_amount``): no clash with the
command line's own (``json``, ``sandbox``, ...)."""

NULL = "null"

_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?\Z", re.ASCII)
_INTEGER = re.compile(r"[+-]?[0-9]+\Z", re.ASCII)
_BOOLEANS = {"true": True, "false": False}

_METAVARS = {
    "money": "AMOUNT",
    "timestamp": "TIMESTAMP",
    "datetime": "TIMESTAMP",
    "date": "DATE",
    "integer": "N",
    "boolean": "true|false",
    "object": "JSON",
    "json": "JSON",
}

_HINTS = {
    "money": "an exact amount such as 12.95",
    "timestamp": "ISO 8601 with an offset, such as 2025-05-12T10:00:00+02:00",
    "datetime": "ISO 8601 with an offset, such as 2025-05-12T10:00:00+02:00",
    "date": "YYYY-MM-DD",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a JSON object",
    "json": "JSON",
}


def help_text(text: str) -> str:
    """Text for an argparse ``help=``: one line (argparse wraps it), terminal-safe, ``%``
    escaped (argparse formats help strings)."""
    return terminal_safe(" ".join(text.split())).replace("%", "%%")


def prose(text: str) -> str:
    """Text for an argparse ``description=``/``epilog=``: its lines kept, each made
    terminal-safe; ``%`` escaped only where argparse would format it (a text holding
    ``%(prog)``)."""
    safe = "\n".join(terminal_safe(line) for line in text.replace("\r\n", "\n").split("\n"))
    return safe.replace("%", "%%") if "%(prog)" in safe else safe


def _shown(text: str) -> str:
    return terminal_safe(repr(text if len(text) <= 60 else text[:57] + "..."))


def _money(text: str) -> Decimal:
    if not _DECIMAL.match(text):
        raise argparse.ArgumentTypeError(
            f"not an exact amount such as 12.95 (digits with one '.'; no ',', exponent or "
            f"spaces): {_shown(text)}"
        )
    return Decimal(text)


def _timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 timestamp such as 2025-05-12T10:00:00+02:00: {_shown(text)}"
        ) from None
    if value.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"{_shown(text)} has no offset; add one (such as +02:00, or Z for UTC) so that "
            "the time is not guessed"
        )
    return value


def _date(text: str) -> date:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text, re.ASCII):
        raise argparse.ArgumentTypeError(f"not a date such as 2025-05-12: {_shown(text)}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date such as 2025-05-12: {_shown(text)}") from None


def _integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise argparse.ArgumentTypeError(f"not a whole number: {_shown(text)}")
    try:
        return int(text)
    except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
        raise argparse.ArgumentTypeError(f"a whole number too long: {_shown(text)}") from None


def _boolean(text: str) -> bool:
    value = _BOOLEANS.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"not true or false: {_shown(text)}")
    return value


def _json(text: str) -> Any:
    try:
        return loads(text)
    except DecodeError as error:
        raise argparse.ArgumentTypeError(
            f"not valid JSON ({terminal_safe(str(error))}): {_shown(text)}"
        ) from None


def _object(text: str) -> Any:
    value = _json(text)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(
            f'not a JSON object such as {{"name": "Ada"}}: {_shown(text)}'
        )
    return value


_READERS: dict[str, Callable[[str], Any]] = {
    "id": str,
    "text": str,
    "money": _money,
    "timestamp": _timestamp,
    "datetime": _timestamp,
    "date": _date,
    "integer": _integer,
    "boolean": _boolean,
    "object": _object,
    "json": _json,
}


def convert(arg: Arg) -> Callable[[str], Any]:
    """The argparse ``type=`` of ``arg``: text -> the value the client's method takes."""
    read = _READERS[arg.kind]

    def value(text: str) -> Any:
        if arg.nullable and text == NULL:
            return None
        result = read(text)
        if arg.choices and not any(
            result == choice and type(result) is type(choice) for choice in arg.choices
        ):
            known = ", ".join(str(choice) for choice in arg.choices)
            raise argparse.ArgumentTypeError(
                f"must be one of {terminal_safe(known)}: {_shown(text)}"
            )
        return result

    value.__name__ = arg.kind  # argparse names the type in its fallback message
    return value


def _help(arg: Arg) -> str:
    parts = [arg.help.strip()] if arg.help.strip() else []
    hint = _HINTS.get(arg.kind)
    if arg.choices:
        hint = "one of " + ", ".join(str(choice) for choice in arg.choices)
    if hint:
        parts.append(hint)
    if arg.repeat:
        parts.append("repeat the option for each item")
    if arg.nullable:
        parts.append(f"{NULL} sends null")
    if arg.where == "header":
        parts.append("sent as a header")
    return help_text("; ".join(parts))


def add_arguments(parser: argparse.ArgumentParser, args: Sequence[Arg]) -> None:
    """``args`` on ``parser``: path parameters positional, the rest ``--options``."""
    for arg in args:
        dest = DEST_PREFIX + arg.dest
        if arg.where == "path":
            parser.add_argument(dest, metavar=arg.flag, type=convert(arg), help=_help(arg))
            continue
        parser.add_argument(
            f"--{arg.flag}",
            dest=dest,
            type=convert(arg),
            action="append" if arg.repeat else "store",
            required=arg.required,
            default=argparse.SUPPRESS,
            metavar="CHOICE" if arg.choices else _METAVARS.get(arg.kind, "TEXT"),
            help=_help(arg),
        )


def collected(
    namespace: argparse.Namespace, args: Sequence[Arg]
) -> tuple[list[Any], dict[str, Any]]:
    """(positional, keyword) arguments of the client's method: the options not given are
    left out (the method's defaults: not sent)."""
    values = vars(namespace)
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for arg in args:
        key = DEST_PREFIX + arg.dest
        if key not in values:
            continue
        value = values[key]
        if arg.repeat and arg.nullable and value == [None]:
            value = None  # --labels null: the whole array is null
        if arg.where == "path":
            positional.append(value)
        else:
            keywords[arg.dest] = value
    return positional, keywords
