r"""The ``mijnklantportaal`` command line (also ``python -m mijnklantportaal``).

    mijnklantportaal invoices get fac_abc12345def678 --sandbox    # no key needed
    mijnklantportaal invoices get fac_... [--json]                  # MIJNKLANTPORTAAL_API_KEY
    mijnklantportaal RESOURCE COMMAND [ID ...] [--option VALUE ...] [--json] [--sandbox]
    mijnklantportaal RESOURCE export IDS_FILE|--all --out out.jsonl [--sandbox] [--redis URL]
    mijnklantportaal sandbox [--host 127.0.0.1] [--port N]          # the fake over HTTP

One command per operation of the spec, from the table ``./generate.sh`` writes
(``_generated/commands.py``): the resource and command are the client's attribute and method
in kebab-case (``client.drill_tickets.delete_reply`` is ``drill-tickets delete-reply``), path
parameters are positional, everything else an ``--option`` read exactly before anything is
sent (``_cli_args``), and the answer is printed as a table or JSON (``_render``). Every
resource that can be read by id or walked page by page has an export (``_export``). What is
handwritten here is what all commands share: building the client, printing, errors and exit
codes.

Errors are one line on stderr. Everything the server sent is made safe for a terminal before
it is printed: control, format (bidi) and unpaired surrogate characters appear as backslash
escapes (``\x1b``, ``\u202e``, ``\ud800``) in the table and in error lines, and as JSON
``\uXXXX`` escapes with ``--json``, which stays valid JSON.

Exit status, one per kind of failure (the same table is in ``--help`` and the README):

    0    success
    1    the API refused the request (a 4xx not listed below, such as 400, 409 or 422)
    2    usage: a bad command line or argument, including a malformed id
    3    configuration: no or unusable API key, bad or unsafe base URL, cannot listen
    4    not found (404)
    5    authentication or permission (401, 403)
    6    rate limited (429, still after the retries)
    7    network: no response (refused, DNS, TLS, timeout)
    8    server fault: 5xx, or an answer that does not fit the API
    9    the output could not be written (disk full, closed pipe)
    10   export finished, but some ids failed (listed in OUT.errors.jsonl)
    130  interrupted (Ctrl+C; stopping the sandbox that way is a success, 0)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import signal
import sys
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import attrs

from mijnklantportaal._cli_args import add_arguments, collected, help_text, prose
from mijnklantportaal._cli_table import Command, Export, Resource
from mijnklantportaal._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_EXPORT_CONCURRENCY,
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_WINDOW,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
    MAX_EXPORT_RATE_WINDOW,
    REDIS_SOCKET_TIMEOUT,
)
from mijnklantportaal._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    AuthenticationError,
    ConfigurationError,
    InternalServerError,
    InvalidArgumentError,
    MijnKlantportaalError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)
from mijnklantportaal._models import jsonable
from mijnklantportaal._render import json_line, render_record, render_rows
from mijnklantportaal._text import PROG, json_escape, json_safe, terminal_safe
from mijnklantportaal._version import __version__

if TYPE_CHECKING:
    from mijnklantportaal import MijnKlantportaal
    from mijnklantportaal._export import ExportFile, ExportResult, PageState
    from mijnklantportaal.testing import FakeMijnKlantportaal

__all__ = ["main"]


EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_NOT_FOUND = 4
EXIT_AUTH = 5
EXIT_RATE_LIMITED = 6
EXIT_NETWORK = 7
EXIT_SERVER = 8
EXIT_OUTPUT = 9
EXIT_EXPORT_FAILURES = 10
EXIT_INTERRUPTED = 130

EXIT_CODES: tuple[tuple[int, str], ...] = (
    (EXIT_OK, "success"),
    (EXIT_API, "the API refused the request (a 4xx not listed below, such as 400, 409 or 422)"),
    (EXIT_USAGE, "usage: a bad command line or argument, including a malformed id"),
    (EXIT_CONFIG, "configuration: no or unusable API key, bad or unsafe base URL, cannot listen"),
    (EXIT_NOT_FOUND, "not found (404)"),
    (EXIT_AUTH, "authentication or permission (401, 403)"),
    (EXIT_RATE_LIMITED, "rate limited (429, still after the retries)"),
    (EXIT_NETWORK, "network: no response (refused, DNS, TLS, timeout)"),
    (EXIT_SERVER, "server fault: 5xx, or an answer that does not fit the API"),
    (EXIT_OUTPUT, "the output could not be written (disk full, closed pipe)"),
    (EXIT_EXPORT_FAILURES, "export finished, but some ids failed (listed in OUT.errors.jsonl)"),
    (EXIT_INTERRUPTED, "interrupted (Ctrl+C; stopping the sandbox that way is a success, 0)"),
)

# The options the command line gives its commands itself (without the dashes), and its
# commands besides the resources. tools/gen_cli.py reads both from this source: an option of an
# operation that would be one of these gets "-param" appended (``?timeout=`` is
# ``--timeout-param``), and a resource named like a command is refused.
OWN_OPTIONS = (
    "h",
    "help",
    "version",
    "json",
    "sandbox",
    "api-key",
    "base-url",
    "allow-insecure-http",
    "timeout",
    "progress",
    "quiet",
    "idempotency-key",
    "out",
    "all",
    "redis",
    "rate-limit",
    "rate-window",
    "concurrency",
)
OWN_COMMANDS = ("sandbox",)

# What the in-process sandbox's requests are addressed to (RFC 2606: never resolves).
SANDBOX_BASE_URL = "https://sandbox.invalid/v1"

# --timeout above this is a mistake on the command line (a value meant in milliseconds, say).
MAX_TIMEOUT_SECONDS = 3600.0


class _Failure(Exception):
    """An error to report as one line on stderr, with its exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _OutputError(Exception):
    """Writing to stdout failed: the disk is full, the pipe closed, or stdout is closed."""


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(only=words[0] if words else "")
    args = parser.parse_args(words)
    try:
        code: int = args.run(args)
        return code
    except _Failure as error:
        return _fail(str(error), error.exit_code)
    except MijnKlantportaalError as error:
        return _fail(str(error), exit_code_for(error))
    except _OutputError as error:
        _silence_stdout()
        return _fail(str(error), EXIT_OUTPUT)
    except KeyboardInterrupt:
        _print_error(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED


def exit_code_for(error: MijnKlantportaalError) -> int:
    """The documented exit status for an error of the client (see the module docstring)."""
    if isinstance(error, InvalidArgumentError):
        return EXIT_USAGE
    if isinstance(error, ConfigurationError):
        return EXIT_CONFIG
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(error, RateLimitError):
        return EXIT_RATE_LIMITED
    if isinstance(error, APIConnectionError):
        return EXIT_NETWORK
    if isinstance(error, InternalServerError | APIResponseValidationError):
        return EXIT_SERVER
    return EXIT_API


def _fail(message: str, exit_code: int) -> int:
    _print_error(f"{PROG}: error: {terminal_safe(' '.join(message.split()))}")
    return exit_code


def _print_error(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass  # stderr is closed or full too: the exit status is all that is left


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so that the interpreter's final flush of what is still
    buffered cannot fail (and print a traceback) after the one-line error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass


def _write(text: str, *, is_json: bool = False) -> None:
    """Write ``text`` and a newline to stdout and flush, raising ``_OutputError`` when it
    cannot be written. Characters the output encoding lacks are escaped, never an error."""
    stream = sys.stdout
    if stream is None:
        raise _OutputError("cannot write the output: stdout is closed")
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        data = (text + "\n").encode(encoding)
    except UnicodeEncodeError:
        if is_json:  # \\xNN is not JSON: fall back to ASCII with \\uXXXX escapes
            data = _ascii_json(text).encode("ascii") + b"\n"
        else:
            data = (text + "\n").encode(encoding, "backslashreplace")
    try:
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            stream.write(data.decode(encoding))
            stream.flush()
        else:
            stream.flush()
            buffer.write(data)
            buffer.flush()
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise _OutputError(f"cannot write the output: {reason}") from None


def _ascii_json(text: str) -> str:
    return "".join(char if ord(char) < 0x7F else json_escape(char) for char in text)


# -- arguments ------------------------------------------------------------------------------


def _exit_status_epilog() -> str:
    rows = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES)
    return f"exit status:\n{rows}"


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line. With ``only`` (the first word of the command line), the commands of
    that resource alone are built, the other resources only named: a spec with hundreds of
    operations does not build hundreds of parsers to run one (``None``: all of them)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Command line for the MijnKlantportaal API: one command per operation of\n"
        "the spec (mijnklantportaal RESOURCE COMMAND; see RESOURCE --help), an export per\n"
        "resource (RESOURCE export), and a sandbox to try them in.",
        epilog=f"The API key comes from ${API_KEY_ENV} (or --api-key). "
        "Try it without one: mijnklantportaal invoices get fac_abc12345def678 --sandbox\n\n"
        + _exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(run=lambda _args: _usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    for resource in _resources():
        _add_resource(commands, resource, with_commands=only in (None, resource.name))

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the fake API over HTTP, for several commands",
        description="Serve the fake MijnKlantportaal API (holding the spec's examples) over HTTP "
        "until interrupted; prints the base URL and a key that works. Point commands at it "
        f"with ${BASE_URL_ENV} and ${API_KEY_ENV} (or --base-url and --api-key): what one "
        "command creates, the next one reads.",
        epilog=_exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    sandbox.add_argument("--port", type=_port, default=0, help="port (default: 0, a free one)")
    sandbox.add_argument(
        "--api-key",
        metavar="KEY",
        help="the key to accept (default: a generated one)",
    )
    sandbox.add_argument(
        "--rate-limit",
        type=_rate_limit,
        default=60,
        metavar="N",
        help="requests per minute; 0 turns it off (default: 60)",
    )
    sandbox.add_argument(
        "--money-as",
        choices=("number", "string"),
        default="number",
        help="how money is sent (default: number)",
    )
    sandbox.set_defaults(run=_sandbox)
    return parser


def _resources() -> tuple[Resource, ...]:
    """The generated table: one resource per tag of the spec, one command per operation."""
    from mijnklantportaal._generated.commands import RESOURCES

    return RESOURCES


def _add_resource(commands: Any, resource: Resource, *, with_commands: bool = True) -> None:
    """``mijnklantportaal <resource> ...``: its commands, then its exports."""
    parser = commands.add_parser(
        resource.name,
        help=help_text(f"the {resource.tag} (client.{resource.attribute})"),
        description=prose(f"The operations of the {resource.tag} (client.{resource.attribute})."),
    )
    parser.set_defaults(run=lambda _args: _usage(parser))
    if not with_commands:
        return
    inner = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in resource.commands:
        _add_command(inner, resource, command)
    for export in resource.exports:
        _add_export(inner, resource, export)


def _add_command(inner: Any, resource: Resource, command: Command) -> None:
    summary, details = command.summary.strip(), command.description.strip()
    where = f"{command.http_method} {command.path} ({command.operation_id})"
    parts = [summary, details if details != summary else "", where]
    description = "\n\n".join(part for part in parts if part)
    parser = inner.add_parser(
        command.name,
        help=help_text(summary or command.operation_id),
        description=prose(description),
        epilog=_exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    add_arguments(parser, command.args)
    answers = {
        "page": "print JSON: one object per line, every page",
        "models": "print JSON: one object per line",
        "none": "print JSON (null: the answer has no content)",
    }
    parser.add_argument(
        "--json", action="store_true", help=answers.get(command.answer, "print JSON")
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="ask an in-process fake API holding the spec's examples (no key needed)",
    )
    if command.write:
        parser.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="sent as Idempotency-Key; with it the write is retried on timeouts and 5xx",
        )
    _add_client_options(parser)
    _add_retry_progress(parser)
    parser.set_defaults(run=_run_command, resource=resource, command=command)


def _add_retry_progress(parser: argparse.ArgumentParser) -> None:
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="say on stderr when waiting to retry (default: only when stderr is a terminal)",
    )
    progress.add_argument(
        "--quiet",
        dest="progress",
        action="store_false",
        help="never say when waiting to retry",
    )


def _add_export(inner: Any, resource: Resource, export: Export) -> None:
    what, noun = export.what, export.noun
    modes = []
    if export.get_many is not None:
        modes.append(
            f"Fetch every {what} listed in IDS_FILE and append one JSON line per {what} "
            "(money as strings) to OUT."
        )
    if export.list_method is not None:
        modes.append(
            f"With --all, walk the list of {noun} page by page ({resource.name} "
            f"{_command_of(resource, export.list_method)}, its filters included) and append every "
            f"{what} to OUT; the pages done are recorded in OUT.pages.json, and a rerun goes "
            "on from the page after the last one done. An item already in OUT is never "
            "written again."
        )
    description = (
        " ".join(modes) + "\n\n"
        "Resumable: a rerun skips what is already in OUT and retries what failed; Ctrl+C or\n"
        "kill leaves only whole lines. Failures go to OUT.errors.jsonl (out.jsonl ->\n"
        f"out.errors.jsonl) and give exit status {EXIT_EXPORT_FAILURES}. Progress goes to "
        "stderr: a bar on a\nterminal, else a line every few seconds.\n\n"
        "OUT must be new, empty, or written by this command (each line a JSON object with\n"
        f'an "id"); any other file is refused and left unchanged (exit {EXIT_USAGE}), and so '
        "is an\nOUT.errors.jsonl this command did not write. One export at a time per OUT: "
        "a second\none to the same OUT is refused while the first runs (exit "
        f"{EXIT_OUTPUT})."
    )
    parser = inner.add_parser(
        export.name,
        help=help_text(f"export {noun} to a JSON lines file (resumable)"),
        description=prose(description),
        epilog=_exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    if export.get_many is not None:
        parser.add_argument(
            "ids_file",
            metavar="IDS_FILE",
            nargs="?" if export.list_method is not None else None,
            help=help_text(
                f"one {what} id per line (blank lines and # comments skipped); - reads stdin"
            ),
        )
    if export.list_method is not None:
        parser.add_argument(
            "--all",
            action="store_true",
            required=export.get_many is None,
            help=help_text(f"export every {what} of the list, page by page"),
        )
        add_arguments(parser, export.filters)
    parser.add_argument(
        "--out",
        required=True,
        metavar="OUT.jsonl",
        help="the JSON lines file to append to: new, or one this command wrote",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=help_text(
            f"export from an in-process fake API (no key needed, no rate limit) that holds "
            f"the spec's example {what}"
            + (
                f" under every {export.id_prefix}".rstrip() + " id in IDS_FILE"
                if export.get_many
                else ""
            )
        ),
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="share the API key's rate budget with every process using this Redis "
        "(redis://host:6379/0; needs mijnklantportaal[redis]). The export refuses to start "
        f"(exit {EXIT_CONFIG}) when a PING to it fails; if Redis goes away later, it goes on "
        "under an in-process budget and says so on stderr",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="N",
        type=_budget_limit,
        default=DEFAULT_RATE_LIMIT,
        help=f"requests the key may start per window (default: {DEFAULT_RATE_LIMIT}, the API's)",
    )
    parser.add_argument(
        "--rate-window",
        metavar="SECONDS",
        type=_budget_window,
        default=DEFAULT_RATE_WINDOW,
        help=f"the rolling window of --rate-limit (default: {DEFAULT_RATE_WINDOW:g}); every "
        "process sharing a --redis budget must give the same two",
    )
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=_concurrency,
        default=DEFAULT_EXPORT_CONCURRENCY,
        help=f"calls at once, 1 to {MAX_CONCURRENCY} (default: {DEFAULT_EXPORT_CONCURRENCY})",
    )
    _add_client_options(parser)
    export_progress = parser.add_mutually_exclusive_group()
    export_progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show progress on stderr (the default): a bar on a terminal, else a line every "
        "few seconds",
    )
    export_progress.add_argument(
        "--quiet", dest="progress", action="store_false", help="show no progress"
    )
    parser.set_defaults(run=_run_export, resource=resource, export=export)


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help=f"API key (default: ${API_KEY_ENV}; prefer the variable)",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API base URL (default: ${BASE_URL_ENV} or {DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL to a host that is not this machine "
        "(the key then travels in clear text)",
    )
    parser.add_argument(
        "--timeout", metavar="SECONDS", type=_timeout, help="per-request timeout in seconds"
    )


def _usage(parser: argparse.ArgumentParser) -> NoReturn:
    parser.print_usage(sys.stderr)
    parser.exit(EXIT_USAGE, f"{parser.prog}: error: a command is required (see --help)\n")


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS:g}: {text!r}"
        )
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be within 0..65535: {text!r}")
    return value


