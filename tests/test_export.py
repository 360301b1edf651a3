"""`mijnklantportaal invoices export`: whole JSON lines with exact money, resumable after Ctrl+C,
kill -9 or a torn line, failures in OUT.errors.jsonl with their own exit status, and progress on
stderr. In-process through `cli.main` where speed matters; real subprocesses where the point is a
signal, a file size limit or a terminal."""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
import pty
import re
import resource
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _redis_server import RedisServer
from mijnklantportaal import InvalidArgumentError, Invoice, MijnKlantportaalError, cli
from mijnklantportaal._export import ExportFile, Progress, errors_path_for, run_export
from mijnklantportaal.testing import EXAMPLE_INVOICE, FakeMijnKlantportaal, Fault

SERVED = [f"fac_srv{i:06d}" for i in range(300)]
# Money a float would spoil: 1234567890123.10 as a float prints as 1234567890123.1.
EXACT_ID = "fac_exact0000001"
EXACT_INVOICE = {
    **EXAMPLE_INVOICE,
    "id": EXACT_ID,
    "lines": [
        {
            **EXAMPLE_INVOICE["lines"][0],
            "amountExclVat": "1234567890123.10",
            "vatRate": "0",
            "vatAmount": "0.00",
            "amountInclVat": "1234567890123.10",
        }
    ],
    "subtotalAmount": "1234567890123.10",
    "vatAmount": "0.00",
    "totalAmount": "1234567890123.10",
}
PROGRESS_LINE = re.compile(r"exported \d+/\d+ \(\d+ failed\), \d+\.\d/s, ETA \S+")
# For the tests that are not about the rate budget: the fake they ask has no rate limit,
# and the CLI's budget (the API's 60 a minute) would only make them slow.
NO_BUDGET = ("--rate-limit", "1000000")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeMijnKlantportaal, str]]:
    # Money as JSON numbers, like the API; each invoice the spec's example under its id.
    fake = FakeMijnKlantportaal(rate_limit=None, invoices=SERVED)
    fake.add_invoice(EXACT_INVOICE)
    with fake.serve() as base_url:
        yield fake, base_url


