"""Cross-process live-query latency: a write in one process -> a live event in another.

Processes, all on 127.0.0.1:

- this script (the orchestrator) runs the embedded SecantusDB
  (``tbone.testing.embedded_db.embedded_mongo``, in a thread of this process)
  and, for the Redis mode, a ``redis-server`` (``tbone.testing.redis_server``),
  and drives the others over stdin/stdout;
- the server (``--server``): aiohttp, one ``MongoResource`` over ``Msg`` at
  ``/api/msgs/`` and ``mount_websocket`` (which attaches ``LiveQueries``), its
  multiplexer set up for the mode (below);
- the subscriber (``--client``): one websocket to the server with one live
  query, ``/api/msgs/?room=bench&limit=1``; it parses every event and takes
  ``time.time()`` on arrival minus the document's ``sent`` (set by the writer
  just before its write: same machine, same clock) as the write -> delivery
  latency, and counts every document once (lost and duplicated events are
  reported);
- the writer (``--writer``): model methods at a fixed rate, 100 ticks a
  second, each tick one ``Msg.insert_many`` of the messages due (a bulk write:
  one change per document), ``sent = time.time()`` at the tick.

Modes, side by side:

- ``memory``: the floor. ``channel=MemoryChannel``, and the server process
  writes itself (the same writer code, in its own loop): the change reaches
  the engine through the ``changed`` signal, no process in between.
- ``mongo``: ``channel=MongoChannel`` (a capped collection); the writer runs a
  ``LiveQueries`` engine on the same channel, which publishes its process's
  changes as records (what an app instance does).
- ``redis``: the same with ``RedisChannel`` (a Redis stream).
- ``feed``: ``feed=ChangeStreamFeed(db)`` on the server; the writer needs no
  engine (the change streams see every write).

Each (mode, rate): ``--warmup`` s (not measured), ``--duration`` s measured,
then the subscriber waits until it has every document written (at most
``--drain`` s). Reports written/s achieved, received, lost, duplicated, p50 /
p99 / max latency of the measured documents, ratios to the memory floor, and
the load average before each mode.

Run: ``.venv/bin/python bench/crossprocess.py`` (about 1.5-2 min);
``--rates 200``, ``--modes redis feed``, ``--duration 3`` to narrow it down.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin

RATES = (200, 2000)
MODES = ("memory", "mongo", "redis", "feed")
TICKS = 100
WARMUP = 1.0
DURATION = 5.0
DRAIN = 15.0
DATABASE = "bench_crossprocess"
CHANNEL = "bench-crossprocess"
HREF = "/api/msgs/?room=bench&limit=1"


# -- the app (server and writer) ---------------------------------------------------


class Msg(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    run: str
    n: int
    room: str = "bench"
    sent: float = 0.0
    warm: bool = False

    class Meta:
        name = "bench_crossprocess_msgs"


def channel_for(mode: str, db: Any, redis_url: str) -> Any:
    from tbone.dispatch.channels import MemoryChannel

    if mode == "mongo":
        from tbone.dispatch.channels.mongo import MongoChannel

        return MongoChannel(name=CHANNEL, db=db)
    if mode == "redis":
        from tbone.dispatch.channels.redis import RedisChannel

        return RedisChannel(name=CHANNEL, url=redis_url)
    return MemoryChannel(name=CHANNEL)


async def write_at(db: Any, rate: float, warmup: float, duration: float, run: str) -> dict[str, Any]:
    """Insert ``rate`` messages a second for ``warmup + duration`` seconds, in
    ``TICKS`` bulk writes a second; the first ``warmup`` seconds' are marked warm."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    total = warmup + duration
    written = 0
    behind = 0.0
    tick = 1.0 / TICKS
    cap = max(1, int(2 * rate / TICKS))
    next_tick = start
    while True:
        now = loop.time() - start
        if now >= total:
            break
        # a writer that falls behind writes at most two ticks' worth at once (the
        # achieved rate says how far behind it stayed)
        due = min(int(rate * now) + 1, int(rate * total), written + cap)
        if due > written:
            sent = time.time()
            warm = now < warmup
            batch = [Msg(run=run, n=written + i, sent=sent, warm=warm) for i in range(due - written)]
            await Msg.insert_many(db, batch)
            written = due
        next_tick += tick
        delay = next_tick - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            behind = max(behind, -delay)
    due = int(rate * total)
    if 0 < due - written <= cap:
        sent = time.time()
        await Msg.insert_many(db, [Msg(run=run, n=written + i, sent=sent) for i in range(due - written)])
        written = due
    elapsed = loop.time() - start
    return {"written": written, "achieved": written / elapsed, "behind": behind}


