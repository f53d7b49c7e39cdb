"""Fan-out benchmark: MemoryChannel vs a raw encode-once ``send_str`` loop.

An aiohttp server runs in this process; N websocket clients live in a
separate process (this script, re-run with ``--client``) that counts the
frames each connection receives and reports, on its monotonic clock (shared
with ours on Linux), when every connection has all of them. 200 events of
about 200 bytes are published per run.

Modes:

- ``channel``: ``MemoryChannel.publish`` (encode once, frame once, one
  non-blocking transport write per subscriber, high-water-mark watch);
- ``raw``: ``text = orjson.dumps(event).decode()`` once per event, then
  ``await ws.send_str(text)`` for each socket in a plain loop;
- ``channel+stalled``: ``channel`` with one more client that never reads.

Every connection gets a small kernel send buffer (``SNDBUF``) in every mode,
so that a client that stops reading fills the server's own write buffer
instead of megabytes of autotuned kernel memory.

Run: ``.venv/bin/python bench/fanout.py`` (about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import statistics
import sys
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tbone.dispatch.channels import MemoryChannel

if TYPE_CHECKING:
    from aiohttp import web

    from tbone.dispatch.carriers.aiohttp_websocket import AioHttpWebSocketCarrier

EVENTS = 200
SIZES = (200, 1000)
REPEATS = 3
SNDBUF = 8 * 1024
HIGH_WATER_MARK = 16 * 1024
STALL_TIMEOUT = 1.0


def event(n: int) -> dict[str, Any]:
    return {"id": n, "title": "t" * 120, "tags": ["a", "b", "c"], "rating": 3}


# --------------------------------------------------------------------- client


class Counter(asyncio.Protocol):
    """A websocket client that only counts the text frames it receives."""

    def __init__(self, port: int, client: Client, stall: bool = False) -> None:
        self.port = port
        self.client = client
        self.stall = stall
        self.buffer = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.count = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            del buf[: end + 4]
            self.upgraded.set_result(None)
            if self.stall and self.transport is not None:
                self.transport.pause_reading()
                return
        frames = 0
        pos = 0
        size = len(buf)
        while size - pos >= 2:
            length = buf[pos + 1] & 0x7F
            header = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                header = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                header = 10
            if size - pos < header + length:
                break
            pos += header + length
            frames += 1
        del buf[:pos]
        if frames:
            self.count += frames
            self.client.received(self)


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: list[Counter] = []
        self.expected = 0
        self.finished = 0

    async def connect(self, stall: bool = False) -> Counter:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        if stall:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", self.port))
        _, proto = await loop.create_connection(lambda: Counter(self.port, self, stall), sock=sock)
        await proto.upgraded
        return proto

    def received(self, conn: Counter) -> None:
        if conn.stall or conn.count != self.expected:
            return
        self.finished += 1
        if self.finished == len(self.conns):
            print(f"done {time.monotonic()!r}", flush=True)


async def client_main(port: int, count: int) -> None:
    client = Client(port)
    for start in range(0, count, 100):
        batch = [client.connect() for _ in range(min(100, count - start))]
        client.conns.extend(await asyncio.gather(*batch))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    stalled: list[Counter] = []
    while (line := (await reader.readline()).decode().split()) and line != ["quit"]:
        if line[0] == "expect":
            client.expected, client.finished = int(line[1]), 0
            for conn in client.conns:
                conn.count = 0
            print("armed", flush=True)
        elif line[0] == "stall":
            stalled.append(await client.connect(stall=True))
            print("stalled", flush=True)
    for conn in client.conns + stalled:
        if conn.transport is not None:
            conn.transport.abort()


# --------------------------------------------------------------------- server


class Server:
    def __init__(self) -> None:
        self.connections: list[tuple[web.WebSocketResponse, AioHttpWebSocketCarrier]] = []
        self.port = 0

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        from aiohttp import web

        from tbone.dispatch.carriers.aiohttp_websocket import AioHttpWebSocketCarrier

        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        entry = (ws, AioHttpWebSocketCarrier(ws))
        self.connections.append(entry)
        try:
            async for _ in ws:
                pass
        finally:
            self.connections.remove(entry)
        return ws

    async def start(self) -> web.AppRunner:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/ws", self.handler)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        await web.TCPSite(runner, "127.0.0.1", self.port, backlog=1024).start()
        return runner


class Clients:
    """The client process, driven over its stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def hear(self, timeout: float = 60) -> list[str]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        return line.decode().split()


async def wait_until(predicate: Any, timeout: float = 30) -> float:
    start = time.monotonic()
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
    return time.monotonic() - start


def has_subscribers(channel: MemoryChannel, count: int) -> bool:
    return channel.subscriber_count() == count


