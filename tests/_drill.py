"""What the tests of whole resources share (tests/tools/test_gen_operations.py,
tests/test_drill_fake.py, tests/test_fake_resources.py, tests/tools/test_gen_fake.py): the
mutations that give the drill tickets every operation, the renames that turn the README's
vendor-named examples into the drill's test-only names, and the fake's tables for a spec."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from _support import REPO
from spec_mutations import dump_spec

sys.path.insert(0, str(REPO / "tools"))

import gen_fake
import gen_wrapper

# Applied in this order (each needs the one before): a create, then writes, a page list, a
# get and a delete, and a free-text query parameter on the list.
RESOURCE_MUTATIONS = (
    "create-operation-added",
    "write-methods-added",
    "page-list-added",
    "read-delete-added",
    "search-parameter-added",
)

# The README's examples of these shapes use the vendor's names; the spec here has the drill's
# test-only ones, which differ only by their drill prefix.
README_TO_DRILL = {
    "client.tickets.": "client.drill_tickets.",
    "amount=": "drill_amount=",
    "priority=": "drill_priority=",
    "ticket.amount": "ticket.drill_amount",
    '"tickets"': '"drill_tickets"',
    '"amount":': '"drillAmount":',
    '"priority":': '"drillPriority":',
    '"tck_"': '"dtk_"',
}


def readme_for_drill(code: str) -> str:
    """A README example with the drill's names in place of the vendor's."""
    for vendor, drill in README_TO_DRILL.items():
        code = code.replace(vendor, drill)
    return code


def fake_tables(spec: dict[str, Any], tools_venv: Path, work: Path) -> dict[str, Any]:
    """The fake's tables (``_generated/examples.py``) that ``./generate.sh`` writes for
    ``spec``, as a namespace: a test of the fake swaps them in for the committed ones."""
    source = gen_fake.emit(built_api(spec, tools_venv, work), spec)["examples.py"]
    namespace: dict[str, Any] = {}
    exec(compile(source, "examples.py", "exec"), namespace)
    return namespace


def built_api(spec: dict[str, Any], tools_venv: Path, work: Path) -> gen_wrapper.Api:
    """What tools/gen_wrapper.py reads from ``spec`` (and the repository's spec-map.toml),
    with the low-level names the pinned openapi-python-client writes for it."""
    (work / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
    command = [str(tools_venv / "bin" / "openapi-python-client"), "generate"]
    command += ["--path", "spec.yaml", "--meta", "none", "--output-path", "pkg"]
    command += ["--config", str(REPO / "tools" / "openapi-python-client.yml")]
    path = f"{tools_venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        command, cwd=work, env={**os.environ, "PATH": path}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    spec_map = tomllib.loads((REPO / "spec-map.toml").read_text(encoding="utf-8"))
    return gen_wrapper.build(spec, spec_map, gen_wrapper.read_low_level(work / "pkg"))
