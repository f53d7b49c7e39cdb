"""RedisChannel against a real redis-server (Debian's), started by the fixtures of
``tbone.testing`` on 127.0.0.1: the Channel contract, two processes, lost
connections, trimming, a slow server, and Redis restarts.

What each restart test checks is the loss the module documents: nothing
while Redis stays up; when it restarts without persistence, only the events
this channel had not yet read (and the publishes that failed while it was
down, which raised).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from tbone.dispatch.channels import RedisChannel, registry
from tbone.dispatch.channels.redis import DEFAULT_URL, URL_ENV, PublishError
from tbone.testing import RedisServer, require_redis_server

from .carriers import BatchListCarrier, ListCarrier, StreamListCarrier

ROOT = Path(__file__).resolve().parents[2]
LOGGER = "tbone.dispatch.redis"
FAST = {"retry_delay": 0.05, "max_retry_delay": 0.2}


@asynccontextmanager
async def admin(url: str) -> AsyncIterator[Redis]:
    """A plain client, to look at and break things from the side."""
    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def kill_connections(url: str, *, role: str = "", pid: int | None = None) -> int:
    """``CLIENT KILL`` the channels' connections (of one process, one role); returns how many."""
    prefix = "tbone:"
    killed = 0
    async with admin(url) as client:
        for info in await client.client_list():
            name = str(info.get("name", ""))
            if not name.startswith(prefix) or not name.endswith(role):
                continue
            if pid is not None and f":{pid}:" not in name:
                continue
            killed += int(await client.execute_command("CLIENT", "KILL", "ID", info["id"]))
    return killed


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def gate_reconnect(
    channel: RedisChannel, monkeypatch: pytest.MonkeyPatch
) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold the reader back before it reconnects, until ``gate`` is set;
    ``held`` is set once it waits there (Redis answered it, or not)."""
    gate, held = asyncio.Event(), asyncio.Event()
    connect = channel._connect

    async def gated(reader: Any) -> None:
        held.set()
        await gate.wait()
        await connect(reader)

    monkeypatch.setattr(channel, "_connect", gated)
    return gate, held


def numbers(carrier: ListCarrier) -> list[int]:
    return [d["n"] for d in carrier.data()]


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def test_missing_redis_server_skips_outside_ci_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBONE_REDIS_SERVER", "/nonexistent/redis-server")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server is missing"):
        require_redis_server()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must have it"):
        require_redis_server()


# -- the Channel contract -----------------------------------------------------------


async def test_singleton_per_name_and_url(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    channel = RedisChannel(name="pubsub", url=redis_url)
    assert RedisChannel(name="pubsub", url=redis_url) is channel
    assert RedisChannel("pubsub", url=redis_url) is channel
    assert RedisChannel(name="other", url=redis_url) is not channel
    assert channel.name == "pubsub"
    assert channel.stream == "tbone:channel:pubsub"
    # what a resource does: Meta.channel_class(name="pubsub", db=db), the URL from the environment
    monkeypatch.setenv(URL_ENV, redis_url)
    assert RedisChannel(name="pubsub", db=object()) is channel
    monkeypatch.delenv(URL_ENV)
    assert RedisChannel(name="pubsub").url == DEFAULT_URL


async def test_second_construction_keeps_subscribers_and_options(redis_url: str) -> None:
    channel = RedisChannel(name="keep", url=redis_url, high_water_mark=123, maxlen=50)
    channel.subscribe("e", ListCarrier())
    again = RedisChannel(name="keep", url=redis_url, high_water_mark=999, maxlen=7)
    assert again is channel
    assert again.subscriber_count() == 1
    assert again.fanout.high_water_mark == 123
    assert again.maxlen == 50


def test_the_package_imports_without_redis_py() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "import tbone.dispatch.channels as channels\n"
        "print(channels.MemoryChannel.__name__)\n"
        "try:\n"
        "    channels.RedisChannel\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "MemoryChannel"
    assert "tbone[redis]" in lines[1]


async def test_publish_reaches_subscribers_in_order(redis_url: str) -> None:
    channel = RedisChannel(name="ordered", url=redis_url)
    plain, stream = ListCarrier(), StreamListCarrier()
    channel.subscribe("e", plain)
    channel.subscribe("e", stream)
    channel.subscribe("other", ListCarrier())
    await channel.wait_ready()
    for n in range(100):
        await channel.publish("e", {"n": n})
    await plain.wait_for(100)
    assert numbers(plain) == list(range(100))
    assert plain.messages[0] == {"type": "event", "payload": {"name": "e", "data": {"n": 0}}}
    assert len(stream.encoded) == 100
    assert channel.subscriber_count("other") == 1


async def test_publish_without_data_sends_null_and_resource_keys_name_the_resource(redis_url: str) -> None:
    channel = RedisChannel(name="shapes", url=redis_url)
    ping, created = ListCarrier(), ListCarrier()
    channel.subscribe("ping", ping)
    channel.subscribe("resource_create@/api/books/", created)
    await channel.wait_ready()
    await channel.publish("ping")
    await channel.publish("resource_create@/api/books/", {"title": "Ulysses"})
    await ping.wait_for(1)
    await created.wait_for(1)
    assert ping.data() == [None]
    assert created.messages == [
        {
            "type": "event",
            "payload": {"name": "resource_create", "resource": "/api/books/", "data": {"title": "Ulysses"}},
        }
    ]


async def test_unsubscribe_and_counts(redis_url: str) -> None:
    channel = RedisChannel(name="counts", url=redis_url)
    a, b = ListCarrier(), ListCarrier()
    channel.subscribe("x", a)
    channel.subscribe("y", a)
    channel.subscribe("x", b)
    assert channel.subscriber_count() == 2
    assert channel.subscriber_count("x") == 2
    channel.unsubscribe("x", a)
    channel.unsubscribe("y", a)
    assert channel.subscriber_count() == 1
    assert channel.subscriber_count("y") == 0
    await channel.wait_ready()
    await channel.publish("x", 1)
    await channel.publish("y", 2)
    await b.wait_for(1)
    await asyncio.sleep(0.1)
    assert a.messages == []


async def test_close_frees_the_name_drops_subscribers_and_connections(redis_url: str) -> None:
    channel = RedisChannel(name="closing", url=redis_url)
    channel.subscribe("x", ListCarrier())
    await channel.wait_ready()
    await channel.publish("x", 1)
    await channel.close()
    assert channel.subscriber_count() == 0
    assert channel not in registry.registered()
    assert not channel.connected
    async with admin(redis_url) as client:
        names = [info.get("name", "") for info in await client.client_list()]
    assert not [n for n in names if str(n).startswith("tbone:closing:")]
    fresh = RedisChannel(name="closing", url=redis_url)
    assert fresh is not channel


async def test_unencodable_data_raises_and_sends_nothing(redis_url: str) -> None:
    channel = RedisChannel(name="unencodable", url=redis_url)
    carrier = ListCarrier()
    channel.subscribe("e", carrier)
    await channel.wait_ready()
    with pytest.raises(TypeError):
        await channel.publish("e", {"bytes": b"\x00"})
    await channel.publish("e", "fine")
    await carrier.wait_for(1)
    await asyncio.sleep(0.1)
    assert carrier.data() == ["fine"]
    async with admin(redis_url) as client:
        assert await client.xlen(channel.stream) == 1


async def test_starts_from_now_old_events_are_not_replayed(redis_url: str) -> None:
    early = RedisChannel(name="history", url=redis_url)
    await early.publish("e", "old-1")
    await early.publish("e", "old-2")
    await early.close()
    channel = RedisChannel(name="history", url=redis_url)
    assert channel is not early
    carrier = ListCarrier()
    channel.subscribe("e", carrier)
    await channel.wait_ready()
    await channel.publish("e", "new")
    await carrier.wait_for(1)
    await asyncio.sleep(0.2)  # a replay, if there were one, would show now
    assert carrier.data() == ["new"]


async def test_entries_read_together_are_fanned_out_together(redis_url: str) -> None:
    channel = RedisChannel(name="together", url=redis_url)
    carrier, other = BatchListCarrier(), BatchListCarrier()
    channel.subscribe("e", carrier)
    channel.subscribe("e", other)
    channel.subscribe("skip", BatchListCarrier())
    await channel.wait_ready()
    # what several publishers at once look like: 60 entries in one round trip,
    # one of them not ours (malformed: skipped and logged, not the others)
    async with admin(redis_url) as client:
        pipe = client.pipeline(transaction=True)
        for n in range(60):
            fields = {"k": "e", "d": orjson.dumps({"n": n})} if n != 30 else {"junk": "1"}
            pipe.xadd(channel.stream, fields)  # type: ignore[arg-type]
        await pipe.execute()
    async with asyncio.timeout(5):
        while len(carrier.encoded) < 59:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # nothing more comes
    assert carrier.data() == [{"n": n} for n in range(60) if n != 30]
    assert other.data() == carrier.data()
    assert len(carrier.batches) < 5, "one write per read, not one per event"
    assert carrier.batches[0] is other.batches[0]  # encoded once for both
    await channel.publish("e", {"n": 60})  # still reading
    async with asyncio.timeout(5):
        while len(carrier.encoded) < 60:
            await asyncio.sleep(0.01)


# -- lost connections, trimming, a slow server ---------------------------------------


async def test_connections_killed_mid_stream_resume_without_loss_or_duplicates(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    channel = RedisChannel(name="killed", url=redis_url, **FAST)
    carrier = ListCarrier()
    channel.subscribe("e", carrier)
    await channel.wait_ready()
    for n in range(50):
        await channel.publish("e", {"n": n})
    await carrier.wait_for(50)
    gate, held = gate_reconnect(channel, monkeypatch)
    # the server drops the reader and the publisher (Redis itself stays up)
    assert await kill_connections(redis_url) == 2
    await asyncio.wait_for(held.wait(), 5)
    assert not channel.connected
    for n in range(50, 120):  # published while the reader is away (the publisher reconnects)
        await channel.publish("e", {"n": n})
    await asyncio.sleep(0.1)
    assert len(carrier.messages) == 50
    gate.set()
    await carrier.wait_for(120)
    await asyncio.sleep(0.2)  # a duplicate would arrive now
    assert numbers(carrier) == list(range(120))
    assert (channel.connects, channel.outages, channel.gaps, channel.restarts) == (2, 1, 0, 0)
    assert channel.publish_errors == 0
    [lost] = records(caplog, logging.WARNING)  # one line per outage, not per retry
    assert "lost Redis" in lost
    [back] = records(caplog, logging.INFO)
    assert "nothing missed" in back


async def test_reader_behind_by_more_than_maxlen_reports_the_gap(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    channel = RedisChannel(name="trimmed", url=redis_url, maxlen=100, **FAST)
    carrier = ListCarrier()
    channel.subscribe("e", carrier)
    await channel.wait_ready()
    await channel.publish("e", {"n": 0})
    await carrier.wait_for(1)
    gate, held = gate_reconnect(channel, monkeypatch)
    await kill_connections(redis_url, role="reader")
    await asyncio.wait_for(held.wait(), 5)
    for n in range(1, 1001):
        await channel.publish("e", {"n": n})
    async with admin(redis_url) as client:
        kept = await client.xlen(channel.stream)
    assert 100 <= kept < 1000  # MAXLEN ~ 100: roughly, whole nodes at a time
    gate.set()
    await wait_until(lambda: bool(carrier.messages) and carrier.data()[-1] == {"n": 1000})
    await asyncio.sleep(0.1)
    got = numbers(carrier)
    # the newest `kept` events, in order, after the first one: the older ones were trimmed
    assert got == [0, *range(1001 - kept, 1001)]
    assert channel.gaps == 1
    assert any("may be lost" in m for m in records(caplog, logging.WARNING))


async def test_publish_gives_up_on_a_server_that_does_not_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    connections: list[asyncio.StreamWriter] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)  # read nothing, answer nothing

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        channel = RedisChannel(name="slow", url=f"redis://127.0.0.1:{port}/0", publish_timeout=0.3)
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(PublishError):
                await channel.publish("e", {"n": 1})
            assert time.monotonic() - started < 1.5
        assert channel.publish_errors == 3
        [warning] = records(caplog, logging.WARNING)  # one line for the whole run of failures
        assert "PublishError" in warning
        await channel.close()
    finally:
        for writer in connections:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_publish_fails_fast_when_nothing_listens() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nothing listens on it
    channel = RedisChannel(name="nobody", url=f"redis://127.0.0.1:{port}/0", publish_timeout=2.0)
    started = time.monotonic()
    with pytest.raises(PublishError) as raised:
        await channel.publish("e", 1)
    assert time.monotonic() - started < 1.0
    assert raised.value.__cause__ is not None


# -- two processes ----------------------------------------------------------------


async def test_two_processes_exchange_events_in_one_order(redis_url: str, tmp_path: Path) -> None:
    count = 1000
    channel = RedisChannel(name="xproc", url=redis_url, **FAST)
    carrier = ListCarrier()
    channel.subscribe("tick", carrier)
    await channel.wait_ready()
    go = tmp_path / "go"
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.dispatch.redis_peer",
        redis_url,
        str(count),
        str(go),
        str(2 * count),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert peer.stdout is not None
    try:
        async with asyncio.timeout(30):
            assert (await peer.stdout.readline()).strip() == b"ready"
        go.touch()
        for n in range(count):
            await channel.publish("tick", {"from": "here", "n": n})
            if n == count // 2:
                # our reader's connection dies mid-stream; it resumes where it was
                assert await kill_connections(redis_url, role="reader", pid=os.getpid()) == 1
        await carrier.wait_for(2 * count, timeout=30)
        out, _ = await asyncio.wait_for(peer.communicate(), 30)
        assert peer.returncode == 0
        await asyncio.sleep(0.2)  # a duplicate would arrive now
    finally:
        if peer.returncode is None:
            peer.kill()
            await peer.wait()
    here = [(d["from"], d["n"]) for d in carrier.data()]
    there = [tuple(e) for e in orjson.loads(out)]
    assert len(here) == 2 * count
    assert here == there, "both processes deliver the one order of the stream"
    for source in ("here", "peer"):
        assert [n for s, n in here if s == source] == list(range(count))
    assert channel.connects >= 2


# -- Redis restarts (each test has its own server) ----------------------------------


@pytest.fixture
async def restarting(restartable_redis: RedisServer) -> AsyncIterator[RedisChannel]:
    channel = RedisChannel(name="restart", url=restartable_redis.url, **FAST)
    try:
        yield channel
    finally:
        await channel.close()


async def publish_from_process(url: str, start: int, stop: int) -> None:
    """Publish ``{"n": start}`` .. ``{"n": stop - 1}`` from another process, as another instance would."""
    code = (
        "import asyncio, sys\n"
        "from tbone.dispatch.channels.redis import RedisChannel\n"
        "async def main(url, start, stop):\n"
        "    channel = RedisChannel(name='restart', url=url)\n"
        "    for n in range(start, stop):\n"
        "        await channel.publish('tick', {'n': n})\n"
        "    await channel.close()\n"
        "    print('done', flush=True)\n"
        "asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, url, str(start), str(stop), stdout=asyncio.subprocess.PIPE
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert out.strip() == b"done"


async def in_thread(call: Callable[[], None]) -> None:
    await asyncio.to_thread(call)


async def test_redis_restart_mid_stream_comes_back_by_itself(
    restartable_redis: RedisServer,
    restarting: RedisChannel,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, LOGGER)
    channel, server = restarting, restartable_redis
    carrier = ListCarrier()
    channel.subscribe("tick", carrier)
    await channel.wait_ready()
    await publish_from_process(server.url, 0, 20)
    await carrier.wait_for(20)

    await in_thread(server.stop)
    await wait_until(lambda: not channel.connected)
    with pytest.raises(PublishError):  # while Redis is down, publishing fails: nothing enters
        await channel.publish("tick", {"n": -1})
    await asyncio.sleep(0.5)  # several failed reconnect attempts
    gate, held = gate_reconnect(channel, monkeypatch)
    await in_thread(server.start)
    # published after the restart, before the channel reconnects: not lost
    await publish_from_process(server.url, 20, 40)
    await asyncio.wait_for(held.wait(), 5)
    assert len(carrier.messages) == 20
    gate.set()
    await carrier.wait_for(40)
    await channel.publish("tick", {"n": 40})
    await carrier.wait_for(41)
    await asyncio.sleep(0.2)  # a duplicate or a replay would arrive now
    assert numbers(carrier) == list(range(41))
    assert (channel.outages, channel.restarts, channel.publish_errors) == (1, 1, 1)
    warnings = records(caplog, logging.WARNING)
    lost = [m for m in warnings if "lost Redis" in m]
    assert len(lost) == 1, warnings  # one line per outage, not one per retry
    assert [m for m in warnings if "Redis back after" in m and "restarted without its data" in m]


async def test_events_unread_when_redis_restarts_without_persistence_are_the_loss(
    restartable_redis: RedisServer, restarting: RedisChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel, server = restarting, restartable_redis
    carrier = ListCarrier()
    channel.subscribe("tick", carrier)
    await channel.wait_ready()
    await publish_from_process(server.url, 0, 10)
    await carrier.wait_for(10)
    # the reader is away (its connection dropped, its reconnect held back) ...
    gate, held = gate_reconnect(channel, monkeypatch)
    assert await kill_connections(server.url, role="reader") == 1
    await asyncio.wait_for(held.wait(), 5)
    # ... while 10..19 are published: they are in Redis, unread by this channel
    await publish_from_process(server.url, 10, 20)
    await in_thread(lambda: server.restart(kill=True))  # a crash; nothing was persisted
    await publish_from_process(server.url, 20, 30)
    gate.set()
    await carrier.wait_for(20)
    await asyncio.sleep(0.3)  # nothing more comes
    # exactly what the docs say is lost: what Redis held and this channel had not read
    assert numbers(carrier) == [*range(10), *range(20, 30)]
    assert (channel.restarts, channel.gaps) == (1, 1)


async def test_redis_down_at_start_the_channel_connects_once_it_is_up(
    restartable_redis: RedisServer, restarting: RedisChannel
) -> None:
    channel, server = restarting, restartable_redis
    await in_thread(server.stop)
    carrier = ListCarrier()
    channel.subscribe("tick", carrier)
    await asyncio.sleep(0.3)
    assert not channel.connected
    await in_thread(server.start)
    await asyncio.wait_for(channel.wait_ready(), 10)
    await channel.publish("tick", {"n": 1})
    await carrier.wait_for(1)
    assert numbers(carrier) == [1]