async def serve(mode: str, uri: str, redis_url: str) -> None:
    from aiohttp import web
    from pymongo import AsyncMongoClient

    from tbone.db import create_collection
    from tbone.dispatch import ChangeStreamFeed, WebsocketMultiplexer
    from tbone.resources import Router
    from tbone.resources import aiohttp as aiohttp_adapter
    from tbone.resources.mongo import MongoResource
    from tbone.testing.servers import run_aiohttp

    class Msgs(MongoResource[Msg], aiohttp_adapter.AioHttpResource):
        class Meta:
            object_class = Msg

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[DATABASE]
    await create_collection(db, Msg)
    channel = channel_for(mode, db, redis_url)
    feed = ChangeStreamFeed(db, instance=f"bench-{uuid.uuid4().hex[:8]}") if mode == "feed" else None
    if hasattr(channel, "wait_ready"):
        await channel.wait_ready()
    router = Router(name="api")
    router.register(Msgs, "msgs")
    multiplexer = WebsocketMultiplexer(channel=channel, feed=feed)
    multiplexer.add_router("api", router)
    app = web.Application()
    app[aiohttp_adapter.DB_KEY] = db
    aiohttp_adapter.mount(app, router)
    aiohttp_adapter.mount_websocket(app, multiplexer)
    loop = asyncio.get_running_loop()
    async with run_aiohttp(app) as url:
        print(url, flush=True)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            # memory mode: "write RATE WARMUP DURATION RUN" (the writer is this process)
            _, rate, warmup, duration, run = line.split()
            result = await write_at(db, float(rate), float(warmup), float(duration), run)
            print(orjson.dumps(result).decode(), flush=True)
    if feed is not None:
        await feed.close()
    if hasattr(channel, "close"):
        await channel.close()
    await client.close()


async def writer(
    mode: str, uri: str, redis_url: str, rate: float, warmup: float, duration: float, run: str
) -> None:
    from pymongo import AsyncMongoClient

    from tbone.dispatch import WebsocketMultiplexer
    from tbone.resources.live import LiveQueries

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[DATABASE]
    engine = None
    channel = None
    if mode in ("mongo", "redis"):
        # what an app instance runs: its engine publishes this process's changes
        channel = channel_for(mode, db, redis_url)
        await channel.wait_ready()
        engine = LiveQueries(WebsocketMultiplexer(channel=channel))
    print("ready", flush=True)
    sys.stdin.readline()  # "go"
    result = await write_at(db, rate, warmup, duration, run)
    print(orjson.dumps(result).decode(), flush=True)
    if engine is not None:
        await engine.close()
    if channel is not None:
        await channel.close()
    await client.close()


# -- the subscriber ----------------------------------------------------------------


