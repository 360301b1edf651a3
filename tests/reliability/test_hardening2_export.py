"""Issue 17 (Hardening 2), items 17, 18 and 22: ``invoices export`` survives an operator's misuse.

- 17: an OUT (or an ``OUT.errors.jsonl``) that this command did not write is refused with a
  usage error and left byte for byte as it was; a torn line of a real export is still cut.
- 18: an explicit ``--redis`` that cannot be reached (or refuses the password) stops the
  export before anything is sent or opened (exit 3), naming the URL without its password;
  Redis lost during a run is said on stderr.
- 22: two exports to one OUT at once never write a line twice: the second is refused (exit 9)
  while the first holds OUT's lock.

The fake serves over loopback; the commands run as real processes where the point is the
process (its stderr, its lock), in-process (``cli.main``) where it is only the files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from _redis_server import RedisServer
from mijnklantportaal import cli
from mijnklantportaal._export import Progress, errors_path_for
from mijnklantportaal.testing import FakeMijnKlantportaal, Fault

SERVED = [f"fac_hard{i:06d}" for i in range(200)]
# The fake has no rate limit; the CLI's default budget (60 a minute) would only slow tests.
NO_BUDGET = ("--rate-limit", "1000000")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeMijnKlantportaal, str]]:
    fake = FakeMijnKlantportaal(rate_limit=None, invoices=SERVED)
    with fake.serve() as base_url:
        yield fake, base_url


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


def command_env(fake: FakeMijnKlantportaal, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    return {**env, "MIJNKLANTPORTAAL_API_KEY": fake.api_key, "MIJNKLANTPORTAAL_BASE_URL": base_url}


def write_ids(path: Path, ids: Iterable[str]) -> Path:
    path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetched_ids(fake: FakeMijnKlantportaal) -> list[str]:
    return [r.invoice_id for r in fake.requests if r.invoice_id is not None]


def exported_ids(out: Path) -> list[str]:
    data = out.read_bytes()
    assert data == b"" or data.endswith(b"\n"), data[-200:]  # whole lines only
    return [json.loads(line)["id"] for line in data.splitlines()]


def export_in_process(
    capfd: pytest.CaptureFixture[str], ids_file: Path, out: Path, *flags: str
) -> tuple[int, str]:
    code = cli.main(["invoices", "export", str(ids_file), "--out", str(out), *NO_BUDGET, *flags])
    captured = capfd.readouterr()
    assert captured.out == "" and "Traceback" not in captured.err
    return code, captured.err


def export_command(ids_file: Path, out: Path, *flags: str) -> list[str]:
    command = [sys.executable, "-m", "mijnklantportaal", "invoices", "export", str(ids_file)]
    if "--rate-limit" not in flags:
        flags += NO_BUDGET
    return [*command, "--out", str(out), *flags]


def start_export(
    env: dict[str, str], ids_file: Path, out: Path, *flags: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        export_command(ids_file, out, *flags),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(process: subprocess.Popen[bytes], timeout: float = 60) -> tuple[int, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert out == b"" and b"Traceback" not in err, err.decode()
    return process.returncode, err.decode()


def wait_for_lines(out: Path, at_least: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= at_least:
            return
        time.sleep(0.01)
    raise AssertionError(f"the export did not get to {at_least} lines (exit {process.poll()})")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- 17: somebody's file is never modified -------------------------------------------------------

AN_EXPORT_LINE = b'{"id":"fac_hard000000","total":"1.00"}\n'

NOT_AN_EXPORT = {
    # The case: one line of text and no final newline (the torn-line cut took it all).
    "text-without-final-newline": b"my notes, no newline at the end",
    "text-lines-then-no-newline": b"my notes\nand more notes",
    "an-export-then-somebodys-text": AN_EXPORT_LINE + b"PS: call the accountant",
    "a-json-object-without-id": b'{"name": "not an export"}',
    "a-json-array": b"[1, 2, 3]",
    "a-line-with-a-numeric-id": b'{"id": 7}\n',
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "binary-without-any-newline": b"\x00\x01" * 100_000,
    "an-export-then-a-brace-line-with-a-tab": AN_EXPORT_LINE + b'{"id":\t"x"',
}


@pytest.mark.parametrize("content", NOT_AN_EXPORT.values(), ids=NOT_AN_EXPORT.keys())
def test_i17_17_an_out_that_is_not_this_commands_export_is_refused_and_left_byte_identical(
    served: FakeMijnKlantportaal,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    content: bytes,
    figures: Any,
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(content)
    before = digest(notes)
    code, err = export_in_process(capfd, write_ids(tmp_path / "ids", SERVED[:3]), notes)
    assert code == cli.EXIT_USAGE == 2, err
    assert f"--out {str(notes)!r}" in err and "not an export" in err and "unchanged" in err
    assert len(err.splitlines()) == 1
    assert digest(notes) == before
    assert fetched_ids(served) == []
    assert not errors_path_for(notes).exists()
    figures.count("hardening2", "export: foreign OUT files refused")


def test_i17_17_a_foreign_errors_file_is_refused_and_neither_file_changes(
    served: FakeMijnKlantportaal,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    figures: Any,
) -> None:
    """``OUT.errors.jsonl`` is replaced by each run: one this command did not write is refused
    before anything changes (OUT's torn line is not cut either, a missing OUT not created)."""
    out = tmp_path / "report.jsonl"
    errors = errors_path_for(out)
    errors.write_bytes(b"keep me\n")
    code, err = export_in_process(capfd, write_ids(tmp_path / "ids", SERVED[:3]), out)
    assert code == cli.EXIT_USAGE and "not an errors file" in err
    assert not out.exists() and errors.read_bytes() == b"keep me\n"
    errors.unlink()
    os.mkfifo(errors)  # opening it to read must not wait for a writer
    code, err = export_in_process(capfd, write_ids(tmp_path / "ids", SERVED[:3]), out)
    assert code == cli.EXIT_USAGE and "is not a regular file" in err
    assert not out.exists()
    errors.unlink()
    out.write_bytes(AN_EXPORT_LINE + b'{"id":"fac_hard0000')
    for foreign in (b"my list of things to check\n", b'{"id":"fac_1"}\n', b"half a line"):
        errors.write_bytes(foreign)
        out_before, errors_before = digest(out), digest(errors)
        code, err = export_in_process(capfd, write_ids(tmp_path / "ids", SERVED[:3]), out)
        assert code == cli.EXIT_USAGE, err
        assert str(errors) in err and "not an errors file" in err and "unchanged" in err
        assert (digest(out), digest(errors)) == (out_before, errors_before)
        assert fetched_ids(served) == []
    # The errors file of an earlier run (and one cut short) is still replaced by the next run.
    errors.write_bytes(
        b'{"id":"fac_hard000001","error":"NotFoundError","status":404,"message":"gone"}\n'
        b'{"id":"fac_hard000002","err'
    )
    code, err = export_in_process(capfd, write_ids(tmp_path / "ids", SERVED[:3]), out, "--quiet")
    assert code == cli.EXIT_OK, err
    assert not errors.exists()
    assert exported_ids(out) == SERVED[:3]
    figures.count("hardening2", "export: foreign errors files refused")


@pytest.mark.parametrize("cut", [1, 2, 7, 30, -1])
def test_i17_17_a_torn_line_of_a_real_export_is_still_cut_and_fetched_again(
    served: FakeMijnKlantportaal,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    cut: int,
) -> None:
    """The rule keeps existing exports resumable: a last line that is the start of an export
    line (however short, or whole but for its newline) is cut off and fetched again."""
    out = tmp_path / "out.jsonl"
    code, _ = export_in_process(capfd, write_ids(tmp_path / "a", SERVED[:3]), out, "--quiet")
    assert code == cli.EXIT_OK
    whole = out.read_bytes()
    code, _ = export_in_process(capfd, write_ids(tmp_path / "b", SERVED[3:4]), out, "--quiet")
    assert code == cli.EXIT_OK
    fourth = out.read_bytes()[len(whole) :]
    torn = fourth[:cut]
    out.write_bytes(whole + torn)
    served.clear_requests()
    code, err = export_in_process(capfd, write_ids(tmp_path / "c", SERVED[:5]), out, "--quiet")
    assert code == cli.EXIT_OK, err
    assert f"cut a torn last line ({len(torn)} bytes)" in err
    assert exported_ids(out) == SERVED[:5]
    assert sorted(fetched_ids(served)) == SERVED[3:5]


# -- 18: an explicit --redis that cannot be used stops the export before it starts -----------


@pytest.mark.parametrize("where", ["userinfo", "query"])
def test_i17_18_an_unreachable_redis_refuses_to_start_without_showing_its_password(
    server: tuple[FakeMijnKlantportaal, str], tmp_path: Path, where: str, figures: Any
) -> None:
    fake, base_url = server
    fake.clear_requests()
    port = closed_port()
    secret = "s3cret-Redis-pw"
    url = (
        f"redis://ops:{secret}@127.0.0.1:{port}/0"
        if where == "userinfo"
        else f"redis://127.0.0.1:{port}/0?password={secret}"
    )
    out = tmp_path / "out.jsonl"
    started = time.monotonic()
    result = subprocess.run(
        export_command(write_ids(tmp_path / "ids", SERVED[:20]), out, "--redis", url),
        env=command_env(fake, base_url),
        capture_output=True,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    err = result.stderr.decode()
    assert result.returncode == cli.EXIT_CONFIG == 3, err
    assert f"redis://127.0.0.1:{port}/0" in err and "cannot reach" in err
    assert secret not in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert fetched_ids(fake) == []  # refused before the first request
    assert not out.exists()  # and before OUT was opened
    assert elapsed < 30, elapsed  # a process start and one short PING, on a loaded machine
    figures.count("hardening2", "export: unreachable --redis refused")


def test_i17_18_a_redis_that_refuses_the_password_refuses_to_start_and_the_right_one_works(
    server: tuple[FakeMijnKlantportaal, str], tmp_path: Path, figures: Any
) -> None:
    fake, base_url = server
    fake.clear_requests()
    password = "right-Pass-123"
    redis_server = RedisServer()
    redis_server.start()
    try:
        admin = redis.Redis(host="127.0.0.1", port=redis_server.port)
        admin.config_set("requirepass", password)
        admin.close()
        ids_file = write_ids(tmp_path / "ids", SERVED[:5])
        out = tmp_path / "out.jsonl"
        env = command_env(fake, base_url)
        wrong = f"redis://:wrong-Pass-456@127.0.0.1:{redis_server.port}/0"
        result = subprocess.run(
            export_command(ids_file, out, "--redis", wrong),
            env=env,
            capture_output=True,
            timeout=60,
        )
        err = result.stderr.decode()
        assert result.returncode == cli.EXIT_CONFIG, err
        assert f"redis://127.0.0.1:{redis_server.port}/0" in err and "wrong-Pass-456" not in err
        assert fetched_ids(fake) == [] and not out.exists()

        right = f"redis://:{password}@127.0.0.1:{redis_server.port}/0"
        result = subprocess.run(
            export_command(ids_file, out, "--redis", right, "--quiet"),
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert result.returncode == cli.EXIT_OK, result.stderr.decode()
        assert result.stderr == b""
        assert exported_ids(out) == SERVED[:5]
    finally:
        redis_server.kill()
    figures.count("hardening2", "export: --redis with a wrong password refused")


def test_i17_18_redis_lost_during_the_export_is_said_on_stderr(
    server: tuple[FakeMijnKlantportaal, str], tmp_path: Path, figures: Any
) -> None:
    """After a good start, Redis going away is no reason to stop (the in-process budget takes
    over), but the operator sees it: the client's warning reaches stderr, also with --quiet."""
    fake, base_url = server
    fake.clear_requests()
    fake.fail_every(1, Fault.latency(0.02))
    redis_server = RedisServer()
    redis_server.start()
    out = tmp_path / "out.jsonl"
    try:
        process = start_export(
            command_env(fake, base_url),
            write_ids(tmp_path / "ids", SERVED),
            out,
            *("--redis", redis_server.url, "--quiet", "--concurrency", "2"),
        )
        wait_for_lines(out, 10, process)
        redis_server.kill()
        code, err = finish(process)
    finally:
        redis_server.kill()
        fake.clear_faults()
    assert code == cli.EXIT_OK, err
    assert exported_ids(out) == SERVED
    assert "mijnklantportaal: warning: Rate budget: Redis is unreachable" in err, err
    assert len(err.splitlines()) == 1, err  # once per outage
    figures.count("hardening2", "export: Redis lost mid-run reported")


# -- 22: one export per OUT at a time --------------------------------------------------------


def test_i17_22_a_second_export_to_the_same_out_is_refused_while_the_first_runs(
    server: tuple[FakeMijnKlantportaal, str], tmp_path: Path, figures: Any
) -> None:
    fake, base_url = server
    fake.clear_requests()
    ids = SERVED[:100]
    fake.fail_every(1, Fault.latency(0.06))  # the first run takes about 6 s
    env = command_env(fake, base_url)
    ids_file = write_ids(tmp_path / "ids", ids)
    out = tmp_path / "out.jsonl"
    try:
        first = start_export(env, ids_file, out, "--quiet", "--concurrency", "1")
        try:
            wait_for_lines(out, 5, first)
            second = subprocess.run(
                export_command(ids_file, out, "--quiet"), env=env, capture_output=True, timeout=60
            )
            assert first.poll() is None  # the refusal came while the first still ran
        finally:
            first_code, first_err = finish(first)
    finally:
        fake.clear_faults()
    err = second.stderr.decode()
    assert second.returncode == cli.EXIT_OUTPUT == 9, err
    assert "another export is writing to it" in err and len(err.splitlines()) == 1
    assert first_code == cli.EXIT_OK, first_err
    written = exported_ids(out)
    assert written == ids  # each once, in order
    assert fetched_ids(fake) == ids  # the refused run sent nothing
    # The lock ends with the run: the same command now finds nothing left to do.
    result = subprocess.run(export_command(ids_file, out), env=env, capture_output=True, timeout=60)
    assert result.returncode == cli.EXIT_OK, result.stderr.decode()
    assert "nothing to fetch" in result.stderr.decode()
    figures.count("hardening2", "export: concurrent run on one OUT refused")


def test_i17_22_two_exports_started_together_never_write_a_line_twice(
    server: tuple[FakeMijnKlantportaal, str], tmp_path: Path, figures: Any
) -> None:
    fake, base_url = server
    fake.clear_requests()
    fake.fail_every(1, Fault.latency(0.01))
    env = command_env(fake, base_url)
    ids_file = write_ids(tmp_path / "ids", SERVED)
    out = tmp_path / "out.jsonl"
    try:
        processes = [start_export(env, ids_file, out, "--quiet") for _ in range(2)]
        results = [finish(process) for process in processes]
    finally:
        fake.clear_faults()
    codes = sorted(code for code, _ in results)
    # One ran; the other was refused (or, had the first been done already, found nothing to do).
    assert codes in ([cli.EXIT_OK, cli.EXIT_OUTPUT], [cli.EXIT_OK, cli.EXIT_OK]), results
    duplicates = [i for i, n in Counter(exported_ids(out)).items() if n > 1]
    assert duplicates == []
    assert sorted(exported_ids(out)) == SERVED
    figures.count("hardening2", "export: simultaneous runs on one OUT")


def test_i17_18_a_warning_is_printed_above_the_progress_bar(tmp_path: Path) -> None:
    """``Progress.warn`` (where the client's warnings go during an export) clears the bar,
    prints one terminal-safe line and draws the bar again."""
    stream = io.StringIO()
    with Progress(mode="bar", stream=stream, total=10, already=0) as progress:
        progress.advance(ok=True)
        progress.warn("Rate budget: Redis is unreachable\n(\x1b[2J); using the in-process budget")
        progress.advance(ok=True)
    text = stream.getvalue()
    line = (
        "mijnklantportaal: warning: Rate budget: Redis is unreachable (\\x1b[2J); "
        "using the in-process budget\n"
    )
    assert line in text and "\x1b[2J" not in text
    assert "2/10" in text.split(line)[1]  # the bar goes on below it
