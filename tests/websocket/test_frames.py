"""What the websocket endpoints do with frames a well-behaved client never
sends, and the ping key (issue 11, items 21 and 23), on both servers.

Frames are written by hand on a raw socket after a real handshake, so that
invalid UTF-8 and unmasked frames can be sent at all; ``websockets`` is the
client for the ping.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest
import websockets

from tbone.dispatch.channels import MemoryChannel

from .support import SERVERS, Store, serve_app

pytestmark = pytest.mark.parametrize("kind", SERVERS)

TEXT, CLOSE = 0x1, 0x8


def frame(payload: bytes, opcode: int = TEXT, *, masked: bool = True, fin: bool = True) -> bytes:
    """One websocket frame, masked as a client must (unless ``masked=False``)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    bit = 0x80 if masked else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", size)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", size)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def receive(self) -> tuple[int, bytes]:
        """The next frame from the server (never masked): opcode, payload."""
        async with asyncio.timeout(5):
            first, second = await self.reader.readexactly(2)
            assert not second & 0x80, "a server frame must not be masked"
            size = second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", await self.reader.readexactly(8))
            return first & 0x0F, await self.reader.readexactly(size)

    async def close_code(self) -> int:
        """Read until the server's close frame; its status code."""
        while True:
            opcode, payload = await self.receive()
            if opcode == CLOSE:
                return int(struct.unpack("!H", payload[:2])[0])


@asynccontextmanager
async def raw_websocket(url: str) -> AsyncIterator[RawSocket]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    try:
        yield RawSocket(reader, writer)
    finally:
        writer.close()


@asynccontextmanager
async def served(kind: str) -> AsyncIterator[str]:
    channel = MemoryChannel(name=f"frames-{kind}")
    async with serve_app(kind, Store(channel)) as app:
        yield app.url


async def test_a_ping_is_answered_with_its_key(kind: str) -> None:
    async with served(kind) as url, websockets.connect(url.replace("http", "ws") + "/ws") as ws:
        for ping, pong in (
            ({"type": "ping", "key": "k1"}, {"type": "pong", "key": "k1"}),
            ({"type": "ping", "key": 7}, {"type": "pong", "key": 7}),
            ({"type": "ping"}, {"type": "pong"}),
        ):
            await ws.send(orjson.dumps(ping).decode())
            assert orjson.loads(await asyncio.wait_for(ws.recv(), 5)) == pong


async def test_invalid_utf8_in_a_text_message_closes_with_1007(kind: str) -> None:
    async with served(kind) as url, raw_websocket(url) as ws:
        await ws.send(frame(b'{"type": "ping", "key": "\xff\xfe"}'))
        assert await ws.close_code() == 1007


async def test_invalid_utf8_split_across_fragments_closes_with_1007(kind: str) -> None:
    async with served(kind) as url, raw_websocket(url) as ws:
        await ws.send(frame(b'{"type": "ping", "key": "\xe2\x82', fin=False))
        await ws.send(frame(b'x"}', opcode=0x0))
        assert await ws.close_code() == 1007


async def test_an_unmasked_client_frame_closes_with_1002(kind: str) -> None:
    async with served(kind) as url, raw_websocket(url) as ws:
        await ws.send(frame(b'{"type": "ping", "key": 1}'))
        assert orjson.loads((await ws.receive())[1]) == {"type": "pong", "key": 1}
        await ws.send(frame(b'{"type": "ping", "key": 2}', masked=False))
        assert await ws.close_code() == 1002


async def test_masked_frames_split_anywhere_are_read_whole(kind: str) -> None:
    # the mask check follows frame headers across reads: feed it byte by byte
    async with served(kind) as url, raw_websocket(url) as ws:
        messages = [orjson.dumps({"type": "ping", "key": "a" * size}) for size in (1, 200, 70_000)]
        data = b"".join(frame(message) for message in messages)
        for start in range(0, 600, 1):
            await ws.send(data[start : start + 1])
            await asyncio.sleep(0)
        await ws.send(data[600:])
        for message in messages:
            opcode, payload = await ws.receive()
            assert (opcode, orjson.loads(payload)["key"]) == (TEXT, orjson.loads(message)["key"])
