"""Fetch a candidate spec (a local path or a URL) into a file, for ./generate.sh --spec.

    fetch_spec.py SOURCE DEST

SOURCE is a file path, an https:// URL, or an http:// URL to a loopback host (tests serve
specs from 127.0.0.1; plain http anywhere else is refused). Writes DEST only on success;
prints one line naming the problem and exits 1 otherwise. Standard library only.
The timeout (seconds) is $MIJNKLANTPORTAAL_FETCH_TIMEOUT, default 30.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

MAX_BYTES = 20 * 1024 * 1024


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch(source: str, dest: Path, timeout: float) -> str | None:
    """Copy or download `source` to `dest`; return a problem description or None."""
    parsed = urllib.parse.urlsplit(source)
    if parsed.scheme in ("http", "https"):
        host = parsed.hostname or ""
        if parsed.scheme == "http" and not _is_loopback(host):
            return f"refusing plain http for {source}: use https (http is only for loopback test servers)"
        request = urllib.request.Request(
            source, headers={"Accept": "application/yaml, application/json, */*"}
        )
        try:
            with urllib.request.urlopen(
                request, timeout=timeout
            ) as response:  # scheme checked above
                body = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            return f"cannot fetch {source}: HTTP {exc.code} {exc.reason}"
        except urllib.error.URLError as exc:
            return f"cannot fetch {source}: {exc.reason}"
        except (TimeoutError, OSError) as exc:
            return f"cannot fetch {source}: {exc or type(exc).__name__}"
        if len(body) > MAX_BYTES:
            return f"cannot fetch {source}: larger than {MAX_BYTES} bytes"
        if not body.strip():
            return f"cannot fetch {source}: the response is empty"
        dest.write_bytes(body)
        return None
    if parsed.scheme not in ("", "file") and len(parsed.scheme) > 1:  # "C:" style paths stay paths
        return f"unsupported spec source {source!r}: give a file path or an https:// URL"
    path = Path(parsed.path if parsed.scheme == "file" else source)
    if not path.is_file():
        return f"no spec file at {path}"
    try:
        shutil.copyfile(path, dest)
    except OSError as exc:
        return f"cannot read {path}: {exc}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: fetch_spec.py SOURCE DEST", file=sys.stderr)
        return 2
    timeout = float(os.environ.get("MIJNKLANTPORTAAL_FETCH_TIMEOUT", "30"))
    problem = fetch(argv[0], Path(argv[1]), timeout)
    if problem is not None:
        print(f"generate.sh: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
