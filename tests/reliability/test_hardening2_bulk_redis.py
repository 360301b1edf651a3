"""Issue 17, bulk and the Redis budget: each way they still broke, as a regression test.

A Redis that answers valid RESP of the wrong shape (a scripted server on loopback: the
point is a misbehaving server), bulk workers asleep in the budget when the client is
closed (and the export stopped by a 401 in the same state), an ids source that fails
mid-stream, and an async Redis budget used across many event loops (a real Valkey).
Sync and async throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from _redis_server import RedisServer
from mijnklantportaal import (
    AsyncMijnKlantportaal,
    ClientClosedError,
    Invoice,
    LocalRateBudget,
    MijnKlantportaal,
    MijnKlantportaalError,
    RedisRateBudget,
)
from mijnklantportaal._bulk import THREAD_NAME_PREFIX
from mijnklantportaal.testing import FakeMijnKlantportaal

KEY = "k" * 64  # a key id, as the transport would pass (a hash of the API key)
WARNING = "mijnklantportaal"


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture(scope="module")
def valkey() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


def budget_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name == WARNING and r.levelno == logging.WARNING
    ]


# -- 19: a Redis that answers the wrong shape ---------------------------------------------------


def resp(value: object) -> bytes:
    """``value`` in RESP: int, bytes (bulk string), None (null), list (array), or a
    ``Simple`` status line, an ``Error`` or a ``Map``."""
    if isinstance(value, Simple):
        return b"+" + value.text + b"\r\n"
    if isinstance(value, Error):
        return b"-" + value.text + b"\r\n"
    if isinstance(value, Map):
        items = b"".join(resp(k) + resp(v) for k, v in value.pairs.items())
        return b"%%%d\r\n" % len(value.pairs) + items
    if value is None:
        return b"_\r\n"  # RESP3's null: redis-py speaks RESP3 (HELLO 3) by default
    if isinstance(value, int):
        return b":%d\r\n" % value
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, list):
        return b"*%d\r\n" % len(value) + b"".join(resp(item) for item in value)
    raise TypeError(value)


class Simple:
    def __init__(self, text: bytes) -> None:
        self.text = text


class Error:
    def __init__(self, text: bytes) -> None:
        self.text = text


class Map:
    """A RESP3 map (what HELLO 3 answers)."""

    def __init__(self, pairs: dict[bytes, object]) -> None:
        self.pairs = pairs


Reply = Callable[[list[bytes]], object]


class ScriptedRedis:
    """A loopback server that speaks RESP and answers each command with ``reply(command)``
    (a value for ``resp``): the misbehaving Redis. It records the commands it was sent."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.commands: list[list[bytes]] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.url = f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ScriptedRedis:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._acceptor.join()
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._conns.append(conn)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            try:
                while not self._stop.is_set():
                    command = self._read_command(reader)
                    if command is None:
                        return
                    self.commands.append(command)
                    conn.sendall(resp(self.reply(command)))
            except OSError:
                return
            finally:
                reader.close()

    @staticmethod
    def _read_command(reader: Any) -> list[bytes] | None:
        head = reader.readline()
        if not head:
            return None
        assert head.startswith(b"*"), head
        command = []
        for _ in range(int(head[1:])):
            size = int(reader.readline()[1:])
            command.append(reader.read(size + 2)[:-2])
        return command


OK = Simple(b"OK")


# What a Redis 7 answers to HELLO 3 (the handshake redis-py starts with).
HELLO_3 = Map({b"server": b"redis", b"version": b"7.2.0", b"proto": 3})


def answering(acquire: object = None, other: object = 1, hello: object = HELLO_3) -> Reply:
    """Every EVALSHA/EVAL of the ACQUIRE script gets ``acquire``; of the others ``other``;
    HELLO gets ``hello``; anything else (CLIENT SETINFO, ...) +OK."""
    from mijnklantportaal._budget import _lua

    def reply(command: list[bytes]) -> object:
        name = command[0].upper()
        if name == b"HELLO":
            return hello
        if name in (b"EVALSHA", b"EVAL"):
            script = command[1]
            if script in (_lua.ACQUIRE.encode(), _sha(_lua.ACQUIRE)):
                return acquire
            return other
        return OK

    return reply


def _sha(text: str) -> bytes:
    import hashlib

    return hashlib.sha1(text.encode()).hexdigest().encode()


