"""The client over real HTTP on loopback: keep-alive, real timeouts, refused connections."""

from __future__ import annotations

import asyncio
import socket
import time
from decimal import Decimal

import pytest
from mijnklantportaal import (
    APIConnectionError,
    APITimeoutError,
    AsyncMijnKlantportaal,
    MijnKlantportaal,
    NotFoundError,
)
from mijnklantportaal.testing import FakeMijnKlantportaal, Fault


@pytest.fixture
def fake() -> FakeMijnKlantportaal:
    fake = FakeMijnKlantportaal(rate_limit=None)
    fake.add_example_invoice()
    return fake


def test_sequential_gets_reuse_one_keep_alive_connection(fake: FakeMijnKlantportaal) -> None:
    with (
        fake.serve() as base_url,
        MijnKlantportaal(api_key=fake.api_key, base_url=base_url) as client,
    ):
        totals = {client.invoices.get("fac_abc12345def678").total_amount for _ in range(20)}
        with pytest.raises(NotFoundError):
            client.invoices.get("fac_unknown1")
        pool = client._transport.http_client._transport._pool  # type: ignore[attr-defined]
        assert len(pool.connections) == 1
    assert totals == {Decimal("15.67")}
    assert len(fake.requests) == 21
    assert {r.path for r in fake.requests} == {
        "/v1/invoices/fac_abc12345def678",
        "/v1/invoices/fac_unknown1",
    }


def test_real_timeout_is_typed_retried_and_bounded(fake: FakeMijnKlantportaal) -> None:
    fake.fail_next(Fault.latency(2.0), times=2)
    with (
        fake.serve() as base_url,
        MijnKlantportaal(
            api_key=fake.api_key, base_url=base_url, timeout=0.2, max_retries=1
        ) as client,
    ):
        started = time.monotonic()
        with pytest.raises(APITimeoutError) as caught:
            client.invoices.get("fac_abc12345def678")
        elapsed = time.monotonic() - started
    # two tries of 0.2 s plus one backoff of at most 0.5 s, with slack for a loaded machine
    assert elapsed < 1.9
    assert "after 2 tries" in str(caught.value)


def test_connection_refused_is_an_api_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound but not listening: connections are refused
        client = MijnKlantportaal(
            api_key="mkp_test_refused", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
        )
        with client, pytest.raises(APIConnectionError) as caught:
            client.invoices.get("fac_abc12345def678")
    assert type(caught.value) is APIConnectionError
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_async_client_over_loopback_with_a_retried_fault(fake: FakeMijnKlantportaal) -> None:
    fake.fail_next(Fault.status(503))

    async def run(base_url: str) -> list[Decimal | None]:
        async with AsyncMijnKlantportaal(api_key=fake.api_key, base_url=base_url) as client:
            client = client.with_options(max_retries=2)
            invoices = await asyncio.gather(
                *(client.invoices.get("fac_abc12345def678") for _ in range(16))
            )
        return [invoice.total_amount for invoice in invoices]

    with fake.serve() as base_url:
        assert asyncio.run(run(base_url)) == [Decimal("15.67")] * 16
    statuses = [request.status for request in fake.requests]
    assert statuses.count(503) == 1 and statuses.count(200) == 16
