"""Live-query benchmark: 10,000 live subscriptions against today's event-name broadcast.

Four processes on 127.0.0.1:

- this script (the orchestrator) runs the embedded SecantusDB
  (``tbone.testing.embedded_db.embedded_mongo``, in a thread of this process,
  so that the database's CPU is not the server's) and drives the others;
- the server (this script with ``--server``): aiohttp, one ``MongoResource``
  over ``Message`` at ``/api/messages/`` and ``mount_websocket`` at ``/ws``
  (which attaches ``LiveQueries``). ``Meta.authorization`` scopes reads by the
  ``X-User`` header: with one, ``{"visibility": {"$in": ["public", user]}}``;
  without, ``None`` (no restriction);
- the client (``--client``): 1,000 websocket connections as raw asyncio
  protocols (like bench/fanout.py), driven over stdin/stdout. Once the
  subscriptions are answered it only splits frames by their headers, counts
  frames and bytes, and reads the ``sent`` timestamp of each event frame with
  one regex search (write -> delivery latency, ``time.time()`` of the same
  machine); it reports its own CPU so that it can be seen not to be the
  bottleneck;
- the writer (``--writer``): HTTP POSTs to ``/api/messages/`` at a fixed
  rate, 100 ticks a second, each tick one POST of a JSON array with the
  messages due (the resource's bulk create: one ``insert_many``, a change and
  a ``resource_create`` event per message). Each message has a random room
  and a visibility: ``public`` (80%) or one random user's (20%), and ``sent``
  = ``time.time()`` when its POST is made.

Modes, each with a fresh client process and an emptied collection:

- ``live``: 1,000 connections x 10 subscriptions = 10,000, each connection on
  10 distinct rooms of 100 (``/api/messages/?room=rN``). Connections 0, 2,
  4... have no ``X-User`` (no read scope, whole documents); odd connections
  send ``X-User: uNNNN`` (500 distinct users, one per connection) in the
  handshake and add ``&fields=room,author,visibility,sent`` (a projection).
  A scoped subscriber gets the public messages of its room and its own.
- ``broadcast``: 1,000 connections without ``X-User`` each subscribed to
  ``{"type": "subscribe", "event": "resource_create"}``: every connection
  gets every message. Its write rate is chosen so that the expected
  deliveries per second equal the live mode's.

Every run checks that the client received exactly the expected number of
events (computed from the subscription plan and what the writer wrote).
Reports deliveries/s over the measured window (after a warm-up), latency
p50/p99/max, server CPU per delivered event (from /proc, the server process
only), the client's and the database's CPU, and the load average.

Run: ``.venv/bin/python bench/live.py`` (about 3 minutes for 2 runs);
``--runs 1 --duration 8`` for a quick look; ``--profile`` runs py-spy on the
server during the first live window (if installed).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

CONNS = 1000
SUBS_PER_CONN = 10
ROOMS = 100
LIVE_RATE = 600  # messages per second in live mode
PUBLIC_SHARE = 0.8
TICKS = 100  # writer ticks per second
DURATION = 10.0  # measured seconds per phase
WARMUP = 3.0
DRAIN = 20.0  # at most this long for the backlog after a window
FIELDS = "room,author,visibility,sent"
TEXT = "x" * 80
SEED = 12
DATABASE = "bench_live"
COLLECTION = "bench_live_messages"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def room_name(n: int) -> str:
    return f"r{n}"


def user_name(n: int) -> str:
    return f"u{n:04d}"


def plan(conns: int, subs: int, rooms: int, seed: int = SEED) -> list[tuple[str | None, list[str]]]:
    """Per connection: its user (``None``: no read scope) and its rooms."""
    rng = random.Random(seed)
    result: list[tuple[str | None, list[str]]] = []
    for i in range(conns):
        user = user_name(i // 2) if i % 2 else None
        result.append((user, [room_name(r) for r in rng.sample(range(rooms), subs)]))
    return result


def users_of(conns: int) -> list[str]:
    return [user_name(i // 2) for i in range(conns) if i % 2]


class Expect:
    """How many deliveries a message (room, visibility) makes in live mode."""

    def __init__(self, layout: list[tuple[str | None, list[str]]]) -> None:
        self.open: dict[str, int] = {}
        self.scoped: dict[str, int] = {}
        self.own: set[tuple[str, str]] = set()
        for user, rooms in layout:
            for room in rooms:
                if user is None:
                    self.open[room] = self.open.get(room, 0) + 1
                else:
                    self.scoped[room] = self.scoped.get(room, 0) + 1
                    self.own.add((user, room))

    def deliveries(self, room: str, visibility: str) -> int:
        n = self.open.get(room, 0)
        if visibility == "public":
            return n + self.scoped.get(room, 0)
        return n + ((visibility, room) in self.own)

    def mean(self, rooms: int, users: list[str]) -> float:
        """Expected deliveries per message of the writer's random mix."""
        total = 0.0
        for r in range(rooms):
            room = room_name(r)
            private = sum(self.deliveries(room, u) for u in users) / len(users)
            total += PUBLIC_SHARE * self.deliveries(room, "public") + (1 - PUBLIC_SHARE) * private
        return total / rooms


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---------------------------------------------------------------------- server


