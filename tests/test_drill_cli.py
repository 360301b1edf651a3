"""The drill for the command line and the export (issue 19, items 2 to 4).

A repo copy takes the drill's operation mutations (tests/spec_mutations.py): a tag, "Drill
Tickets API", with a create (a body of every kind, a header), a page list (an enum filter, a
query array), a get and a delete by id, and the other write shapes (PATCH with a nullable
field, PUT, a reply created and deleted by two ids). ``./generate.sh`` runs there, and with
0 hand-edited lines (checked with git, as tests/test_spec_drill.py does):

- every new operation is a command, and runs in the sandbox: exit 0, the values printed
  exactly, ``--json`` exact;
- over loopback the commands send exactly what was given (the body byte-checked), refuse a
  value that does not fit before sending, and a list streams every page;
- the drilled resource exports by ids, and ``export --all`` walks its pages and resumes after
  an interruption, on to the next page, without a line twice;
- a create is then visible to a get in one ``mijnklantportaal sandbox`` session.

Everything runs in subprocesses with the copy's packages first on the path.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import REPO, copy_repo
from spec_mutations import MUTATIONS, dump_spec, load_spec
from test_spec_drill import COPIED, Copy, _generated_only, _step_output

pytestmark = [pytest.mark.drill, pytest.mark.slow]

# A tag with a get, a list, a create and a delete, and the other write shapes besides.
APPLIED = (
    "create-operation-added",
    "write-methods-added",
    "page-list-added",
    "read-delete-added",
)
RESOURCE = "drill-tickets"
SUITE = (
    "tests/test_cli_commands.py",
    "tests/test_render.py",
    "tests/test_export_pages.py",
    "tests/test_cli.py",
)


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory, tools_venv: Path) -> Copy:
    root = copy_repo(
        tmp_path_factory.mktemp("cli-drill") / "repo", *[n for n in COPIED if (REPO / n).exists()]
    )
    copy = Copy(root, tools_venv, tmp_path_factory.mktemp("cli-drill-mypy"))
    copy.git("init", "-q")
    copy.git("add", "-A")
    copy.git("commit", "-q", "-m", "as checked out")
    spec = load_spec(root / "openapi.yaml")
    for name in APPLIED:
        MUTATIONS[name].apply(spec)
    (root / "openapi.yaml").write_text(dump_spec(spec), encoding="utf-8")
    generated = copy.generate()
    assert generated.returncode == 0, _step_output(generated)
    changed = copy.changed_paths()
    assert changed, "./generate.sh changed nothing"
    assert set(changed) == _generated_only(changed), (
        "./generate.sh changed handwritten files: "
        + ", ".join(sorted(set(changed) - _generated_only(changed)))
    )
    assert "wrapper/mijnklantportaal/_generated/commands.py" in changed
    return copy


def _env(copy: Copy, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    env.update(
        PYTHONPATH=f"{copy.root / 'wrapper'}{os.pathsep}{copy.root / 'generated'}",
        PYTHONDONTWRITEBYTECODE="1",
        **extra,
    )
    return env


def cli(copy: Copy, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m mijnklantportaal ARGS`` on the copy's packages."""
    return subprocess.run(
        [sys.executable, "-m", "mijnklantportaal", *args],
        cwd=copy.root,
        env=_env(copy, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def script(copy: Copy, name: str, code: str) -> str:
    """Run ``code`` in the copy; it must print ``ok`` last. Returns what it printed."""
    path = copy.root / f"drill_cli_{name}.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(path)],
        cwd=copy.root,
        env=_env(copy),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0 and done.stdout.endswith("ok\n"), _step_output(done)
    return done.stdout


def fields(stdout: str) -> dict[str, str]:
    """The first block of a printed record: field -> the text shown for it."""
    shown: dict[str, str] = {}
    for line in stdout.splitlines()[1:]:
        if not line:
            break
        key, _, value = line.strip().partition("  ")
        shown[key] = value.strip()
    return shown


@pytest.fixture(scope="module")
def facts(drilled: Copy) -> dict[str, Any]:
    """What the drilled spec says, read in the copy: the commands of the drilled resource and
    its exports, and the examples (as the models give them, ``to_dict``)."""
    out = script(
        drilled,
        "facts",
        f"""
        import json
        from mijnklantportaal import _generated
        from mijnklantportaal._generated.commands import RESOURCES
        from mijnklantportaal._generated.examples import EXAMPLES

        (resource,) = [r for r in RESOURCES if r.name == {RESOURCE!r}]
        examples = {{
            name: getattr(_generated, name).from_dict(EXAMPLES[name]).to_dict()
            for name in ("DrillTicket", "DrillTicketReply")
        }}
        print(json.dumps({{
            "commands": sorted(c.name for c in resource.commands),
            "exports": [[e.name, e.get_many, e.list_method] for e in resource.exports],
            "examples": examples,
        }}))
        print("ok")
        """,
    )
    data: dict[str, Any] = json.loads(out.splitlines()[0])
    return data


def test_the_drilled_operations_are_commands_and_the_suite_mypy_and_ruff_stay_green(
    drilled: Copy, facts: dict[str, Any]
) -> None:
    # The naming rule: the client's methods in kebab-case (spec_mutations.py names them).
    names = ("create", "list", "get", "delete", "update", "replace-labels", "create-reply")
    assert facts["commands"] == sorted([*names, "delete-reply"])
    assert facts["exports"] == [["export", "get_many", "list"]]
    suite = drilled.python(
        "suite", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *SUITE
    )
    assert suite.returncode == 0, _step_output(suite)
    typed = drilled.mypy("wrapper/mijnklantportaal")
    assert typed.returncode == 0, _step_output(typed)
    linted = drilled.python("ruff", "-m", "ruff", "check", "wrapper")
    assert linted.returncode == 0, _step_output(linted)


def test_each_new_operation_runs_in_the_sandbox_printing_values_exactly(
    drilled: Copy, facts: dict[str, Any]
) -> None:
    ticket = facts["examples"]["DrillTicket"]
    reply = facts["examples"]["DrillTicketReply"]
    tid, sandbox = ticket["id"], "--sandbox"
    covered = set()

    def run(command: str, *args: str) -> tuple[str, Any]:
        covered.add(command)
        shown = cli(drilled, RESOURCE, command, *args, sandbox)
        assert (shown.returncode, shown.stderr) == (0, ""), shown
        as_json = cli(drilled, RESOURCE, command, *args, sandbox, "--json")
        assert (as_json.returncode, as_json.stderr) == (0, ""), as_json
        return shown.stdout, as_json.stdout

    # Reads: the sandbox holds the spec's example ticket; every value exactly as it is.
    table, out = run("get", tid)
    assert json.loads(out) == ticket
    assert table.splitlines()[0] == "DrillTicket"
    shown = fields(table)
    for key, value in ticket.items():
        if isinstance(value, str):
            assert shown[key] == value, (key, shown)
    assert shown["drillAmount"] == ticket["drillAmount"] == "12.95"  # money: its digits
    table, out = run("list")
    assert [json.loads(line) for line in out.splitlines()] == [ticket]  # one object a line
    assert table.splitlines()[0] == "DrillTicket: 1 item"
    assert table.splitlines()[2].split()[:2] == [tid, *ticket["subject"].split()[:1]]

    # Writes print what the API answered (the created ticket, the reply, the ticket).
    table, out = run("create", "--subject", ticket["subject"], "--drill-amount", "12.95")
    created = json.loads(out)
    assert (created["subject"], created["drillAmount"]) == (ticket["subject"], "12.95")
    assert fields(table)["drillAmount"] == "12.95"
    for command, args in (
        ("update", (tid, "--subject", ticket["subject"])),
        ("replace-labels", (tid, "--drill-labels", "a", "--drill-labels", "b")),
    ):
        table, out = run(command, *args)
        answered = json.loads(out)
        assert answered["id"] == tid and fields(table)["id"] == tid, (command, out)
    table, out = run("create-reply", tid, "--message", reply["message"])
    assert json.loads(out)["message"] == reply["message"] == fields(table)["message"]

    # A 204: a short confirmation, and null with --json.
    table, out = run("delete", tid)
    assert table == f"Done: DELETE /drill-tickets/{tid} (no content).\n" and out == "null\n"

    # delete-reply needs a reply that exists: test_replies_are_created_and_deleted_in_a_session.
    assert covered | {"delete-reply"} == set(facts["commands"])


def test_writes_send_exactly_what_was_given_and_a_list_streams_every_page(drilled: Copy) -> None:
    script(
        drilled,
        "loopback",
        """
        import contextlib, io, json
        from mijnklantportaal import _generated, cli
        from mijnklantportaal.testing import FakeMijnKlantportaal

        fake = FakeMijnKlantportaal(rate_limit=None)
        for n in range(12):
            fake.add("DrillTicket", {"id": f"dtk_{n:014d}", "subject": f"s{n}",
                                     "drillAmount": f"{n}.10", "drillPriority": "low"})

        def main(*argv):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main([*argv, "--base-url", base_url, "--api-key", fake.api_key])
                except SystemExit as exit:
                    code = exit.code
            return code, out.getvalue(), err.getvalue()

        with fake.serve() as base_url:
            code, out, err = main(
                "drill-tickets", "create", "--subject", "Hi", "--drill-amount", "12345678901234567.890",
                "--drill-total", "0.10", "--expires-at", "2025-05-12T10:00:00+02:00",
                "--drill-priority", "high", "--drill-contact", '{"drillName": "Ada"}',
                "--drill-labels", "x", "--drill-labels", "y", "--x-drill-request-id", "r-1",
                "--idempotency-key", "k-1", "--json",
            )
            assert (code, err) == (0, ""), (code, err)
            seen = fake.requests[-1]
            assert (seen.method, seen.path) == ("POST", "/v1/drill-tickets"), seen
            assert seen.body == (
                b'{"subject":"Hi","drillAmount":"12345678901234567.890","drillTotal":0.10,'
                b'"expiresAt":"2025-05-12T10:00:00+02:00","drillPriority":"high",'
                b'"drillContact":{"drillName":"Ada"},"drillLabels":["x","y"]}'
            ), seen.body
            assert seen.headers["x-drill-request-id"] == "r-1", seen.headers
            assert seen.headers["idempotency-key"] == "k-1", seen.headers
            printed = json.loads(out)
            assert _generated.DrillTicket.from_dict(printed).to_dict() == printed  # as the model spells it

            sent = len(fake.requests)
            for bad in (
                ["--drill-amount", "12,95"], ["--drill-amount", "1e3"],
                ["--drill-priority", "urgent"], ["--expires-at", "2025-05-12T10:00:00"],
                ["--drill-contact", "[1]"],
            ):
                code, out, err = main("drill-tickets", "create", "--subject", "Hi",
                                      "--drill-amount", "1", *bad)
                assert code == 2 and out == "" and bad[0] in err, (bad, code, err)
            code, out, err = main("drill-tickets", "delete-reply", "dtk_1", "drp 2")
            assert code == 2 and "drill_reply_id" in err, err
            assert len(fake.requests) == sent, "a value that does not fit was sent"

            code, out, err = main("drill-tickets", "update", "dtk_00000000000003",
                                  "--expires-at", "null", "--json")
            assert code == 0 and fake.requests[-1].body == b'{"expiresAt":null}', fake.requests[-1]

            fake.clear_requests()
            code, out, err = main("drill-tickets", "list", "--drill-priority", "low",
                                  "--per-page", "5", "--json")
            assert (code, err) == (0, ""), err
            lines = [json.loads(line) for line in out.splitlines()]
            assert [(t["id"], t["drillAmount"]) for t in lines] == [
                (f"dtk_{n:014d}", f"{n}.10") for n in range(12)
            ], lines
            asked = [r.query for r in fake.requests]
            same = "drillPriority=low&per_page=5"
            assert asked == [same, same + "&page=2", same + "&page=3"], asked
            fake.clear_requests()
            code, out, err = main("drill-tickets", "list", "--per-page", "5", "--page", "2")
            assert code == 0 and [r.query for r in fake.requests] == ["per_page=5&page=2"]
            rows = out.splitlines()
            assert rows[0] == "DrillTicket: 5 items" and rows[2].split()[0] == "dtk_00000000000005"
        print("ok")
        """,
    )


def test_the_drilled_resource_exports_by_ids(drilled: Copy, tmp_path: Path) -> None:
    script(
        drilled,
        "export_ids",
        f"""
        import contextlib, io, json
        from pathlib import Path
        from mijnklantportaal import _generated, cli
        from mijnklantportaal._generated.examples import EXAMPLES
        from mijnklantportaal.testing import FakeMijnKlantportaal

        work = Path({str(tmp_path)!r})
        fake = FakeMijnKlantportaal(rate_limit=None)
        ids = [f"dtk_{{n:014d}}" for n in range(30)]
        for n, ticket_id in enumerate(ids):
            fake.add("DrillTicket", {{"id": ticket_id, "subject": f"s{{n}}",
                                      "drillAmount": f"1234567890123.{{n:02d}}"}})
        (work / "ids").write_text("".join(i + "\\n" for i in [*ids, "dtk_missing0000001"]))

        def main(*argv):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = cli.main(list(argv))
            return code, err.getvalue()

        out = work / "out.jsonl"
        with fake.serve() as base_url:
            common = ["--base-url", base_url, "--api-key", fake.api_key, "--rate-limit", "100000"]
            code, err = main("drill-tickets", "export", str(work / "ids"), "--out", str(out), *common)
            assert code == 10, err
            lines = [json.loads(line) for line in out.read_text().splitlines()]
            assert [t["id"] for t in lines] == ids
            assert lines[7]["drillAmount"] == "1234567890123.07"  # exact, a string
            with fake.client() as client:
                assert lines[7] == client.drill_tickets.get(ids[7]).to_dict()
            (error,) = [json.loads(x) for x in (work / "out.errors.jsonl").read_text().splitlines()]
            assert (error["id"], error["error"], error["status"]) == (
                "dtk_missing0000001", "NotFoundError", 404), error
            fake.add("DrillTicket", {{"id": "dtk_missing0000001", "subject": "late"}})
            fake.clear_requests()
            code, err = main("drill-tickets", "export", str(work / "ids"), "--out", str(out), *common)
            assert code == 0 and [r.path for r in fake.requests] == [
                "/v1/drill-tickets/dtk_missing0000001"], (code, err)

        sandbox = work / "sandbox.jsonl"
        code, err = main("drill-tickets", "export", str(work / "ids"), "--out", str(sandbox),
                         "--sandbox", "--quiet")
        assert (code, err) == (0, ""), err
        example = _generated.DrillTicket.from_dict(EXAMPLES["DrillTicket"]).to_dict()
        assert [json.loads(x) for x in sandbox.read_text().splitlines()] == [
            {{**example, "id": i}} for i in [*ids, "dtk_missing0000001"]]
        print("ok")
        """,
    )


def test_export_all_resumes_by_page_after_a_failed_page(drilled: Copy, tmp_path: Path) -> None:
    script(
        drilled,
        "export_all",
        f"""
        import contextlib, io, json
        from pathlib import Path
        from mijnklantportaal import cli
        from mijnklantportaal.testing import FakeMijnKlantportaal, Fault

        work = Path({str(tmp_path)!r})
        fake = FakeMijnKlantportaal(rate_limit=None)
        ids = [f"dtk_{{n:014d}}" for n in range(40)]
        for n, ticket_id in enumerate(ids):
            fake.add("DrillTicket", {{"id": ticket_id, "subject": f"s{{n}}", "drillAmount": f"{{n}}.50",
                                      "drillPriority": "low"}})

        def main(*argv):
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = cli.main(list(argv))
            return code, err.getvalue()

        out = work / "all.jsonl"
        pages = work / "all.pages.json"
        with fake.serve() as base_url:
            args = ["drill-tickets", "export", "--all", "--drill-priority", "low", "--out", str(out),
                    "--base-url", base_url, "--api-key", fake.api_key, "--rate-limit", "100000"]
            fake.fail_next(Fault.latency(0))  # page 1 answers; page 2 fails, retries included
            fake.fail_next(Fault.status(503), times=3)
            code, err = main(*args)
            assert code == 8 and "503" in err, (code, err)
            lines = [json.loads(x)["id"] for x in out.read_text().splitlines()]
            assert lines == ids[:15], lines
            assert json.loads(pages.read_text()) == {{"export": "pages",
                "operation": "list-drill-tickets", "filters": {{"drill_priority": "low"}},
                "next_page": 2, "lines": 15}}
            fake.clear_requests()
            code, err = main(*args)
            assert code == 0, err
            assert [r.query for r in fake.requests] == [
                "drillPriority=low&page=2", "drillPriority=low&page=3"], fake.requests
            lines = [json.loads(x) for x in out.read_text().splitlines()]
            assert [t["id"] for t in lines] == ids and lines[39]["drillAmount"] == "39.50"
            assert json.loads(pages.read_text())["next_page"] is None
            fake.clear_requests()
            code, err = main(*args)
            assert code == 0 and fake.requests == [] and "nothing to fetch" in err, err
            code, err = main(*args[:3], *args[5:])  # the same OUT without the filter
            assert code == 2 and "with the same filters" in err, err
        print("ok")
        """,
    )


@pytest.fixture
def served(drilled: Copy, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fake holding 40 drill tickets, served from the copy in a process of its own, each
    answer 0.1 s late (so that an export can be stopped half way); its base URL and key."""
    info = tmp_path / "served.json"
    path = drilled.root / "drill_cli_serve.py"
    path.write_text(
        textwrap.dedent(
            f"""
            import json, threading
            from mijnklantportaal.testing import FakeMijnKlantportaal, Fault
            fake = FakeMijnKlantportaal(rate_limit=None)
            for n in range(40):
                fake.add("DrillTicket", {{"id": f"dtk_{{n:014d}}", "subject": f"s{{n}}"}})
            fake.fail_every(1, Fault.latency(0.1))
            with fake.serve() as base_url:
                with open({str(info)!r} + ".tmp", "w") as f:
                    json.dump({{"base_url": base_url, "key": fake.api_key}}, f)
                import os; os.replace({str(info)!r} + ".tmp", {str(info)!r})
                threading.Event().wait()
            """
        ),
        encoding="utf-8",
    )
    process = subprocess.Popen([sys.executable, str(path)], cwd=drilled.root, env=_env(drilled))
    try:
        deadline = time.monotonic() + 30
        while not info.exists():
            assert process.poll() is None and time.monotonic() < deadline, "the fake did not start"
            time.sleep(0.05)
        data = json.loads(info.read_text())
        yield {
            "MIJNKLANTPORTAAL_BASE_URL": data["base_url"],
            "MIJNKLANTPORTAAL_API_KEY": data["key"],
        }
    finally:
        process.kill()
        process.wait()


def test_export_all_stopped_by_ctrl_c_goes_on_from_the_next_page(
    drilled: Copy, served: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    args = [sys.executable, "-m", "mijnklantportaal", RESOURCE, "export", "--all"]
    args += ["--per-page", "5", "--out", str(out), "--rate-limit", "100000", "--quiet"]
    process = subprocess.Popen(
        args, cwd=drilled.root, env=_env(drilled, **served), stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.read_bytes().count(b"\n") >= 12):
            assert process.poll() is None and time.monotonic() < deadline, process.poll()
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, err
    done = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert 12 <= len(done) < 40 and done == [f"dtk_{n:014d}" for n in range(len(done))]
    assert re.search(rf"interrupted: {len(done)} drill tickets are in .*go on from the page", err)
    pages = json.loads(out.with_name("out.pages.json").read_text())
    assert pages["lines"] <= len(done) and pages["next_page"] == pages["lines"] // 5 + 1
    rerun = cli(drilled, *args[3:], **served)
    assert rerun.returncode == 0, rerun.stderr
    final = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert final == [f"dtk_{n:014d}" for n in range(40)]  # every one, none twice


@pytest.fixture(scope="module")
def session(drilled: Copy) -> Iterator[dict[str, str]]:
    """One ``mijnklantportaal sandbox`` for several commands: the variables its banner says."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mijnklantportaal", "sandbox", "--port", "0", "--rate-limit", "0"],
        cwd=drilled.root,
        env=_env(drilled),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(5)]
        assert banner[0].startswith("MijnKlantportaal sandbox at http://127.0.0.1:"), banner
        assert banner[4] == "Press Ctrl+C to stop.\n", banner
        values = dict(line.removeprefix("export ").strip().split("=", 1) for line in banner[1:3])
        yield values
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0


def test_replies_are_created_and_deleted_in_a_session(
    drilled: Copy, session: dict[str, str], facts: dict[str, Any]
) -> None:
    ticket = facts["examples"]["DrillTicket"]["id"]
    created = cli(
        drilled, RESOURCE, "create-reply", ticket, "--message", "Thanks", "--json", **session
    )
    assert created.returncode == 0, created.stderr
    reply = json.loads(created.stdout)["id"]
    gone = cli(drilled, RESOURCE, "delete-reply", ticket, reply, **session)
    assert (gone.returncode, gone.stderr) == (0, ""), gone
    assert gone.stdout == f"Done: DELETE /drill-tickets/{ticket}/replies/{reply} (no content).\n"


def test_a_create_is_then_visible_to_a_get_in_one_sandbox_session(
    drilled: Copy, session: dict[str, str]
) -> None:
    created = cli(
        drilled, RESOURCE, "create", "--subject", "zz drill: made in this session",
        "--drill-amount", "12345.670", "--drill-priority", "high", "--json", **session,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    assert (made["subject"], made["drillAmount"]) == ("zz drill: made in this session", "12345.670")
    fetched = cli(drilled, RESOURCE, "get", made["id"], "--json", **session)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout) == made
    listed = cli(drilled, RESOURCE, "list", "--json", **session)
    assert made in [json.loads(line) for line in listed.stdout.splitlines()]
    deleted = cli(drilled, RESOURCE, "delete", made["id"], **session)
    assert deleted.returncode == 0, deleted.stderr
    assert cli(drilled, RESOURCE, "get", made["id"], **session).returncode == 4


def test_export_all_to_an_out_it_cannot_reach_is_an_output_error(
    drilled: Copy, tmp_path: Path
) -> None:
    """The pages file beside an --out under a plain file cannot be read: exit 9 with one
    line naming --out, not a traceback; nothing is sent."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    done = cli(
        drilled,
        "drill-tickets",
        "export",
        "--all",
        "--sandbox",
        "--out",
        str(blocker / "all.jsonl"),
    )
    assert done.returncode == 9, done
    assert "cannot read the pages file beside --out" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