def _rate_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"must be 0 (off) or a positive number of requests per minute: {text!r}"
        )
    return value


def _budget_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 request per window: {text!r}")
    return value


def _budget_window(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value <= MAX_EXPORT_RATE_WINDOW:
        raise argparse.ArgumentTypeError(
            f"must be a number of seconds above 0 and at most {MAX_EXPORT_RATE_WINDOW:g}: {text!r}"
        )
    return value


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CONCURRENCY}: {text!r}")
    return value


def _checked_api_key(key: str | None) -> str | None:
    """``--api-key`` as given, or a one-line usage error. The value is never echoed: it is
    meant to be a secret, even a malformed one."""
    if key is None:
        return None
    if not key.strip():
        raise _Failure(f"--api-key is empty; leave it out to use ${API_KEY_ENV}", EXIT_USAGE)
    if not key.isprintable() or key != key.strip():
        raise _Failure(
            "--api-key holds whitespace or control characters; check how it was pasted",
            EXIT_USAGE,
        )
    return key


# -- one operation ----------------------------------------------------------------------------


def _run_command(args: argparse.Namespace) -> int:
    """Any operation: its arguments from the command line, the call on the client, the
    answer printed (``_print_answer``). In the sandbox, a 404 names what the sandbox holds."""
    resource: Resource = args.resource
    command: Command = args.command
    positional, keywords = collected(args, command.args)
    if command.write and args.idempotency_key is not None:
        keywords["idempotency_key"] = args.idempotency_key
    progress = (
        sys.stderr is not None and sys.stderr.isatty() if args.progress is None else args.progress
    )
    sandbox = _Sandbox.start() if args.sandbox else None
    fake = sandbox.fake if sandbox is not None else None
    with _client(args, fake) as client, _retry_progress(progress):
        method = getattr(getattr(client, resource.attribute), command.method)
        try:
            _print_answer(command, method(*positional, **keywords), positional, keywords, args.json)
        except NotFoundError as error:
            if sandbox is None:
                raise
            raise _Failure(sandbox.not_found(command, positional, error), EXIT_NOT_FOUND) from error
    return EXIT_OK


