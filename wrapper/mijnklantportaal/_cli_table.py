"""The records of the command line's generated table (``_generated/commands.py``).

``./generate.sh`` (``tools/gen_cli.py``) writes one ``Resource`` per resource of the client,
holding one ``Command`` per operation and, for a resource that can be read by id or walked
page by page, its ``Export``. They are plain data: the handwritten ``cli`` builds the parser
from them (``_cli_args``), calls ``client.<attribute>.<method>(...)`` with the values, and
prints the answer (``_render``). Text taken from the spec (summaries, descriptions, tags) is
as the spec wrote it: whoever shows it makes it terminal-safe first.
"""

from __future__ import annotations

from typing import Literal

import attrs

__all__ = ["Answer", "Arg", "Command", "Export", "Kind", "Resource", "Where"]

Kind = Literal[
    "id", "text", "integer", "boolean", "money", "timestamp", "datetime", "date", "object", "json"
]
"""How a value given on the command line is read (``_cli_args.convert``):

- ``id``: a path parameter, passed as given (the client checks its prefix and characters);
- ``text``; ``integer`` (whole digits); ``boolean`` (``true``/``false``);
- ``money``: an exact ``Decimal`` (plain digits, such as ``12.95``; never a float);
- ``timestamp``/``datetime``: an aware ``datetime`` (ISO 8601 with an offset or ``Z``);
- ``date``: ``YYYY-MM-DD``;
- ``object``: a JSON object (a nested body object); ``json``: any JSON value (an untyped one).
"""

Where = Literal["path", "query", "header", "body"]

Answer = Literal["model", "models", "page", "none", "json"]
"""What an operation answers: one model, an array of models, a page of the vendor's page
envelope (walked page by page), no content (204), or JSON the spec gives no schema."""


@attrs.frozen
class Arg:
    """One argument of an operation: a positional path parameter, or an ``--option``."""

    dest: str
    """The keyword (or positional) argument of the client's method (``drill_amount``)."""
    flag: str
    """The option without its dashes (``drill-amount``), or the positional's metavar."""
    where: Where
    kind: Kind
    required: bool
    help: str = ""
    """The spec's description, as written."""
    choices: tuple[str | int, ...] = ()
    """An enum's values: anything else is refused before sending."""
    repeat: bool = False
    """An array: the option may be given several times, one item each."""
    nullable: bool = False
    """The spec allows null: the word ``null`` sends it."""


@attrs.frozen
class Command:
    """``mijnklantportaal <resource> <name>``: one operation of the spec."""

    name: str
    """The command (``delete-reply``): the method's name in kebab-case."""
    method: str
    """The client's method (``delete_reply``)."""
    operation_id: str
    http_method: str
    path: str
    summary: str
    description: str
    answer: Answer
    model: str | None
    """The schema of the answer (of each item, for ``models`` and ``page``)."""
    write: bool
    """POST, PUT, PATCH or DELETE: it takes ``--idempotency-key``."""
    args: tuple[Arg, ...] = ()
    page_argument: str | None = None
    """For ``page``: the method's page-number argument (``--page N`` asks that page only)."""


@attrs.frozen
class Export:
    """``mijnklantportaal <resource> <name> IDS_FILE|--all --out OUT.jsonl``."""

    name: str
    """``export`` (or ``export-<what>`` for a second get-by-id operation of the resource)."""
    noun: str
    """What the lines are, plural, for messages (``invoices``, ``drill tickets``)."""
    what: str
    """One of them (``invoice``, ``drill ticket``)."""
    schema: str | None
    """The schema a line holds; the sandbox answers its example under each id."""
    get_many: str | None
    """The bulk get-by-id method (``get_many``), or None when the resource has none."""
    id_prefix: str = ""
    """The prefix of the ids it reads (``fac_``), when the map knows one."""
    list_method: str | None = None
    """The page list ``--all`` walks (``list``), or None when there is none."""
    list_operation: str | None = None
    page_argument: str | None = None
    filters: tuple[Arg, ...] = ()
    """The list's own options (not the page number), which ``--all`` takes too."""


@attrs.frozen
class Resource:
    """``mijnklantportaal <name> ...``: the operations of one tag (``client.<attribute>``)."""

    name: str
    """The command (``drill-tickets``): the client's attribute in kebab-case."""
    attribute: str
    tag: str
    commands: tuple[Command, ...]
    exports: tuple[Export, ...] = ()