async def subscriber(url: str) -> None:
    import aiohttp

    seen: dict[str, set[int]] = {}
    dups: dict[str, int] = {}
    latencies: dict[str, list[float]] = {}
    others = 0
    async with aiohttp.ClientSession() as session, session.ws_connect(url + "/ws", max_msg_size=0) as ws:
        await ws.send_str(orjson.dumps({"type": "subscribe", "key": "s", "href": HREF}).decode())
        reply = orjson.loads((await ws.receive()).data)
        assert reply.get("status") == 200, reply
        print("ready", flush=True)
        arrived = asyncio.Event()

        async def read() -> None:
            nonlocal others
            async for message in ws:
                now = time.time()
                frame = orjson.loads(message.data)
                payload = frame.get("payload") or {}
                data = payload.get("data")
                if frame.get("type") != "event" or payload.get("op") != "enter" or not data:
                    others += 1
                    continue
                run = data["run"]
                got = seen.setdefault(run, set())
                if data["n"] in got:
                    dups[run] = dups.get(run, 0) + 1
                    continue
                got.add(data["n"])
                if not data["warm"]:
                    latencies.setdefault(run, []).append(now - data["sent"])
                arrived.set()

        reader = asyncio.get_running_loop().create_task(read())
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            # "report RUN EXPECTED DRAIN": wait for every document of the run, then report
            _, run, expected, drain = line.split()
            deadline = loop.time() + float(drain)
            while len(seen.get(run, ())) < int(expected) and loop.time() < deadline:
                arrived.clear()
                try:
                    async with asyncio.timeout(max(0.0, deadline - loop.time())):
                        await arrived.wait()
                except TimeoutError:
                    break
            await asyncio.sleep(0.3)  # late duplicates
            lat = sorted(latencies.get(run, []))
            report = {
                "received": len(seen.get(run, ())),
                "dups": dups.get(run, 0),
                "others": others,
                "measured": len(lat),
                "p50": percentile(lat, 50),
                "p99": percentile(lat, 99),
                "max": lat[-1] if lat else None,
                "mean": statistics.fmean(lat) if lat else None,
            }
            print(orjson.dumps(report).decode(), flush=True)
        reader.cancel()


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return values[index]


# -- the orchestrator --------------------------------------------------------------


class Child:
    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def line(self, timeout: float = 60.0) -> str:
        assert self.process.stdout is not None
        result: list[str] = []
        thread = threading.Thread(target=lambda: result.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        thread.start()
        deadline = time.monotonic() + timeout
        while thread.is_alive() and time.monotonic() < deadline and self.process.poll() is None:
            thread.join(0.1)
        thread.join(0.1)
        if not result or not result[0]:
            raise RuntimeError(f"child {self.process.args[2:]} said nothing within {timeout} s")
        return result[0].strip()

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()
                self.process.wait(10)
            except (subprocess.TimeoutExpired, OSError):
                pass
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def run_mode(mode: str, options: argparse.Namespace, uri: str, redis_url: str) -> list[dict[str, Any]]:
    results = []
    children: list[Child] = []
    try:
        server = Child("--server", mode, uri, redis_url)
        children.append(server)
        url = server.line()
        client = Child("--client", url)
        children.append(client)
        assert client.line() == "ready"
        for rate in options.rates:
            run = f"{mode}-{rate}-{uuid.uuid4().hex[:6]}"
            loadavg = load()
            args = (str(rate), str(options.warmup), str(options.duration), run)
            if mode == "memory":
                server.send(" ".join(("write", *args)))
                written = orjson.loads(server.line(options.warmup + options.duration + 60))
            else:
                writing = Child("--writer", mode, uri, redis_url, *args)
                children.append(writing)
                assert writing.line() == "ready"
                writing.send("go")
                written = orjson.loads(writing.line(options.warmup + options.duration + 60))
                writing.close()
            client.send(f"report {run} {written['written']} {options.drain}")
            got = orjson.loads(client.line(options.drain + 30))
            result = {"mode": mode, "rate": rate, "load": loadavg, **written, **got}
            result["lost"] = written["written"] - got["received"]
            results.append(result)
            print(
                f"  {mode:6} {rate:5}/s: wrote {written['written']} ({written['achieved']:.0f}/s, "
                f"behind schedule by {written['behind'] * 1000:.0f} ms), received {got['received']}, "
                f"lost {result['lost']}, dup {got['dups']}, p50 {ms(got['p50'])} p99 {ms(got['p99'])} "
                f"max {ms(got['max'])} ms (load {loadavg})",
                flush=True,
            )
    finally:
        for child in reversed(children):
            child.close()
    return results


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f}"