def serve(port: int, uri: str) -> None:
    from aiohttp import web
    from bson import ObjectId

    from tbone.data import Field, Model
    from tbone.db.models import MongoCollectionMixin
    from tbone.dispatch import WebsocketMultiplexer
    from tbone.dispatch.channels import MemoryChannel
    from tbone.resources import Request, Router
    from tbone.resources import aiohttp as adapter
    from tbone.resources.mongo import MongoResource
    from tbone.testing.embedded_db import make_client

    class Message(Model, MongoCollectionMixin):
        _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
        room: str
        author: str
        visibility: str
        text: str
        sent: float

        class Meta:
            name = COLLECTION

    class Visibility:
        """``X-User: u``: public messages and u's own; no ``X-User``: no restriction."""

        async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
            user = request.headers.get("X-User")
            return None if user is None else {"visibility": {"$in": ["public", user]}}

        async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
            return True

    class Messages(adapter.AioHttpResource, MongoResource[Message]):
        class Meta:
            name = "messages"
            object_class = Message
            incoming_list = ["get", "post"]
            incoming_detail = ["get"]
            channel_class = MemoryChannel
            authorization = Visibility()

    # seconds in the cyclic collector and collections, per generation; start of the current one
    gc_time: dict[str, Any] = {"seconds": [0.0, 0.0, 0.0], "count": [0, 0, 0], "start": 0.0}

    def gc_callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gc_time["start"] = time.thread_time()
        else:
            generation = info["generation"]
            gc_time["seconds"][generation] += time.thread_time() - gc_time["start"]
            gc_time["count"][generation] += 1

    gc.callbacks.append(gc_callback)

    async def main() -> None:
        client = make_client(uri)
        db = client.get_database(DATABASE)
        api = Router(name="api")
        api.register(Messages, "messages")
        channel = MemoryChannel(name="pubsub")
        multiplexer = WebsocketMultiplexer(channel=channel)
        multiplexer.add_router("api", api)

        async def stats(request: web.Request) -> web.Response:
            live: Any = multiplexer.live
            return web.json_response(
                {
                    "live_subscriptions": live.subscription_count(),
                    "live_groups": len(live._groups),
                    "event_subscribers": channel.subscriber_count(),
                    "gc_seconds": gc_time["seconds"],
                    "gc_collections": gc_time["count"],
                    "gc_tracked": len(gc.get_objects()),
                }
            )

        app = web.Application(client_max_size=16 * 1024 * 1024)
        app[adapter.DB_KEY] = db
        adapter.mount(app, api)
        adapter.mount_websocket(app, multiplexer)
        app.router.add_get("/bench/stats", stats)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port, backlog=2048).start()
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        await reader.readline()  # a line or EOF: stop
        await runner.cleanup()
        await client.close()

    asyncio.run(main())