def clean_env(fake: FakeMijnKlantportaal, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    return {**env, "MIJNKLANTPORTAAL_API_KEY": fake.api_key, "MIJNKLANTPORTAAL_BASE_URL": base_url}


@pytest.fixture
def served(
    server: tuple[FakeMijnKlantportaal, str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeMijnKlantportaal]:
    fake, base_url = server
    for name in list(os.environ):
        if name.startswith("MIJNKLANTPORTAAL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MIJNKLANTPORTAAL_API_KEY", fake.api_key)
    monkeypatch.setenv("MIJNKLANTPORTAAL_BASE_URL", base_url)
    fake.clear_faults()
    fake.clear_requests()
    yield fake
    fake.clear_faults()


def write_ids(path: Path, ids: Iterable[str]) -> Path:
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def export(
    capfd: pytest.CaptureFixture[str], ids_file: Path, out: Path, *flags: str
) -> tuple[int, str]:
    command = ["invoices", "export", str(ids_file), "--out", str(out), *flags]
    if "--sandbox" not in flags and "--rate-limit" not in flags:
        command += NO_BUDGET
    code = cli.main(command)
    captured = capfd.readouterr()
    assert captured.out == ""  # the export writes only files and stderr
    assert "Traceback" not in captured.err
    return code, captured.err


def read_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), data[-200:]  # only whole lines
    return [json.loads(line) for line in data.splitlines()]


def fetched_ids(fake: FakeMijnKlantportaal) -> list[str]:
    return [r.invoice_id for r in fake.requests if r.invoice_id is not None]


def served_as_exported(fake: FakeMijnKlantportaal, invoice_id: str) -> dict[str, Any]:
    """What the export writes for an invoice the fake serves: the served JSON as the client
    parses it, back in the API's field names with money as exact strings."""
    return Invoice.from_dict(fake.invoice_json(invoice_id, money_as="string")).to_dict()


def no_json_floats(path: Path) -> None:
    """Fail if a line of ``path`` holds a JSON number with a fraction: money is strings."""

    def refuse(number: str) -> Any:
        raise AssertionError(f"a JSON number {number} in {path}")

    for line in path.read_bytes().splitlines():
        json.loads(line, parse_float=refuse)


# -- in-process -------------------------------------------------------------------------------


def test_a_sandbox_export_of_500_ids_with_exact_money_then_a_rerun_has_nothing_to_do(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ids = [f"fac_demo{i:06d}" for i in range(500)]
    text = "# nightly export\n\n" + "".join(f"  {i}\t\n" for i in ids) + f"{ids[7]}\n{ids[0]}\n"
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, err = export(capfd, ids_file, out, "--sandbox", "--concurrency", "8")
    assert code == cli.EXIT_OK, err
    lines = read_lines(out)
    assert [line["id"] for line in lines] == ids  # input order, duplicates once
    # The sandbox serves the fake's generated invoices: the spec's example under each id.
    sandbox = FakeMijnKlantportaal(rate_limit=None, invoices=ids)
    for line in lines:
        assert line == served_as_exported(sandbox, line["id"])
        assert {**line, "id": EXAMPLE_INVOICE["id"]} == Invoice.from_dict(EXAMPLE_INVOICE).to_dict()
    no_json_floats(out)
    assert not errors_path_for(out).exists()
    assert err.splitlines()[-1].startswith("exported 500/500 (0 failed), ")

    before = out.read_bytes()
    code, err = export(capfd, ids_file, out, "--sandbox")
    assert code == cli.EXIT_OK and out.read_bytes() == before
    assert err == f"mijnklantportaal: nothing to fetch: all 500 ids are already in {out}\n"


def test_money_is_exact_strings_from_a_json_number_body(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    body = httpx.get(
        f"{os.environ['MIJNKLANTPORTAAL_BASE_URL']}/invoices/{EXACT_ID}",
        headers={"Authorization": f"Bearer {served.api_key}"},
    ).content
    assert b'"totalAmount":1234567890123.10' in body  # a JSON number, as the API sends it
    out = tmp_path / "out.jsonl"
    code, _ = export(capfd, write_ids(tmp_path / "ids", [EXACT_ID]), out, "--quiet")
    assert code == cli.EXIT_OK
    line = out.read_text(encoding="utf-8")
    assert '"totalAmount":"1234567890123.10"' in line
    assert '"amountExclVat":"1234567890123.10"' in line
    with served.client() as client:
        assert json.loads(line) == client.invoices.get(EXACT_ID).to_dict()


def test_a_rerun_fetches_only_what_is_missing_and_nothing_when_done(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ids_file = write_ids(tmp_path / "ids", SERVED[:100])
    out = tmp_path / "out.jsonl"
    write_ids(tmp_path / "first", SERVED[:40])
    assert export(capfd, tmp_path / "first", out, "--quiet")[0] == cli.EXIT_OK
    served.clear_requests()
    code, err = export(capfd, ids_file, out)
    assert code == cli.EXIT_OK, err
    assert sorted(fetched_ids(served)) == SERVED[40:100]
    assert [line["id"] for line in read_lines(out)] == SERVED[:100]
    assert "exported 100/100 (0 failed)" in err
    served.clear_requests()
    code, _ = export(capfd, ids_file, out)
    assert code == cli.EXIT_OK and fetched_ids(served) == []


def test_failures_go_to_the_errors_file_with_their_own_exit_status_and_are_retried(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ids = [*SERVED[:5], "fac_gone00000001", SERVED[5], "inv_123", "fac_gone00000002"]
    ids_file = write_ids(tmp_path / "ids", ids)
    out = tmp_path / "out.jsonl"
    code, err = export(capfd, ids_file, out)
    assert code == cli.EXIT_EXPORT_FAILURES == 10
    errors_file = tmp_path / "out.errors.jsonl"
    assert f"3 of 9 ids failed, listed in {errors_file}" in err
    assert [line["id"] for line in read_lines(out)] == [*SERVED[:6]]
    errors = read_lines(errors_file)
    assert [(e["id"], e["error"], e["status"]) for e in errors] == [
        ("fac_gone00000001", "NotFoundError", 404),
        ("inv_123", "InvalidArgumentError", None),
        ("fac_gone00000002", "NotFoundError", 404),
    ]
    assert "Invoice fac_gone00000001 not found." in errors[0]["message"]
    assert "customer invoice" in errors[1]["message"]

    served.add_generated_invoices(["fac_gone00000001", "fac_gone00000002"])
    try:
        served.clear_requests()
        code, _ = export(capfd, ids_file, out, "--quiet")
        assert code == cli.EXIT_EXPORT_FAILURES  # inv_123 still fails
        assert sorted(fetched_ids(served)) == ["fac_gone00000001", "fac_gone00000002"]
        assert [e["id"] for e in read_lines(errors_file)] == ["inv_123"]  # the latest run
        ids_file.write_text(ids_file.read_text().replace("inv_123\n", ""))
        code, _ = export(capfd, ids_file, out, "--quiet")
        assert code == cli.EXIT_OK and not errors_file.exists()
        assert sorted(line["id"] for line in read_lines(out)) == sorted(
            [*SERVED[:6], "fac_gone00000001", "fac_gone00000002"]
        )
    finally:
        served.remove_invoice("fac_gone00000001")
        served.remove_invoice("fac_gone00000002")


def test_a_server_message_in_the_errors_file_is_one_safe_bounded_line(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    hostile = "\x1b]0;owned\x07\x1b[2J\u202egnp.exe\nnext line " + "x" * 5000
    served.fail_next(Fault.status(404, json_body={"message": hostile}))
    out = tmp_path / "out.jsonl"
    code, _ = export(capfd, write_ids(tmp_path / "ids", SERVED[:1]), out, "--quiet")
    assert code == cli.EXIT_EXPORT_FAILURES
    (error,) = read_lines(tmp_path / "out.errors.jsonl")
    message = error["message"]
    assert message.isprintable() and len(message) <= 500 and message.endswith("...")
    assert "\\x1b]0;owned\\x07" in message and "\\u202e" in message


def test_a_torn_last_line_is_cut_off_and_fetched_again(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    assert export(capfd, write_ids(tmp_path / "a", SERVED[:3]), out, "--quiet")[0] == 0
    whole = out.read_bytes()
    torn = json.dumps(served_as_exported(served, SERVED[3]))[:-40].encode()
    out.write_bytes(whole + torn)
    served.clear_requests()
    code, err = export(capfd, write_ids(tmp_path / "b", SERVED[:5]), out)
    assert code == cli.EXIT_OK
    assert f"cut a torn last line ({len(torn)} bytes) off {out}" in err
    assert [line["id"] for line in read_lines(out)] == SERVED[:5]
    assert sorted(fetched_ids(served)) == SERVED[3:5]


def test_a_long_torn_line_and_an_export_line_without_any_newline(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.jsonl"
    torn = b'{"id":"fac_a2","note":"' + b"x" * 200_000
    out.write_bytes(b'{"id":"fac_a1"}\n' + torn)
    with ExportFile(out) as target:
        assert target.torn_bytes == len(torn) and target.done == {"fac_a1"}
    assert out.read_bytes() == b'{"id":"fac_a1"}\n'
    out.write_bytes(b'{"id":"fac_a1"')
    with ExportFile(out) as target:
        assert target.done == set()
    assert out.read_bytes() == b""


def test_bad_inputs_are_one_line_errors_with_their_exit_status(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    code, err = export(capfd, tmp_path / "missing.txt", out)
    assert code == cli.EXIT_USAGE and "cannot read the ids file" in err and "No such file" in err
    binary = tmp_path / "ids.bin"
    binary.write_bytes(b"fac_a1\n\xff\xfe\n")
    code, err = export(capfd, binary, out)
    assert code == cli.EXIT_USAGE and "is not UTF-8 text (line 2)" in err
    ids_file = write_ids(tmp_path / "ids", SERVED[:2])
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\nno newline at the end")
    code, err = export(capfd, ids_file, notes)
    assert code == cli.EXIT_USAGE and "is not an export of this command: line 1 is" in err
    assert notes.read_text() == "my notes\nno newline at the end"  # left alone, not cut
    code, err = export(capfd, ids_file, Path("-"))
    assert code == cli.EXIT_USAGE and "--out must name a file" in err
    assert not Path("-").exists()
    empty = write_ids(tmp_path / "empty", [])
    code, err = export(capfd, empty, out)
    assert (code, err) == (cli.EXIT_OK, "mijnklantportaal: nothing to fetch: no ids in IDS_FILE\n")
    code, err = export(capfd, ids_file, tmp_path)
    assert code == cli.EXIT_OUTPUT and "cannot open --out" in err
    with pytest.raises(SystemExit) as exited:
        cli.main(["invoices", "export", str(ids_file), "--out", str(out), "--concurrency", "0"])
    assert exited.value.code == cli.EXIT_USAGE
    assert "must be from 1 to 64" in capfd.readouterr().err
    assert fetched_ids(served) == []


def test_a_wrong_key_stops_the_export_at_once(
    served: FakeMijnKlantportaal, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    ids_file = write_ids(tmp_path / "ids", SERVED)
    code, err = export(capfd, ids_file, out, "--api-key", "mkp_wrong_key_123", "--quiet")
    assert code == cli.EXIT_AUTH and "401" in err
    assert len(served.requests) <= 2 * 4  # the calls already in flight, not 300
    assert read_lines(out) == [] and not errors_path_for(out).exists()


def test_ids_from_stdin(
    served: FakeMijnKlantportaal,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO("\ufeff# ids\n".encode() + b"fac_srv000001\r\n"))
    monkeypatch.setattr(sys, "stdin", stdin)
    out = tmp_path / "out.jsonl"
    code, err = export(capfd, Path("-"), out, "--quiet")
    assert (code, err) == (cli.EXIT_OK, "")
    assert [line["id"] for line in read_lines(out)] == ["fac_srv000001"]
    assert not stdin.closed


def test_an_export_on_a_real_redis_budget_meets_a_rate_limited_server_without_a_429(
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``--redis`` paces the export on a real Valkey server: 30 ids against a fake that
    allows 10 requests per second get no 429, and every line is whole."""
    for name in list(os.environ):
        if name.startswith("MIJNKLANTPORTAAL_"):
            monkeypatch.delenv(name)
    ids = [f"fac_redis{i:06d}" for i in range(30)]
    fake = FakeMijnKlantportaal(rate_limit=10, rate_window=1.0, invoices=ids)
    redis_server = RedisServer()
    redis_server.start()
    caplog.set_level(logging.INFO, logger="mijnklantportaal")
    out = tmp_path / "out.jsonl"
    try:
        with fake.serve() as base_url:
            started = time.monotonic()
            code, err = export(
                capfd,
                write_ids(tmp_path / "ids", ids),
                out,
                *("--redis", redis_server.url, "--base-url", base_url),
                *("--api-key", fake.api_key, "--rate-limit", "10", "--rate-window", "1"),
            )
            elapsed = time.monotonic() - started
    finally:
        redis_server.kill()
    assert code == cli.EXIT_OK, err
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []  # no "Redis is unreachable": the budget really was on Redis
    statuses = [r.status for r in fake.requests]
    assert statuses.count(429) == 0 and len(statuses) == 30
    lines = read_lines(out)
    assert [line["id"] for line in lines] == ids
    assert all(line == served_as_exported(fake, line["id"]) for line in lines)
    # Bulk starts 8 of the 10 a second: ideal (ceil(30/8) - 1) * 1 s = 3 s; generous bounds.
    assert 2.5 < elapsed < 3 * 1.6 + 1, elapsed


def test_plain_progress_lines_when_stderr_is_not_a_terminal(
    served: FakeMijnKlantportaal,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("mijnklantportaal._export.PROGRESS_INTERVAL", 0.0)
    ids = [*SERVED[:20], "fac_gone00000003"]
    code, err = export(capfd, write_ids(tmp_path / "ids", ids), tmp_path / "out.jsonl")
    assert code == cli.EXIT_EXPORT_FAILURES
    lines = err.splitlines()
    progress = [line for line in lines if line.startswith("exported ")]
    assert len(progress) >= 21 and all(PROGRESS_LINE.fullmatch(p) for p in progress), lines
    assert progress[-1].startswith("exported 20/21 (1 failed), ")
    assert progress[-1].endswith("ETA -")
    code, err = export(capfd, write_ids(tmp_path / "more", SERVED[:30]), tmp_path / "out.jsonl")
    assert "exported 30/30 (0 failed)" in err.splitlines()[-1]  # counts the earlier 20
    code, err = export(
        capfd, write_ids(tmp_path / "q", SERVED[:40]), tmp_path / "out.jsonl", "--quiet"
    )
    assert (code, err) == (cli.EXIT_OK, "")


def test_429s_the_client_retried_are_counted_in_the_progress(
    served: FakeMijnKlantportaal,
    sleeps: list[float],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    served.fail_next(Fault.rate_limited(retry_after=1), times=2)
    served.fail_next(Fault.status(503))
    code, err = export(capfd, write_ids(tmp_path / "ids", SERVED[:10]), tmp_path / "out.jsonl")
    assert code == cli.EXIT_OK, err
    # The two 429s were waited out (retry-after plus jitter) and tried again.
    assert len(sleeps) == 3 and sum(1 for s in sleeps if 1 <= s <= 1.25) >= 2
    (line,) = err.splitlines()
    assert PROGRESS_LINE.match(line) and line.endswith(", 2 x 429")
    assert line.startswith("exported 10/10 (0 failed), ")


def test_waits_and_429s_are_counted_from_the_clients_log_records(tmp_path: Path) -> None:
    """The client logs each retry with ``mijnklantportaal_retry_delay``/``_status`` and each
    wait for the rate budget with ``mijnklantportaal_budget_wait``; the export counts them
    (a "wait" of microseconds, a start that was free at once, is not one)."""
    logger = logging.getLogger("mijnklantportaal")
    level = logger.level

    def fetch(ids: Iterable[str]) -> Iterator[tuple[str, Invoice | MijnKlantportaalError]]:
        for n, invoice_id in enumerate(ids):
            extra: dict[str, Any] = {"mijnklantportaal_retry_delay": 1.0}
            extra["mijnklantportaal_retry_status"] = 429 if n % 2 else 503
            logger.info("retrying", extra=extra)
            logger.info("waited", extra={"mijnklantportaal_budget_wait": 0.25})
            logger.info("booked", extra={"mijnklantportaal_budget_wait": 4e-6})  # no wait
            logger.info("unrelated")
            yield invoice_id, Invoice.from_dict({**EXAMPLE_INVOICE, "id": invoice_id})
        assert logger.isEnabledFor(logging.INFO)

    stream = io.StringIO()
    with ExportFile(tmp_path / "out.jsonl") as target:
        progress = Progress(mode="lines", stream=stream, total=6, already=0)
        result = run_export(fetch, [f"fac_{i}" for i in range(6)], target, progress)
    assert (result.exported, result.failed, result.interrupted) == (6, 0, False)
    assert (progress.counts.retries, progress.counts.rate_limited) == (6, 3)
    assert progress.counts.budget_waits == 6
    assert stream.getvalue().endswith(", 6 budget waits, 3 x 429\n")
    assert logger.level == level and progress.counts not in logger.handlers


def test_ctrl_c_inside_the_loop_ends_the_run_as_interrupted_with_whole_lines(
    tmp_path: Path,
) -> None:
    closed: list[bool] = []

    def fetch(ids: Iterable[str]) -> Iterator[tuple[str, Invoice | MijnKlantportaalError]]:
        try:
            for n, invoice_id in enumerate(ids):
                if n == 3:
                    raise KeyboardInterrupt
                if n == 1:
                    yield invoice_id, InvalidArgumentError("a malformed id")
                    continue
                yield invoice_id, Invoice.from_dict({**EXAMPLE_INVOICE, "id": invoice_id})
        finally:
            closed.append(True)

    out = tmp_path / "out.jsonl"
    with ExportFile(out) as target:
        progress = Progress(mode="off", stream=io.StringIO(), total=10, already=0)
        result = run_export(fetch, [f"fac_{i}" for i in range(10)], target, progress)
    assert (result.exported, result.failed, result.interrupted) == (2, 1, True)
    assert closed == [True]
    assert [line["id"] for line in read_lines(out)] == ["fac_0", "fac_2"]


# -- real processes ---------------------------------------------------------------------------


def start_export(
    env: dict[str, str], ids_file: Path, out: Path, *flags: str, **kwargs: Any
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mijnklantportaal", "invoices", "export", str(ids_file)]
    if "--sandbox" not in flags and "--rate-limit" not in flags:
        flags += NO_BUDGET
    return subprocess.Popen(
        [*command, "--out", str(out), *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=kwargs.pop("stderr", subprocess.PIPE),
        **kwargs,
    )


def wait_for_lines(out: Path, at_least: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= at_least:
            return
        time.sleep(0.01)
    raise AssertionError(f"the export did not get to {at_least} lines (exit {process.poll()})")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGINT"])
def test_a_killed_or_interrupted_export_leaves_whole_lines_and_a_rerun_completes_it(
    served: FakeMijnKlantportaal,
    server: tuple[FakeMijnKlantportaal, str],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    how: str,
) -> None:
    env = clean_env(*server)
    ids_file = write_ids(tmp_path / "ids", SERVED)
    out = tmp_path / "out.jsonl"
    served.fail_every(1, Fault.latency(0.02))  # slow enough to stop half way
    process = start_export(env, ids_file, out, "--concurrency", "4", "--quiet")
    try:
        wait_for_lines(out, 40, process)
        sent_at = time.monotonic()
        process.send_signal(getattr(signal, how))
        _, err = process.communicate(timeout=20)
        stopped_in = time.monotonic() - sent_at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    served.clear_faults()
    lines = read_lines(out)  # whole lines only
    written = [line["id"] for line in lines]
    assert 40 <= len(written) < len(SERVED) and len(set(written)) == len(written)
    assert written == SERVED[: len(written)]  # in order, no gap: nothing lost before the last
    if how == "SIGINT":
        assert process.returncode == cli.EXIT_INTERRUPTED == 130
        assert stopped_in < 5
        assert (
            f"interrupted: {len(written)} of {len(SERVED)} invoices are in {out}; "
            "run the same command again" in err.decode()
        )
    else:
        assert process.returncode == -signal.SIGKILL

    served.clear_requests()
    code, _ = export(capfd, ids_file, out, "--quiet")
    assert code == cli.EXIT_OK
    assert sorted(fetched_ids(served)) == SERVED[len(written) :]
    final = [line["id"] for line in read_lines(out)]
    assert sorted(final) == sorted(SERVED) and len(final) == len(SERVED)


def test_a_full_disk_leaves_whole_lines_and_exits_with_the_output_status(
    server: tuple[FakeMijnKlantportaal, str], tmp_path: Path
) -> None:
    """A file size limit makes a write stop part way, as a full disk does."""
    ids_file = write_ids(tmp_path / "ids", SERVED[:60])
    out = tmp_path / "out.jsonl"
    limit = 20_000

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    process = start_export(clean_env(*server), ids_file, out, "--quiet", preexec_fn=limit_file_size)
    _, err = process.communicate(timeout=60)
    assert process.returncode == cli.EXIT_OUTPUT, err
    assert b"cannot write to" in err and err.count(b"\n") == 1
    lines = read_lines(out)
    assert 0 < len(lines) < 60 and out.stat().st_size <= limit
    assert [line["id"] for line in lines] == SERVED[: len(lines)]


def test_a_progress_bar_when_stderr_is_a_terminal(tmp_path: Path) -> None:
    ids_file = write_ids(tmp_path / "ids", [f"fac_tty{i:06d}" for i in range(500)])
    out = tmp_path / "out.jsonl"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    chunks: list[bytes] = []

    def read_terminal() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read_terminal)
    reader.start()
    try:
        process = start_export(env, ids_file, out, "--sandbox", stderr=slave)
        os.close(slave)
        process.communicate(timeout=60)
    finally:
        reader.join(timeout=10)
        os.close(master)
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert process.returncode == cli.EXIT_OK, screen
    assert "\r" in screen and "export: 100%" in screen and "500/500" in screen
    assert "0/500 [00:00<?, ? invoices/s, 0 failed, 0 budget waits, 0 x 429]" in screen
    assert re.search(r"\d+(\.\d+)? invoices/s", screen)  # the rate
    assert "0 failed, 0 budget waits, 0 x 429" in screen
    assert "exported 500/500" not in screen  # no plain lines on a terminal
    assert len(read_lines(out)) == 500


def test_ctrl_c_ends_the_export_at_once_while_calls_sleep_in_the_rate_budget(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker threads asleep in the budget (up to 30 s here) must not keep the process
    alive after Ctrl+C: it exits 130 at once, with whole lines, and a rerun completes."""
    ids = [f"fac_sleep{i:06d}" for i in range(20)]
    fake = FakeMijnKlantportaal(rate_limit=2, rate_window=30, invoices=ids)
    ids_file = write_ids(tmp_path / "ids", ids)
    out = tmp_path / "out.jsonl"
    with fake.serve() as base_url:
        env = clean_env(fake, base_url)
        process = start_export(
            env, ids_file, out, "--quiet", "--rate-limit", "2", "--rate-window", "30"
        )
        try:
            wait_for_lines(out, 1, process)
            time.sleep(0.5)  # the next calls are asleep in the budget by now
            assert process.poll() is None
            sent_at = time.monotonic()
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=20)
            stopped_in = time.monotonic() - sent_at
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == cli.EXIT_INTERRUPTED, err
        assert stopped_in < 3, stopped_in
        assert b"interrupted: 1 of 20 invoices are in" in err and b"Traceback" not in err
        assert [line["id"] for line in read_lines(out)] == ids[:1]

        fake.rate_limit = None  # the rerun need not wait out the 30 s window
        for name in list(os.environ):
            if name.startswith("MIJNKLANTPORTAAL_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("MIJNKLANTPORTAAL_API_KEY", fake.api_key)
        monkeypatch.setenv("MIJNKLANTPORTAAL_BASE_URL", base_url)
        fake.clear_requests()
        code, err = export(capfd, ids_file, out, "--quiet")
    assert code == cli.EXIT_OK, err
    assert sorted(fetched_ids(fake)) == ids[1:]
    assert [line["id"] for line in read_lines(out)] == ids


def test_the_export_client_gets_its_budget_and_priority_in_one_place(tmp_path: Path) -> None:
    """``_make_client``: no budget for the sandbox (it has no rate limit), a
    ``RedisRateBudget`` for ``--redis``, else a ``LocalRateBudget``; sized by
    ``--rate-limit``/``--rate-window``; bulk priority for the export."""
    from mijnklantportaal import ConfigurationError, LocalRateBudget, RedisRateBudget

    parse = cli._parser().parse_args
    export_args = ["invoices", "export", "ids", "--out", "o.jsonl", "--api-key", "mkp_test_123"]
    args = parse([*export_args, "--sandbox"])
    with cli._make_client(args, "bulk", FakeMijnKlantportaal()) as client:
        assert client.rate_budget is None and client.priority == "bulk"
    args = parse([*export_args, "--redis", "redis://127.0.0.1:1/0", "--rate-limit", "10"])
    with cli._make_client(args, "bulk") as client:
        budget = client.rate_budget
        assert isinstance(budget, RedisRateBudget) and client.priority == "bulk"
        assert (budget.limit, budget.window) == (10, 60.0)
    args = parse([*export_args, "--rate-window", "1.5"])
    with cli._make_client(args, "interactive") as client:
        budget = client.rate_budget
        assert isinstance(budget, LocalRateBudget) and client.priority == "interactive"
        assert (budget.limit, budget.window) == (60, 1.5)
    args = parse([*export_args, "--redis", "nonsense"])
    with pytest.raises(ConfigurationError, match="redis://"):
        cli._make_client(args, "bulk").__enter__()
    for bad in (["--rate-limit", "0"], ["--rate-window", "0"], ["--rate-window", "9999"]):
        with pytest.raises(SystemExit) as exited:
            parse([*export_args, *bad])
        assert exited.value.code == cli.EXIT_USAGE