def _print_answer(
    command: Command,
    answer: Any,
    positional: Sequence[Any],
    keywords: dict[str, Any],
    as_json: bool,
) -> None:
    """A model as a table (or indented JSON); a page list every item of every page (only the
    page asked for with ``--page``), as one table or one JSON object per line as the pages
    come; no content as a line saying it is done (``null`` with ``--json``)."""
    title = command.model or command.operation_id
    if command.answer == "page":
        items = answer.data if command.page_argument in keywords else answer
        _print_items(title, items, as_json)
    elif command.answer == "models":
        _print_items(title, answer, as_json)
    elif command.answer == "none":
        if as_json:
            _write("null", is_json=True)
        else:
            _write(f"Done: {_request_line(command, positional)} (no content).")
    elif command.answer == "model":
        data = answer.to_dict()
        if as_json:
            _write(json_safe(data), is_json=True)
        else:
            _write(render_record(title, data))
    else:
        _write(json_safe(jsonable(answer)), is_json=True)


def _print_items(title: str, items: Iterable[Any], as_json: bool) -> None:
    if as_json:
        for item in items:  # each line as its page comes
            _write(json_line(item.to_dict()), is_json=True)
        return
    _write(render_rows(title, [item.to_dict() for item in items]))


def _request_line(command: Command, positional: Sequence[Any]) -> str:
    """``DELETE /drill-tickets/dtk_1/replies/drp_2``: the path with the ids given."""
    values = iter(positional)
    path = re.sub(r"\{[^{}]*\}", lambda _: str(next(values, "?")), command.path)
    return terminal_safe(f"{command.http_method} {path}")


