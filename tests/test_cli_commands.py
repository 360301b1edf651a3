"""The command line's commands come from the generated table (``_generated/commands.py``):
each one calls a method the client really has, with arguments it really takes, reads every
value exactly before anything is sent, and shows spec text safely in its help.

The table tests hold for whatever spec was generated (the drill runs them on a drilled one,
tests/test_drill_cli.py); the argument tests use records written here, one per kind.
"""

from __future__ import annotations

import argparse
import inspect
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from mijnklantportaal import MijnKlantportaal, cli
from mijnklantportaal._cli_args import add_arguments, collected, help_text, prose
from mijnklantportaal._cli_table import Arg, Command, Export, Kind, Resource
from mijnklantportaal._generated.commands import RESOURCES
from mijnklantportaal._generated.examples import EXAMPLES

# -- the table and the client ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def client() -> Any:
    made = MijnKlantportaal(api_key="mkp_zz_test_key_0123456789", base_url="http://127.0.0.1:9")
    yield made
    made.close()


def _accepts(method: Any, positional: int, keywords: set[str]) -> None:
    parameters = inspect.signature(method).parameters.values()
    leading = [p for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]
    named = {p.name for p in parameters if p.kind == p.KEYWORD_ONLY}
    assert len(leading) == positional, (method, leading)
    assert keywords <= named, (method, keywords - named)


def test_every_command_calls_a_method_of_the_client_with_arguments_it_takes(client: Any) -> None:
    for resource in RESOURCES:
        group = getattr(client, resource.attribute)
        for command in resource.commands:
            method = getattr(group, command.method)
            path = [a for a in command.args if a.where == "path"]
            keywords = {a.dest for a in command.args if a.where != "path"}
            if command.write:
                keywords.add("idempotency_key")
            _accepts(method, len(path), keywords)
            assert command.name == command.method.rstrip("_").replace("_", "-")
            assert [a.flag for a in path] == [a.dest.rstrip("_").upper() for a in path]


def test_every_export_calls_the_bulk_get_or_the_page_list_of_its_resource(client: Any) -> None:
    exports = 0
    for resource in RESOURCES:
        group = getattr(client, resource.attribute)
        names = {c.name for c in resource.commands}
        for export in resource.exports:
            exports += 1
            assert export.name not in names
            assert export.get_many is not None or export.list_method is not None
            if export.get_many is not None:
                _accepts(getattr(group, export.get_many), 1, {"concurrency"})
            if export.list_method is not None:
                page = export.page_argument
                assert page is not None
                _accepts(
                    getattr(group, export.list_method), 0, {page} | {a.dest for a in export.filters}
                )
            assert export.schema in EXAMPLES
    assert exports >= 1  # the spec has a get by id at least