# ---------------------------------------------------------------------- client

SENT = re.compile(rb'"sent":(-?[0-9][0-9.eE+-]*)')
EVENT_PREFIX = b'{"type":"event"'


def masked_text_frame(payload: bytes) -> bytes:
    # A client frame must be masked; a zero mask key leaves the payload as is.
    n = len(payload)
    header = bytes([0x81, 0x80 | n]) if n < 126 else bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    return header + b"\0\0\0\0" + payload


class Stats:
    def __init__(self) -> None:
        self.events = 0  # events since the connection was ready (all of the phase)
        self.window_events = 0
        self.window_bytes = 0
        self.others = 0
        self.latencies = array("d")
        self.measuring = False


class Conn(asyncio.Protocol):
    def __init__(self, port: int, headers: Mapping[str, str], stats: Stats) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.stats = stats
        self.buf = b""
        self.upgraded = asyncio.get_running_loop().create_future()
        self.replies: list[dict[str, Any]] = []
        self.setup = True
        self.transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{self.extra}\r\n".encode()
        )

    def send(self, message: bytes) -> None:
        assert self.transport is not None
        self.transport.write(masked_text_frame(message))

    def data_received(self, data: bytes) -> None:
        if not self.upgraded.done():
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            assert b" 101 " in self.buf[:end], self.buf[:end]
            data = self.buf[end + 4 :]
            self.buf = b""
            self.upgraded.set_result(None)
        buf = self.buf + data if self.buf else data
        n = len(buf)
        pos = 0
        stats = self.stats
        now = time.time()
        events = 0
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            if length < 126:
                start = pos + 2
            elif length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                start = pos + 4
            else:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                start = pos + 10
            end = start + length
            if end > n:
                break
            if self.setup:
                self.replies.append(orjson.loads(buf[start:end]))
            elif buf.startswith(EVENT_PREFIX, start):
                events += 1
                if stats.measuring:
                    match = SENT.search(buf, start, end)
                    if match is not None:
                        stats.latencies.append(now - float(match.group(1)))
            else:
                stats.others += 1
            pos = end
        self.buf = buf[pos:] if pos < n else b""
        stats.events += events
        if stats.measuring:
            stats.window_events += events
            stats.window_bytes += pos

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


async def client_main(port: int, mode: str, conns: int, subs: int, rooms: int) -> None:

    loop = asyncio.get_running_loop()
    stats = Stats()
    layout = plan(conns, subs, rooms)
    start = time.monotonic()

    async def connect(i: int) -> Conn:
        user, _ = layout[i]
        headers = {"X-User": user} if (mode == "live" and user is not None) else {}
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        _, proto = await loop.create_connection(lambda: Conn(port, headers, stats), sock=sock)
        await proto.upgraded
        return proto

    connections: list[Conn] = []
    for first in range(0, conns, 100):
        connections.extend(await asyncio.gather(*(connect(i) for i in range(first, min(conns, first + 100)))))
    connected = time.monotonic() - start
    # subscribe, 100 connections at a time (each connection's subscriptions are
    # served in order by the server anyway)
    wanted = subs if mode == "live" else 1
    for first in range(0, conns, 100):
        group = range(first, min(conns, first + 100))
        for i in group:
            user, my_rooms = layout[i]
            conn = connections[i]
            if mode == "live":
                for k, room in enumerate(my_rooms):
                    href = f"/api/messages/?room={room}"
                    if user is not None:
                        href += f"&fields={FIELDS}"
                    conn.send(orjson.dumps({"type": "subscribe", "key": f"s{k}", "href": href}))
            else:
                conn.send(orjson.dumps({"type": "subscribe", "event": "resource_create", "key": "b"}))
        async with asyncio.timeout(120):
            while any(len(connections[i].replies) < wanted for i in group):
                await asyncio.sleep(0.01)
    held = 0
    errors: list[Any] = []
    for conn in connections:
        for reply in conn.replies:
            kind = reply.get("type")
            if (kind == "response" and reply.get("status") == 200) or (mode == "broadcast" and kind == "ack"):
                held += 1
            else:
                errors.append(reply)
        conn.setup = False
    if errors:
        print(f"# {len(errors)} unexpected replies, e.g. {errors[:2]}", file=sys.stderr, flush=True)
    print(f"ready {held} {connected:.2f} {time.monotonic() - start:.2f}", flush=True)

    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    cpu = cpu_seconds()
    window_start = time.monotonic()
    while (line := (await reader.readline()).decode().split()) and line != ["quit"]:
        if line[0] == "start":
            stats.window_events = stats.window_bytes = 0
            stats.latencies = array("d")
            stats.measuring = True
            cpu = cpu_seconds()
            window_start = time.monotonic()
            print("started", flush=True)
        elif line[0] == "stop":
            stats.measuring = False
            wall = time.monotonic() - window_start
            lat = sorted(stats.latencies) or [-0.001]
            p50, p99, top = (lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 for q in (0.5, 0.99, 1.0))
            print(
                f"stopped {stats.window_events} {stats.window_bytes} {wall:.3f} {cpu_seconds() - cpu:.3f} "
                f"{p50:.2f} {p99:.2f} {top:.2f} {len(stats.latencies)}",
                flush=True,
            )
        elif line[0] == "total":
            lost = sum(c.lost for c in connections)
            print(f"total {stats.events} {stats.others} {lost}", flush=True)
    for conn in connections:
        if conn.transport is not None:
            conn.transport.abort()