@attrs.frozen
class _Sandbox:
    """The in-process fake of ``--sandbox``, holding the spec's example of each resource
    that has an export (a get by id or a page list): ``held`` names their ids per schema."""

    fake: FakeMijnKlantportaal
    held: dict[str, list[str]]

    @classmethod
    def start(cls, **options: Any) -> _Sandbox:
        from mijnklantportaal.testing import FakeMijnKlantportaal

        fake = FakeMijnKlantportaal(**options)
        return cls(fake, _add_examples(fake))

    def not_found(self, command: Command, positional: Sequence[Any], error: Exception) -> str:
        held = self.held.get(command.model or "")
        if command.http_method == "GET" and len(positional) == 1 and held is not None:
            what = _schema_words(str(command.model))
            return (
                f"{what} {positional[0]!r} is not in the sandbox (--sandbox, the bundled fake "
                f"API); it holds only {', '.join(held) or f'no {what}s'}. Drop --sandbox to ask "
                "the real API with your key."
            )
        examples = ", ".join(i for ids in self.held.values() for i in ids) or "none"
        return (
            f"{error}. The sandbox (--sandbox, the bundled fake API) holds only the spec's "
            f"examples ({examples}). Drop --sandbox to ask the real API with your key."
        )


def _add_examples(fake: FakeMijnKlantportaal) -> dict[str, list[str]]:
    """Store the spec's example of each schema an export reads (``EXAMPLES``, built by
    ./generate.sh from the spec's examples) in ``fake``; their ids per schema."""
    from mijnklantportaal._generated.examples import EXAMPLES

    held: dict[str, list[str]] = {}
    for resource in _resources():
        for export in resource.exports:
            example = EXAMPLES.get(export.schema or "")
            if example is None or export.schema in held:
                continue
            schema = str(export.schema)
            held[schema] = [fake.add(schema, example)] if isinstance(example.get("id"), str) else []
    return held


