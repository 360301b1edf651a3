"""``python -m mijnklantportaal``: the same command line as ``mijnklantportaal``."""

from mijnklantportaal.cli import main

raise SystemExit(main())