# ---------------------------------------------------------------------- writer


async def writer_main(port: int, rate: float, seconds: float, rooms: int, conns: int, seed: int) -> None:
    import aiohttp

    rng = random.Random(seed)
    users = users_of(conns)
    written: dict[tuple[str, str], int] = {}
    url = f"http://127.0.0.1:{port}/api/messages/"
    statuses: dict[str, int] = {}
    inflight: set[asyncio.Task[None]] = set()
    max_inflight = 0
    n = 0
    stored = [0]
    post_ms: list[float] = []
    author = "a" * 8

    async def post(session: aiohttp.ClientSession, body: bytes, mix: list[tuple[str, str]]) -> None:
        begin = time.monotonic()
        try:
            async with session.post(url, data=body, headers={"Content-Type": "application/json"}) as response:
                await response.read()
                status = str(response.status)
        except aiohttp.ClientError as exc:  # e.g. a kept-alive connection closed under us
            status = type(exc).__name__
        statuses[status] = statuses.get(status, 0) + 1
        post_ms.append((time.monotonic() - begin) * 1000)
        if status == "201":  # what was stored (and so must be delivered)
            stored[0] += len(mix)
            for pair in mix:
                written[pair] = written.get(pair, 0) + 1

    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        tick = 0
        while True:
            tick += 1
            at = start + tick / TICKS
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if at - start > seconds:
                break
            due = int(rate * tick / TICKS) - n
            if due <= 0:
                continue
            now = time.time()
            docs = []
            mix = []
            for _ in range(due):
                room = room_name(rng.randrange(rooms))
                visibility = "public" if rng.random() < PUBLIC_SHARE else rng.choice(users)
                mix.append((room, visibility))
                docs.append(
                    {"room": room, "author": author, "visibility": visibility, "text": TEXT, "sent": now}
                )
            n += due
            task = asyncio.create_task(post(session, orjson.dumps(docs), mix))
            inflight.add(task)
            task.add_done_callback(inflight.discard)
            max_inflight = max(max_inflight, len(inflight))
        elapsed = time.monotonic() - start
        if inflight:
            await asyncio.wait(inflight, timeout=30)
    print(
        orjson.dumps(
            {
                "written": stored[0],
                "attempted": n,
                "elapsed": elapsed,
                "statuses": statuses,
                "max_inflight": max_inflight,
                "post_p50": statistics.median(post_ms) if post_ms else -1,
                "post_p99": sorted(post_ms)[int(0.99 * len(post_ms))] if post_ms else -1,
                "mix": [[r, v, c] for (r, v), c in written.items()],
            }
        ).decode(),
        flush=True,
    )