def _command_of(resource: Resource, method: str) -> str:
    """The command of the client's ``method`` in ``resource`` (``list`` -> ``list``)."""
    return next(command.name for command in resource.commands if command.method == method)


def _schema_words(schema: str) -> str:
    """``DrillTicket`` -> ``drill ticket``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", schema).lower()


def _client(
    args: argparse.Namespace, fake: FakeMijnKlantportaal | None, **options: Any
) -> MijnKlantportaal:
    from mijnklantportaal import MijnKlantportaal

    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if fake is not None:
        # A host that cannot exist, so no message names the real API's URL.
        return fake.client(base_url=SANDBOX_BASE_URL, timeout=timeout, **options)
    api_key = _checked_api_key(args.api_key) or os.environ.get(API_KEY_ENV)
    if not api_key or not api_key.strip():
        raise _Failure(
            f"no API key: set {API_KEY_ENV} (or pass --api-key KEY) to use the API, "
            "or add --sandbox to try the bundled sandbox without a key",
            EXIT_CONFIG,
        )
    try:
        return MijnKlantportaal(
            api_key=api_key,
            base_url=args.base_url,
            timeout=timeout,
            allow_insecure_http=args.allow_insecure_http,
            **options,
        )
    except ConfigurationError as error:
        base_url = args.base_url if args.base_url is not None else os.environ.get(BASE_URL_ENV)
        if not args.allow_insecure_http and _is_plain_http(base_url) and "http://" in str(error):
            raise _Failure(
                f"the base URL {base_url!r} uses plain http:// to a host that is not this "
                "machine, which would send the API key in clear text. Use https://, or add "
                "--allow-insecure-http if you really mean it.",
                EXIT_CONFIG,
            ) from None
        raise


def _is_plain_http(url: str | None) -> bool:
    return url is not None and url.strip().lower().startswith("http://")


class _RetryProgress(logging.Handler):
    """Says on stderr when the client waits before a retry: the client logs each one on the
    ``mijnklantportaal`` logger with ``mijnklantportaal_retry_delay`` (seconds) and
    ``mijnklantportaal_retry_status`` (the HTTP status, ``None`` when no response came)."""

    def __init__(self, max_retries: int) -> None:
        super().__init__(logging.INFO)
        self.max_retries = max_retries
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        delay = getattr(record, "mijnklantportaal_retry_delay", None)
        if not isinstance(delay, int | float):
            return
        status = getattr(record, "mijnklantportaal_retry_status", None)
        if getattr(record, "mijnklantportaal_retry_counted", True) is False:
            # A 429 under the rate budget: waited for within max_rate_wait, not a retry.
            _print_error(f"{PROG}: waiting {round(delay, 1):g} s ({_retry_reason(status)})")
            return
        self.retries += 1
        _print_error(
            f"{PROG}: waiting {round(delay, 1):g} s ({_retry_reason(status)}), "
            f"retry {self.retries} of {self.max_retries}"
        )


def _retry_reason(status: object) -> str:
    if not isinstance(status, int):
        return "no response"
    if status == 429:
        return "HTTP 429 rate limited"
    if status >= 500:
        return f"HTTP {status} server error"
    return f"HTTP {status}"


@contextlib.contextmanager
def _retry_progress(enabled: bool) -> Iterator[None]:
    """While active (and ``enabled``), the client's retry waits are reported on stderr."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("mijnklantportaal")
    handler = _RetryProgress(DEFAULT_MAX_RETRIES)
    level = logger.level
    logger.addHandler(handler)
    if not logger.isEnabledFor(logging.INFO):
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# -- exports --------------------------------------------------------------------------------


