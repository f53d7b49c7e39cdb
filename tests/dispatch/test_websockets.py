"""Real aiohttp and Sanic servers, real websocket clients."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel

from .routers import BooksRouter
from .servers import SERVERS, Running, serve

pytestmark = pytest.mark.parametrize("kind", SERVERS)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> Any:
    await ws.send_str(orjson.dumps(message).decode())
    async with asyncio.timeout(5):
        return orjson.loads(await ws.receive_str())


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_request_response_ping_and_errors(kind: str, session: aiohttp.ClientSession) -> None:
    router = BooksRouter()
    mux = WebsocketMultiplexer(app="app")
    mux.add_router("api", router)
    async with serve(kind, mux) as running, session.ws_connect(running.url) as ws:
        reply = await call(ws, {"type": "request", "key": "k1", "method": "GET", "href": "/api/books/1/"})
        assert reply == {
            "type": "response",
            "key": "k1",
            "status": 200,
            "payload": {"id": "1", "title": "War and Peace"},
        }
        reply = await call(
            ws,
            {"type": "request", "key": "k2", "method": "POST", "href": "/api/books/", "body": {"title": "T"}},
        )
        assert (reply["status"], reply["payload"]) == (201, {"id": "2", "title": "T"})
        assert await call(ws, {"type": "ping"}) == {"type": "pong"}
        reply = await call(ws, {"type": "request", "key": "k3", "method": "GET", "href": "/nope/"})
        assert reply["status"] == 404
        reply = await call(ws, {"type": "request", "key": "k4", "method": "GET", "href": "/api/boom/"})
        assert (reply["status"], reply["payload"]) == (500, {"error": "Internal server error"})
        await ws.send_str("{not json")
        reply = orjson.loads(await ws.receive_str())
        assert reply["type"] == "error"
        assert (await call(ws, {"type": "whatever", "key": "k5"}))["key"] == "k5"
        # the socket survived all of that
        assert await call(ws, {"type": "ping"}) == {"type": "pong"}
        assert not ws.closed
    assert [c[1] for c in router.calls] == ["GET", "POST", "GET"]


async def test_events_reach_subscribers_until_they_unsubscribe(
    kind: str, session: aiohttp.ClientSession
) -> None:
    channel = MemoryChannel(name=f"ws-events-{kind}")
    mux = WebsocketMultiplexer(channel=channel)
    async with serve(kind, mux) as running:
        clients = [await session.ws_connect(running.url) for _ in range(3)]
        for n, ws in enumerate(clients):
            ack = await call(ws, {"type": "subscribe", "event": "resource_create", "key": n})
            assert ack == {"type": "ack", "action": "subscribe", "event": "resource_create", "key": n}
        assert all(c.raw_frames for c in running.carriers)  # the frame-once path is in use
        for n in range(20):
            await channel.publish("resource_create", {"n": n, "text": "é" * n})
        for ws in clients:
            got = [orjson.loads(await ws.receive_str()) for _ in range(20)]
            first = {"name": "resource_create", "data": {"n": 0, "text": ""}}
            assert got[0] == {"type": "event", "payload": first}
            assert [g["payload"]["data"]["n"] for g in got] == list(range(20))
            assert got[5]["payload"]["data"]["text"] == "ééééé"
        assert await call(clients[0], {"type": "unsubscribe", "event": "resource_create"}) == {
            "type": "ack",
            "action": "unsubscribe",
            "event": "resource_create",
        }
        await channel.publish("resource_create", {"n": "last"})
        for ws in clients[1:]:
            assert orjson.loads(await ws.receive_str())["payload"]["data"] == {"n": "last"}
        assert await call(clients[0], {"type": "ping"}) == {"type": "pong"}  # no event queued first
        for ws in clients:
            await ws.close()
        await wait_until(lambda: channel.subscriber_count() == 0)


async def test_large_events_use_long_frames(kind: str, session: aiohttp.ClientSession) -> None:
    channel = MemoryChannel(name=f"ws-large-{kind}")
    mux = WebsocketMultiplexer(channel=channel)
    async with serve(kind, mux) as running, session.ws_connect(running.url, max_msg_size=0) as ws:
        await call(ws, {"type": "subscribe", "event": "big"})
        for size in (100, 1000, 100_000):
            await channel.publish("big", "x" * size)
            got = orjson.loads(await ws.receive_str())
            assert len(got["payload"]["data"]) == size
        assert running.carriers


async def test_a_burst_reaches_each_subscriber_in_order_exactly_once(
    kind: str, session: aiohttp.ClientSession
) -> None:
    """Events published back to back are coalesced into few writes per
    connection; each client still reads every one of its events, once, in order."""
    channel = MemoryChannel(name=f"ws-burst-{kind}")
    mux = WebsocketMultiplexer(channel=channel)
    async with serve(kind, mux) as running:
        both, only_a = await session.ws_connect(running.url), await session.ws_connect(running.url)
        await call(both, {"type": "subscribe", "event": "a"})
        await call(both, {"type": "subscribe", "event": "b"})
        await call(only_a, {"type": "subscribe", "event": "a"})
        events = [("a" if n % 4 else "b", {"n": n, "pad": "x" * (n % 3) * 500}) for n in range(400)]
        for key, data in events:
            await channel.publish(key, data)

        async def receive(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[tuple[str, int]]:
            got = []
            for _ in range(count):
                message = orjson.loads(await ws.receive_str())
                got.append((message["payload"]["name"], message["payload"]["data"]["n"]))
            return got

        async with asyncio.timeout(10):
            assert await receive(both, 400) == [(key, data["n"]) for key, data in events]
            assert await receive(only_a, 300) == [("a", data["n"]) for key, data in events if key == "a"]
        assert await call(only_a, {"type": "ping"}) == {"type": "pong"}  # nothing more was queued
        assert await call(both, {"type": "ping"}) == {"type": "pong"}
        await both.close()
        await only_a.close()


async def test_compressed_connections_get_events_through_the_server_library(
    kind: str, session: aiohttp.ClientSession
) -> None:
    """With permessage-deflate (aiohttp negotiates it; Sanic never does), frames
    cannot be shared: events go through the library's own send, in order."""
    channel = MemoryChannel(name=f"ws-deflate-{kind}")
    mux = WebsocketMultiplexer(channel=channel)
    async with serve(kind, mux) as running, session.ws_connect(running.url, compress=15) as ws:
        await call(ws, {"type": "subscribe", "event": "e"})
        (carrier,) = running.carriers
        assert carrier.raw_frames is (kind == "sanic")
        for n in range(300):
            await channel.publish("e", {"n": n, "text": "compressible " * 20})
        async with asyncio.timeout(10):
            got = [orjson.loads(await ws.receive_str())["payload"]["data"]["n"] for _ in range(300)]
        assert got == list(range(300))
        assert await call(ws, {"type": "ping"}) == {"type": "pong"}


