"""The API key never leaks: not into logs (ours, httpx's, httpcore's, at DEBUG), not into
any error's str/repr/traceback/pickle, not into what the server saw outside the
Authorization header, and not across a redirect to another host.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import socket
import traceback
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from loopback import RawServer, closed_port, response_bytes
from mijnklantportaal import AsyncMijnKlantportaal, MijnKlantportaal, MijnKlantportaalError
from mijnklantportaal.testing import FakeMijnKlantportaal, Fault
from reliability_helpers import API_KEY

SECRET_PARTS = (API_KEY, API_KEY[4:], "SECRET_canary")

pytestmark = pytest.mark.filterwarnings("error::ResourceWarning")


def assert_no_key(text: str | bytes, where: str) -> None:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    for part in SECRET_PARTS:
        assert part not in text, f"the API key leaked into {where}: {text[:500]}"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


@pytest.fixture
def logs() -> Iterator[_Capture]:
    handler = _Capture()
    saved = []
    for name in ("mijnklantportaal", "httpx", "httpcore"):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    yield handler
    for logger, level in saved:
        logger.removeHandler(handler)
        logger.setLevel(level)


def check_error(error: BaseException, figures: Any, with_locals: bool = True) -> None:
    """Every way an error gets written down: str, repr, tracebacks (chained, with locals), pickle."""
    figures.count("secrets", "errors inspected")
    assert_no_key(str(error), "str(error)")
    assert_no_key(repr(error), "repr(error)")
    assert_no_key("".join(traceback.format_exception(error)), "the traceback")
    # What error trackers record: every frame's locals, along the whole chain (the test's
    # own frames hold the key on purpose and are skipped).
    chain: Any = (
        traceback.TracebackException.from_exception(error, capture_locals=True)
        if with_locals
        else None
    )
    while chain is not None:
        for frame in chain.stack:
            if "/tests/" not in frame.filename:
                figures.count("secrets", "checked: traceback frames with locals")
                assert_no_key(repr(frame.locals), f"the locals of {frame.name} ({frame.filename})")
        chain = chain.__cause__ or chain.__context__
    data = pickle.dumps(error)
    assert_no_key(data, "the pickled error")
    restored = pickle.loads(data)
    assert type(restored) is type(error) and str(restored) == str(error)
    for name, value in vars(error).items():
        assert_no_key(repr(value), f"error.{name}")
        for attr in ("headers", "request"):
            inner = getattr(value, attr, None)
            if inner is not None:
                assert_no_key(repr(getattr(inner, "headers", inner)), f"error.{name}.{attr}")
                headers = getattr(inner, "headers", inner)
                if isinstance(headers, httpx.Headers):
                    assert_no_key(repr(list(headers.raw)), f"error.{name}.{attr} headers")


SCENARIOS: dict[str, Any] = {
    "ok": None,
    "404": Fault.status(404),
    "401": Fault.status(401),
    "429 burst": Fault.rate_limited(1),
    "500 burst": Fault.status(500),
    "520 HTML": Fault.html(520),
    "non-JSON 200": Fault.non_json(),
    "truncated": Fault.truncated(),
    "dropped": Fault.drop(),
    "slow": Fault.latency(0.5),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_key_never_leaks_over_loopback(
    mode: str, delays: list[float], logs: _Capture, scenario: str, figures: Any
) -> None:
    fake = FakeMijnKlantportaal(api_key=API_KEY, rate_limit=None)
    invoice_id = fake.add_example_invoice()
    fault = SCENARIOS[scenario]
    if fault is not None:
        fake.fail_next(fault, times=3)
    with fake.serve() as base_url:
        kwargs: dict[str, Any] = {"api_key": API_KEY, "base_url": base_url, "timeout": 0.3}
        result: Any
        if mode == "sync":
            with MijnKlantportaal(**kwargs) as client:
                assert_no_key(repr(client), "repr(client)")
                try:
                    result = client.invoices.with_raw_response.get(invoice_id)
                except MijnKlantportaalError as error:
                    result = error
        else:

            async def main() -> Any:
                async with AsyncMijnKlantportaal(**kwargs) as client:
                    assert_no_key(repr(client), "repr(client)")
                    try:
                        return await client.invoices.with_raw_response.get(invoice_id)
                    except MijnKlantportaalError as error:
                        return error

            result = asyncio.run(main())
    figures.count("secrets", "loopback scenarios")
    if isinstance(result, BaseException):
        assert scenario != "ok"
        check_error(result, figures)
    else:
        assert scenario in ("ok", "429 burst") or scenario == "slow", scenario
        assert_no_key(repr(result), "repr(raw response)")
        assert_no_key(repr(result.parsed), "repr(invoice)")
    assert logs.lines, "DEBUG logging captured nothing"
    for line in logs.lines:
        assert_no_key(line, "a log record")
    figures.count("secrets", "checked: log records at DEBUG", len(logs.lines))
    seen = fake.requests
    assert seen and all(r.authenticated for r in seen)
    for recorded in seen:
        headers = {k: v for k, v in recorded.headers.items() if k != "authorization"}
        assert_no_key(repr((recorded.method, recorded.path, recorded.query, headers)), "a request")
        assert_no_key(recorded.body, "a request body")
    figures.count("secrets", "checked: requests the fake saw", len(seen))


def test_key_never_leaks_from_connection_errors(
    mode: str, delays: list[float], logs: _Capture, figures: Any
) -> None:
    base_url = f"http://127.0.0.1:{closed_port()}/v1"
    if mode == "sync":
        with MijnKlantportaal(api_key=API_KEY, base_url=base_url) as client:
            with pytest.raises(MijnKlantportaalError) as caught:
                client.invoices.get("fac_abc123")
    else:

        async def main() -> None:
            async with AsyncMijnKlantportaal(api_key=API_KEY, base_url=base_url) as client:
                await client.invoices.get("fac_abc123")

        with pytest.raises(MijnKlantportaalError) as caught:
            asyncio.run(main())
    check_error(caught.value, figures)
    for line in logs.lines:
        assert_no_key(line, "a log record")


def test_key_never_leaks_from_decoding_errors(mode: str, logs: _Capture, figures: Any) -> None:
    def script(conn: socket.socket, attempt: int) -> bool:
        conn.sendall(response_bytes(body=b"not gzip", headers=[("Content-Encoding", "gzip")]))
        return True

    with RawServer(script) as base_url:
        if mode == "sync":
            with MijnKlantportaal(api_key=API_KEY, base_url=base_url) as client:
                with pytest.raises(MijnKlantportaalError) as caught:
                    client.invoices.get("fac_abc123")
        else:

            async def main() -> None:
                async with AsyncMijnKlantportaal(api_key=API_KEY, base_url=base_url) as client:
                    await client.invoices.get("fac_abc123")

            with pytest.raises(MijnKlantportaalError) as caught:
                asyncio.run(main())
    check_error(caught.value, figures)


def test_key_never_in_configuration_errors(figures: Any) -> None:
    for kwargs in (
        {"api_key": API_KEY, "base_url": "http://example.com/v1"},
        {"api_key": API_KEY + "\n"},
        {"api_key": " " + API_KEY},
        {"api_key": API_KEY, "default_headers": {"Authorization": "x"}},
        {"api_key": API_KEY, "timeout": -1},
        {"api_key": API_KEY, "max_retries": 99},
    ):
        with pytest.raises(MijnKlantportaalError) as caught:
            MijnKlantportaal(**kwargs)
        # Not with locals: the caller's own api_key argument is a local of the frames that
        # check it, in any library.
        check_error(caught.value, figures, with_locals=False)


def test_repr_of_a_half_built_client_never_raises() -> None:
    with pytest.raises(MijnKlantportaalError) as caught:
        MijnKlantportaal(api_key=API_KEY, timeout=-1)
    traceback.TracebackException.from_exception(caught.value, capture_locals=True)


# -- redirects ------------------------------------------------------------------------------------


def _redirect_to(target: str) -> Any:
    def script(conn: socket.socket, attempt: int) -> bool:
        conn.sendall(response_bytes(302, b"", [("Location", target)]))
        return True

    return script


def _ok(conn: socket.socket, attempt: int) -> bool:
    conn.sendall(response_bytes())
    return True


def test_redirects_are_not_followed_by_default(mode: str, figures: Any) -> None:
    other = RawServer(_ok)
    with other as other_url:
        with RawServer(_redirect_to(other_url + "/invoices/fac_abc123")) as base_url:
            if mode == "sync":
                with MijnKlantportaal(api_key=API_KEY, base_url=base_url) as client:
                    with pytest.raises(MijnKlantportaalError) as caught:
                        client.invoices.get("fac_abc123")
            else:

                async def main() -> None:
                    async with AsyncMijnKlantportaal(api_key=API_KEY, base_url=base_url) as c:
                        await c.invoices.get("fac_abc123")

                with pytest.raises(MijnKlantportaalError) as caught:
                    asyncio.run(main())
    figures.count("secrets", "redirects")
    assert getattr(caught.value, "status_code", None) == 302
    assert "redirect" in str(caught.value)
    assert other.attempts == 0
    check_error(caught.value, figures)


def test_followed_redirect_to_another_host_drops_the_key(figures: Any) -> None:
    """A caller's own http_client may follow redirects; the key must stay behind."""
    other = RawServer(_ok)
    with other as other_url:
        # 127.0.0.1 -> localhost: another host, not just another port.
        target = other_url.replace("127.0.0.1", "localhost") + "/invoices/fac_abc12345def678"
        with RawServer(_redirect_to(target)) as base_url:
            with httpx.Client(follow_redirects=True) as http:
                client = MijnKlantportaal(api_key=API_KEY, base_url=base_url, http_client=http)
                invoice = client.invoices.get("fac_abc12345def678")
    figures.count("secrets", "redirects")
    assert str(invoice.total_amount) == "15.67"
    assert other.attempts == 1
    head = other.requests[0].decode("latin-1")
    assert "authorization" not in head.lower()
    assert_no_key(head, "the request to the redirect target")