def _run_export(args: argparse.Namespace) -> int:
    """``<resource> export IDS_FILE`` (``_export.run_export`` over the bulk get) or
    ``--all`` (``_export.run_page_export`` over the page list). An interrupted run ends the
    process (``_end_interrupted``)."""
    from mijnklantportaal import _export

    export: Export = args.export
    walk = getattr(args, "all", False)
    ids_file = getattr(args, "ids_file", None)
    if walk == (ids_file is not None):
        raise _Failure("give IDS_FILE or --all, one of them", EXIT_USAGE)
    _, filters = collected(args, export.filters)
    if filters and not walk:
        shown = ", ".join(f"--{arg.flag}" for arg in export.filters if arg.dest in filters)
        raise _Failure(
            f"{shown} filter the list of --all; leave them out with IDS_FILE", EXIT_USAGE
        )
    if args.out == "-":
        raise _Failure(
            "--out must name a file: the export appends to it and reads it back to resume",
            EXIT_USAGE,
        )
    out = Path(args.out)
    if out.name in ("", ".", ".."):  # its errors (and pages) file goes beside it
        raise _Failure(f"--out must name a file, not {args.out!r}", EXIT_USAGE)
    ids = None if walk else _export.read_ids(str(ids_file))
    # Read (and checked) before OUT is opened: a pages file that is not this walk's is refused
    # with OUT unchanged.
    try:
        state = (
            _export.PageState.read(out, str(export.list_operation), jsonable(filters))
            if walk
            else None
        )
    except OSError as error:
        raise _Failure(
            f"cannot read the pages file beside --out {args.out!r}: {error.strerror or error}",
            EXIT_OUTPUT,
        ) from None
    if args.redis is not None:
        _check_redis(args.redis)  # before OUT is opened, or anything sent
    try:
        target = _export.ExportFile(out, what=export.what)
    except OSError as error:
        raise _Failure(
            f"cannot open --out {args.out!r}: {error.strerror or error}", EXIT_OUTPUT
        ) from None
    where = terminal_safe(str(out))
    with target:
        if target.torn_bytes:
            _print_error(
                f"{PROG}: cut a torn last line ({target.torn_bytes} bytes) off {where}, "
                "left by an interrupted run; it is fetched again"
            )
        if state is not None:
            state.check(target)
            result = _export_pages(args, export, filters, target, state)
        else:
            assert ids is not None
            result = _export_ids(args, export, ids, target)
    if result is None:
        return EXIT_OK
    code = _export_outcome(result, target, export)
    if result.interrupted:
        _end_interrupted()
    return code


def _export_ids(
    args: argparse.Namespace, export: Export, ids: list[str], target: ExportFile
) -> ExportResult | None:
    """Every id of IDS_FILE not yet in OUT, through the resource's bulk get; None when there
    is nothing to fetch."""
    from mijnklantportaal import _export

    already = sum(1 for record_id in ids if record_id in target.done)
    if already == len(ids):
        if args.progress is not False:
            where = terminal_safe(str(target.path))
            held = f"all {already} ids are already in {where}" if ids else "no ids in IDS_FILE"
            _print_error(f"{PROG}: nothing to fetch: {held}")
        return None
    progress = _export.Progress(
        mode=_export_progress_mode(args.progress),
        stream=sys.stderr,
        total=len(ids),
        already=already,
        unit=f" {export.noun}",
    )
    fake = _export_sandbox(ids, export) if args.sandbox else None
    with _make_client(args, "bulk", fake) as client, _sigterm_as_interrupt():
        get_many = getattr(getattr(client, args.resource.attribute), str(export.get_many))

        def fetch(todo: Iterable[str]) -> Iterator[tuple[str, Any]]:
            pairs: Iterator[tuple[str, Any]] = get_many(todo, concurrency=args.concurrency)
            return pairs

        try:
            return _export.run_export(fetch, ids, target, progress)
        except OSError as error:
            raise _Failure(
                f"cannot write to {args.out!r} or its errors file: {error.strerror or error}",
                EXIT_OUTPUT,
            ) from None