async def run_once(
    server: Server, clients: Clients, mode: str, run: int
) -> tuple[float, float, MemoryChannel | None]:
    """One run: (delivery time seen by the clients, server time to hand
    every message to the transports, the channel used)."""
    await clients.say(f"expect {EVENTS}")
    assert await clients.hear() == ["armed"]
    events = [event(n) for n in range(EVENTS)]
    channel = None
    if mode == "raw":
        sockets = [ws for ws, _ in server.connections]
        start = time.monotonic()
        for data in events:
            text = orjson.dumps({"type": "event", "payload": {"name": "bench", "data": data}}).decode()
            for ws in sockets:
                await ws.send_str(text)
        written = time.monotonic()
    else:
        channel = MemoryChannel(
            name=f"bench-{run}", high_water_mark=HIGH_WATER_MARK, stall_timeout=STALL_TIMEOUT
        )
        for _, carrier in server.connections:
            channel.subscribe("bench", carrier)
        fanout = channel.fanout
        publish = fanout.publish
        last = [0.0]

        def timed(key: str, data: Any = None) -> int:
            sent = publish(key, data)
            last[0] = time.monotonic()
            return sent

        fanout.publish = timed  # type: ignore[method-assign]
        start = time.monotonic()
        for data in events:
            await channel.publish("bench", data)
    done = await clients.hear()
    assert done[0] == "done", done
    if channel is not None:
        written = last[0]
    return float(done[1]) - start, written - start, channel


async def bench_size(server: Server, count: int, results: dict[str, Any]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        str(server.port),
        str(count),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    clients = Clients(process)
    try:
        assert await clients.hear() == ["ready"]
        await wait_until(lambda: len(server.connections) == count)
        times: dict[str, list[float]] = {"channel": [], "raw": []}
        server_times: dict[str, list[float]] = {"channel": [], "raw": []}
        run = 0
        for _ in range(REPEATS):
            for mode in ("channel", "raw"):
                run += 1
                elapsed, written, channel = await run_once(server, clients, mode, run)
                times[mode].append(elapsed)
                server_times[mode].append(written)
                if channel is not None:
                    await channel.close()
        results[f"{count}"] = {mode: statistics.median(t) for mode, t in times.items()}
        results[f"{count}-server"] = {mode: statistics.median(t) for mode, t in server_times.items()}
        if count == max(SIZES):
            # Paired runs, so that drift in the machine's load cancels out:
            # without, then with, a (new) stalled client.
            stalled: dict[str, list[Any]] = {"without": [], "with": [], "after": [], "counts": []}
            for _ in range(REPEATS):
                run += 1
                elapsed, _, channel = await run_once(server, clients, "channel", run)
                stalled["without"].append(elapsed)
                assert channel is not None
                await channel.close()
                run += 1
                await clients.say("stall")
                assert await clients.hear() == ["stalled"]
                await wait_until(lambda: len(server.connections) == count + 1)
                elapsed, _, channel = await run_once(server, clients, "channel", run)
                assert channel is not None
                before = channel.subscriber_count()
                dropped_after = await wait_until(partial(has_subscribers, channel, count))
                stalled["with"].append(elapsed)
                stalled["after"].append(dropped_after)
                stalled["counts"].append((before, channel.subscriber_count(), channel.fanout.dropped))
                await channel.close()
                # the dropped connection was aborted by the fan-out
                await wait_until(lambda: len(server.connections) == count)
            results["stalled"] = {
                "without": statistics.median(stalled["without"]),
                "with": statistics.median(stalled["with"]),
                "dropped_after": statistics.median(stalled["after"]),
                "counts": stalled["counts"],
            }
        await clients.say("quit")
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def main() -> None:
    server = Server()
    runner = await server.start()
    results: dict[str, Any] = {}
    try:
        for count in SIZES:
            await bench_size(server, count, results)
    finally:
        await runner.cleanup()
    print(
        f"{EVENTS} events of {len(orjson.dumps(event(0)))} bytes of data "
        f"({len(orjson.dumps({'type': 'event', 'payload': {'name': 'bench', 'data': event(0)}}))} "
        f"bytes on the wire); median of {REPEATS} runs\n"
    )
    print("| clients | measured | MemoryChannel (s) | raw encode-once send_str loop (s) | ratio |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for count in SIZES:
        for label, key in (("delivered (clients)", str(count)), ("written (server)", f"{count}-server")):
            row = results[key]
            print(
                f"| {count} | {label} | {row['channel']:.3f} | {row['raw']:.3f} | "
                f"{row['channel'] / row['raw']:.2f}x |"
            )
    stalled = results["stalled"]
    print(
        f"\nStalled client, {max(SIZES)} clients, MemoryChannel, paired runs (median of {REPEATS}): "
        f"without {stalled['without']:.3f} s, with one stalled client added {stalled['with']:.3f} s "
        f"({stalled['with'] / stalled['without']:.2f}x); (subscribers before, after, dropped) "
        f"per run: {stalled['counts']}; the stalled client was dropped "
        f"{stalled['dropped_after']:.2f} s after the others had everything"
    )


if __name__ == "__main__":
    # Run as a script, bench/ is first on sys.path and a sibling script
    # (bench/http.py) would shadow the standard library's http for aiohttp.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", nargs=2, type=int, metavar=("PORT", "N"))
    options = parser.parse_args()
    if options.client:
        asyncio.run(client_main(*options.client))
    else:
        asyncio.run(main())
