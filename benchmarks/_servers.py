"""Run one benchmark server in its own process, so it never competes with the client for the GIL.

    python benchmarks/_servers.py fake|baseline [--lines N]

Prints one JSON line (``base_url``, ``api_key``, ``invoice_id``) when it is ready, then
serves until its stdin closes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


@contextlib.contextmanager
def _fake() -> Iterator[dict[str, str]]:
    from mijnklantportaal.testing import FakeMijnKlantportaal

    fake = FakeMijnKlantportaal(rate_limit=None, money_as="number")
    invoice_id = fake.add_example_invoice()
    with fake.serve() as base_url:
        yield {"base_url": base_url, "api_key": fake.api_key, "invoice_id": invoice_id}


@contextlib.contextmanager
def _baseline() -> Iterator[dict[str, str]]:
    from baseline_server import baseline_server

    with baseline_server() as base_url:
        yield {"base_url": base_url, "api_key": "unused", "invoice_id": "fac_abc12345def678"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["fake", "baseline"])
    args = parser.parse_args()
    with (_fake if args.kind == "fake" else _baseline)() as info:
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # until the parent closes our stdin


if __name__ == "__main__":
    main()
