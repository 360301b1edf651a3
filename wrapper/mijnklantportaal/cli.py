"""The ``mijnklantportaal`` command line (also ``python -m mijnklantportaal``).

    mijnklantportaal invoices get fac_abc12345def678 --sandbox    # no key needed
    mijnklantportaal invoices get fac_... [--json]                  # MIJNKLANTPORTAAL_API_KEY
    mijnklantportaal sandbox [--host 127.0.0.1] [--port N]          # the fake over HTTP

Errors are one line on stderr and exit status 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from mijnklantportaal._constants import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from mijnklantportaal._exceptions import MijnKlantportaalError
from mijnklantportaal._version import __version__

if TYPE_CHECKING:
    from mijnklantportaal import Invoice, MijnKlantportaal

__all__ = ["main"]

PROG = "mijnklantportaal"


class _Failure(Exception):
    """An error to report as one line on stderr, exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
        return code
    except _Failure as error:
        return _fail(str(error))
    except MijnKlantportaalError as error:
        return _fail(str(error))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. piped into `head`
        _silence_stdout()
        return 1


def _fail(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 1


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# -- arguments ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Command line for the MijnKlantportaal API.",
        epilog=f"The API key comes from ${API_KEY_ENV} (or --api-key). "
        "Try it without one: mijnklantportaal invoices get fac_abc12345def678 --sandbox",
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
    )
    get.add_argument("invoice_id", metavar="ID", help="the invoice id, e.g. fac_abc12345def678")
    get.add_argument("--json", action="store_true", help="print JSON (money as strings)")
    get.add_argument(
        "--sandbox",
        action="store_true",
        help="ask an in-process fake API holding the spec's example invoice (no key needed)",
    )
    get.add_argument(
        "--api-key", metavar="KEY", help=f"API key (default: ${API_KEY_ENV}; prefer the variable)"
    )
    get.add_argument(
        "--base-url",
        metavar="URL",
        help=f"API base URL (default: ${BASE_URL_ENV} or {DEFAULT_BASE_URL})",
    )
    get.add_argument(
        "--timeout", metavar="SECONDS", type=_positive_float, help="per-request timeout"
    )
    get.set_defaults(run=_invoices_get)

    sandbox = commands.add_parser(
        "sandbox",
        help="serve the fake API over HTTP",
        description="Serve the fake MijnKlantportaal API (seeded with the spec's example invoice) "
        "over HTTP until interrupted; prints the base URL and a key that works.",
    )
    sandbox.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    sandbox.add_argument("--port", type=_port, default=0, help="port (default: 0, a free one)")
    sandbox.add_argument(
        "--api-key", metavar="KEY", help="the key to accept (default: a generated one)"
    )
    sandbox.add_argument(
        "--rate-limit",
        type=int,
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


def _usage(parser: argparse.ArgumentParser) -> NoReturn:
    parser.print_usage(sys.stderr)
    parser.exit(2, f"{parser.prog}: error: a command is required (see --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be within 0..65535: {text!r}")
    return value


# -- invoices get ---------------------------------------------------------------------------


def _invoices_get(args: argparse.Namespace) -> int:
    with _client(args) as client:
        invoice = client.invoices.get(args.invoice_id)
    if args.json:
        print(json.dumps(invoice.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_invoice(invoice))
    return 0


def _client(args: argparse.Namespace) -> MijnKlantportaal:
    from mijnklantportaal import MijnKlantportaal

    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    if args.sandbox:
        from mijnklantportaal.testing import FakeMijnKlantportaal

        fake = FakeMijnKlantportaal()
        fake.add_example_invoice()
        return fake.client(base_url=DEFAULT_BASE_URL, timeout=timeout)
    api_key = args.api_key or os.environ.get(API_KEY_ENV)
    if not api_key or not api_key.strip():
        raise _Failure(
            f"no API key: set {API_KEY_ENV} (or pass --api-key KEY) to use the API, "
            "or add --sandbox to try the bundled sandbox without a key"
        )
    return MijnKlantportaal(api_key=api_key, base_url=args.base_url, timeout=timeout)


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
    """The invoice as a plain-text table: header, lines with VAT, totals, paid state."""
    currency = invoice.currency or ""
    paid = {True: "paid", False: "not paid", None: "unknown"}[invoice.is_paid]
    out = [
        f"Invoice  {invoice.invoice_number or '-'}  ({invoice.id or '-'})",
        f"Issued   {_when(invoice.issued_at)}",
        f"Status   {paid}",
        "",
    ]
    header = ("#", "Description", "Qty", "Excl. VAT", "VAT rate", "VAT", "Incl. VAT")
    rows = [
        (
            str(n),
            line.description or "-",
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


# -- sandbox --------------------------------------------------------------------------------


def _sandbox(args: argparse.Namespace) -> int:
    from mijnklantportaal.testing import EXAMPLE_INVOICE_ID, FakeMijnKlantportaal

    if args.rate_limit < 0:
        raise _Failure("--rate-limit must be 0 (off) or a positive number of requests per minute")
    fake = FakeMijnKlantportaal(
        api_key=args.api_key, rate_limit=args.rate_limit or None, money_as=args.money_as
    )
    fake.add_example_invoice()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        try:
            server = fake.serve(args.host, args.port)
            base_url = server.__enter__()
        except OSError as error:
            raise _Failure(
                f"cannot listen on {args.host}:{args.port}: {error.strerror or error}"
            ) from None
        try:
            print(f"MijnKlantportaal sandbox at {base_url} (invoice {EXAMPLE_INVOICE_ID})")
            print(f"export {BASE_URL_ENV}={base_url}")
            print(f"export {API_KEY_ENV}={fake.api_key}")
            print("Press Ctrl+C to stop.", flush=True)
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            server.__exit__(None, None, None)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("sandbox stopped", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
