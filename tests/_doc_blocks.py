"""The Python examples of README.md and docs/*.md: found, type-checked and run.

Every ```python block is checked with `mypy --strict` (tests/test_readme_typing.py) and run
(tests/test_docs.py), so that a reader who copies one gets code that type-checks and works.
An HTML comment on the line before a block says how it is checked:

    <!-- readme: needs a spec with these operations -->   (or `docs:`) the block uses
        operations the vendored spec does not have yet (a create, a list): it is type-checked
        and run against code generated from a spec that has them
        (tests/tools/test_gen_operations.py), not against this package
    <!-- docs: needs redis -->                a real Redis server's URL is in $REDIS_URL
    <!-- docs: not run: REASON -->            type-checked only, for the reason given

A block whose first line is `# test_NAME.py` is a test file: it runs under pytest, in a
fresh directory with no configuration (the fixtures come from the installed plugin). Any
other block runs as a script (`__main__`) while the package's fake API serves on loopback,
with MIJNKLANTPORTAAL_BASE_URL and MIJNKLANTPORTAAL_API_KEY pointing at it, so that
`MijnKlantportaal()` as a reader writes it talks to the fake. The fake holds the spec's
example invoice `fac_abc12345def678`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

NEEDS_SPEC = "needs a spec with these operations"
NEEDS_REDIS = "needs redis"
NOT_RUN = "not run: "

_BLOCK = re.compile(
    r"^(?:<!-- (?:readme|docs): (?P<marker>[^\n]*?) -->\n)?```python\n(?P<code>.*?)^```$",
    flags=re.DOTALL | re.MULTILINE,
)
_TEST_FILE = re.compile(r"# (test_\w+\.py)\n")


@dataclass(frozen=True)
class Block:
    source: str  # the file, relative to the repository
    line: int  # of the block's first code line
    code: str
    marker: str | None = None

    def __post_init__(self) -> None:
        known = self.marker in (None, NEEDS_SPEC, NEEDS_REDIS) or (
            self.marker is not None
            and self.marker.startswith(NOT_RUN)
            and self.marker[len(NOT_RUN) :].strip()
        )
        if not known:
            raise ValueError(
                f"{self.source}:{self.line - 2}: unknown block marker {self.marker!r}: use "
                f"'{NEEDS_SPEC}', '{NEEDS_REDIS}' or '{NOT_RUN}REASON'"
            )

    @property
    def name(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def needs_spec(self) -> bool:
        return self.marker == NEEDS_SPEC

    @property
    def runs(self) -> bool:
        """Run against this package (blocks that need another spec run elsewhere)."""
        return self.marker is None or self.marker == NEEDS_REDIS

    @property
    def test_file(self) -> str | None:
        """The file name when the block is a pytest file (`# test_x.py` first)."""
        match = _TEST_FILE.match(self.code)
        return match.group(1) if match else None


def python_blocks(text: str, source: str = "README.md") -> list[Block]:
    """Each ```python block of ``text``, with the line of its first code line."""
    return [
        Block(
            source,
            text.count("\n", 0, match.start("code")) + 1,
            match.group("code"),
            match.group("marker"),
        )
        for match in _BLOCK.finditer(text)
    ]


def documents() -> list[Path]:
    """README.md and every page of the documentation site."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def all_blocks() -> list[Block]:
    return [
        block
        for path in documents()
        for block in python_blocks(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
    ]


def mypy_strict(
    blocks: list[Block], where: Path, *, env: dict[str, str] | None = None
) -> dict[Block, list[str]]:
    """mypy --strict over all blocks in one run; its errors, by block."""
    files: dict[str, Block] = {}
    for block in blocks:
        stem = re.sub(r"\W", "_", block.source.removesuffix(".md")).lower()
        path = where / f"{stem}_line_{block.line}.py"
        path.write_text(block.code, encoding="utf-8")
        files[path.name] = block
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(where / ".mypy_cache"),
            "--no-error-summary",
            *sorted(files),
        ],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    errors: dict[Block, list[str]] = {}
    for message in result.stdout.splitlines():
        name = message.split(":", 1)[0]
        if name in files:
            errors.setdefault(files[name], []).append(message)
    assert result.returncode == (1 if errors else 0), result.stdout + result.stderr
    return errors


# Serves the fake on loopback, points the environment at it, runs the block as __main__.
RUNNER = """
import os, runpy, sys
from mijnklantportaal.testing import FakeMijnKlantportaal

fake = FakeMijnKlantportaal()
fake.add_example_invoice()
{seed}
with fake.serve() as base_url:
    os.environ["MIJNKLANTPORTAAL_BASE_URL"] = base_url
    os.environ["MIJNKLANTPORTAAL_API_KEY"] = fake.api_key
    runpy.run_path(sys.argv[1], run_name="__main__")
print("the block ran")
"""


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without the package's own variables (a reader's shell has none of
    the test run's), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return {**env, **extra}


def run_block(
    block: Block, where: Path, *, seed: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one block as a reader would (see the module docstring); fails the test if it
    does not end well."""
    env = env if env is not None else clean_env()
    test_file = block.test_file
    if test_file is not None:
        (where / test_file).write_text(block.code, encoding="utf-8")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test_file]
    else:
        script = where / "block.py"
        script.write_text(block.code, encoding="utf-8")
        command = [sys.executable, "-c", RUNNER.format(seed=seed), str(script)]
    result = subprocess.run(
        command, cwd=where, capture_output=True, text=True, timeout=300, env=env
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.name} failed:\n{output[-4000:]}"
    if test_file is not None:
        tests = len(re.findall(r"^def test_", block.code, flags=re.MULTILINE))
        assert f"{tests} passed" in result.stdout, f"{block.name}:\n{output[-4000:]}"
    else:
        assert "the block ran" in result.stdout, f"{block.name}:\n{output[-4000:]}"
    return result
