"""The baseline for the fake server's throughput: a minimal, tuned stdlib HTTP/1.1 server.

It answers every request with one canned body (the example invoice), keeps connections
alive, and is tuned the two ways ``http.server`` needs to be fast from a keep-alive client:
Nagle off (``disable_nagle_algorithm``) and a buffered ``wfile`` so that headers and body
leave in one write. Untuned, the separate small writes meet delayed ACKs: ~20 requests/s.

    from baseline_server import baseline_server, measure
    with baseline_server() as base_url:
        print(measure(base_url + "/invoices/fac_abc12345def678"))

``python benchmarks/baseline_server.py [N]`` measures it side by side with the fake's
loopback server (``FakeMijnKlantportaal.serve()``), one keep-alive raw httpx client each.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import sys
import threading
import time
from collections.abc import Iterator, Mapping

CANNED_BODY = json.dumps(
    {
        "id": "fac_abc12345def678",
        "invoiceNumber": "MKP-2025.0010",
        "lines": [
            {
                "id": "fcl_abc12345def678",
                "description": "Pro subscription",
                "quantity": 1,
                "currency": "EUR",
                "amountExclVat": 12.95,
                "vatRate": 21,
                "vatAmount": 2.72,
                "amountInclVat": 15.67,
            }
        ],
        "currency": "EUR",
        "subtotalAmount": 12.95,
        "vatAmount": 2.72,
        "totalAmount": 15.67,
        "issuedAt": "2025-04-12T00:00:00.000Z",
        "isPaid": True,
    },
    separators=(",", ":"),
).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    disable_nagle_algorithm = True  # TCP_NODELAY
    wbufsize = 64 * 1024  # headers and body leave in one flush
    body = CANNED_BODY

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up shutdown


@contextlib.contextmanager
def baseline_server(
    host: str = "127.0.0.1", port: int = 0, body: bytes = CANNED_BODY
) -> Iterator[str]:
    """Serve ``body`` to every GET in a background thread; yields ``http://host:port/v1``.
    Close your clients before leaving the block."""
    handler = type("Handler", (_Handler,), {"body": body})
    server = _Server((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, name="baseline-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def measure(url: str, n: int = 2000, headers: Mapping[str, str] | None = None) -> float:
    """Requests per second from one keep-alive raw httpx client, after a short warm-up."""
    import httpx

    with httpx.Client(headers=dict(headers or {})) as client:
        for _ in range(50):
            client.get(url).raise_for_status()
        started = time.perf_counter()
        for _ in range(n):
            client.get(url)
        return n / (time.perf_counter() - started)


def compare(n: int = 2000, rounds: int = 3) -> dict[str, float]:
    """Best of ``rounds`` for the baseline and for the fake, measured alternately."""
    from mijnklantportaal.testing import FakeMijnKlantportaal

    fake = FakeMijnKlantportaal(rate_limit=None)
    invoice_id = fake.add_example_invoice()
    auth = {"Authorization": f"Bearer {fake.api_key}"}
    best = {"baseline": 0.0, "fake": 0.0}
    with baseline_server() as base_url, fake.serve() as fake_url:
        for _ in range(rounds):
            best["baseline"] = max(
                best["baseline"], measure(f"{base_url}/invoices/{invoice_id}", n)
            )
            best["fake"] = max(best["fake"], measure(f"{fake_url}/invoices/{invoice_id}", n, auth))
    best["ratio"] = best["fake"] / best["baseline"]
    return best


if __name__ == "__main__":
    result = compare(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    print(
        f"baseline (tuned http.server): {result['baseline']:.0f} req/s\n"
        f"fake server:                  {result['fake']:.0f} req/s\n"
        f"ratio fake/baseline:          {result['ratio']:.2f}"
    )
