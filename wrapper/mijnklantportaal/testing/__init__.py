"""A fake MijnKlantportaal API for tests: in-process (an httpx transport) or over loopback.

    from mijnklantportaal.testing import FakeMijnKlantportaal, Fault

    fake = FakeMijnKlantportaal()     # every operation of the spec, one store per resource
    fake.add_example_invoice()         # or fake.add("invoices", {...}), fake.add_examples()
    fake.fail_next(Fault.status(503))
    client = fake.client()             # MijnKlantportaal wired to the fake
    with fake.serve() as base_url:     # or a real HTTP server: http://127.0.0.1:PORT/v1
        ...

With pytest, the ``mijnklantportaal_fake``, ``mijnklantportaal_client`` and
``mijnklantportaal_async_client`` fixtures are available once this package is installed.
"""

from mijnklantportaal.testing._clock import FakeClock
from mijnklantportaal.testing._fake import (
    EXAMPLE_INVOICE,
    EXAMPLE_INVOICE_ID,
    FakeMijnKlantportaal,
    RecordedRequest,
)
from mijnklantportaal.testing._faults import Fault
from mijnklantportaal.testing._transport import FakeTransport

__all__ = [
    "EXAMPLE_INVOICE",
    "EXAMPLE_INVOICE_ID",
    "FakeClock",
    "FakeMijnKlantportaal",
    "FakeTransport",
    "Fault",
    "RecordedRequest",
]
