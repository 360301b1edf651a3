"""pytest fixtures for code that uses mijnklantportaal; registered automatically (pytest11).

    def test_shows_invoice(mijnklantportaal_client):
        invoice = mijnklantportaal_client.invoices.get("fac_abc12345def678")
        assert invoice.is_paid

- ``mijnklantportaal_fake``: a fresh :class:`~mijnklantportaal.testing.FakeMijnKlantportaal`
  serving every operation of the spec, seeded with the spec's example of every resource
  (``fake.add_examples()``: the example invoice ``fac_abc12345def678``, ...).
- ``mijnklantportaal_client`` / ``mijnklantportaal_async_client``: clients wired to that
  fake in-process, whose retries do not wait (a scripted 503 costs no test time) and which
  have no rate budget (it would pace them in real time; a scripted 429 reaches your code).

Everything heavy is imported inside the fixtures: loading this plugin costs pytest nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal
    from mijnklantportaal.testing import FakeMijnKlantportaal


@pytest.fixture
def mijnklantportaal_fake() -> FakeMijnKlantportaal:
    """A fresh fake API serving the whole spec, holding the spec's example of every
    resource (the example invoice among them)."""
    from mijnklantportaal.testing import FakeMijnKlantportaal

    fake = FakeMijnKlantportaal()
    fake.add_examples()
    return fake


@pytest.fixture
def mijnklantportaal_client(
    mijnklantportaal_fake: FakeMijnKlantportaal,
) -> Iterator[MijnKlantportaal]:
    """A MijnKlantportaal client talking to ``mijnklantportaal_fake``; retries are instant."""
    from mijnklantportaal.testing._instant import instant_retries

    with mijnklantportaal_fake.client(rate_budget=None) as client, instant_retries():
        yield client


@pytest.fixture
def mijnklantportaal_async_client(
    mijnklantportaal_fake: FakeMijnKlantportaal,
) -> Iterator[AsyncMijnKlantportaal]:
    """An AsyncMijnKlantportaal client talking to ``mijnklantportaal_fake``; retries are
    instant. A plain fixture (no async plugin needed): use it inside your event loop."""
    from mijnklantportaal.testing._instant import instant_retries

    with instant_retries():
        yield mijnklantportaal_fake.async_client(rate_budget=None)
