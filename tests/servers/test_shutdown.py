"""Graceful shutdown (issue 13): a server with open websockets stops within
5 s of SIGTERM, every client seeing the close code 1001 ("going away").

Each test runs the real server as its own process (``shutdown_app.py``:
``web.run_app`` or Sanic's ``app.run(single_process=True)``, their default
shutdown settings) on 127.0.0.1, against the session's database; the process
group is killed at the end whatever happens.
"""

from __future__ import annotations

import asyncio
import uuid

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .processes import ServerProcess, free_port, server_process, terminate, wait_until_up
from .support import SERVERS

pytestmark = pytest.mark.parametrize("kind", SERVERS)

CLIENTS = 100
BOUND = 5.0  # seconds from SIGTERM to exit


async def _open(ws_url: str, index: int) -> ClientConnection:
    ws = await connect(ws_url, open_timeout=10, close_timeout=10, ping_interval=None)
    # a request answered proves the server serves this socket
    await ws.send(orjson.dumps({"type": "request", "method": "GET", "href": "/api/things/", "key": index}))
    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert reply["status"] == 200, reply
    return ws


async def _close_code(ws: ClientConnection) -> int | None:
    """The close code the server sent, once the connection ends."""
    try:
        async with asyncio.timeout(BOUND + 5):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd is not None else None


async def _serve_and_stop(kind: str, mongo_uri: str, *, stubborn: int = 0, timeout: str = "3") -> None:
    port = free_port()
    name = f"tbone_shutdown_{uuid.uuid4().hex[:8]}"
    args = ["-m", "tests.servers.shutdown_app", kind, str(port), mongo_uri, name, timeout]
    with server_process(args) as proc:
        await wait_until_up(proc, f"http://127.0.0.1:{port}/healthz")
        clients = [await _open(f"ws://127.0.0.1:{port}/ws", i) for i in range(CLIENTS)]
        silent = [await _silent_client(port) for _ in range(stubborn)]
        try:
            codes = [asyncio.ensure_future(_close_code(ws)) for ws in clients]
            took = await terminate(proc, BOUND)
            print(f"{kind}: stopped in {took:.2f} s")
            assert took <= BOUND, f"{kind} did not stop within {BOUND} s of SIGTERM:\n{proc.output()}"
            assert proc.returncode == 0, proc.output()
            seen = await asyncio.gather(*codes)
            assert seen == [1001] * CLIENTS, sorted(set(map(str, seen)))
            for reader, _ in silent:  # they were sent 1001 too, then dropped
                assert await _first_close_code(reader) == 1001
        finally:
            for ws in clients:
                await ws.close()
            for _, writer in silent:
                writer.close()
        _check_log(proc)


def _check_log(proc: ServerProcess) -> None:
    output = proc.output()
    assert "Traceback" not in output, output


async def _silent_client(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket client that completes the handshake, then never answers
    again (its close frame never comes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _first_close_code(reader: asyncio.StreamReader) -> int | None:
    """The code of the first close frame the server sent (unmasked frames:
    two header bytes, the code, the reason), or ``None`` if none came."""
    data = await asyncio.wait_for(reader.read(), 5)
    pos = 0
    while pos + 2 <= len(data):
        opcode, length = data[pos] & 0x0F, data[pos + 1] & 0x7F
        if opcode == 0x8:
            return int.from_bytes(data[pos + 2 : pos + 4], "big") if length >= 2 else None
        pos += 2 + length  # the server's other frames are small
    return None


async def test_open_websockets_are_closed_with_1001_within_the_bound(kind: str, mongo_uri: str) -> None:
    await _serve_and_stop(kind, mongo_uri)


async def test_clients_that_never_answer_the_close_do_not_hold_the_server(kind: str, mongo_uri: str) -> None:
    # one second to close; the silent clients are then dropped
    await _serve_and_stop(kind, mongo_uri, stubborn=3, timeout="1")