def test_every_command_and_export_is_on_the_parser_with_a_help_page(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = cli._parser()
    for resource in RESOURCES:
        names = [c.name for c in resource.commands] + [e.name for e in resource.exports]
        for name in names:
            with pytest.raises(SystemExit) as done:
                parser.parse_args([resource.name, name, "--help"])
            assert done.value.code == 0
            shown = capsys.readouterr().out
            assert shown.startswith(f"usage: mijnklantportaal {resource.name} {name} ")
            assert all(line.isprintable() for line in shown.splitlines())


def test_the_own_options_are_the_options_the_command_line_adds() -> None:
    """``OWN_OPTIONS`` (what tools/gen_cli.py reads to rename a clashing option) lists every
    option the command line gives a command or an export of its own."""
    parser = cli._parser()
    own = set(cli.OWN_OPTIONS)
    seen: set[str] = set()
    for resource in RESOURCES:
        chosen = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        group = chosen.choices[resource.name]
        inner = next(a for a in group._actions if isinstance(a, argparse._SubParsersAction))
        for name, sub in inner.choices.items():
            table = next(c for c in (*resource.commands, *resource.exports) if c.name == name)
            spec_flags = {a.flag for a in getattr(table, "args", getattr(table, "filters", ()))}
            for action in sub._actions:
                for option in action.option_strings:
                    flag = option.lstrip("-")
                    if flag not in spec_flags:
                        seen.add(flag)
    assert seen <= own, seen - own
    # (``--all`` and ``--idempotency-key`` are seen where the spec has a page list and a write:
    # the drill runs this test on such a spec.)
    assert {"json", "sandbox", "timeout", "out", "help"} <= seen
    assert set(cli.OWN_COMMANDS) <= set(
        next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    )


# -- reading values ----------------------------------------------------------------------------


def _parse(args: tuple[Arg, ...], argv: list[str]) -> tuple[list[Any], dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="zz-test", exit_on_error=False)
    add_arguments(parser, args)
    return collected(parser.parse_args(argv), args)


def _one(kind: Kind, **extra: Any) -> tuple[Arg, ...]:
    return (
        Arg(dest="zz_value", flag="zz-value", where="body", kind=kind, required=False, **extra),
    )


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("money", "12.950", Decimal("12.950")),
        ("money", "-0.10", Decimal("-0.10")),
        ("money", "12345678901234567.89", Decimal("12345678901234567.89")),
        ("integer", "-7", -7),
        ("boolean", "TRUE", True),
        ("boolean", "false", False),
        ("date", "2025-05-12", date(2025, 5, 12)),
        (
            "timestamp",
            "2025-05-12T10:00:00+02:00",
            datetime(2025, 5, 12, 10, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("timestamp", "2025-05-12T08:00:00Z", datetime(2025, 5, 12, 8, tzinfo=UTC)),
        ("object", '{"drillName": "Ada", "n": 1.10}', {"drillName": "Ada", "n": Decimal("1.10")}),
        ("json", "[1, 2.50]", [1, Decimal("2.50")]),
        ("text", "Café", "Café"),
    ],
)
def test_each_kind_is_read_exactly(kind: Kind, text: str, value: Any) -> None:
    _, keywords = _parse(_one(kind), ["--zz-value", text])
    assert keywords == {"zz_value": value}
    assert type(keywords["zz_value"]) is type(value)
    if isinstance(value, Decimal):
        assert str(keywords["zz_value"]) == text  # every digit, the trailing zero too


@pytest.mark.parametrize(
    ("kind", "text", "needle"),
    [
        ("money", "12,95", "not an exact amount"),
        ("money", "1e3", "not an exact amount"),
        ("money", "NaN", "not an exact amount"),
        ("money", " 12.95", "not an exact amount"),
        ("money", "12.", "not an exact amount"),
        ("integer", "1.0", "not a whole number"),
        ("integer", "9" * 5000, "too long"),
        ("boolean", "yes", "not true or false"),
        ("date", "12-05-2025", "not a date"),
        ("date", "2025-02-30", "not a date"),
        ("timestamp", "2025-05-12T10:00:00", "has no offset"),
        ("timestamp", "2025-05-12", "has no offset"),
        ("timestamp", "tomorrow", "not an ISO 8601 timestamp"),
        ("object", "[1]", "not a JSON object"),
        ("object", '{"a": 1, "a": 2}', "not valid JSON"),
        ("json", "{", "not valid JSON"),
    ],
)
def test_a_value_that_does_not_fit_is_a_usage_error_naming_the_option(
    kind: Kind, text: str, needle: str
) -> None:
    with pytest.raises(argparse.ArgumentError) as caught:
        _parse(_one(kind), ["--zz-value", text])
    message = str(caught.value)
    assert message.startswith("argument --zz-value: ") and needle in message
    assert message.isprintable()


def test_enum_values_are_checked_and_arrays_repeat_and_null_is_null() -> None:
    choices = _one("text", choices=("low", "high"))
    assert _parse(choices, ["--zz-value", "low"])[1] == {"zz_value": "low"}
    with pytest.raises(argparse.ArgumentError, match="must be one of low, high: 'LOW'"):
        _parse(choices, ["--zz-value", "LOW"])
    numbers = _one("integer", choices=(1, 2))
    assert _parse(numbers, ["--zz-value", "2"])[1] == {"zz_value": 2}
    with pytest.raises(argparse.ArgumentError, match="must be one of 1, 2"):
        _parse(numbers, ["--zz-value", "3"])
    labels = _one("text", repeat=True)
    assert _parse(labels, ["--zz-value", "a", "--zz-value", "b"])[1] == {"zz_value": ["a", "b"]}
    nullable = _one("timestamp", nullable=True)
    assert _parse(nullable, ["--zz-value", "null"])[1] == {"zz_value": None}
    assert _parse(_one("text", nullable=True, repeat=True), ["--zz-value", "null"])[1] == {
        "zz_value": None
    }
    assert _parse(_one("text"), ["--zz-value", "null"])[1] == {"zz_value": "null"}  # not nullable
    assert _parse(_one("money"), [])[1] == {}  # not given: left out, so not sent


def test_path_parameters_are_positional_in_order_and_required_options_are_required(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = (
        Arg(dest="ticket_id", flag="TICKET_ID", where="path", kind="id", required=True),
        Arg(dest="reply_id", flag="REPLY_ID", where="path", kind="id", required=True),
        Arg(dest="message", flag="message", where="body", kind="text", required=True),
    )
    assert _parse(args, ["tck_1", "rpl_2", "--message", "hi"]) == (
        ["tck_1", "rpl_2"],
        {"message": "hi"},
    )
    with pytest.raises(SystemExit):
        _parse(args, ["tck_1", "rpl_2"])
    assert "the following arguments are required: --message" in capsys.readouterr().err


# -- spec text on the terminal -------------------------------------------------------------------

HOSTILE_TEXT = "100% sure %(prog)s %d \x1b]0;owned\x07 \u202eevil\u202c\nnext line"


def test_spec_text_in_help_is_terminal_safe_and_cannot_break_argparse(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    enum = ("a b", "%(prog)s", "\x1b[2J")
    command = Command(
        name="zz-get",
        method="zz_get",
        operation_id=HOSTILE_TEXT,
        http_method="GET",
        path="/zz/{zzId}",
        summary=HOSTILE_TEXT,
        description=HOSTILE_TEXT + " more",
        answer="model",
        model="ZzThing",
        write=True,
        args=(
            Arg(
                dest="zz_id",
                flag="ZZ_ID",
                where="path",
                kind="id",
                required=True,
                help=HOSTILE_TEXT,
            ),
            Arg(
                dest="zz_state",
                flag="zz-state",
                where="query",
                kind="text",
                required=False,
                help=HOSTILE_TEXT,
                choices=enum,
            ),
        ),
    )
    table = (
        Resource(
            name="zz-things",
            attribute="zz_things",
            tag=HOSTILE_TEXT,
            commands=(command,),
            exports=(
                Export(
                    name="export",
                    noun="zz things",
                    what="zz thing",
                    schema="ZzThing",
                    get_many="zz_get_many",
                ),
            ),
        ),
    )
    monkeypatch.setattr(cli, "_resources", lambda: table)
    for argv in (["--help"], ["zz-things", "--help"], ["zz-things", "zz-get", "--help"]):
        with pytest.raises(SystemExit) as done:
            cli.main(argv)
        assert done.value.code == 0
        shown = capsys.readouterr().out
        assert "\x1b" not in shown and "\u202e" not in shown, shown
        assert all(line.isprintable() for line in shown.splitlines()), shown
    assert "100% sure %(prog)s %d \\x1b]0;owned\\x07 \\u202eevil\\u202c" in shown
    assert "one of a b, %(prog)s, \\x1b[2J" in " ".join(shown.split())
    with pytest.raises(SystemExit):
        cli.main(["zz-things", "zz-get", "zz_1", "--zz-state", "\x1b[2J!"])
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.isprintable() and "must be one of" in error


@pytest.mark.parametrize("text", [HOSTILE_TEXT, "plain", "50%", "%(prog)s"])
def test_help_text_and_prose_survive_argparse_formatting(text: str) -> None:
    parser = argparse.ArgumentParser(prog="zz", description=prose(text), epilog=prose(text))
    parser.add_argument("--zz", help=help_text(text))
    shown = parser.format_help()
    assert all(line.isprintable() for line in shown.splitlines())
    assert (
        text.split("\n")[0]
        .replace("\x1b", "\\x1b")
        .replace("\u202e", "\\u202e")
        .replace("\x07", "\\x07")
        .replace("\u202c", "\\u202c")
        in shown
    )


# -- the sandbox holds an example of every exported resource ---------------------------------------


def test_the_sandbox_holds_the_example_of_each_exported_schema() -> None:
    sandbox = cli._Sandbox.start(rate_limit=None)
    schemas = {e.schema for r in RESOURCES for e in r.exports}
    assert set(sandbox.held) == schemas
    with sandbox.fake.client() as client:
        for resource in RESOURCES:
            for export in resource.exports:
                if export.get_many is None:
                    continue
                (held,) = sandbox.held[str(export.schema)]
                assert held == EXAMPLES[str(export.schema)]["id"]
                get = getattr(getattr(client, resource.attribute), export.get_many)
                ((found, model),) = list(get([held]))
                assert found == held and model.to_dict()["id"] == held


def test_each_get_by_id_prints_the_sandbox_example_as_a_table_and_as_one_json_document(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every value exactly as the model gives it (``to_dict``: money as its digits)."""
    from mijnklantportaal import _generated

    checked = 0
    for resource in RESOURCES:
        for export in resource.exports:
            if export.get_many is None:
                continue
            command = export.get_many.removesuffix("_many").replace("_", "-")
            example = EXAMPLES[str(export.schema)]
            model = getattr(_generated, str(export.schema)).from_dict(example).to_dict()
            argv = [resource.name, command, example["id"], "--sandbox"]
            assert cli.main([*argv, "--json"]) == 0
            assert json.loads(capsys.readouterr().out) == model
            assert cli.main(argv) == 0
            shown = capsys.readouterr().out.splitlines()
            assert shown[0] == export.schema
            width = max(len(key) for key in model)
            for key, value in model.items():
                if isinstance(value, str):
                    assert f"  {key.ljust(width)}  {value}" in shown, (key, shown)
            checked += 1
    assert checked >= 1