BAD_ACQUIRE_REPLIES = {
    "a string": b"hello",
    "nil": None,
    "an integer": 7,
    "an array of the wrong length": [1, b"100"],
    "an empty array": [],
    "a granted reply without a member": [1, b"0", None],
    "a wait that is no number": [1, b"soon", b"m-1"],
    "a status that is neither 0 nor 1": [b"x", b"0", b"m-1"],
    "a nested array": [[1], [b"0"], [b"m"]],
}


def run_acquire(mode: str, budget: RedisRateBudget, max_wait: float) -> float:
    if mode == "sync":
        return budget.acquire(KEY, max_wait=max_wait)

    async def go() -> float:
        try:
            return await budget.acquire_async(KEY, max_wait=max_wait)
        finally:
            await budget.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("shape", list(BAD_ACQUIRE_REPLIES))
def test_i17_19_a_bad_acquire_reply_falls_back_to_the_local_budget_with_one_warning(
    mode: str, shape: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WARNING)
    with ScriptedRedis(answering(acquire=BAD_ACQUIRE_REPLIES[shape])) as server:
        budget = RedisRateBudget(server.url, limit=5, window=1.0)
        try:
            for _ in range(3):
                # Under the fallback: the first start is free; no raw TypeError/IndexError.
                waited = run_acquire(mode, budget, max_wait=5.0)
                assert 0 <= waited < 1.0
        finally:
            budget.close()
        assert any(c[0].upper() in (b"EVALSHA", b"EVAL") for c in server.commands)
    warnings = budget_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "Redis" in warnings[0] and "in-process budget" in warnings[0]


@pytest.mark.parametrize(
    ("wait_us", "limit"),
    [(b"99999999999999999999", 0.6), (b"-5000000", 0.3)],
    ids=["a huge wait", "a negative wait"],
)
def test_i17_19_a_wait_taken_from_a_reply_is_clamped_to_max_rate_wait(
    mode: str, wait_us: bytes, limit: float
) -> None:
    max_wait = 0.3
    result: list[object] = []
    with ScriptedRedis(answering(acquire=[1, wait_us, b"m-1"])) as server:
        budget = RedisRateBudget(server.url, limit=5, window=1.0)

        def run() -> None:
            try:
                result.append(run_acquire(mode, budget, max_wait))
            except BaseException as error:  # reported below
                result.append(error)

        started = time.monotonic()
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        worker.join(10)
        took = time.monotonic() - started
        budget.close()
    assert result, "acquire slept on a wait taken from the reply, far past max_rate_wait"
    assert isinstance(result[0], float), result[0]
    assert 0 <= result[0] <= max_wait + 0.2, result[0]
    assert took < limit + 1.0, took


@pytest.mark.parametrize(
    "bad", [b"nope", None, [1, 2, 3], Simple(b"QUEUED")], ids=["string", "nil", "array", "status"]
)
def test_i17_19_a_bad_observe_or_penalize_reply_falls_back_with_one_warning(
    mode: str, bad: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WARNING)
    with ScriptedRedis(answering(acquire=[1, b"0", b"m-1"], other=bad)) as server:
        budget = RedisRateBudget(server.url, limit=5, window=1.0)
        try:
            if mode == "sync":
                budget.observe(KEY, limit=5, remaining=4, reset_at=None)
                budget.penalize(KEY, 0.01)
            else:

                async def go() -> None:
                    try:
                        await budget.observe_async(KEY, limit=5, remaining=4, reset_at=None)
                        await budget.penalize_async(KEY, 0.01)
                    finally:
                        await budget.aclose()

                asyncio.run(go())
        finally:
            budget.close()
    warnings = budget_warnings(caplog)
    assert len(warnings) == 1, warnings
    assert "in-process budget" in warnings[0]


@pytest.mark.parametrize(
    "hello",
    [OK, b"RESP3", [b"server", b"redis"], 3, None],
    ids=["+OK", "a string", "a list", "an integer", "null"],
)
def test_i17_19_an_unexpected_hello_reply_falls_back_with_one_warning(
    mode: str, hello: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=WARNING)
    with ScriptedRedis(answering(acquire=[1, b"0", b"m-1"], hello=hello)) as server:
        budget = RedisRateBudget(server.url + "?protocol=3", limit=5, window=1.0)
        try:
            for _ in range(2):
                waited = run_acquire(mode, budget, max_wait=5.0)
                assert 0 <= waited < 1.0
        finally:
            budget.close()
        assert [c for c in server.commands if c[0].upper() == b"HELLO"]
    warnings = budget_warnings(caplog)
    assert len(warnings) == 1, warnings