def _export_pages(
    args: argparse.Namespace,
    export: Export,
    filters: dict[str, Any],
    target: ExportFile,
    state: PageState,
) -> ExportResult | None:
    """``--all``: the list walked from the page after the last one OUT.pages.json records
    as done; None when it records the walk as finished."""
    from mijnklantportaal import _export

    if state.next_page is None:
        if args.progress is not False:
            _print_error(
                f"{PROG}: nothing to fetch: every page of the list is already in "
                f"{terminal_safe(str(target.path))} ({terminal_safe(str(state.path))} says the "
                "walk finished); give another --out to export the list again"
            )
        return None
    progress = _export.Progress(
        mode=_export_progress_mode(args.progress),
        stream=sys.stderr,
        total=None,
        already=len(target.done),
        unit=f" {export.noun}",
    )
    sandbox = _Sandbox.start(rate_limit=None) if args.sandbox else None
    fake = sandbox.fake if sandbox is not None else None
    with _make_client(args, "bulk", fake) as client, _sigterm_as_interrupt():
        walk = getattr(getattr(client, args.resource.attribute), str(export.list_method))

        def fetch_page(number: int) -> Any:
            return walk(**filters, **{str(export.page_argument): number})

        try:
            return _export.run_page_export(fetch_page, target, state, progress)
        except OSError as error:
            raise _Failure(
                f"cannot write to {args.out!r} or {str(state.path)!r}: {error.strerror or error}",
                EXIT_OUTPUT,
            ) from None


def _check_redis(url: str) -> None:
    """Refuse to start an export whose ``--redis`` cannot be used, with ``EXIT_CONFIG``.

    The budget would fall back to an in-process one and log it once, which is right when
    Redis goes away mid-run; at the start, though, the operator asked for a shared budget and
    would get a private one, pacing this process alone. So: one PING (connect, AUTH and
    SELECT as the URL says) with the budget's own socket timeout and no retries. The message
    names the URL without its user, password or query (``_redis_shown``)."""
    from mijnklantportaal import RedisRateBudget

    RedisRateBudget(url).close()  # the redis package is there and the URL parses (its messages)
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=0,
    )
    try:
        client.ping()
    except Exception as error:  # any failure of the PING means: not usable as given
        raise _Failure(
            f"cannot reach the --redis budget at {_redis_shown(url)}: "
            f"{_redis_reason(error, url)}. Start it or fix the URL, or leave --redis out to "
            "pace this export on its own",
            EXIT_CONFIG,
        ) from None
    finally:
        with contextlib.suppress(Exception):
            client.close()


def _redis_shown(url: str) -> str:
    """``url`` as scheme, host, port and path only: a user, a password (``:pw@`` or
    ``?password=``) and other query options are left out."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "the --redis URL"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def _redis_reason(error: BaseException, url: str) -> str:
    """The error's type and text, with any password from ``url`` masked (redis names only the
    host and port in its messages, but a message is not ours to trust)."""
    text = " ".join(str(error).split()).rstrip(".") or "no reason given"
    secrets: set[str] = set()
    with contextlib.suppress(ValueError):
        parts = urllib.parse.urlsplit(url)
        if parts.password:
            secrets.add(parts.password)
        for name, values in urllib.parse.parse_qs(parts.query).items():
            if name.lower() == "password":
                secrets.update(values)
    secrets |= {urllib.parse.unquote(secret) for secret in secrets}
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return f"{type(error).__name__}: {text}"


def _end_interrupted() -> NoReturn:
    """End the process now, with ``EXIT_INTERRUPTED``, without joining the bulk fetch's
    worker threads.

    After Ctrl+C the stream is closed and its pending calls are cancelled, but a worker
    thread whose call is already running cannot be stopped: it may sleep in the rate budget
    for up to ``max_rate_wait`` (60 s) before it would even send. The interpreter joins
    those threads at exit, so a plain return would keep the process alive that long after
    "interrupted". Nothing is lost by not waiting: OUT and the errors file are closed, and
    every line in them was written whole by this thread (one ``os.write`` each); the calls
    still running would only have been fetched again by the rerun anyway. So stdio is
    flushed and the process ends here. Only the export command does this.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(EXIT_INTERRUPTED)


def _export_progress_mode(progress: bool | None) -> Literal["bar", "lines", "off"]:
    if progress is False or sys.stderr is None:
        return "off"
    return "bar" if sys.stderr.isatty() else "lines"


