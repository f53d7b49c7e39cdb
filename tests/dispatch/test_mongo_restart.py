"""MongoChannel survives its server restarting: nothing lost, nothing twice, in order.

These tests start, stop and restart their own SecantusDB server (same port,
same storage directory, so the capped collection and its documents survive),
so they cannot run against ``MONGODB_URI``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tbone.dispatch.channels import MongoChannel

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")),
    reason="stops and restarts its own server; cannot control the one MONGODB_URI points at",
)

CHANNEL = "restart"
KEY = "tick"

# A publisher in a separate OS process, with its own client, as another
# application instance would be: publishes ``{"n": i}`` for i in [START, STOP).
PUBLISH = """
import asyncio, sys
from pymongo import AsyncMongoClient
from tbone.dispatch.channels.mongo import MongoChannel

async def main(uri, name, channel, key, start, stop):
    client = AsyncMongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        publisher = MongoChannel(name=channel, db=client[name])
        for n in range(start, stop):
            await publisher.publish(key, {"n": n})
    finally:
        await client.close()
    print("done", flush=True)

argv = sys.argv[1:]
asyncio.run(main(argv[0], argv[1], argv[2], argv[3], int(argv[4]), int(argv[5])))
"""


class Recorder:
    """A carrier that records what it is delivered; ``wait_for(n)`` waits until it holds ``n``."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    async def deliver(self, data: dict[str, Any]) -> bool:
        self.messages.append(data)
        self._changed.set()
        return True

    async def wait_for(self, count: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()

    def numbers(self) -> list[int]:
        return [m["payload"]["data"]["n"] for m in self.messages]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A SecantusDB server that can be stopped and restarted on the same address and data."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.port = _free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self._server: Any = None

    async def start(self) -> None:
        from secantus import SecantusDBServer

        assert self._server is None
        server = SecantusDBServer(host="127.0.0.1", port=self.port, storage_path=str(self.storage))
        await asyncio.to_thread(server.start)
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            # stop() joins the server's threads: keep the event loop (and the
            # client under test) running meanwhile.
            await asyncio.to_thread(server.stop)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    server = Server(tmp_path / "data")
    server.storage.mkdir()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def channel(server: Server) -> AsyncIterator[MongoChannel]:
    # Short timeouts: while the server is down each attempt fails fast, and
    # the tail reconnects soon after it is back.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        server.uri, tz_aware=True, serverSelectionTimeoutMS=300, connectTimeoutMS=300
    )
    channel = MongoChannel(name=CHANNEL, db=client[f"tbone_restart_{uuid.uuid4().hex[:8]}"], retry_delay=0.05)
    try:
        yield channel
    finally:
        await channel.close()
        await client.close()


async def publish(server: Server, db_name: str, start: int, stop: int) -> None:
    """Publish ``{"n": start}`` .. ``{"n": stop - 1}`` from a separate process."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        PUBLISH,
        server.uri,
        db_name,
        CHANNEL,
        KEY,
        str(start),
        str(stop),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert out.strip() == b"done"


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def restart(server: Server, channel: MongoChannel, between: Callable[[], Awaitable[None]]) -> None:
    """Stop the server, wait until the tail has noticed, run ``between``, start it again."""
    opened = channel.cursors_opened
    await server.stop()
    # the tail's cursor is gone and it is retrying (and failing: nothing listens)
    await wait_until(lambda: channel.cursor_id is None)
    await between()
    assert channel.cursors_opened == opened  # no cursor could be opened while the server was down
    await server.start()


async def test_server_restart_loses_and_duplicates_nothing(server: Server, channel: MongoChannel) -> None:
    carrier = Recorder()
    channel.subscribe(KEY, carrier)
    await channel.wait_ready()
    await publish(server, channel.db.name, 0, 20)
    await carrier.wait_for(20, timeout=10)
    opened = channel.cursors_opened

    async def down() -> None:
        await asyncio.sleep(0.5)  # several failed reconnect attempts

    await restart(server, channel, down)
    await publish(server, channel.db.name, 20, 40)
    await carrier.wait_for(40, timeout=15)
    await asyncio.sleep(0.5)  # a duplicate or a replay would arrive now
    assert channel.cursors_opened > opened  # the tail did reopen its cursor
    assert carrier.numbers() == list(range(40))


async def test_published_after_restart_before_resume_are_not_lost(
    server: Server, channel: MongoChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    carrier = Recorder()
    channel.subscribe(KEY, carrier)
    await channel.wait_ready()
    await publish(server, channel.db.name, 0, 10)
    await carrier.wait_for(10, timeout=10)

    # Hold the tail back from reopening its cursor until we say so, so that
    # the next events are certainly published after the restart but before
    # the subscriber resumes.
    gate = asyncio.Event()
    held = asyncio.Event()
    follow = channel._follow

    async def gated_follow() -> None:
        held.set()
        await gate.wait()
        await follow()

    monkeypatch.setattr(channel, "_follow", gated_follow)
    opened = channel.cursors_opened

    async def nothing() -> None:
        pass

    await restart(server, channel, nothing)
    await publish(server, channel.db.name, 10, 25)
    # the tail reached the server again (it waits at the gate, cursor not reopened)
    await asyncio.wait_for(held.wait(), 10)
    assert channel.cursors_opened == opened
    assert len(carrier.messages) == 10
    gate.set()
    await carrier.wait_for(25, timeout=15)
    await publish(server, channel.db.name, 25, 30)
    await carrier.wait_for(30, timeout=15)
    await asyncio.sleep(0.5)  # a duplicate or a replay would arrive now
    assert channel.cursors_opened == opened + 1
    assert carrier.numbers() == list(range(30))