def test_i17_19_a_refused_reply_with_an_absurd_retry_after_is_bounded(mode: str) -> None:
    from mijnklantportaal._budget import BudgetExhausted
    from mijnklantportaal._constants import MAX_TIMEOUT

    with ScriptedRedis(answering(acquire=[0, b"99999999999999999999", b""])) as server:
        budget = RedisRateBudget(server.url, limit=5, window=1.0)
        try:
            with pytest.raises(BudgetExhausted) as caught:
                run_acquire(mode, budget, max_wait=1.0)
        finally:
            budget.close()
    assert 1.0 <= caught.value.retry_after <= MAX_TIMEOUT


# -- 20: close() wakes and cancels bulk workers asleep in the budget -----------------------------


def bulk_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]


@contextlib.contextmanager
def served_invoices(n: int) -> Iterator[tuple[FakeMijnKlantportaal, str, list[str]]]:
    fake = FakeMijnKlantportaal(rate_limit=None)
    ids = fake.add_generated_invoices(n)
    with fake.serve() as base_url:
        yield fake, base_url, ids


def make_budget(kind: str, valkey: RedisServer, limit: int, window: float) -> Any:
    if kind == "local":
        return LocalRateBudget(limit=limit, window=window)
    return RedisRateBudget(
        valkey.url, limit=limit, window=window, prefix=f"mkp-i17:{uuid.uuid4().hex[:8]}:"
    )


@pytest.mark.parametrize("kind", ["local", "redis"])
def test_i17_20_close_wakes_bulk_workers_asleep_in_the_budget(
    mode: str, kind: str, valkey: RedisServer
) -> None:
    """One start per 3 s: after the first result the other workers sleep 3, 6, 9 s in the
    budget. close() must wake them: their threads (tasks) end within 2 s, and the server
    receives nothing after close() returns."""
    budget = make_budget(kind, valkey, limit=1, window=3.0)
    with served_invoices(8) as (fake, base_url, ids):
        if mode == "sync":
            client = MijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=budget)
            stream = client.invoices.get_many(ids, concurrency=4)
            earlier = set(bulk_threads())
            first_id, first = next(stream)
            stream.close()  # what ``break`` does: the pool ends once its workers are done
            time.sleep(0.3)  # the other workers are asleep in the budget by now
            asleep = [t for t in bulk_threads() if t not in earlier]
            assert asleep, "no worker asleep in the budget"
            client.close()
            sent = len(fake.requests)
            closed_at = time.monotonic()
            for thread in asleep:
                thread.join(max(0.0, closed_at + 2.0 - time.monotonic()))
            alive = [t for t in asleep if t.is_alive()]
        else:

            async def run() -> tuple[str, object, int, list[Any]]:
                client = AsyncMijnKlantportaal(
                    api_key=fake.api_key, base_url=base_url, rate_budget=budget
                )
                stream = client.invoices.get_many(ids, concurrency=4)
                first_id, first = await anext(stream)
                await asyncio.sleep(0.3)
                others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                assert others, "no task asleep in the budget"
                await client.close()
                sent = len(fake.requests)
                _, pending = await asyncio.wait(others, timeout=2.0)
                await stream.aclose()
                if isinstance(budget, RedisRateBudget):
                    await budget.aclose()
                return first_id, first, sent, list(pending)

            first_id, first, sent, alive = asyncio.run(run())
        time.sleep(0.2)  # a worker that still sent would show up on the server by now
        assert len(fake.requests) == sent, "a request was sent after close() returned"
    budget_close = getattr(budget, "close", None)
    if budget_close is not None:
        budget_close()
    assert first_id == ids[0] and isinstance(first, Invoice)
    assert alive == [], f"still asleep in the budget 2 s after close(): {alive}"


