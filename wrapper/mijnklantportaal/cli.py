r"""The ``mijnklantportaal`` command line (also ``python -m mijnklantportaal``).

    mijnklantportaal invoices get fac_abc12345def678 --sandbox    # no key needed
    mijnklantportaal invoices get fac_... [--json]                  # MIJNKLANTPORTAAL_API_KEY
    mijnklantportaal invoices export ids.txt --out out.jsonl [--sandbox] [--redis URL]
    mijnklantportaal sandbox [--host 127.0.0.1] [--port N]          # the fake over HTTP

Errors are one line on stderr. Everything the server sent is made safe for a terminal before
it is printed: control, format (bidi) and unpaired surrogate characters appear as backslash
escapes (``\x1b``, ``\u202e``, ``\ud800``) in the table and in error lines, and as JSON
``\uXXXX`` escapes with ``--json``, which stays valid JSON.

Exit status, one per kind of failure (the same table is in ``--help`` and the README):

    0    success
    1    the API refused the request (a 4xx not listed below, such as 400, 409 or 422)
    2    usage: a bad command line or argument, including a malformed invoice id
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
import signal
import sys
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal, NoReturn

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
from mijnklantportaal._text import PROG, json_escape, json_safe, terminal_safe
from mijnklantportaal._version import __version__

if TYPE_CHECKING:
    from mijnklantportaal import Invoice, MijnKlantportaal
    from mijnklantportaal._export import ExportFile, ExportResult
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
    (EXIT_USAGE, "usage: a bad command line or argument, including a malformed invoice id"),
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
    parser = _parser()
    args = parser.parse_args(argv)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Command line for the MijnKlantportaal API.",
        epilog=f"The API key comes from ${API_KEY_ENV} (or --api-key). "
        "Try it without one: mijnklantportaal invoices get fac_abc12345def678 --sandbox\n\n"
        + _exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(run=lambda _args: _usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    invoices = commands.add_parser("invoices", help="MijnKlantportaal invoices")
    invoices.set_defaults(run=lambda _args: _usage(invoices))
    invoice_commands = invoices.add_subparsers(title="commands", metavar="COMMAND")
    get = invoice_commands.add_parser(
        "get",
        help="show one invoice",
        description="Fetch one invoice by its fac_ id and print it as a table (or --json).",
        epilog=_exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    get.add_argument("invoice_id", metavar="ID", help="the invoice id, e.g. fac_abc12345def678")
    get.add_argument("--json", action="store_true", help="print JSON (money as strings)")
    get.add_argument(
        "--sandbox",
        action="store_true",
        help="ask an in-process fake API holding the spec's example invoice (no key needed)",
    )
    _add_client_options(get)
    progress = get.add_mutually_exclusive_group()
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
    get.set_defaults(run=_invoices_get)

    export = invoice_commands.add_parser(
        "export",
        help="export invoices to a JSON lines file (resumable)",
        description="Fetch every invoice listed in IDS_FILE and append one JSON line per\n"
        "invoice (money as strings) to OUT. Resumable: a rerun skips the ids already in\n"
        "OUT and retries the ones that failed; Ctrl+C or kill leaves only whole lines.\n"
        "Failures go to OUT.errors.jsonl (out.jsonl -> out.errors.jsonl) and give exit\n"
        f"status {EXIT_EXPORT_FAILURES}. Progress goes to stderr: a bar on a terminal, else a "
        "line every\nfew seconds.\n\n"
        "OUT must be new, empty, or written by this command (each line a JSON object with\n"
        f'an "id"); any other file is refused and left unchanged (exit {EXIT_USAGE}), and so '
        "is an\nOUT.errors.jsonl this command did not write. One export at a time per OUT: "
        "a second\none to the same OUT is refused while the first runs (exit "
        f"{EXIT_OUTPUT}).",
        epilog=_exit_status_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument(
        "ids_file",
        metavar="IDS_FILE",
        help="one invoice id per line (blank lines and # comments skipped); - reads stdin",
    )
    export.add_argument(
        "--out",
        required=True,
        metavar="OUT.jsonl",
        help="the JSON lines file to append to: new, or one this command wrote",
    )
    export.add_argument(
        "--sandbox",
        action="store_true",
        help="export from an in-process fake API that holds a generated invoice for every "
        "fac_ id in IDS_FILE (no key needed, no rate limit)",
    )
    export.add_argument(
        "--redis",
        metavar="URL",
        help="share the API key's rate budget with every process using this Redis "
        "(redis://host:6379/0; needs mijnklantportaal[redis]). The export refuses to start "
        f"(exit {EXIT_CONFIG}) when a PING to it fails; if Redis goes away later, it goes on "
        "under an in-process budget and says so on stderr",
    )
    export.add_argument(
        "--rate-limit",
        metavar="N",
        type=_budget_limit,
        default=DEFAULT_RATE_LIMIT,
        help=f"requests the key may start per window (default: {DEFAULT_RATE_LIMIT}, the API's)",
    )
    export.add_argument(
        "--rate-window",
        metavar="SECONDS",
        type=_budget_window,
        default=DEFAULT_RATE_WINDOW,
        help=f"the rolling window of --rate-limit (default: {DEFAULT_RATE_WINDOW:g}); every "
        "process sharing a --redis budget must give the same two",
    )
    export.add_argument(
        "--concurrency",
        metavar="N",
        type=_concurrency,
        default=DEFAULT_EXPORT_CONCURRENCY,
        help=f"calls at once, 1 to {MAX_CONCURRENCY} (default: {DEFAULT_EXPORT_CONCURRENCY})",
    )
    _add_client_options(export)
    export_progress = export.add_mutually_exclusive_group()
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
    export.set_defaults(run=_invoices_export)

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the fake API over HTTP",
        description="Serve the fake MijnKlantportaal API (seeded with the spec's example invoice) "
        "over HTTP until interrupted; prints the base URL and a key that works.",
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


# -- invoices get ---------------------------------------------------------------------------


def _invoices_get(args: argparse.Namespace) -> int:
    progress = (
        sys.stderr is not None and sys.stderr.isatty() if args.progress is None else args.progress
    )
    fake = _sandbox_fake() if args.sandbox else None
    with _client(args, fake) as client, _retry_progress(progress):
        try:
            invoice = client.invoices.get(args.invoice_id)
        except NotFoundError as error:
            if fake is None:
                raise
            raise _Failure(
                _sandbox_not_found(args.invoice_id, fake.invoice_ids), EXIT_NOT_FOUND
            ) from error
    if args.json:
        _write(json_safe(invoice.to_dict()), is_json=True)
    else:
        _write(render_invoice(invoice))
    return EXIT_OK


def _sandbox_fake() -> FakeMijnKlantportaal:
    from mijnklantportaal.testing import FakeMijnKlantportaal

    fake = FakeMijnKlantportaal()
    fake.add_example_invoice()
    return fake


def _sandbox_not_found(invoice_id: str, ids: list[str]) -> str:
    held = ", ".join(ids) if ids else "no invoices"
    return (
        f"invoice {invoice_id!r} is not in the sandbox (--sandbox, the bundled fake API); "
        f"it holds only {held}. Drop --sandbox to ask the real API with your key."
    )


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


def _money(value: Decimal | None) -> str:
    return "-" if value is None else format(value, "f")


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    if value.utcoffset() == UTC.utcoffset(None):
        text = value.strftime("%Y-%m-%d %H:%M")
        return f"{text} UTC" if value.time() != datetime.min.time() else value.strftime("%Y-%m-%d")
    return value.isoformat(sep=" ", timespec="minutes")


def render_invoice(invoice: Invoice) -> str:
    """The invoice as a plain-text table: header, lines with VAT, totals, paid state. Text
    the server sent (ids, number, descriptions, currency) is passed through ``terminal_safe``."""
    currency = terminal_safe(invoice.currency or "")
    paid = {True: "paid", False: "not paid", None: "unknown"}[invoice.is_paid]
    out = [
        f"Invoice  {terminal_safe(invoice.invoice_number or '-')}  "
        f"({terminal_safe(invoice.id or '-')})",
        f"Issued   {_when(invoice.issued_at)}",
        f"Status   {paid}",
        "",
    ]
    header = ("#", "Description", "Qty", "Excl. VAT", "VAT rate", "VAT", "Incl. VAT")
    rows = [
        (
            str(n),
            terminal_safe(line.description or "-"),
            "-" if line.quantity is None else str(line.quantity),
            _money(line.amount_excl_vat),
            "-" if line.vat_rate is None else f"{_money(line.vat_rate)}%",
            _money(line.vat_amount),
            _money(line.amount_incl_vat),
        )
        for n, line in enumerate(invoice.lines or (), start=1)
    ]
    if rows:
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
        left = {1}  # the description reads left to right; numbers line up on the right

        def fmt(row: tuple[str, ...]) -> str:
            cells = (
                c.ljust(w) if i in left else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            return "  ".join(cells).rstrip()

        out.append(fmt(header))
        out.append("  ".join("-" * w for w in widths))
        out.extend(fmt(row) for row in rows)
    else:
        out.append("(no lines)")
    totals = [
        ("Subtotal", _money(invoice.subtotal_amount)),
        ("VAT", _money(invoice.vat_amount)),
        ("Total", _money(invoice.total_amount)),
    ]
    width = max(len(amount) for _, amount in totals)
    out.append("")
    out.extend(f"{label:<9}{currency} {amount.rjust(width)}".rstrip() for label, amount in totals)
    return "\n".join(out)


# -- invoices export ------------------------------------------------------------------------


def _invoices_export(args: argparse.Namespace) -> int:
    """The export; see ``_export``. An interrupted run ends the process (``_end_interrupted``)."""
    from mijnklantportaal import _export

    if args.out == "-":
        raise _Failure(
            "--out must name a file: the export appends to it and reads it back to resume",
            EXIT_USAGE,
        )
    ids = _export.read_ids(args.ids_file)
    if args.redis is not None:
        _check_redis(args.redis)  # before OUT is opened, or anything sent
    out = Path(args.out)
    try:
        target = _export.ExportFile(out)
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
        already = sum(1 for invoice_id in ids if invoice_id in target.done)
        if already == len(ids):
            if args.progress is not False:
                held = f"all {already} ids are already in {where}" if ids else "no ids in IDS_FILE"
                _print_error(f"{PROG}: nothing to fetch: {held}")
            return EXIT_OK
        progress = _export.Progress(
            mode=_export_progress_mode(args.progress),
            stream=sys.stderr,
            total=len(ids),
            already=already,
        )
        fake = _export_sandbox(ids) if args.sandbox else None
        with _make_client(args, "bulk", fake) as client, _sigterm_as_interrupt():

            def fetch(todo: Iterable[str]) -> Iterator[tuple[str, Invoice | MijnKlantportaalError]]:
                return client.invoices.get_many(todo, concurrency=args.concurrency)

            try:
                result = _export.run_export(fetch, ids, target, progress)
            except OSError as error:
                raise _Failure(
                    f"cannot write to {args.out!r} or its errors file: {error.strerror or error}",
                    EXIT_OUTPUT,
                ) from None
    code = _export_outcome(result, target)
    if result.interrupted:
        _end_interrupted()
    return code


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


def _export_outcome(result: ExportResult, target: ExportFile) -> int:
    where = terminal_safe(str(target.path))
    if result.interrupted:
        _print_error(
            f"{PROG}: interrupted: {result.already + result.exported} of {result.total} "
            f"invoices are in {where}; run the same command again to fetch the rest"
        )
        return EXIT_INTERRUPTED
    if result.failed:
        _print_error(
            f"{PROG}: {result.failed} of {result.total} ids failed, listed in "
            f"{terminal_safe(str(target.errors_path))}; run the same command again to retry them"
        )
        return EXIT_EXPORT_FAILURES
    return EXIT_OK


def _export_sandbox(ids: Sequence[str]) -> FakeMijnKlantportaal:
    """The fake with its generated invoice (the spec's example under that id) for each id
    in ``ids`` with the invoice prefix; other ids get the fake's own answers (a malformed id
    is refused before anything is sent). No rate limit: the fake's window is a minute, and
    the API's 60 per minute would make a 5,000-id try-out take 83 minutes."""
    from mijnklantportaal._generated.examples import ID_PREFIX
    from mijnklantportaal.testing import FakeMijnKlantportaal

    prefix = ID_PREFIX["Invoice"]
    return FakeMijnKlantportaal(rate_limit=None, invoices=[i for i in ids if i.startswith(prefix)])


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
    from mijnklantportaal.testing import EXAMPLE_INVOICE_ID, FakeMijnKlantportaal

    try:
        fake = FakeMijnKlantportaal(
            api_key=_checked_api_key(args.api_key),
            rate_limit=args.rate_limit or None,
            money_as=args.money_as,
        )
    except ValueError as error:
        raise _Failure(str(error), EXIT_USAGE) from None
    fake.add_example_invoice()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server = fake.serve(args.host, args.port)
            base_url = server.__enter__()
        except OSError as error:
            raise _Failure(
                f"cannot listen on {args.host}:{args.port}: {error.strerror or error}",
                EXIT_CONFIG,
            ) from None
        try:
            _write(
                f"MijnKlantportaal sandbox at {base_url} (invoice {EXAMPLE_INVOICE_ID})\n"
                f"export {BASE_URL_ENV}={base_url}\n"
                f"export {API_KEY_ENV}={fake.api_key}\n"
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
