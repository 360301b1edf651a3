"""Python client for the MijnKlantportaal API."""

import mijnklantportaal_api

from mijnklantportaal._version import __version__

__all__ = ["__version__", "mijnklantportaal_api"]