def test_i17_20_a_closed_client_wakes_only_its_own_waiters(mode: str) -> None:
    """Two clients share one budget; closing one wakes its waiter, not the other's."""
    budget = LocalRateBudget(limit=1, window=1.5)
    with served_invoices(3) as (fake, base_url, ids):
        if mode == "sync":
            a = MijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=budget)
            b = MijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=budget)
            a.invoices.get(ids[0])  # takes the window: the next starts are 1.5 s away
            results: dict[str, object] = {}

            def call(name: str, client: MijnKlantportaal, invoice_id: str) -> None:
                try:
                    results[name] = client.invoices.get(invoice_id)
                except MijnKlantportaalError as error:
                    results[name] = error

            threads = [
                threading.Thread(target=call, args=("a", a, ids[1])),
                threading.Thread(target=call, args=("b", b, ids[2])),
            ]
            for thread in threads:
                thread.start()
            time.sleep(0.3)
            started = time.monotonic()
            a.close()
            threads[0].join(5)
            a_woke_in = time.monotonic() - started
            threads[1].join(10)
            b.close()
        else:

            async def run() -> tuple[dict[str, object], float]:
                a = AsyncMijnKlantportaal(
                    api_key=fake.api_key, base_url=base_url, rate_budget=budget
                )
                b = AsyncMijnKlantportaal(
                    api_key=fake.api_key, base_url=base_url, rate_budget=budget
                )
                await a.invoices.get(ids[0])
                ta = asyncio.ensure_future(a.invoices.get(ids[1]))
                tb = asyncio.ensure_future(b.invoices.get(ids[2]))
                await asyncio.sleep(0.3)
                started = time.monotonic()
                await a.close()
                await asyncio.wait([ta], timeout=5)
                woke_in = time.monotonic() - started
                done: dict[str, object] = {}
                for name, task in (("a", ta), ("b", tb)):
                    try:
                        done[name] = await task
                    except MijnKlantportaalError as error:
                        done[name] = error
                await b.close()
                return done, woke_in

            results, a_woke_in = asyncio.run(run())
    assert isinstance(results["a"], ClientClosedError), results
    assert a_woke_in < 1.0, a_woke_in
    assert isinstance(results["b"], Invoice), results  # b's call waited its turn and ran


CLOSE_SCRIPT = """
import sys, time
from mijnklantportaal import AsyncMijnKlantportaal, LocalRateBudget, MijnKlantportaal

base_url, api_key, mode, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
budget = LocalRateBudget(limit=1, window=30)  # after the first start: 30 s, 60 s ... away
if mode == "sync":
    client = MijnKlantportaal(api_key=api_key, base_url=base_url, rate_budget=budget)
    for invoice_id, result in client.invoices.get_many(ids, concurrency=4):
        break
    time.sleep(0.3)  # the other workers are asleep in the budget
    client.close()
    print("closed", flush=True)
else:
    import asyncio

    async def main():
        client = AsyncMijnKlantportaal(api_key=api_key, base_url=base_url, rate_budget=budget)
        stream = client.invoices.get_many(ids, concurrency=4)
        async for invoice_id, result in stream:
            break
        await asyncio.sleep(0.3)
        await client.close()
        print("closed", flush=True)

    asyncio.run(main())
"""


def test_i17_20_the_process_exits_within_2_s_after_close(mode: str) -> None:
    with served_invoices(8) as (fake, base_url, ids):
        process = subprocess.Popen(
            [sys.executable, "-c", CLOSE_SCRIPT, base_url, fake.api_key, mode, *ids],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            closed_at = time.monotonic()
            assert line == b"closed\n", process.stderr.read() if process.stderr else line
            sent = len(fake.requests)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            exited_in = time.monotonic() - closed_at
        finally:
            if process.poll() is None:
                process.kill()
            _, err = process.communicate()
        assert exited_in < 2.0, f"the process lived {exited_in:.1f} s after close()"
        assert process.returncode == 0, err
        assert b"Traceback" not in err, err
        assert len(fake.requests) == sent, "a request was sent after close() returned"


def test_i17_20_a_close_racing_a_send_is_a_client_closed_error(mode: str) -> None:
    """close() landing between the closed check and the send (another thread): httpx's bare
    RuntimeError about its closed pool becomes ClientClosedError, and nothing is sent."""
    with served_invoices(1) as (fake, base_url, ids):
        if mode == "sync":
            client = MijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=None)
            send = client._transport.http_client.send

            def close_then_send(*args: Any, **kwargs: Any) -> Any:
                client.close()
                return send(*args, **kwargs)

            client._transport.http_client.send = close_then_send  # type: ignore[method-assign]
            with pytest.raises(ClientClosedError):
                client.invoices.get(ids[0])
        else:

            async def main() -> None:
                aclient = AsyncMijnKlantportaal(
                    api_key=fake.api_key, base_url=base_url, rate_budget=None
                )
                asend = aclient._transport.http_client.send

                async def close_then_send(*args: Any, **kwargs: Any) -> Any:
                    await aclient.close()
                    return await asend(*args, **kwargs)

                aclient._transport.http_client.send = close_then_send  # type: ignore[method-assign]
                with pytest.raises(ClientClosedError):
                    await aclient.invoices.get(ids[0])

            asyncio.run(main())
        assert fake.requests == []


# -- 21: an export stopped by a 401 exits promptly ---------------------------------------------