def _export_outcome(result: ExportResult, target: ExportFile, export: Export) -> int:
    where = terminal_safe(str(target.path))
    if result.interrupted:
        if result.total is None:
            _print_error(
                f"{PROG}: interrupted: {result.already + result.exported} {export.noun} are in "
                f"{where}; run the same command again to go on from the page after the last "
                "one done"
            )
        else:
            _print_error(
                f"{PROG}: interrupted: {result.already + result.exported} of {result.total} "
                f"{export.noun} are in {where}; run the same command again to fetch the rest"
            )
        return EXIT_INTERRUPTED
    if result.failed:
        _print_error(
            f"{PROG}: {result.failed} of {result.total} ids failed, listed in "
            f"{terminal_safe(str(target.errors_path))}; run the same command again to retry them"
        )
        return EXIT_EXPORT_FAILURES
    return EXIT_OK


def _export_sandbox(ids: Sequence[str], export: Export) -> FakeMijnKlantportaal:
    """The fake with the spec's example of the export's schema under each id in ``ids`` with
    its prefix (each id, when the map knows no prefix); other ids get the fake's own answers
    (a malformed id is refused before anything is sent). No rate limit: the fake's window is
    a minute, and the API's 60 per minute would make a 5,000-id try-out take 83 minutes."""
    from mijnklantportaal._generated.examples import EXAMPLES
    from mijnklantportaal.testing import FakeMijnKlantportaal

    fake = FakeMijnKlantportaal(rate_limit=None)
    schema = str(export.schema)
    example = EXAMPLES.get(schema, {})
    for record_id in ids:
        if record_id.startswith(export.id_prefix):
            fake.add(schema, {**example, "id": record_id})
    return fake


@contextlib.contextmanager
def _make_client(
    args: argparse.Namespace,
    priority: Literal["interactive", "bulk"],
    fake: FakeMijnKlantportaal | None = None,
) -> Iterator[MijnKlantportaal]:
    """The client a command runs on, built in this one place: key, base URL, timeout, the
    rate budget and the priority of its calls. Both closed on exit.

    The budget: ``RedisRateBudget(URL)`` with ``--redis``; none for the sandbox (it has no
    rate limit, and a budget would pace it at 60 a minute); else an in-process
    ``LocalRateBudget``. ``--rate-limit``/``--rate-window`` (export) size either budget;
    a command without them gets the API's 60 per 60 s."""
    from mijnklantportaal import LocalRateBudget, RateBudget, RedisRateBudget

    limit = getattr(args, "rate_limit", DEFAULT_RATE_LIMIT)
    window = getattr(args, "rate_window", DEFAULT_RATE_WINDOW)
    redis_url = getattr(args, "redis", None)
    budget: RateBudget | None
    if redis_url is not None:
        budget = RedisRateBudget(redis_url, limit=limit, window=window)
    elif fake is not None:
        budget = None
    else:
        budget = LocalRateBudget(limit=limit, window=window)
    with _client(args, fake, rate_budget=budget) as client:
        try:
            yield client if priority == "interactive" else client.with_options(priority=priority)
        finally:
            if isinstance(budget, RedisRateBudget):
                budget.close()  # its connections to Redis; the client leaves a budget open


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While active, SIGTERM stops the command as Ctrl+C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- sandbox --------------------------------------------------------------------------------


def _sandbox(args: argparse.Namespace) -> int:
    try:
        sandbox = _Sandbox.start(
            api_key=_checked_api_key(args.api_key),
            rate_limit=args.rate_limit or None,
            money_as=args.money_as,
        )
    except ValueError as error:
        raise _Failure(str(error), EXIT_USAGE) from None
    fake = sandbox.fake
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server = fake.serve(args.host, args.port)
            base_url = server.__enter__()
        except (OSError, UnicodeError, TypeError, ValueError) as error:
            # OSError: the address; the rest: a host name the socket layer cannot encode
            reason = error.strerror if isinstance(error, OSError) else None
            raise _Failure(
                f"cannot listen on {terminal_safe(str(args.host))}:{args.port}: "
                f"{reason or terminal_safe(str(error))}",
                EXIT_CONFIG,
            ) from None
        try:
            held = "; ".join(
                f"{_schema_words(schema)} {', '.join(ids)}"
                for schema, ids in sandbox.held.items()
                if ids
            )
            first = next(
                (
                    f"{resource.name} "
                    f"{_command_of(resource, str(export.get_many).removesuffix('_many'))} {ids[0]}"
                    for resource in _resources()
                    for export in resource.exports
                    if export.get_many is not None and (ids := sandbox.held.get(str(export.schema)))
                ),
                None,
            )
            example = f" e.g. {PROG} {first}" if first else ""
            _write(
                f"MijnKlantportaal sandbox at {base_url} (the spec's examples: {held or 'none'})\n"
                f"export {BASE_URL_ENV}={base_url}\n"
                f"export {API_KEY_ENV}={fake.api_key}\n"
                f"Then run commands without --sandbox (or give --base-url and --api-key):"
                f"{example}\n"
                "Press Ctrl+C to stop."
            )
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.__exit__(None, None, None)
    finally:
        signal.signal(signal.SIGTERM, previous)
    _print_error("sandbox stopped")
    return EXIT_OK


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