def _reachable_secrets(root: object, secret: str, depth: int = 16) -> list[str]:
    """Every path from ``root`` (through attributes, slots, dicts, lists, header lists) to a
    str or bytes that holds ``secret``: what a debugger or a dump of the object would show."""
    import gc

    needle = secret.encode()
    found: list[str] = []
    seen: set[int] = set()
    frontier: list[tuple[object, str]] = [(root, "raw")]
    for _ in range(depth):
        following: list[tuple[object, str]] = []
        for obj, path in frontier:
            if id(obj) in seen or isinstance(obj, type):
                continue
            seen.add(id(obj))
            if isinstance(obj, str | bytes | bytearray):
                if (secret if isinstance(obj, str) else needle) in obj:
                    found.append(path)
                continue
            for index, child in enumerate(gc.get_referents(obj)):
                if not callable(child) or isinstance(child, httpx.ByteStream):
                    following.append((child, f"{path}>{type(child).__name__}[{index}]"))
        frontier = following
    return found


def test_no_key_is_reachable_from_a_kept_response(mode: str, figures: Any) -> None:
    """Not only the redacted request: the response's stream (its guard held the request as
    sent) and anything else hanging off a RawResponse carry no key."""
    fake = FakeMijnKlantportaal(api_key=API_KEY, rate_limit=None)
    invoice_id = fake.add_example_invoice()
    with fake.serve() as base_url:
        if mode == "sync":
            with MijnKlantportaal(api_key=API_KEY, base_url=base_url, rate_budget=None) as client:
                raw = client.invoices.with_raw_response.get(invoice_id)
        else:

            async def main() -> Any:
                async with AsyncMijnKlantportaal(
                    api_key=API_KEY, base_url=base_url, rate_budget=None
                ) as client:
                    return await client.invoices.with_raw_response.get(invoice_id)

            raw = asyncio.run(main())
    figures.count("secrets", "kept responses walked for the key")
    assert raw.parsed.id == invoice_id
    assert _reachable_secrets(raw, API_KEY) == []