def handshake(port: int) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


def mask(payload: bytes) -> bytes:
    """A masked client text frame (clients must mask)."""
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes([0x81, 0x80 | len(payload)]) + key + body


async def raw_subscriber(running: Running, event: str) -> socket.socket:
    """A TCP client that completes the handshake, subscribes, then never reads again."""
    port = int(running.url.split(":")[2].split("/")[0])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, handshake(port))
    response = b""
    async with asyncio.timeout(5):
        while b"\r\n\r\n" not in response:
            response += await loop.sock_recv(sock, 1)
    assert b" 101 " in response
    await loop.sock_sendall(sock, mask(orjson.dumps({"type": "subscribe", "event": event})))
    return sock


async def test_stalled_and_dead_subscribers_are_dropped_without_delaying_others(
    kind: str, session: aiohttp.ClientSession
) -> None:
    channel = MemoryChannel(name=f"ws-stall-{kind}", high_water_mark=32 * 1024, stall_timeout=0.3)
    mux = WebsocketMultiplexer(channel=channel)
    async with serve(kind, mux, sndbuf=16 * 1024) as running:
        healthy = [await session.ws_connect(running.url) for _ in range(3)]
        for ws in healthy:
            await call(ws, {"type": "subscribe", "event": "e"})
        stalled = await raw_subscriber(running, "e")
        dead = await raw_subscriber(running, "e")
        try:
            await wait_until(lambda: channel.subscriber_count("e") == 5)
            dead.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            dead.close()  # RST: the connection dies under the server's feet

            payload = "x" * 2000
            count = 600  # ~1.2 MB: far more than the stalled socket's buffers hold

            async def receive_all(ws: aiohttp.ClientWebSocketResponse) -> int:
                received = 0
                while received < count:
                    message = orjson.loads(await ws.receive_str())
                    assert message["payload"]["data"]["n"] == received
                    received += 1
                return received

            readers = [asyncio.create_task(receive_all(ws)) for ws in healthy]
            for n in range(count):
                await channel.publish("e", {"n": n, "pad": payload})
                if n % 50 == 0:
                    await asyncio.sleep(0)  # let the readers run, as a real server would
            async with asyncio.timeout(10):
                assert await asyncio.gather(*readers) == [count] * 3
            await wait_until(lambda: channel.subscriber_count("e") == 3)
            assert channel.fanout.dropped >= 1  # the stalled one, by the fan-out itself
        finally:
            stalled.close()
            dead.close()
        for ws in healthy:
            await ws.close()
        await wait_until(lambda: channel.subscriber_count() == 0)
