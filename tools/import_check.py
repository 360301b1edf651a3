#!/usr/bin/env python3
"""The last step of ./generate.sh: both freshly generated packages must import.

    python -B -I tools/import_check.py LOW_LEVEL_ROOT WRAPPER_PACKAGE FRESH_WRAPPER_CODE

LOW_LEVEL_ROOT holds the fresh ``mijnklantportaal_api``; the wrapper is imported from a
temporary copy of WRAPPER_PACKAGE (the handwritten ``mijnklantportaal``) whose ``_generated``
is FRESH_WRAPPER_CODE. Every module of both is imported, and both clients are built, so
``./generate.sh`` can never leave a package that fails on ``import``. On failure it prints
one line per module that failed (no traceback) and exits 1.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
from pathlib import Path


def _import(names: list[str]) -> list[str]:
    problems = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # anything at all: the point is to report it, not crash
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return problems


def _modules(package: str, directory: Path) -> list[str]:
    """``package`` (the files in ``directory``) and every module under it, found on disk."""
    names = set()
    for source in directory.rglob("*.py"):
        parts = source.relative_to(directory).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if parts[-1:] != ("__main__",):
            names.add(".".join((package, *parts)))
    return sorted(names, key=lambda name: (name.count("."), name))


# The wrapper as users import it: its generated modules, and what loads them.
WRAPPER = ["mijnklantportaal", "mijnklantportaal.resources", "mijnklantportaal.testing"]


def main(argv: list[str]) -> int:
    low_level_root, wrapper, fresh = (Path(a).resolve() for a in argv)
    with tempfile.TemporaryDirectory(prefix="import-check-") as tmp:
        copy = Path(tmp) / "mijnklantportaal"
        ignore = shutil.ignore_patterns("__pycache__", "_generated")
        shutil.copytree(wrapper, copy, ignore=ignore)
        shutil.copytree(fresh, copy / "_generated", ignore=shutil.ignore_patterns("__pycache__"))
        sys.path[:0] = [str(tmp), str(low_level_root)]
        problems = _import(
            _modules("mijnklantportaal_api", low_level_root / "mijnklantportaal_api")
        )
        if not problems:
            generated = _modules("mijnklantportaal._generated", copy / "_generated")
            problems = _import([*generated, *WRAPPER])
        if not problems:
            try:
                from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal

                base = "http://127.0.0.1:9"
                MijnKlantportaal(api_key="mkp_import_check", base_url=base).close()
                AsyncMijnKlantportaal(api_key="mkp_import_check", base_url=base)
            except Exception as exc:
                problems.append(f"building the clients: {type(exc).__name__}: {exc}")
    for problem in problems:
        print(f"import check: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
