"""CHANGELOG.md and version helpers shared by spec_diff.py, api_check.py and release.py.

Standard library only: it runs in the pinned tool venv (from ./generate.sh) and in .venv.

The "## Unreleased" section may carry bump markers, HTML comments that say which semver bump
the unreleased changes need:

    <!-- spec-diff old=<sha256> new=<sha256> bump=major -->   written by ./generate.sh
    <!-- bump=major -->                                       written by hand (wrapper changes)

The release (tools/release.py) takes the largest of them; the API check (tools/api_check.py)
accepts breaking public API changes only when it is "major" (or the version already is).

Each release is a section "## X.Y.Z - DATE" whose first line names the commit it was cut from
(the code it ships; the release commit after it only writes the version and this file):

    ## 0.1.0 - 2026-11-24

    Commit: 39acad82bae485687e47894c3d7517688e56b006

tools/api_check.py compares the public API with the newest release's commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Bump = Literal["major", "minor", "patch"]
BUMP_ORDER: dict[Bump, int] = {"patch": 0, "minor": 1, "major": 2}

UNRELEASED = "## Unreleased"
_HEADING = re.compile(r"^## ", re.MULTILINE)
_BUMP_MARKER = re.compile(r"<!--[^>]*\bbump=(major|minor|patch)\b[^>]*-->")
_VERSION = re.compile(r'^__version__\s*=\s*"(\d+)\.(\d+)\.(\d+)"\s*$', re.MULTILINE)
_RELEASE_HEADING = re.compile(r"^## v?(\d+)\.(\d+)\.(\d+)\b.*$", re.MULTILINE)
_COMMIT_LINE = re.compile(r"^Commit: ([0-9a-f]{40})\s*$", re.MULTILINE)

NEW_CHANGELOG = """# Changelog

All notable changes to the `mijnklantportaal` package. Versions follow semantic versioning
for code that uses the package: a breaking change (as reported by `./generate.sh` for the
spec, or `tools/api_check.py` for the Python API) means a new major version. See
docs/updating-the-spec.md.

"""


@dataclass(frozen=True)
class Release:
    """A released version as CHANGELOG.md records it; commit is None when no line names it."""

    version: tuple[int, int, int]
    commit: str | None


def commit_line(commit: str) -> str:
    """The line under a release heading that names the commit the release was cut from."""
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise ValueError(f"not a full commit id: {commit!r}")
    return f"Commit: {commit}"


def releases(text: str) -> list[Release]:
    """Every "## X.Y.Z" section of a changelog, newest version first, with its commit."""
    found: list[Release] = []
    for heading in _RELEASE_HEADING.finditer(text):
        following = _HEADING.search(text, heading.end())
        body = text[heading.end() : following.start() if following else len(text)]
        commit = _COMMIT_LINE.search(body)
        version = (int(heading.group(1)), int(heading.group(2)), int(heading.group(3)))
        found.append(Release(version, commit.group(1) if commit else None))
    return sorted(found, key=lambda release: release.version, reverse=True)


def max_bump(bumps: list[Bump]) -> Bump | None:
    if not bumps:
        return None
    return max(bumps, key=lambda bump: BUMP_ORDER[bump])


def read_version(version_file: Path) -> tuple[int, int, int]:
    match = _VERSION.search(version_file.read_text(encoding="utf-8"))
    if match is None:
        raise ValueError(f'{version_file} has no line __version__ = "X.Y.Z"')
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def format_version(version: tuple[int, int, int]) -> str:
    return ".".join(str(part) for part in version)


def next_version(version: tuple[int, int, int], bump: Bump) -> tuple[int, int, int]:
    major, minor, patch = version
    if bump == "major":
        return major + 1, 0, 0
    if bump == "minor":
        return major, minor + 1, 0
    return major, minor, patch + 1


def split_unreleased(text: str) -> tuple[str, str | None, str]:
    """(before, unreleased section or None, after). The section starts at its heading."""
    start = text.find(UNRELEASED + "\n")
    if start == -1 and text.endswith(UNRELEASED):
        start = len(text) - len(UNRELEASED)
    if start == -1:
        return text, None, ""
    following = _HEADING.search(text, start + len(UNRELEASED))
    end = following.start() if following else len(text)
    return text[:start], text[start:end], text[end:]


def unreleased_bump(text: str) -> Bump | None:
    _, section, _ = split_unreleased(text)
    if section is None:
        return None
    found: list[Bump] = []
    for match in _BUMP_MARKER.finditer(section):
        for bump in BUMP_ORDER:
            if match.group(1) == bump:
                found.append(bump)
    return max_bump(found)


def append_to_unreleased(text: str, block: str, marker: str) -> tuple[str, bool]:
    """Append `block` at the end of the Unreleased section (created if missing).

    Returns (new text, whether it changed). A block whose `marker` is already in the
    section is not added again, so regenerating twice from the same spec is idempotent.
    """
    if not text.strip():
        text = NEW_CHANGELOG
    before, section, after = split_unreleased(text)
    if section is not None and marker in section:
        return text, False
    if section is None:
        first = _HEADING.search(text)
        if first is None:
            before, after = text.rstrip("\n") + "\n\n", ""
        else:
            before, after = text[: first.start()], text[first.start() :]
        section = UNRELEASED + "\n"
    section = section.rstrip("\n") + "\n\n" + block.strip("\n") + "\n"
    if after:
        section += "\n"
    return before + section + after, True