def test_i17_21_an_export_stopped_by_a_401_exits_5_within_2_s(tmp_path: Path) -> None:
    fake = FakeMijnKlantportaal(rate_limit=None)  # a key other than the export's: every call 401
    ids = fake.add_generated_invoices(20)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    with fake.serve() as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIJNKLANTPORTAAL_")}
        env.update(MIJNKLANTPORTAAL_API_KEY="mkp_not_the_fakes_key_1234567890")
        env.update(MIJNKLANTPORTAAL_BASE_URL=base_url)
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "mijnklantportaal", "invoices", "export", str(ids_file)),
                *("--out", str(out), "--quiet", "--rate-limit", "1", "--rate-window", "30"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            while not fake.requests and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            answered_at = time.monotonic()  # the first (and only) request got its 401
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            exited_in = time.monotonic() - answered_at
        finally:
            if process.poll() is None:
                process.kill()
            _, err = process.communicate()
        requests = len(fake.requests)
    assert process.returncode == 5, err
    assert exited_in < 2.0, f"the export lived {exited_in:.1f} s after the 401"
    assert requests == 1, requests  # the workers asleep in the budget sent nothing
    assert b"Traceback" not in err and b"API key" in err, err


# -- 23: an ids source that fails mid-stream -----------------------------------------------------


def test_i17_23_results_fetched_before_the_ids_source_failed_are_delivered(mode: str) -> None:
    with served_invoices(5) as (fake, base_url, ids):

        def source() -> Iterator[str]:
            yield from ids
            raise OSError("the ids file could not be read any further")

        delivered: list[str] = []
        if mode == "sync":
            with MijnKlantportaal(api_key=fake.api_key, base_url=base_url, rate_budget=None) as c:
                with pytest.raises(OSError, match="could not be read") as caught:
                    for invoice_id, result in c.invoices.get_many(source(), concurrency=4):
                        assert isinstance(result, Invoice), result
                        delivered.append(invoice_id)
        else:

            async def asource() -> AsyncIterator[str]:
                for invoice_id in ids:
                    yield invoice_id
                raise OSError("the ids file could not be read any further")

            async def run(ids_source: Any) -> None:
                async with AsyncMijnKlantportaal(
                    api_key=fake.api_key, base_url=base_url, rate_budget=None
                ) as c:
                    async for invoice_id, result in c.invoices.get_many(ids_source, concurrency=4):
                        assert isinstance(result, Invoice), result
                        delivered.append(invoice_id)

            with pytest.raises(OSError, match="could not be read") as caught:
                asyncio.run(run(asource()))
            assert delivered == ids
            delivered.clear()
            with pytest.raises(OSError, match="could not be read") as caught:
                asyncio.run(run(source()))  # a plain iterable under the async client too
    assert delivered == ids, "results fetched before the ids source failed were dropped"
    assert isinstance(caught.value, OSError)


# -- 24: an async Redis budget across many event loops ------------------------------------------


def connected_clients(server: RedisServer) -> int:
    with redis.Redis.from_url(server.url) as observer:
        info: dict[str, Any] = observer.info("clients")
        return int(info["connected_clients"]) - 1  # not the observer itself


def test_i17_24_an_async_redis_budget_across_many_event_loops_does_not_leak(
    valkey: RedisServer,
) -> None:
    budget = RedisRateBudget(valkey.url, limit=1000, window=1.0, prefix="mkp-i17-24:")
    before = connected_clients(valkey)
    fds_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None

    async def one_call() -> None:
        await budget.acquire_async(KEY, max_wait=1.0)
        await budget.observe_async(KEY, limit=1000, remaining=999, reset_at=None)

    for _ in range(15):
        asyncio.run(one_call())
    deadline = time.monotonic() + 2.0
    while connected_clients(valkey) > before + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    held = connected_clients(valkey) - before
    if fds_before is not None:
        fds_after = len(os.listdir("/proc/self/fd"))
        assert fds_after <= fds_before + 1, (fds_before, fds_after)
    budget.close()
    assert held <= 1, f"{held} connections held after 15 event loops"


def test_i17_24_a_budget_is_a_context_manager_that_closes_its_connections(
    mode: str, valkey: RedisServer
) -> None:
    before = connected_clients(valkey)
    if mode == "sync":
        with RedisRateBudget(valkey.url, prefix="mkp-i17-24b:") as budget:
            budget.acquire(KEY)
            assert connected_clients(valkey) == before + 1
    else:

        async def run() -> None:
            async with RedisRateBudget(valkey.url, prefix="mkp-i17-24b:") as budget:
                await budget.acquire_async(KEY)
                assert connected_clients(valkey) == before + 1

        asyncio.run(run())
    deadline = time.monotonic() + 2.0
    while connected_clients(valkey) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connected_clients(valkey) == before
