"""Fan-out benchmark: MemoryChannel vs a raw encode-once ``send_str`` loop.

An aiohttp server runs in this process; N websocket clients live in a
separate process (this script, re-run with ``--client``), a lean one: a raw
asyncio protocol per connection that only counts the bytes it receives (every
event frame has the same length), except one connection per run, the
checker, which parses every frame and checks ids, order and exactly-once.
The client reports, on its monotonic clock (shared with ours on Linux), when
every connection has all of its bytes, and how much CPU it used meanwhile, so
that a client that cannot keep up would show.

Modes, on the same connections and the same clients:

- ``channel``: ``await MemoryChannel.publish(...)`` per event (encode once,
  frame once, non-blocking transport writes, high-water-mark watch);
- ``raw``: ``text = orjson.dumps(event).decode()`` once per event, then
  ``await ws.send_str(text)`` for each socket in a plain loop.

Each mode is run two ways:

- ``burst``: the 200 events are published back to back (no await that
  yields in between), as a handler publishing many changes would: the
  channel finds them all pending and coalesces them into one write per
  subscriber (per ``batch_bytes``);
- ``paced``: the publisher yields to the event loop after each event
  (``await asyncio.sleep(0)``, in both modes), so the channel fans every
  event out on its own: this isolates the frame-once path from coalescing.

Then paired runs without and with one more client that never reads (in
alternating order), channel mode, burst: the others' delivery time, and the
stalled client being dropped.

The stalled client's connection gets small kernel buffers (``SNDBUF`` on the
server's side, 4 KiB ``SO_RCVBUF`` on its own), so that it fills the server's
own write buffer within the burst instead of megabytes of autotuned kernel
memory. Every other connection keeps the kernel's defaults: with an 8 KiB send
buffer on all of them (this script's first version), each 16 KiB batch had to
wait for acknowledgements, and delayed ACKs added steps of ~40 ms to 200-client
runs, with or without a stalled client (and with one that was connected but
not even subscribed).

Run: ``.venv/bin/python bench/fanout.py`` (about a minute);
``--sizes 1000 --repeats 5`` etc. to narrow it down.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import resource
import socket
import statistics
import sys
import time
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
SNDBUF = 8 * 1024  # the stalled client's server-side send buffer
HIGH_WATER_MARK = 16 * 1024
STALL_TIMEOUT = 1.0


def event(n: int) -> dict[str, Any]:
    # A fixed-width id: every frame of a run has the same length.
    return {"id": 100_000 + n, "title": "t" * 120, "tags": ["a", "b", "c"], "rating": 3}


def message(n: int) -> dict[str, Any]:
    return {"type": "event", "payload": {"name": "bench", "data": event(n)}}


def frame_size(n: int = 0) -> int:
    payload = len(orjson.dumps(message(n)))
    return payload + (2 if payload < 126 else 4 if payload < 65536 else 10)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------- client


class Counter(asyncio.Protocol):
    """A websocket client connection that counts the bytes it receives."""

    def __init__(self, port: int, client: Client, stall: bool = False) -> None:
        self.port = port
        self.client = client
        self.stall = stall
        self.header = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.received = 0
        self.tail = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {'/ws?stalled' if self.stall else '/ws'} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.header += data
            end = self.header.find(b"\r\n\r\n")
            if end < 0:
                return
            assert b" 101 " in self.header[:end], bytes(self.header[:end])
            data = bytes(self.header[end + 4 :])
            self.upgraded.set_result(None)
            if self.stall and self.transport is not None:
                self.transport.pause_reading()
                return
            if not data:
                return
        self.received += len(data)
        self.tail = data[-256:] if len(data) >= 256 else (self.tail + data)[-256:]
        if self.received >= self.client.expected_bytes:
            self.client.complete(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.stall and not self.client.quitting:
            self.client.errors.append("connection lost")


class Checker(Counter):
    """The one connection per run that parses every frame it receives."""

    def __init__(self, port: int, client: Client) -> None:
        super().__init__(port, client)
        self.buffer = bytearray()
        self.ids: list[int] = []

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            super().data_received(data)
            return
        buf = self.buffer
        buf += data
        pos = 0
        while len(buf) - pos >= 2:
            assert buf[pos] == 0x81, "an unfragmented text frame"
            length, header = buf[pos + 1] & 0x7F, 2
            if length == 126:
                length, header = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                length, header = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            if len(buf) - pos < header + length:
                break
            body = orjson.loads(bytes(buf[pos + header : pos + header + length]))
            self.ids.append(body["payload"]["data"]["id"] - 100_000)
            pos += header + length
        del buf[:pos]
        super().data_received(data)


class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conns: list[Counter] = []
        self.stalled: list[Counter] = []
        self.expected_bytes = 1 << 62
        self.expected_tail = b""
        self.events = 0
        self.finished: set[Counter] = set()
        self.errors: list[str] = []
        self.cpu = 0.0
        self.quitting = False

    async def connect(self, kind: type[Counter] = Counter, stall: bool = False) -> Counter:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        if stall:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", self.port))
        if kind is Checker:
            _, proto = await loop.create_connection(lambda: Checker(self.port, self), sock=sock)
        else:
            _, proto = await loop.create_connection(lambda: Counter(self.port, self, stall), sock=sock)
        await proto.upgraded
        return proto

    def arm(self, events: int) -> None:
        self.events = events
        stream = b"".join(frame_bytes(n) for n in range(events))
        self.expected_bytes = len(stream)
        self.expected_tail = stream[-256:]
        self.finished.clear()
        self.errors.clear()
        for conn in self.conns:
            conn.received = 0
            conn.tail = b""
            if isinstance(conn, Checker):
                conn.ids.clear()
                conn.buffer.clear()
        self.cpu = cpu_seconds()

    def complete(self, conn: Counter) -> None:
        if conn.stall:
            return
        if conn.received > self.expected_bytes:
            self.errors.append(f"{conn.received - self.expected_bytes} bytes too many")
        elif conn.tail != self.expected_tail:
            self.errors.append("unexpected last frame")
        if conn in self.finished:
            return
        self.finished.add(conn)
        if len(self.finished) == len(self.conns):
            now = time.monotonic()
            checker = self.conns[0]
            assert isinstance(checker, Checker)
            if checker.ids != list(range(self.events)):
                self.errors.append("checker: ids not in order exactly once")
            status = "ok" if not self.errors else "|".join(sorted(set(self.errors))).replace(" ", "_")
            print(f"done {now!r} {cpu_seconds() - self.cpu:.4f} {status}", flush=True)


def frame_bytes(n: int) -> bytes:
    payload = orjson.dumps(message(n))
    length = len(payload)
    assert 126 <= length < 65536
    return bytes([0x81, 126]) + length.to_bytes(2, "big") + payload


async def client_main(port: int, count: int) -> None:
    client = Client(port)
    client.conns.append(await client.connect(Checker))
    for start in range(1, count, 100):
        batch = [client.connect() for _ in range(min(100, count - start))]
        client.conns.extend(await asyncio.gather(*batch))
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while (line := (await reader.readline()).decode().split()) and line != ["quit"]:
        if line[0] == "expect":
            client.arm(int(line[1]))
            print("armed", flush=True)
        elif line[0] == "stall":
            client.stalled.append(await client.connect(stall=True))
            print("stalled", flush=True)
    client.quitting = True
    for conn in client.conns + client.stalled:
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
        if sock is not None and "stalled" in request.query:
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


class Run:
    """What one run measured."""

    def __init__(self, delivered: float, written: float, client_cpu: float, server_cpu: float) -> None:
        self.delivered = delivered
        self.written = written
        self.client_cpu = client_cpu
        self.server_cpu = server_cpu


async def run_once(
    server: Server, clients: Clients, mode: str, paced: bool, name: str, subscribers: int | None = None
) -> tuple[Run, MemoryChannel | None]:
    """One run; ``subscribers``: how many connections to subscribe (all by default)."""
    await clients.say(f"expect {EVENTS}")
    assert await clients.hear() == ["armed"]
    events = [event(n) for n in range(EVENTS)]
    connections = server.connections[:subscribers]
    channel = None
    last = [0.0]
    gc.collect()
    if mode == "raw":
        sockets = [ws for ws, _ in connections]
        cpu = cpu_seconds()
        start = time.monotonic()
        for data in events:
            text = orjson.dumps({"type": "event", "payload": {"name": "bench", "data": data}}).decode()
            for ws in sockets:
                await ws.send_str(text)
            if paced:
                await asyncio.sleep(0)
        last[0] = time.monotonic()
    else:
        channel = MemoryChannel(name=name, high_water_mark=HIGH_WATER_MARK, stall_timeout=STALL_TIMEOUT)
        for _, carrier in connections:
            channel.subscribe("bench", carrier)
        # Time when the last fan-out returned (``publish`` for a Fanout
        # without batches, as before this benchmark's first version).
        fanout = channel.fanout
        attribute = "publish_batch" if hasattr(fanout, "publish_batch") else "publish"
        fan_out = getattr(fanout, attribute)

        def timed(*args: Any) -> int:
            sent: int = fan_out(*args)
            last[0] = time.monotonic()
            return sent

        setattr(fanout, attribute, timed)
        cpu = cpu_seconds()  # after subscribing: only the delivery is counted
        start = time.monotonic()
        for data in events:
            await channel.publish("bench", data)
            if paced:
                await asyncio.sleep(0)
    done = await clients.hear()
    server_cpu = cpu_seconds() - cpu
    assert done[0] == "done", done
    assert done[3] == "ok", f"{mode}: the clients saw {done[3]}"
    return Run(float(done[1]) - start, last[0] - start, float(done[2]), server_cpu), channel


def median(runs: list[Run], attr: str) -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def spread(runs: list[Run], attr: str) -> str:
    values = [getattr(r, attr) for r in runs]
    return f"[{min(values):.3f}-{max(values):.3f}]"


def load_average() -> str:
    return Path("/proc/loadavg").read_text().strip()


async def bench_size(
    server: Server, count: int, repeats: int, parts: list[str], results: dict[Any, Any]
) -> None:
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
    names = (f"bench-{count}-{n}" for n in range(1_000_000))
    try:
        assert await clients.hear(120) == ["ready"]
        await wait_until(lambda: len(server.connections) == count)
        runs: dict[tuple[str, str], list[Run]] = {}
        for repeat in range(repeats if "compare" in parts else 0):
            for pacing in ("burst", "paced"):
                # Alternate which mode goes first, so that drift cancels out.
                modes = ("channel", "raw") if repeat % 2 == 0 else ("raw", "channel")
                for mode in modes:
                    run, channel = await run_once(server, clients, mode, pacing == "paced", next(names))
                    runs.setdefault((pacing, mode), []).append(run)
                    if channel is not None:
                        await channel.close()
        results[count] = runs

        # Paired runs without and with a (new) stalled client, in alternating order.
        stalled: dict[str, list[Any]] = {"without": [], "with": [], "dropped_after": [], "counts": []}
        for repeat in range(repeats if "stalled" in parts else 0):
            order = ("without", "with") if repeat % 2 == 0 else ("with", "without")
            for kind in order:
                if kind == "without":
                    run, channel = await run_once(server, clients, "channel", False, next(names), count)
                    stalled["without"].append(run)
                    assert channel is not None
                    await channel.close()
                    continue
                await clients.say("stall")
                assert await clients.hear() == ["stalled"]
                await wait_until(lambda: len(server.connections) == count + 1)
                run, channel = await run_once(server, clients, "channel", False, next(names))
                assert channel is not None
                before = channel.subscriber_count()
                dropped_after = await wait_until(lambda: channel.subscriber_count() == count)  # noqa: B023
                stalled["with"].append(run)
                stalled["dropped_after"].append(dropped_after)
                stalled["counts"].append((before, channel.subscriber_count(), channel.fanout.dropped))
                await channel.close()
                # the dropped connection was aborted by the fan-out
                await wait_until(lambda: len(server.connections) == count)
        results[f"{count}-stalled"] = stalled
        await clients.say("quit")
        await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def report(sizes: list[int], repeats: int, parts: list[str], results: dict[Any, Any]) -> None:
    print(
        f"{EVENTS} events of {len(orjson.dumps(event(0)))} bytes of data ({frame_size()} bytes on the "
        f"wire); median of {repeats} runs [min-max]; load average {load_average()}\n"
    )
    print(
        "| clients | events | measured | MemoryChannel (s) | raw encode-once send_str loop (s) "
        "| ratio (of medians) |"
    )
    print("| ---: | --- | --- | ---: | ---: | ---: |")
    for count in sizes if "compare" in parts else ():
        runs = results[count]
        for pacing in ("burst", "paced"):
            channel, raw = runs[(pacing, "channel")], runs[(pacing, "raw")]
            for label, attr in (("delivered (clients)", "delivered"), ("written (server)", "written")):
                c, r = median(channel, attr), median(raw, attr)
                pairs = zip(channel, raw, strict=True)
                ratios = sorted(getattr(a, attr) / getattr(b, attr) for a, b in pairs)
                print(
                    f"| {count} | {pacing} | {label} | {c:.3f} {spread(channel, attr)} | "
                    f"{r:.3f} {spread(raw, attr)} | "
                    f"{c / r:.2f}x (paired {ratios[0]:.2f}-{ratios[-1]:.2f}) |"
                )
    print("\nCPU seconds during a run (median), server process / client process:")
    for count in sizes if "compare" in parts else ():
        for (pacing, mode), runs in results[count].items():
            print(
                f"- {count} clients, {pacing}, {mode}: server {median(runs, 'server_cpu'):.3f}, "
                f"client {median(runs, 'client_cpu'):.3f}, delivered in {median(runs, 'delivered'):.3f} s"
            )
    for count in sizes if "stalled" in parts else ():
        stalled = results[f"{count}-stalled"]
        without = [r.delivered for r in stalled["without"]]
        with_ = [r.delivered for r in stalled["with"]]
        print(
            f"\nStalled client, {count} clients, MemoryChannel, burst, paired runs in alternating order: "
            f"without {statistics.median(without):.3f} s {[round(x, 3) for x in without]}, "
            f"with one stalled client added {statistics.median(with_):.3f} s {[round(x, 3) for x in with_]} "
            f"({statistics.median(with_) / statistics.median(without):.2f}x); "
            f"(subscribers before, after, dropped) per run: {stalled['counts']}; the stalled client was "
            f"dropped {statistics.median(stalled['dropped_after']):.2f} s after the others had everything; "
            f"server CPU without {median(stalled['without'], 'server_cpu'):.3f} s, "
            f"with {median(stalled['with'], 'server_cpu'):.3f} s; client CPU without "
            f"{median(stalled['without'], 'client_cpu'):.3f} s, "
            f"with {median(stalled['with'], 'client_cpu'):.3f} s"
        )


async def main(sizes: list[int], repeats: int, parts: list[str]) -> None:
    server = Server()
    runner = await server.start()
    results: dict[Any, Any] = {}
    try:
        for count in sizes:
            await bench_size(server, count, repeats, parts, results)
    finally:
        await runner.cleanup()
    report(sizes, repeats, parts, results)


if __name__ == "__main__":
    # Run as a script, bench/ is first on sys.path and a sibling script
    # (bench/http.py) would shadow the standard library's http for aiohttp.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", nargs=2, type=int, metavar=("PORT", "N"))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--parts", nargs="+", choices=("compare", "stalled"), default=["compare", "stalled"])
    options = parser.parse_args()
    if options.client:
        asyncio.run(client_main(*options.client))
    else:
        asyncio.run(main(options.sizes, options.repeats, options.parts))
