"""tools/gen_cli.py: the command table (``_generated/commands.py``) carries every operation of
the spec as a command, keeps spec text inert, and refuses a name the command line has."""

from __future__ import annotations

import argparse
import ast
import copy
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from mijnklantportaal import cli
from mijnklantportaal._cli_args import add_arguments

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tests"))

import gen_cli  # noqa: E402
from _hostile import MARKER, NAME_TEXTS, hostile_spec  # noqa: E402
from test_gen_wrapper import (  # noqa: E402, F401 (low_level_of is a fixture)
    MAP,
    SPEC,
    LowLevelOf,
    _assert_inert,
    _invoice_op,
    gen_wrapper,
    generate,
    low_level_of,
)


def load_table(source: str, tmp_path: Path) -> Any:
    """The generated command table, run as a module (it imports only ``_cli_table``)."""
    module = ModuleType("zz_test_commands")
    exec(compile(source, str(tmp_path / "commands.py"), "exec"), module.__dict__)
    return module.RESOURCES


def help_pages(table: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> list[str]:
    """``--help`` of the command line, each resource and each command, built from ``table``."""
    monkeypatch.setattr(cli, "_resources", lambda: table)
    argvs = [["--help"]]
    for resource in table:
        argvs.append([resource.name, "--help"])
        for name in [c.name for c in resource.commands] + [e.name for e in resource.exports]:
            argvs.append([resource.name, name, "--help"])
    pages = []
    for argv in argvs:
        with pytest.raises(SystemExit) as done:
            cli.main(argv)
        assert done.value.code == 0, argv
        pages.append(capsys.readouterr().out)
    return pages


def test_the_own_names_are_read_from_the_command_line_source() -> None:
    assert gen_cli.cli_names() == (frozenset(cli.OWN_OPTIONS), frozenset(cli.OWN_COMMANDS))


def test_hostile_spec_text_stays_text_and_every_help_page_is_terminal_safe(
    tmp_path: Path,
    low_level_of: LowLevelOf,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = generate(hostile_spec(SPEC), low_level_of=low_level_of)["commands.py"]
    _assert_inert(source, (*NAME_TEXTS, *(f"ZzTest{n} {t}" for n, t in enumerate(NAME_TEXTS))))
    monkeypatch.chdir(tmp_path)
    table = load_table(source, tmp_path)
    assert not (tmp_path / MARKER).exists()
    pages = help_pages(table, monkeypatch, capsys)
    assert len(pages) > 10
    for page in pages:
        assert all(line.isprintable() for line in page.splitlines()), page
        assert "\x1b" not in page and "\u2028" not in page
    shown = "\n".join(pages)
    # a summary with quotes, a backslash, a NUL: shown, escaped, never run
    assert "a NUL\\x00 in the middle" in shown and "a backslash at the end\\" in shown
    # parameters named like the command line's own options keep the command line's
    options = next(r for r in table if r.attribute == "zz_test_options")
    (command,) = options.commands
    assert [a.flag for a in command.args] == ["timeout-param", "extra-headers", "concurrency-param"]
    assert [a.dest for a in command.args] == ["timeout_", "extra_headers_", "concurrency_"]


def test_enum_values_from_the_spec_are_text_in_the_table(
    tmp_path: Path,
    low_level_of: LowLevelOf,  # noqa: F811
) -> None:
    source = generate(hostile_spec(SPEC), low_level_of=low_level_of)["commands.py"]
    table = load_table(source, tmp_path)
    choices = {
        choice
        for resource in table
        for command in resource.commands
        for arg in command.args
        for choice in arg.choices
    }
    assert set(NAME_TEXTS) <= choices


@pytest.mark.parametrize(
    ("encoder", "expected"),
    [
        ("_encode.money_string", ("money", (), False, False)),
        ("_encode.money_number", ("money", (), False, False)),
        ("_encode.timestamp", ("timestamp", (), False, False)),
        ("_encode.day", ("date", (), False, False)),
        ("_encode.integer", ("integer", (), False, False)),
        ("_encode.boolean", ("boolean", (), False, False)),
        ("_encode.text", ("text", (), False, False)),
        ("_any", ("json", (), False, False)),
        ("_encode.one_of('low', 'high')", ("text", ("low", "high"), False, False)),
        ("_encode.nested(ZzThing)", ("object", (), False, False)),
        ("_encode.nullable(_encode.timestamp)", ("timestamp", (), False, True)),
        ("_encode.list_of(_encode.text)", ("text", (), True, False)),
        ("_encode.list_of(_encode.nested(ZzThing))", ("object", (), True, False)),
        ("_encode.nullable(_encode.list_of(_encode.money_string))", ("money", (), True, True)),
        ("_encode.list_of(_encode.list_of(_encode.integer))", ("json", (), False, False)),
    ],
)
def test_each_body_encoder_is_read_as_its_kind(encoder: str, expected: tuple[Any, ...]) -> None:
    assert gen_cli._encoder_kind(ast.parse(encoder, mode="eval").body, "zz") == expected


def test_an_encoder_the_command_line_cannot_read_is_refused_loudly() -> None:
    with pytest.raises(gen_wrapper.SpecError, match=r"teach tools/gen_cli\.py the type"):
        gen_cli._encoder_kind(ast.parse("_encode.zz_new_kind", mode="eval").body, "zz")


def test_a_tag_named_like_a_command_of_the_command_line_is_refused_or_renamed_by_the_map(
    low_level_of: LowLevelOf,  # noqa: F811
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/zz-test-invoices/{invoiceId}"] = _invoice_op("zz-test-get", "Sandbox API")
    with pytest.raises(gen_wrapper.SpecError) as caught:
        generate(spec, low_level_of=low_level_of)
    message = str(caught.value)
    assert "`mijnklantportaal sandbox`" in message
    assert '[resources."Sandbox API"] attribute = "sandbox_api"' in message
    spec_map = {**MAP, "resources": {"Sandbox API": {"attribute": "zz_test_sandboxes"}}}
    commands = generate(spec, spec_map, low_level_of)["commands.py"]
    assert "name='zz-test-sandboxes'" in commands


def test_a_method_named_like_the_export_is_refused_naming_the_map_entry(
    low_level_of: LowLevelOf,  # noqa: F811
) -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/zz-test-invoices/{invoiceId}"] = _invoice_op("export-invoice")
    with pytest.raises(gen_wrapper.SpecError) as caught:
        generate(spec, low_level_of=low_level_of)
    message = str(caught.value)
    assert "'export-invoice'" in message and "'get-invoice'" in message, message
    assert '[operations."export-invoice"] method = "..."' in message, message
    spec_map = {**MAP, "operations": {"export-invoice": {"method": "export_one"}}}
    commands = generate(spec, spec_map, low_level_of)["commands.py"]
    # the method's command, and its export beside the export of get-invoice
    assert "name='export-one'" in commands and "get_many='export_one_many'" in commands
    assert "name='export-export-one'" in commands and "name='export'" in commands


def test_a_second_get_by_id_gets_its_own_export() -> None:
    api = gen_wrapper.build(SPEC, MAP, gen_wrapper.read_low_level(_low_level_dir()))
    (get,) = api.operations
    second = copy.copy(get)
    second.name, second.op_id, second.module = "get_pdf", "get-invoice-pdf", "get_invoice_pdf"
    api.operations.append(second)
    own = gen_cli.cli_names()
    (resource,) = gen_cli.build_table(api, *own)
    assert [e["name"] for e in resource["exports"]] == ["export", "export-pdf"]
    assert [e["get_many"] for e in resource["exports"]] == ["get_many", "get_pdf_many"]


def _low_level_dir() -> Path:
    return REPO / "generated" / "mijnklantportaal_api"


def test_argparse_accepts_every_generated_option_name(
    tmp_path: Path,
    low_level_of: LowLevelOf,  # noqa: F811
) -> None:
    """Every option of the hostile table is one argparse takes as a flag, on one parser."""
    table = load_table(
        generate(hostile_spec(SPEC), low_level_of=low_level_of)["commands.py"], tmp_path
    )
    for resource in table:
        for command in resource.commands:
            parser = argparse.ArgumentParser(prog="zz")
            add_arguments(parser, command.args)
            assert all(a.flag.isprintable() and " " not in a.flag for a in command.args)
