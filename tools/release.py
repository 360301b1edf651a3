"""Cut a release: pick the semver bump from CHANGELOG.md, write the version, date the section.

    .venv/bin/python tools/release.py --dry-run       say which version the release would be
    .venv/bin/python tools/release.py                 write it
    .venv/bin/python tools/release.py --bump major    raise the bump (never lowers it)

The bump is the largest `bump=` marker in CHANGELOG.md's "## Unreleased" section
(./generate.sh writes one per spec change; write `<!-- bump=... -->` by hand for wrapper
changes), or --bump when that is larger. This is the only step that writes
wrapper/mijnklantportaal/_version.py: ./generate.sh reports the bump but leaves the version
alone, because several spec and wrapper changes may go into one release.

It then turns "## Unreleased" into "## X.Y.Z - DATE" (with a fresh, empty "## Unreleased"
above it) whose first line is "Commit: <sha>", the commit the release is cut from: HEAD, whose
wrapper/ and generated/ must have no uncommitted change (the release commit that follows
writes only the version and CHANGELOG.md, so HEAD's code is what ships). tools/api_check.py
compares later code with that commit. It prints the commands to check and commit; it does
not commit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

from changelog import (
    BUMP_ORDER,
    UNRELEASED,
    Bump,
    commit_line,
    format_version,
    max_bump,
    next_version,
    read_version,
    split_unreleased,
    unreleased_bump,
)

REPO = Path(__file__).resolve().parents[1]
VERSION_FILE = Path("wrapper/mijnklantportaal/_version.py")


def release_commit(repo: Path) -> str:
    """HEAD, the commit a release made now is cut from; refused while the packages' code has
    changes that are not committed (they would ship without being in that commit)."""

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60
        )

    head = git("rev-parse", "--verify", "HEAD")
    if head.returncode != 0:
        raise ValueError(f"{repo} is not a git checkout with a commit: {head.stderr.strip()}")
    dirty = git("status", "--porcelain", "--", "wrapper", "generated").stdout
    if dirty.strip():
        raise ValueError(
            "wrapper/ or generated/ has uncommitted changes; commit them first (the release\n"
            "records the commit its code is in):\n" + dirty.rstrip()
        )
    return head.stdout.strip()


def prepare(
    repo: Path, bump: Bump | None, date: str, *, write: bool, commit: str | None = None
) -> str:
    """Return the new version; with write=True, update _version.py and CHANGELOG.md, recording
    `commit` (default: HEAD, see release_commit) as the commit the release is cut from."""
    changelog_path = repo / "CHANGELOG.md"
    text = changelog_path.read_text(encoding="utf-8")
    before, section, after = split_unreleased(text)
    if section is None or not section[len(UNRELEASED) :].strip():
        raise ValueError("CHANGELOG.md has nothing under '## Unreleased': nothing to release")
    declared = unreleased_bump(text)
    chosen = max_bump([b for b in (declared, bump) if b is not None])
    if chosen is None:
        raise ValueError(
            "nothing in '## Unreleased' declares a bump (no bump= marker): pass --bump major|minor|patch"
        )
    version_path = repo / VERSION_FILE
    current = read_version(version_path)
    new = format_version(next_version(current, chosen))
    if write:
        cut_from = commit if commit is not None else release_commit(repo)
        body = section[len(UNRELEASED) :].strip("\n")
        released = f"{UNRELEASED}\n\n## {new} - {date}\n\n{commit_line(cut_from)}\n\n{body}\n"
        changelog_path.write_text(
            before + released + ("\n" + after if after else ""), encoding="utf-8"
        )
        old_text = version_path.read_text(encoding="utf-8")
        version_path.write_text(
            re.sub(
                r'^__version__\s*=\s*"[^"]*"',
                f'__version__ = "{new}"',
                old_text,
                flags=re.MULTILINE,
            ),
            encoding="utf-8",
        )
    why = f"CHANGELOG.md declares {declared}" if declared else "no bump declared"
    if bump is not None and declared != chosen:
        why += f"; --bump {bump}"
    print(f"release: {format_version(current)} -> {new} ({chosen} bump: {why})")
    return new


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Prepare a release from CHANGELOG.md's Unreleased section."
    )
    parser.add_argument(
        "--bump", choices=sorted(BUMP_ORDER, key=BUMP_ORDER.__getitem__), help="raise the bump"
    )
    parser.add_argument(
        "--date", default=dt.date.today().isoformat(), help="release date (default: today)"
    )
    parser.add_argument("--dry-run", action="store_true", help="only print the next version")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    bump: Bump | None = None
    for candidate in BUMP_ORDER:
        if args.bump == candidate:
            bump = candidate
    try:
        new = prepare(args.repo, bump, args.date, write=not args.dry_run)
    except (OSError, ValueError) as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    if not args.dry_run:
        print(
            "Next:\n"
            "  .venv/bin/python tools/api_check.py && .ci/run\n"
            f"  git commit -m 'Release {new}' -- CHANGELOG.md {VERSION_FILE}\n"
            f"  git tag v{new}   (optional: tools/api_check.py reads the release's commit from\n"
            "                    CHANGELOG.md and compares with it from then on)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
