"""Every Python example in the README and the documentation site (docs/*.md) passes
`mypy --strict` as written, so that a dependent who copies one gets green type checks.

The blocks and their markers: tests/_doc_blocks.py. Blocks marked as needing a spec with
more operations are checked in tests/tools/test_gen_operations.py instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _doc_blocks import NEEDS_SPEC, Block, all_blocks, mypy_strict, python_blocks


def test_the_block_finder_sees_every_block_with_its_line_and_marker() -> None:
    text = (
        "# t\n\n```python\nx = 1\n```\n\n```bash\nls\n```\n```python\ny: int = 'a'\n```\n"
        f"<!-- docs: {NEEDS_SPEC} -->\n```python\nz = 2\n```\n"
        "<!-- docs: not run: it waits an hour -->\n```python\nimport time\n```\n"
    )
    assert python_blocks(text, "t.md") == [
        Block("t.md", 4, "x = 1\n"),
        Block("t.md", 11, "y: int = 'a'\n"),
        Block("t.md", 15, "z = 2\n", NEEDS_SPEC),
        Block("t.md", 19, "import time\n", "not run: it waits an hour"),
    ]
    with pytest.raises(ValueError, match="unknown block marker 'not ran'"):
        python_blocks("<!-- docs: not ran -->\n```python\nx = 1\n```\n", "t.md")


@pytest.mark.slow
def test_the_check_fails_naming_the_line_of_a_bad_block(tmp_path: Path) -> None:
    # What the README's amount_due example used to be: total_amount may be None.
    bad = Block(
        "docs/x.md",
        42,
        "from decimal import Decimal\n"
        "from mijnklantportaal import MijnKlantportaal\n\n"
        "def amount_due(client: MijnKlantportaal, invoice_id: str) -> Decimal:\n"
        "    invoice = client.invoices.get(invoice_id)\n"
        "    return Decimal(0) if invoice.is_paid else invoice.total_amount\n",
    )
    errors = mypy_strict([Block("README.md", 7, "x: int = 1\n"), bad], tmp_path)
    assert list(errors) == [bad]
    assert '"Decimal | None"' in errors[bad][0]


@pytest.mark.slow
def test_every_readme_and_docs_python_example_passes_mypy_strict(tmp_path: Path) -> None:
    blocks = [block for block in all_blocks() if not block.needs_spec]
    assert sum(block.source == "README.md" for block in blocks) >= 6
    assert sum(block.source.startswith("docs/") for block in blocks) >= 10
    errors = mypy_strict(blocks, tmp_path)
    assert not errors, "examples fail mypy --strict:\n" + "\n".join(
        f"block at {block.name}:\n  " + "\n  ".join(messages) for block, messages in errors.items()
    )