def report(results: list[dict[str, Any]], options: argparse.Namespace, loads: list[str]) -> None:
    floor = {r["rate"]: r for r in results if r["mode"] == "memory"}
    print(f"\nLoad average (1/5/15 min) before each mode and at the end: {' | '.join(loads)}")
    print(
        "\n| mode | writes/s asked | achieved | written | received | lost | dup "
        "| p50 ms | p99 ms | max ms | p50 / memory | p99 / memory |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        base = floor.get(r["rate"])
        ratio50 = ratio99 = "-"
        if base and base["p50"] and r["p50"] is not None:
            ratio50 = f"{r['p50'] / base['p50']:.1f}x"
            ratio99 = f"{r['p99'] / base['p99']:.1f}x"
        print(
            f"| {r['mode']} | {r['rate']} | {r['achieved']:.0f} | {r['written']} | {r['received']} "
            f"| {r['lost']} | {r['dups']} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} "
            f"| {ratio50} | {ratio99} |"
        )
    print()
    by = {(r["mode"], r["rate"]): r for r in results}
    top = max(options.rates)
    redis = by.get(("redis", top))
    if redis is not None and redis["p99"] is not None:
        verdict = "MET" if redis["p99"] <= 0.010 and redis["lost"] == 0 else "NOT MET"
        print(f"Target RedisChannel p99 <= 10 ms at {top}/s: {verdict} ({ms(redis['p99'])} ms)")
    feeds = [r for r in results if r["mode"] == "feed" and r["p50"] is not None]
    if feeds:
        ok = all(r["p50"] <= 0.050 for r in feeds)
        shown = ", ".join(f"{ms(r['p50'])} ms at {r['rate']}/s" for r in feeds)
        print(f"Target change-stream feed p50 <= 50 ms: {'MET' if ok else 'NOT MET'} ({shown})")
    lossy = [
        f"{r['mode']}@{r['rate']}: lost {r['lost']}, dup {r['dups']}"
        for r in results
        if r["lost"] or r["dups"]
    ]
    print(f"Target no channel loses an event: {'MET' if not lossy else 'NOT MET (' + '; '.join(lossy) + ')'}")


def main(options: argparse.Namespace) -> None:
    from tbone.testing.embedded_db import embedded_mongo
    from tbone.testing.redis_server import RedisServer

    started = time.monotonic()
    results: list[dict[str, Any]] = []
    loads: list[str] = []
    print(
        f"modes {options.modes}, rates {options.rates}/s, {options.warmup} s warm-up + {options.duration} s"
    )
    with embedded_mongo() as uri, RedisServer() as redis:
        for mode in options.modes:
            loads.append(load())
            results.extend(run_mode(mode, options, uri, redis.url))
        loads.append(load())
    report(results, options, loads)
    print(f"\n{time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    # Run as a script, bench/ is first on sys.path and its http.py would shadow
    # the standard library's ``http`` for everything imported.
    here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != here]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", nargs=3, metavar=("MODE", "URI", "REDIS_URL"))
    parser.add_argument("--client", nargs=1, metavar="URL")
    parser.add_argument(
        "--writer", nargs=7, metavar=("MODE", "URI", "REDIS", "RATE", "WARMUP", "SECONDS", "RUN")
    )
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--rates", nargs="+", type=int, default=list(RATES))
    parser.add_argument("--warmup", type=float, default=WARMUP)
    parser.add_argument("--duration", type=float, default=DURATION)
    parser.add_argument("--drain", type=float, default=DRAIN)
    options = parser.parse_args()
    if options.server:
        asyncio.run(serve(*options.server))
    elif options.client:
        asyncio.run(subscriber(options.client[0]))
    elif options.writer:
        mode, uri, redis_url, rate, warmup, duration, run = options.writer
        asyncio.run(writer(mode, uri, redis_url, float(rate), float(warmup), float(duration), run))
    else:
        main(options)
