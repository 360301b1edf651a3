"""The command line, driven as a subprocess: exit codes, stdout, stderr."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mijnklantportaal import __version__
from mijnklantportaal.testing import EXAMPLE_INVOICE_ID, FakeMijnKlantportaal, Fault

SCRIPT = Path(sys.executable).with_name("mijnklantportaal")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    env.update(extra)
    return env


def run(*args: str, module: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mijnklantportaal"] if module else [str(SCRIPT)]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=_env(**env), timeout=60
    )


def assert_one_line_error(
    result: subprocess.CompletedProcess[str], code: int, *needles: str
) -> None:
    assert result.returncode == code, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mijnklantportaal: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_sandbox_invoice_as_a_table() -> None:
    result = run("invoices", "get", EXAMPLE_INVOICE_ID, "--sandbox")
    assert result.returncode == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    # The fields by their API names, money exact, then the invoice lines as a table.
    assert lines[:10] == [
        "Invoice",
        f"  id              {EXAMPLE_INVOICE_ID}",
        "  invoiceNumber   MKP-2025.0010",
        "  lines           1 item, below",
        "  currency        EUR",
        "  subtotalAmount  12.95",
        "  vatAmount       2.72",
        "  totalAmount     15.67",
        "  issuedAt        2025-04-12T00:00:00+00:00",
        "  isPaid          true",
    ]
    assert lines[11] == "Invoice lines"
    assert lines[12].split() == [
        *("id", "description", "quantity", "currency", "amountExclVat", "vatRate"),
        *("vatAmount", "amountInclVat"),
    ]
    row = lines[13].split()
    assert row == [
        *("fcl_abc12345def678", "Pro", "subscription", "1", "EUR"),
        *("12.95", "21", "2.72", "15.67"),
    ]
    assert lines[13].endswith("  15.67") and len(lines) == 14


@pytest.mark.parametrize("module", [False, True], ids=["script", "python-m"])
def test_sandbox_invoice_as_json_with_money_as_strings(module: bool) -> None:
    result = run("invoices", "get", EXAMPLE_INVOICE_ID, "--sandbox", "--json", module=module)
    assert result.returncode == 0 and result.stderr == ""
    data = json.loads(result.stdout)
    assert data["id"] == EXAMPLE_INVOICE_ID and data["isPaid"] is True
    assert (data["subtotalAmount"], data["vatAmount"], data["totalAmount"]) == (
        "12.95",
        "2.72",
        "15.67",
    )
    assert data["lines"][0]["vatRate"] == "21" and data["lines"][0]["amountInclVat"] == "15.67"


def test_no_key_says_both_ways_forward() -> None:
    result = run("invoices", "get", EXAMPLE_INVOICE_ID)
    assert_one_line_error(result, 3, "MIJNKLANTPORTAAL_API_KEY", "--sandbox")


@pytest.mark.parametrize(
    ("invoice_id", "code", "needle"),
    [
        ("inv_123", 2, "customer invoice"),
        ("fac_nope", 4, "not in the sandbox"),
        ("fac_../x", 2, "characters"),
    ],
)
def test_errors_are_one_friendly_line(invoice_id: str, code: int, needle: str) -> None:
    assert_one_line_error(run("invoices", "get", invoice_id, "--sandbox"), code, needle)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["invoices"],
        ["invoices", "get"],
        ["invoices", "list"],
        ["nope"],
        ["invoices", "get", EXAMPLE_INVOICE_ID, "--timeout", "zero"],
        ["sandbox", "--port", "70000"],
    ],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_version_and_help() -> None:
    result = run("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"mijnklantportaal {__version__}")
    result = run("invoices", "get", "--help", module=True)
    assert result.returncode == 0 and "--sandbox" in result.stdout and "--json" in result.stdout


@pytest.fixture
def served() -> Iterator[tuple[FakeMijnKlantportaal, str]]:
    fake = FakeMijnKlantportaal()
    fake.add_example_invoice()
    with fake.serve() as base_url:
        yield fake, base_url


def test_real_key_against_a_server(served: tuple[FakeMijnKlantportaal, str]) -> None:
    fake, base_url = served
    env = {"MIJNKLANTPORTAAL_API_KEY": fake.api_key, "MIJNKLANTPORTAAL_BASE_URL": base_url}
    result = run("invoices", "get", EXAMPLE_INVOICE_ID, "--json", **env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totalAmount"] == "15.67"
    result = run(
        "invoices", "get", EXAMPLE_INVOICE_ID, "--base-url", base_url, "--api-key", fake.api_key
    )
    assert result.returncode == 0 and "  totalAmount     15.67\n" in result.stdout
    assert [
        r.headers["user-agent"].startswith("mijnklantportaal-python/") for r in fake.requests
    ] == [True, True]
    assert_one_line_error(
        run(
            "invoices",
            "get",
            EXAMPLE_INVOICE_ID,
            "--base-url",
            base_url,
            "--api-key",
            "mkp_wrong_0123456789",
        ),
        5,
        "401",
    )


@pytest.mark.slow
def test_server_faults_end_in_one_line(served: tuple[FakeMijnKlantportaal, str]) -> None:
    fake, base_url = served
    env = {"MIJNKLANTPORTAAL_API_KEY": fake.api_key, "MIJNKLANTPORTAAL_BASE_URL": base_url}
    fake.fail_every(1, Fault.html(502))
    assert_one_line_error(run("invoices", "get", EXAMPLE_INVOICE_ID, **env), 8, "502")
    fake.clear_faults()
    fake.fail_every(1, Fault.latency(5))
    assert_one_line_error(
        run("invoices", "get", EXAMPLE_INVOICE_ID, "--timeout", "0.2", **env), 7, "timed out"
    )


def test_sandbox_server_until_interrupted() -> None:
    process = subprocess.Popen(
        [str(SCRIPT), "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        assert banner[0].startswith("MijnKlantportaal sandbox at http://127.0.0.1:")
        values = dict(line.removeprefix("export ").strip().split("=", 1) for line in banner[1:3])
        base_url, key = values["MIJNKLANTPORTAAL_BASE_URL"], values["MIJNKLANTPORTAAL_API_KEY"]
        assert base_url.endswith("/v1") and base_url in banner[0]
        result = run(
            "invoices",
            "get",
            EXAMPLE_INVOICE_ID,
            MIJNKLANTPORTAAL_API_KEY=key,
            MIJNKLANTPORTAAL_BASE_URL=base_url,
        )
        assert result.returncode == 0 and "MKP-2025.0010" in result.stdout, result.stderr
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
        assert process.returncode == 0, stderr
        assert "Traceback" not in stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_sandbox_port_in_use_is_one_line(served: tuple[FakeMijnKlantportaal, str]) -> None:
    _, base_url = served
    port = base_url.rsplit(":", 1)[1].split("/")[0]
    assert_one_line_error(run("sandbox", "--port", port), 3, "cannot listen")


@pytest.mark.parametrize("out", [".", "..", "/"])
def test_an_export_out_that_names_no_file_is_a_usage_error(out: str, tmp_path: Path) -> None:
    """OUT's errors file goes beside it, so OUT must name a file (not a ValueError from
    pathlib); nothing is read or sent."""
    ids = tmp_path / "ids.txt"
    ids.write_text("fac_abc12345def678\n")
    result = run("invoices", "export", str(ids), "--sandbox", "--out", out)
    assert_one_line_error(result, 2, f"--out must name a file, not {out!r}")


def test_a_sandbox_host_the_socket_layer_cannot_encode_is_a_configuration_error() -> None:
    assert_one_line_error(run("sandbox", "--host", "\u00e4..b"), 3, "cannot listen on")
