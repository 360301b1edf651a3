"""The README's example for dependents is a real test file: run it as a dependent would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from _doc_blocks import python_blocks

REPO = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Testing your code against the fake", 1)[1].split("\n## ", 1)[0]
    # (a block marked as needing operations the vendored spec lacks is run by the drill:
    # tests/test_drill_fake.py)
    blocks = [block.code for block in python_blocks(section) if not block.needs_spec]
    assert len(blocks) == 1, "the section holds one complete test file"
    return blocks[0]


@pytest.mark.slow
def test_readme_example_for_dependents_passes(tmp_path: Path) -> None:
    code = readme_example()
    assert code.startswith("# test_billing.py\n")
    (tmp_path / "test_billing.py").write_text(code, encoding="utf-8")
    # A fresh directory with no pytest config: the fixtures come from the installed plugin.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_billing.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tests = len(re.findall(r"^def test_", code, flags=re.MULTILINE))
    assert f"{tests} passed" in result.stdout, result.stdout