# ---------------------------------------------------------------- orchestrator


class Child:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def hear(self) -> list[str]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"child {self.process.args!r} ended (rc={self.process.poll()})")
        return line.split()

    def stop(self, timeout: float = 10) -> None:
        try:
            if self.process.poll() is None and self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout)
        except (subprocess.TimeoutExpired, BrokenPipeError, OSError):
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_stats(port: int) -> dict[str, Any]:
    import json
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/stats", timeout=10) as response:
        return dict(json.loads(response.read()))


def phase(
    mode: str,
    port: int,
    server: Child,
    options: argparse.Namespace,
    rate: float,
    expect: Expect,
    uri: str,
    profile: bool,
) -> dict[str, Any]:
    import json

    client = Child("--client", str(port), mode, str(options.conns), str(options.subs), str(options.rooms))
    writer: subprocess.Popen[str] | None = None
    try:
        ready = client.hear()
        assert ready[0] == "ready", ready
        held, connected, setup = int(ready[1]), float(ready[2]), float(ready[3])
        stats = server_stats(port)
        writer = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--writer",
                str(port),
                str(rate),
                str(options.warmup + options.duration + 0.5),
                str(options.rooms),
                str(options.conns),
                str(random.randrange(1 << 30)),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        spy = None
        time.sleep(options.warmup)
        client.say("start")
        assert client.hear() == ["started"]
        gc0 = server_stats(port)
        server_cpu0, db_cpu0 = process_cpu(server.process.pid), cpu_seconds()
        t0 = time.monotonic()
        if profile and (exe := shutil.which("py-spy", path=os.path.dirname(sys.executable))):
            spy = subprocess.Popen(
                [
                    exe,
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--duration",
                    str(int(options.duration) - 1),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    options.profile_out,
                    *(["--native"] if options.native else ["--nonblocking"]),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        time.sleep(options.duration)
        client.say("stop")
        server_cpu1, db_cpu1, t1 = process_cpu(server.process.pid), cpu_seconds(), time.monotonic()
        stopped = client.hear()
        assert stopped[0] == "stopped", stopped
        gc1 = server_stats(port)
        out, _ = writer.communicate(timeout=60)
        wrote = json.loads(out)
        # the last deliveries: until nothing more arrives for a second (at most DRAIN seconds), so that
        # a backlog neither goes unchecked nor spills into the next phase
        previous: list[str] = []
        drain_end = time.monotonic() + DRAIN
        while True:
            time.sleep(1.0)
            client.say("total")
            total = client.hear()
            if total == previous or time.monotonic() > drain_end:
                break
            previous = total
        if spy is not None:
            spy.wait(30)
        expected = (
            wrote["written"] * options.conns
            if mode == "broadcast"
            else sum(expect.deliveries(r, v) * c for r, v, c in wrote["mix"])
        )
        events, bytes_, wall, client_cpu = (
            int(stopped[1]),
            int(stopped[2]),
            float(stopped[3]),
            float(stopped[4]),
        )
        server_cpu = server_cpu1 - server_cpu0
        result = {
            "mode": mode,
            "rate": rate,
            "held": held,
            "server_held": stats["live_subscriptions"] if mode == "live" else stats["event_subscribers"],
            "groups": stats["live_groups"],
            "connected_s": connected,
            "setup_s": setup,
            "deliveries_s": events / wall,
            "mb_s": bytes_ / wall / 1e6,
            "p50": float(stopped[5]),
            "p99": float(stopped[6]),
            "max": float(stopped[7]),
            "server_cpu": server_cpu / (t1 - t0),
            "us_per_delivery": server_cpu / events * 1e6 if events else float("nan"),
            "client_cpu": client_cpu / wall,
            "gc_share": (sum(gc1["gc_seconds"]) - sum(gc0["gc_seconds"])) / server_cpu if server_cpu else 0.0,
            "gc_by_generation": " ".join(
                f"gen{g}: {b - a} in {1000 * (y - x):.0f} ms"
                for g, (a, b, x, y) in enumerate(
                    zip(
                        gc0["gc_collections"],
                        gc1["gc_collections"],
                        gc0["gc_seconds"],
                        gc1["gc_seconds"],
                        strict=True,
                    )
                )
            ),
            "gc_tracked": gc1["gc_tracked"],
            "db_cpu": (db_cpu1 - db_cpu0) / (t1 - t0),
            "written": wrote["written"],
            "statuses": wrote["statuses"],
            "max_inflight": wrote["max_inflight"],
            "post_p50": wrote["post_p50"],
            "post_p99": wrote["post_p99"],
            "expected": expected,
            "received": int(total[1]),
            "others": int(total[2]),
            "lost": int(total[3]),
        }
        print(
            f"  {mode:9} rate {rate:.0f}/s: held {held} (server {result['server_held']}, groups "
            f"{result['groups']}), setup {setup:.1f} s; {result['deliveries_s']:.0f} deliveries/s, "
            f"p50 {result['p50']:.1f} ms p99 {result['p99']:.1f} ms max {result['max']:.0f} ms; server CPU "
            f"{result['server_cpu']:.2f} ({result['us_per_delivery']:.2f} us/delivery), client "
            f"{result['client_cpu']:.2f}, db {result['db_cpu']:.2f}; "
            f"server GC {100 * result['gc_share']:.0f}% of its CPU ({result['gc_by_generation']}; "
            f"{result['gc_tracked']} tracked objects); received {result['received']} of {expected} expected, "
            f"POSTs {wrote['statuses']} (max in flight {wrote['max_inflight']}, "
            f"POST latency p50 {wrote['post_p50']:.0f} ms p99 {wrote['post_p99']:.0f} ms); "
            f"load {load_average()}",
            flush=True,
        )
        return result
    finally:
        client.say("quit")
        client.stop()
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait()
        asyncio.run(_empty(uri))


async def _empty(uri: str) -> None:
    from tbone.testing.embedded_db import make_client

    client = make_client(uri)
    try:
        await client.get_database(DATABASE).get_collection(COLLECTION).delete_many({})
    finally:
        await client.close()


async def _prepare(uri: str) -> None:
    from tbone.testing.embedded_db import make_client

    client = make_client(uri)
    try:
        collection = client.get_database(DATABASE).get_collection(COLLECTION)
        await collection.drop()
        await collection.create_index("room")
    finally:
        await client.close()


def report(results: list[dict[str, Any]], options: argparse.Namespace, loads: list[str]) -> None:
    print(f"\nLoad average (1/5/15 min) before each run and at the end: {' | '.join(loads)}")
    print(
        "\n| run | mode | writes/s | subs held | deliveries/s | p50 ms | p99 ms | server CPU "
        "| us CPU / delivery | client CPU | db CPU | exact |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for r in results:
        exact = (
            "yes" if r["received"] == r["expected"] and not r["lost"] else f"{r['received']}/{r['expected']}"
        )
        print(
            f"| {r['run']} | {r['mode']} | {r['rate']:.0f} | {r['held']} | {r['deliveries_s']:.0f} "
            f"| {r['p50']:.1f} | {r['p99']:.1f} | {r['server_cpu']:.2f} | {r['us_per_delivery']:.2f} "
            f"| {r['client_cpu']:.2f} | {r['db_cpu']:.2f} | {exact} |"
        )
    print("\nRatios live / broadcast per run:")
    verdicts = []
    for run in sorted({r["run"] for r in results}):
        pair = {r["mode"]: r for r in results if r["run"] == run}
        if len(pair) < 2:
            continue
        live, base = pair["live"], pair["broadcast"]
        cpu_ratio = live["us_per_delivery"] / base["us_per_delivery"]
        print(
            f"- run {run}: deliveries/s {live['deliveries_s'] / base['deliveries_s']:.2f}x, "
            f"p99 {live['p99'] / base['p99']:.2f}x, CPU per delivery {cpu_ratio:.2f}x"
        )
        verdicts.append(
            (
                live["held"] >= 10_000 and live["server_held"] >= 10_000,
                live["deliveries_s"] >= 50_000 and live["p99"] <= 100,
                cpu_ratio <= 1.5,
            )
        )
    names = (
        "10,000 subscriptions held",
        ">= 50,000 deliveries/s with authorization at p99 <= 100 ms",
        "CPU per delivery <= 1.5x broadcast",
    )
    for i, name in enumerate(names):
        met = [v[i] for v in verdicts]
        print(f"Target {name}: {'MET' if all(met) else 'NOT MET'} ({sum(met)} of {len(met)} runs)")


def main(options: argparse.Namespace) -> None:
    from tbone.testing.embedded_db import embedded_mongo

    layout = plan(options.conns, options.subs, options.rooms)
    expect = Expect(layout)
    per_write = expect.mean(options.rooms, users_of(options.conns))
    base_rate = options.rate * per_write / options.conns
    print(
        f"{options.conns} connections, {options.conns * options.subs} live subscriptions over "
        f"{options.rooms} rooms; live writes {options.rate}/s x {per_write:.1f} expected deliveries each = "
        f"{options.rate * per_write:.0f}/s; broadcast writes {base_rate:.1f}/s x {options.conns}; "
        f"warm-up {options.warmup} s, measured {options.duration} s; load average {load_average()}",
        flush=True,
    )
    loads = []
    results = []
    started = time.monotonic()
    with embedded_mongo() as uri:
        asyncio.run(_prepare(uri))
        port = free_port()
        server = Child("--server", str(port), uri)
        try:
            assert server.hear() == ["ready"]
            for run in range(options.runs):
                loads.append(load_average())
                print(f"run {run + 1} (load {loads[-1]}):", flush=True)
                order = ("live", "broadcast") if run % 2 == 0 else ("broadcast", "live")
                modes = [m for m in order if m in options.modes]
                for mode in modes:
                    rate = options.rate if mode == "live" else base_rate
                    result = phase(
                        mode,
                        port,
                        server,
                        options,
                        rate,
                        expect,
                        uri,
                        options.profile and run == 0 and mode == "live",
                    )
                    result["run"] = run + 1
                    results.append(result)
        finally:
            server.stop()
    loads.append(load_average())
    print(f"\n{time.monotonic() - started:.0f} s in all")
    report(results, options, loads)


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", nargs=2, metavar=("PORT", "URI"))
    parser.add_argument("--client", nargs=5, metavar=("PORT", "MODE", "CONNS", "SUBS", "ROOMS"))
    parser.add_argument("--writer", nargs=6, metavar=("PORT", "RATE", "SECONDS", "ROOMS", "CONNS", "SEED"))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--duration", type=float, default=DURATION)
    parser.add_argument("--warmup", type=float, default=WARMUP)
    parser.add_argument("--rate", type=float, default=LIVE_RATE, help="live-mode messages per second")
    parser.add_argument("--conns", type=int, default=CONNS)
    parser.add_argument("--subs", type=int, default=SUBS_PER_CONN)
    parser.add_argument("--rooms", type=int, default=ROOMS)
    parser.add_argument("--profile", action="store_true", help="py-spy the server in the first live window")
    parser.add_argument("--modes", nargs="+", choices=("live", "broadcast"), default=["live", "broadcast"])
    parser.add_argument("--native", action="store_true", help="py-spy --native (C frames too)")
    parser.add_argument("--profile-out", default="/tmp/tbone-live-profile.txt")
    options = parser.parse_args()
    if options.server:
        serve(int(options.server[0]), options.server[1])
    elif options.client:
        port, mode, conns, subs, rooms = options.client
        asyncio.run(client_main(int(port), mode, int(conns), int(subs), int(rooms)))
    elif options.writer:
        port, rate, seconds, rooms, conns, seed = options.writer
        asyncio.run(writer_main(int(port), float(rate), float(seconds), int(rooms), int(conns), int(seed)))
    else:
        main(options)
