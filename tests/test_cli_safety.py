"""The command line's promises, in-process over real loopback HTTP where speed matters and as a
subprocess where the process itself is the point: one documented exit status per kind of
failure, server text that cannot drive the terminal, one-line errors when the output cannot be
written, and a word on stderr while a retry waits."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mijnklantportaal import cli
from mijnklantportaal.testing import EXAMPLE_INVOICE_ID, FakeMijnKlantportaal, Fault

SCRIPT = Path(sys.executable).with_name("mijnklantportaal")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeMijnKlantportaal, str]]:
    fake = FakeMijnKlantportaal(rate_limit=None)
    fake.add_example_invoice()
    with fake.serve() as base_url:
        yield fake, base_url


@pytest.fixture
def served(
    server: tuple[FakeMijnKlantportaal, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FakeMijnKlantportaal, str]]:
    fake, base_url = server
    for name in list(os.environ):
        if name.startswith("MIJNKLANTPORTAAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MIJNKLANTPORTAAL_API_KEY", fake.api_key)
    monkeypatch.setenv("MIJNKLANTPORTAAL_BASE_URL", base_url)
    fake.clear_faults()
    fake.clear_requests()
    yield fake, base_url
    fake.clear_faults()


def run_main(capfdbinary: pytest.CaptureFixture[bytes], *argv: str) -> tuple[int, bytes, bytes]:
    code = cli.main(list(argv))
    out, err = capfdbinary.readouterr()
    return code, out, err


def one_line_error(err: bytes) -> str:
    text = err.decode("utf-8")
    assert "Traceback" not in text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mijnklantportaal: error: "), text
    return lines[0]


# -- exit status ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expected", "needle"),
    [
        (Fault.status(400), cli.EXIT_API, "400"),
        (Fault.status(409), cli.EXIT_API, "409"),
        (Fault.status(422), cli.EXIT_API, "422"),
        (Fault.status(401), cli.EXIT_AUTH, "401"),
        (Fault.status(403), cli.EXIT_AUTH, "403"),
        (Fault.status(404), cli.EXIT_NOT_FOUND, "404"),
        # Past max_rate_wait (60 s): a shorter retry-after would be waited out, up to a minute.
        (Fault.rate_limited(retry_after=120), cli.EXIT_RATE_LIMITED, "429"),
        (Fault.status(500), cli.EXIT_SERVER, "500"),
        (Fault.html(520), cli.EXIT_SERVER, "520"),
        (Fault.non_json(200), cli.EXIT_SERVER, ""),
        (Fault.drop(), cli.EXIT_NETWORK, ""),
    ],
    ids=lambda value: getattr(value, "description", None) or str(value),
)
def test_each_kind_of_failure_has_its_own_exit_status(
    served: tuple[FakeMijnKlantportaal, str],
    sleeps: list[float],
    capfdbinary: pytest.CaptureFixture[bytes],
    fault: Fault,
    expected: int,
    needle: str,
) -> None:
    fake, _ = served
    fake.fail_every(1, fault)  # the retries meet the same fault
    code, out, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, "--quiet")
    assert (code, out) == (expected, b"")
    assert needle in one_line_error(err)


def test_timeout_and_refused_connection_are_network_failures(
    served: tuple[FakeMijnKlantportaal, str],
    sleeps: list[float],
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    fake, _ = served
    fake.fail_every(1, Fault.latency(2))
    code, _, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, "--timeout", "0.2")
    assert code == cli.EXIT_NETWORK and "timed out" in one_line_error(err)
    fake.clear_faults()
    closed = FakeMijnKlantportaal()
    with closed.serve() as gone:
        pass  # the port is free again: nothing listens
    code, _, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, "--base-url", gone)
    assert code == cli.EXIT_NETWORK
    one_line_error(err)


def test_usage_configuration_and_success_statuses(
    served: tuple[FakeMijnKlantportaal, str],
    capfdbinary: pytest.CaptureFixture[bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID)
    assert (code, err) == (cli.EXIT_OK, b"") and b"  totalAmount     15.67\n" in out
    code, _, err = run_main(capfdbinary, "invoices", "get", "fac_../x")
    assert code == cli.EXIT_USAGE and "characters" in one_line_error(err)
    code, _, err = run_main(capfdbinary, "invoices", "get", "inv_123")
    assert code == cli.EXIT_USAGE and "customer invoice" in one_line_error(err)
    code, _, err = run_main(
        capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, "--base-url", "ftp://x"
    )
    assert code == cli.EXIT_CONFIG and "ftp://x" in one_line_error(err)
    monkeypatch.delenv("MIJNKLANTPORTAAL_API_KEY")
    code, _, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID)
    assert code == cli.EXIT_CONFIG and "MIJNKLANTPORTAAL_API_KEY" in one_line_error(err)
    with pytest.raises(SystemExit) as exited:
        cli.main(["invoices", "get", EXAMPLE_INVOICE_ID, "--timeout", "1e10"])
    assert exited.value.code == cli.EXIT_USAGE
    assert b"at most 3600" in capfdbinary.readouterr().err


def test_the_exit_table_is_documented_in_help_docstring_and_readme(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    help_text = capfdbinary.readouterr().out.decode()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert cli.__doc__ is not None
    codes = [code for code, _ in cli.EXIT_CODES]
    assert codes == sorted(set(codes))
    for code, meaning in cli.EXIT_CODES:
        row = f"{code:<4} {meaning}"
        assert row in help_text and row in cli.__doc__
        assert f"| {code} | {meaning} |" in readme


# -- the sandbox and http:// ------------------------------------------------------------------


def test_a_sandbox_404_names_the_sandbox_not_the_real_api(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    code, out, err = run_main(capfdbinary, "invoices", "get", "fac_nope", "--sandbox")
    line = one_line_error(err)
    assert (code, out) == (cli.EXIT_NOT_FOUND, b"")
    assert f"it holds only {EXAMPLE_INVOICE_ID}." in line and "--sandbox" in line
    assert "api.mijnklantportaal.nl" not in line and "API key" not in line


def test_plain_http_is_refused_naming_the_flag_and_the_flag_allows_it(
    served: tuple[FakeMijnKlantportaal, str],
    sleeps: list[float],
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    fake, _ = served
    remote = "http://api.mijnklantportaal.invalid/v1"  # never resolves
    code, _, err = run_main(
        capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, "--base-url", remote
    )
    line = one_line_error(err)
    assert code == cli.EXIT_CONFIG and "--allow-insecure-http" in line
    assert "allow_insecure_http=True" not in line
    assert fake.requests == []
    code, _, err = run_main(
        capfdbinary,
        "invoices",
        "get",
        EXAMPLE_INVOICE_ID,
        "--base-url",
        remote,
        "--allow-insecure-http",
    )
    assert code == cli.EXIT_NETWORK  # allowed, so it was tried: the host does not resolve
    assert "--allow-insecure-http" not in one_line_error(err)


# -- server text on the terminal ----------------------------------------------------------------

HOSTILE = [
    # (what the server sends, how the table shows it, how --json spells it)
    ("\x1b]0;pwned\x07", r"\x1b]0;pwned\x07", r"\u001b]0;pwned\u0007"),  # retitle the terminal
    ("\x1b[2J\x1b[H", r"\x1b[2J\x1b[H", r"\u001b[2J\u001b[H"),  # clear the screen
    ("ok\rTotal EUR 0.00", r"ok\rTotal EUR 0.00", r"ok\rTotal EUR 0.00"),  # overwrite a line
    ("a\nb", r"a\nb", r"a\nb"),
    ("\x00\x7f", r"\x00\x7f", r"\u0000\u007f"),  # NUL, DEL
    ("\x9b31m\x85", r"\x9b31m\x85", r"\u009b31m\u0085"),  # C1: CSI, NEL
    ("\u202eevil\u202c", r"\u202eevil\u202c", r"\u202eevil\u202c"),  # bidi override
    ("\u2066x\u2069", r"\u2066x\u2069", r"\u2066x\u2069"),  # bidi isolate
    ("a\u200bb\ufeff", r"a\u200bb\ufeff", r"a\u200bb\ufeff"),  # zero-width, BOM
    ("a\u2028b", r"a\u2028b", r"a\u2028b"),  # line separator
    ("\U000e0041", r"\U000e0041", r"\udb40\udc41"),  # a tag character (format, astral)
    ("x\ud800y", r"x\ud800y", r"x\ud800y"),  # a lone surrogate
    ("Café € 12", "Café € 12", "Café € 12"),  # ordinary text passes unchanged
]


@pytest.mark.parametrize(("sent", "table", "as_json"), HOSTILE)
def test_server_text_cannot_drive_the_terminal(
    served: tuple[FakeMijnKlantportaal, str],
    capfdbinary: pytest.CaptureFixture[bytes],
    sent: str,
    table: str,
    as_json: str,
) -> None:
    fake, _ = served
    fake.add_invoice(
        {
            "id": "fac_hostile",
            "invoiceNumber": sent,
            "currency": sent,
            "lines": [{"description": sent, "quantity": 1}],
        }
    )
    code, out, err = run_main(capfdbinary, "invoices", "get", "fac_hostile")
    assert (code, err) == (0, b"")
    lines = out.decode("utf-8").split("\n")
    assert lines[:5] == [
        "Invoice",
        "  id             fac_hostile",
        f"  invoiceNumber  {table}",
        "  lines          1 item, below",
        f"  currency       {table}",
    ]
    width = max(len("description"), len(table))  # the column fits the escaped text
    assert lines[6:9] == [
        "Invoice lines",
        "  " + "description".ljust(width) + "  quantity",
        "  " + table.ljust(width) + "         1",
    ]
    assert all(line.isprintable() for line in lines)

    code, out, err = run_main(capfdbinary, "invoices", "get", "fac_hostile", "--json")
    assert (code, err) == (0, b"")
    text = out.decode("utf-8")
    assert f'"invoiceNumber": "{as_json}",'.encode() in out
    assert all(line.isprintable() for line in text.split("\n"))
    data = json.loads(out)  # still valid JSON, and nothing lost
    assert data["invoiceNumber"] == data["lines"][0]["description"] == sent


def test_json_on_an_ascii_terminal_escapes_what_it_cannot_encode(
    served: tuple[FakeMijnKlantportaal, str],
) -> None:
    fake, _ = served
    fake.add_invoice({"id": "fac_ascii", "invoiceNumber": "Café \u202e\ud800"})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUTF8"}
    env["PYTHONIOENCODING"] = "ascii"
    for flags, expected in [
        (["--json"], rb'"invoiceNumber": "Caf\u00e9 \u202e\ud800"'),
        ([], rb"  invoiceNumber  Caf\xe9 \u202e\ud800" + b"\n"),
    ]:
        result = subprocess.run(
            [str(SCRIPT), "invoices", "get", "fac_ascii", *flags],
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert (result.returncode, result.stderr) == (0, b""), result.stderr
        assert expected in result.stdout
        result.stdout.decode("ascii")
    assert json.loads(
        subprocess.run(
            [str(SCRIPT), "invoices", "get", "fac_ascii", "--json"],
            capture_output=True,
            env=env,
            timeout=60,
        ).stdout
    )["invoiceNumber"] == ("Café \u202e\ud800")


def test_error_lines_from_the_server_are_made_safe_too(
    served: tuple[FakeMijnKlantportaal, str],
    sleeps: list[float],
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    fake, _ = served
    fake.fail_next(Fault.status(400, json_body={"message": "bad\x1b]0;pwned\x07 \u202e\ud800"}))
    code, _, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID)
    line = one_line_error(err)
    assert code == cli.EXIT_API and line.isprintable()
    assert "\x1b" not in line and "\u202e" not in line


# -- writing the output ---------------------------------------------------------------------


def _run_script(*args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    return subprocess.run(
        [str(SCRIPT), *args],
        stderr=subprocess.PIPE,
        env=env,
        timeout=60,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full on this system")
@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["table", "json"])
def test_a_full_disk_is_one_line_and_exit_9(json_flag: list[str]) -> None:
    with open("/dev/full", "wb") as full:
        result = _run_script(
            "invoices", "get", EXAMPLE_INVOICE_ID, "--sandbox", *json_flag, stdout=full
        )
    assert result.returncode == cli.EXIT_OUTPUT
    assert result.stderr.decode() == (
        f"mijnklantportaal: error: cannot write the output: {os.strerror(errno.ENOSPC)}\n"
    )


def test_a_closed_stdout_is_one_line_and_exit_9() -> None:
    result = _run_script(
        "invoices",
        "get",
        EXAMPLE_INVOICE_ID,
        "--sandbox",
        stdout=None,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == cli.EXIT_OUTPUT
    assert result.stderr == b"mijnklantportaal: error: cannot write the output: stdout is closed\n"


def test_a_broken_pipe_is_one_line_and_exit_9() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails with EPIPE
    try:
        result = _run_script("invoices", "get", EXAMPLE_INVOICE_ID, "--sandbox", stdout=write_end)
    finally:
        os.close(write_end)
    assert result.returncode == cli.EXIT_OUTPUT
    assert result.stderr.decode() == (
        f"mijnklantportaal: error: cannot write the output: {os.strerror(errno.EPIPE)}\n"
    )


@pytest.mark.parametrize("key", ["", "  ", "mkp_\x0bkey"], ids=["empty", "blank", "control"])
@pytest.mark.parametrize("command", ["sandbox", "get"])
def test_a_bad_api_key_argument_is_one_line_and_exit_2(command: str, key: str) -> None:
    args = ["sandbox"] if command == "sandbox" else ["invoices", "get", EXAMPLE_INVOICE_ID]
    result = _run_script(*args, "--api-key", key, stdout=subprocess.PIPE)
    assert result.returncode == cli.EXIT_USAGE and result.stdout == b""
    line = one_line_error(result.stderr)
    assert "--api-key" in line and "\x0b" not in line


# -- retry waits --------------------------------------------------------------------------------


def test_retry_waits_are_announced_with_progress(
    served: tuple[FakeMijnKlantportaal, str],
    sleeps: list[float],
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    # Relies on the client logging each retry with the mijnklantportaal_retry_* extras.
    fake, _ = served
    fake.fail_next(Fault.rate_limited(retry_after=3))
    fake.fail_next(Fault.status(503))
    code, out, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, "--progress")
    assert code == 0 and b"  totalAmount     15.67\n" in out
    # Under the CLI's rate budget a 429 is waited out (retry-after plus jitter) without
    # spending a retry; the 503 then takes the first of the two retries.
    assert 3 <= sleeps[0] <= 3.75
    assert err.decode().splitlines() == [
        f"mijnklantportaal: waiting {round(sleeps[0], 1):g} s (HTTP 429 rate limited)",
        f"mijnklantportaal: waiting {round(sleeps[1], 1):g} s (HTTP 503 server error), retry 1 of 2",
    ]


@pytest.mark.parametrize("flags", [[], ["--quiet"]], ids=["not-a-terminal", "quiet"])
def test_retry_waits_are_silent_off_a_terminal_or_with_quiet(
    served: tuple[FakeMijnKlantportaal, str],
    sleeps: list[float],
    capfdbinary: pytest.CaptureFixture[bytes],
    flags: list[str],
) -> None:
    fake, _ = served
    fake.fail_next(Fault.rate_limited(retry_after=1))
    code, out, err = run_main(capfdbinary, "invoices", "get", EXAMPLE_INVOICE_ID, *flags)
    assert (code, err) == (0, b"") and b"  totalAmount     15.67\n" in out
    assert len(sleeps) == 1 and 1 <= sleeps[0] <= 1.25  # it did wait, silently


def test_the_progress_handler_formats_the_clients_retry_records(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    logger = logging.getLogger("mijnklantportaal")
    level = logger.level
    with cli._retry_progress(True):
        assert logger.isEnabledFor(logging.INFO)
        logger.info("unrelated")  # no retry extras: nothing to say
        for delay, status in [(3, 429), (0.4321, None)]:
            logger.info(
                "retrying",
                extra={
                    "mijnklantportaal_retry_delay": delay,
                    "mijnklantportaal_retry_status": status,
                },
            )
    logger.info(
        "retrying", extra={"mijnklantportaal_retry_delay": 9, "mijnklantportaal_retry_status": 429}
    )
    assert logger.level == level
    assert capfdbinary.readouterr().err.decode().splitlines() == [
        "mijnklantportaal: waiting 3 s (HTTP 429 rate limited), retry 1 of 2",
        "mijnklantportaal: waiting 0.4 s (no response), retry 2 of 2",
    ]
