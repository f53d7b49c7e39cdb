"""Scale-out (SPEC §11) with real parts: three app processes (two aiohttp, one Sanic)
sharing the embedded MongoDB-wire server and a real ``redis-server``.

Each instance is ``tests.websocket.scaleout_peer`` in its own OS process on
127.0.0.1, serving the same ``MongoResource`` with its live queries; one live
subscriber per instance follows ``/api/tracks/?room=x``. Documents go through
chains of writes (create in the room, update, move out, move back, update,
delete; each chain stops somewhere), each write of a chain through another
way in: an instance's HTTP API, a model method in this process, and, with the
change-stream feed, pymongo straight to the database. Every write stores its
number in the chain as ``seq``, so an event's data says which write it shows.

- ``channel``: ``WebsocketMultiplexer(channel=RedisChannel(...))``, changes
  from the persistence layer; this process runs a ``LiveQueries`` engine on
  the same channel so that its model-method writes are published. A chain's
  writes follow each other as fast as they can (no waiting for delivery).
- ``feed``: ``feed=ChangeStreamFeed(db, instance=<per process>)``. A chain's
  next write waits until the previous one was delivered: with
  ``fullDocument="updateLookup"`` an event shows the document when the change
  is read, so back-to-back writes may show later states (documented).

Then one instance is killed with SIGKILL while the chains go on, and started
again under the same instance name; its client resumes with ``since`` (a
token of the dead process: a full page with ``meta.resync``). With the feed,
the restarted feed must deliver every change made while it was down (checked
against this process's own change stream). With the channel, Redis is
restarted mid-stream: the channels come back by themselves, and what is lost
is what docs/dispatch.md says (publishes that failed while Redis was down).

Bounded: each test ~15-25 s; every process is killed in ``finally``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.db import create_collection
from tbone.testing import WebSocketTestClient
from tbone.testing.redis_server import RedisServer

from .scaleout_peer import ScaleTrack, token_key

ROOT = Path(__file__).resolve().parents[2]
HREF = "/api/tracks/?room=x&limit=100"
KINDS = ("aiohttp", "aiohttp", "sanic")
START_TIMEOUT = 30.0
DELIVERY_TIMEOUT = 15.0

#: One chain: what each write sets (None: delete), and the event it makes for a
#: subscriber of room x: (op, seq shown).
STEPS: list[dict[str, Any] | None] = [
    {"title": "created", "room": "x"},
    {"title": "retitled"},
    {"room": "y"},
    {"room": "x"},
    {"title": "final"},
    None,
]
EVENTS: list[tuple[str, int | None]] = [
    ("enter", 1),
    ("update", 2),
    ("leave", None),
    ("enter", 4),
    ("update", 5),
    ("leave", None),
]

Event = tuple[str, int | None]


# -- processes -------------------------------------------------------------------


class Peer:
    """One app instance in its own process (``tests.websocket.scaleout_peer``)."""

    def __init__(self, kind: str, instance: str, args: list[str]) -> None:
        self.kind = kind
        self.instance = instance
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.up = False

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/ws"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.websocket.scaleout_peer",
            self.kind,
            *self.args[:3],
            self.instance,
            *self.args[3:],
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(START_TIMEOUT):
            line = (await self.process.stdout.readline()).decode().strip()
        assert line.startswith("http://127.0.0.1:"), f"{self.instance} did not start: {line!r}"
        self.url = line
        self.up = True

    async def kill(self) -> None:
        """SIGKILL, as a crash."""
        self.up = False
        process = self.process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGKILL)
            await process.wait()

    async def stop(self) -> None:
        self.up = False
        process = self.process
        if process is None or process.returncode is not None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            async with asyncio.timeout(10):
                await process.wait()
        except TimeoutError:
            await self.kill()

    async def state(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.url}/debug/state") as response:
            assert response.status == 200
            state: dict[str, Any] = await response.json()
            return state


@asynccontextmanager
async def peers(args: list[str], prefix: str) -> AsyncIterator[list[Peer]]:
    started = [Peer(kind, f"{prefix}{n}", args) for n, kind in enumerate(KINDS)]
    try:
        await asyncio.gather(*(peer.start() for peer in started))
        yield started
    finally:
        for peer in started:  # always: a clean stop, else SIGKILL
            with suppress(Exception):
                await peer.stop()
            await peer.kill()


# -- subscribers -----------------------------------------------------------------


@dataclass
class Watcher:
    """One live subscriber: the events it got per document, and its view of the list."""

    client: WebSocketTestClient
    key: str
    view: dict[str, dict[str, Any]]
    since: str
    events: dict[str, list[Event]] = field(default_factory=dict)
    #: per document, the ``seq`` shown by the page and each event (None: not shown)
    shown: dict[str, list[int | None]] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    label: str = ""
    closed: bool = False

    @classmethod
    async def subscribe(cls, url: str, since: str | None = None) -> tuple[Watcher, dict[str, Any]]:
        client = await WebSocketTestClient.connect(url)
        key, status, page = await client.live(HREF, since=since)
        assert status == 200, page
        view = {o["code"]: o for o in page["objects"]}
        watcher = cls(client, key, view, page["meta"]["since"])
        for code, obj in view.items():
            watcher.shown[code] = [obj["seq"]]
        watcher.task = asyncio.get_running_loop().create_task(watcher._pump())
        return watcher, page

    async def _pump(self) -> None:
        while True:
            try:
                event = await self.client.next_change(self.key, timeout=3600)
            except (TimeoutError, ConnectionError):
                return
            code, data = event["pk"], event["data"]
            seq = None if data is None else data["seq"]
            self.events.setdefault(code, []).append((event["op"], seq))
            self.shown.setdefault(code, []).append(seq)
            if data is None:
                self.view.pop(code, None)
            else:
                self.view[code] = data
            self.since = event["since"]
            self.changed.set()

    async def wait(
        self, done: Callable[[], bool], what: Callable[[], str], timeout: float = DELIVERY_TIMEOUT
    ) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise AssertionError(f"{self.label}: not within {timeout} s: {what()}") from None

    def count(self, code: str) -> int:
        return len(self.events.get(code, ()))

    async def close(self) -> None:
        self.closed = True
        self.changed.set()  # a chain pacing on this subscriber stops waiting
        if self.task is not None:
            self.task.cancel()
            with suppress(asyncio.CancelledError):
                await self.task
        with suppress(Exception):
            await self.client.close()


# -- writes ----------------------------------------------------------------------


Source = Callable[[str, int], Awaitable[None]]


def http_source(session: aiohttp.ClientSession, peer: Peer) -> Source:
    async def write(code: str, step: int) -> None:
        fields = STEPS[step]
        if fields is None:
            method, href, body, expected = "DELETE", f"/api/tracks/{code}/", None, 204
        elif step == 0:
            method, href, expected = "POST", "/api/tracks/", 201
            body = {"code": code, "seq": 1, **fields}
        else:
            method, href, body, expected = "PATCH", f"/api/tracks/{code}/", {**fields, "seq": step + 1}, 202
        data = None if body is None else orjson.dumps(body)
        async with session.request(method, peer.url + href, data=data) as response:
            assert response.status == expected, (method, href, response.status, await response.text())

    return write


def model_source(db: Any) -> Source:
    async def write(code: str, step: int) -> None:
        fields = STEPS[step]
        if fields is None:
            await ScaleTrack.delete_entries(db, {"code": code})
        elif step == 0:
            await ScaleTrack(code=code, seq=1, **fields).insert(db)
        else:
            assert await ScaleTrack.modify(db, key=code, data={**fields, "seq": step + 1}) is not None

    return write


def pymongo_source(db: Any) -> Source:
    collection = db[ScaleTrack.get_collection_name()]

    async def write(code: str, step: int) -> None:
        fields = STEPS[step]
        if fields is None:
            assert (await collection.delete_one({"code": code})).deleted_count == 1
        elif step == 0:
            await collection.insert_one({"code": code, "seq": 1, **fields})
        else:
            result = await collection.update_one({"code": code}, {"$set": {**fields, "seq": step + 1}})
            assert result.modified_count == 1

    return write


def delivered(watcher: Watcher, code: str, count: int) -> tuple[Callable[[], bool], Callable[[], str]]:
    """Whether the watcher got ``count`` events of ``code`` (or left), and what it got."""

    def done() -> bool:
        return watcher.closed or watcher.count(code) >= count

    def what() -> str:
        return f"{code} event {count} (got {watcher.events.get(code)})"

    return done, what


@dataclass
class Writes:
    """Chains of writes spread over the ways in; ``pace`` waits for delivery between
    the writes of a chain (to the watchers in ``paced``)."""

    sources: list[tuple[Peer | None, Source]]
    watchers: list[Watcher]
    pace: bool
    paced: list[Watcher] = field(default_factory=list)
    #: code -> how many of its steps were written
    written: dict[str, int] = field(default_factory=dict)
    #: (code, step) -> the index of the source that wrote it, and when (monotonic)
    log: dict[tuple[str, int], tuple[int, float, float]] = field(default_factory=dict)
    gap: float = 0.0
    #: source index -> writes in flight
    inflight: dict[int, int] = field(default_factory=dict)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    def pick(self, preferred: int) -> int:
        for offset in range(len(self.sources)):
            index = (preferred + offset) % len(self.sources)
            peer = self.sources[index][0]
            if peer is None or peer.up:
                return index
        raise AssertionError("no way in is up")

    async def chain(self, code: str, length: int) -> None:
        first = next(self._turn)
        for step in range(length):
            index = self.pick(first + step)
            started = time.monotonic()
            self.inflight[index] = self.inflight.get(index, 0) + 1
            try:
                await self.sources[index][1](code, step)
            finally:
                self.inflight[index] -= 1
            self.log[(code, step)] = (index, started, time.monotonic())
            self.written[code] = step + 1
            if self.pace:
                for watcher in list(self.paced):
                    await watcher.wait(*delivered(watcher, code, step + 1))
            if self.gap:
                await asyncio.sleep(self.gap)

    async def drain(self, index: int) -> None:
        """Wait until no write through source ``index`` is in flight."""
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            while self.inflight.get(index, 0):
                await asyncio.sleep(0.001)

    async def chains(self, codes: list[str], lengths: list[int]) -> None:
        await asyncio.gather(*(self.chain(code, n) for code, n in zip(codes, lengths, strict=True)))

    async def until(self, stop: asyncio.Event, prefix: str, parallel: int, longest: int = len(STEPS)) -> None:
        """Start new chains (lengths 1 to ``longest``, in turn) until ``stop`` is set."""
        numbers = itertools.count()

        async def lane(lane_number: int) -> None:
            while not stop.is_set():
                n = next(numbers)
                await self.chain(f"{prefix}{n:03d}", n % longest + 1)

        await asyncio.gather(*(lane(i) for i in range(parallel)))


def expected(length: int) -> list[Event]:
    return EVENTS[:length]


async def db_view(db: Any, codes: set[str]) -> dict[str, int]:
    """The documents of room x among ``codes``, as code -> seq."""
    found = db[ScaleTrack.get_collection_name()].find({"room": "x", "code": {"$in": sorted(codes)}})
    return {doc["code"]: doc["seq"] async for doc in found}


def not_exact(watcher: Watcher, writes: Writes, written: dict[str, int]) -> list[str]:
    """Where the watcher's events differ from the writes (with who wrote each step)."""
    wrong = []
    for code, length in written.items():
        got = watcher.events.get(code, [])
        if got != expected(length):
            by = [writes.log[(code, s)][0] for s in range(length)]
            wrong.append(f"{watcher.label} {code}: got {got}, wrote {expected(length)} through sources {by}")
    return wrong


def assert_exact(watcher: Watcher, writes: Writes, written: dict[str, int]) -> None:
    wrong = not_exact(watcher, writes, written)
    assert not wrong, "\n".join(wrong)


def older_than_shown(watcher: Watcher) -> dict[str, list[int | None]]:
    """The documents for which an event showed an older write than the page or an
    earlier event had (SPEC §6: "nothing in the page is replayed older")."""
    older = {}
    for code, shown in watcher.shown.items():
        seen = [s for s in shown if s is not None]
        if seen != sorted(seen):
            older[code] = shown
    return older


async def wait_exact(
    watchers: list[Watcher], written: dict[str, int], timeout: float = DELIVERY_TIMEOUT
) -> None:
    for watcher in watchers:

        def short(w: Watcher = watcher) -> dict[str, list[Event]]:
            return {c: w.events.get(c, []) for c, n in written.items() if w.count(c) < n}

        def done(w: Watcher = watcher) -> bool:
            return not short(w)

        def what(w: Watcher = watcher) -> str:
            return f"missing events: {short(w)}"

        await watcher.wait(done, what, timeout)
    await asyncio.sleep(0.2)  # nothing more (a duplicate) may follow


async def wait_view(watcher: Watcher, db: Any, codes: set[str]) -> None:
    """Until the watcher's view of ``codes`` is what the database has."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        truth = await db_view(db, codes)
        mine = {c: o["seq"] for c, o in watcher.view.items() if c in codes}
        if mine == truth or time.monotonic() > deadline:
            differ = {
                c: (mine.get(c), truth.get(c)) for c in set(mine) | set(truth) if mine.get(c) != truth.get(c)
            }
            assert not differ, f"{watcher.label}: (view, database) {differ}; events {watcher.events}"
            return
        await asyncio.sleep(0.1)


# -- the scenario ----------------------------------------------------------------


async def run_scaleout(
    db: Any, mongo_uri: str, mode: str, redis: RedisServer | None, local: Callable[[], Any] | None = None
) -> None:
    await create_collection(db, ScaleTrack)
    args = [mongo_uri, db.name, mode] + ([redis.url] if redis is not None else [])
    feed = mode == "feed"
    prefix = f"{mode}-{os.getpid()}-"
    async with AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        instances = await stack.enter_async_context(peers(args, prefix))
        watchers: list[Watcher] = []

        async def close_watchers() -> None:
            for w in watchers:
                await w.close()

        stack.push_async_callback(close_watchers)
        for peer in instances:
            watcher, page = await Watcher.subscribe(peer.ws_url)
            watcher.label = peer.instance
            assert page["objects"] == [] and page["meta"]["since"]
            watchers.append(watcher)
        sources: list[tuple[Peer | None, Source]] = [(p, http_source(session, p)) for p in instances]
        sources.append((None, model_source(db)))
        if feed:
            sources.append((None, pymongo_source(db)))
        writes = Writes(sources, watchers, pace=True, paced=list(watchers))
        known_bugs: list[str] = []

        # 1. all up: every subscriber gets every write of every chain, once, in order
        # (a chain's next write waits until the previous one was delivered)
        codes = [f"a{n:02d}" for n in range(12)]
        lengths = [n % len(STEPS) + 1 for n in range(12)]
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            await writes.chains(codes, lengths)
        phase1 = dict(writes.written)
        await wait_exact(watchers, phase1)
        for watcher in watchers:
            assert_exact(watcher, writes, phase1)
        # what is written outside the room never shows (checked by the exact counts below)
        body = orjson.dumps({"code": "outside", "title": "t", "room": "z"})
        async with session.post(f"{instances[0].url}/api/tracks/", data=body) as response:
            assert response.status == 201
        await ScaleTrack.modify(db, key="outside", data={"room": "w"})
        if feed:  # and a non-tbone delete of a document the subscribers never saw
            await db[ScaleTrack.get_collection_name()].delete_one({"code": "outside"})

        if not feed:
            # 1b. the same chains back to back: each write through another instance as
            # soon as the previous one returned (with the feed, MongoDB's updateLookup
            # makes such events show later states: documented, not checked here)
            writes.pace = False
            codes = [f"c{n:02d}" for n in range(12)]
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await writes.chains(codes, [len(STEPS)] * len(codes))
            writes.pace = True
            race = {code: writes.written[code] for code in codes}
            with suppress(AssertionError):  # what is missing is listed below
                await wait_exact(watchers, race, timeout=5.0)
            wrong = [line for w in watchers for line in not_exact(w, writes, race)]
            if wrong:
                known_bugs.append(
                    "per-document order across instances (a process applies its own change "
                    "before an earlier change of another process arrives through the channel):\n"
                    + "\n".join(wrong)
                )

        # 2. kill -9 one instance mid-stream, restart it under the same name
        victim, index = instances[1], 1
        truth: list[tuple[str, str, str | None]] = []
        follower: asyncio.Task[None] | None = None
        if feed:
            stream = await db[ScaleTrack.get_collection_name()].watch()

            async def follow() -> None:
                async for change in stream:
                    document = change.get("fullDocument") or {}
                    truth.append((token_key(change["_id"]), change["operationType"], document.get("code")))

            follower = asyncio.get_running_loop().create_task(follow())

            async def stop_follower() -> None:
                assert follower is not None
                follower.cancel()
                with suppress(asyncio.CancelledError):
                    await follower
                await stream.close()

            stack.push_async_callback(stop_follower)
        stop = asyncio.Event()
        writes.gap = 0.05  # a steady stream, of fewer documents than the page's limit
        before = dict(writes.written)
        stream_task = asyncio.get_running_loop().create_task(writes.until(stop, "b", parallel=4))
        try:
            await asyncio.sleep(0.4)
            old = watchers[index]
            writes.paced.remove(old)
            # no new write goes to it; the ones in flight complete (a write whose
            # response a crash cuts off may or may not have happened: not this test's
            # subject), then SIGKILL while the others go on writing
            victim.up = False
            await writes.drain(index)
            await victim.kill()
            since = old.since
            await old.close()
            marker_a = marker_b = ""
            if feed:
                marker_a = await marker(db, "marker-a")
            await asyncio.sleep(0.4)  # writes go on through the others meanwhile
            if feed:
                marker_b = await marker(db, "marker-b")
            await victim.start()
            resumed, page = await Watcher.subscribe(victim.ws_url, since=since)
            resumed.label = f"{victim.instance} (resumed)"
            assert page["meta"]["resync"] is True  # a token of the dead process's engine
            assert len(page["objects"]) < 100  # the whole list fits in the page
            watchers[index] = resumed
            await asyncio.sleep(0.5)  # and through the restarted one again
        finally:
            stop.set()
            async with asyncio.timeout(DELIVERY_TIMEOUT):
                await stream_task
        phase2 = {c: n for c, n in writes.written.items() if c not in before}
        assert any(writes.log[(c, s)][0] == index for c in phase2 for s in range(phase2[c])), (
            "the restarted instance took no write"
        )
        survivors = [w for n, w in enumerate(watchers) if n != index]
        await wait_exact(survivors, phase2)
        for n, watcher in enumerate(watchers):
            if n != index:
                assert_exact(watcher, writes, phase2)
        # the resumed client: its page and the events after it are the database's state
        await wait_view(resumed, db, set(writes.written))
        older = older_than_shown(resumed)
        if feed:
            await check_resumed_feed(session, victim, truth, marker_a, marker_b)
            if older:
                # the restarted feed replays, at least once, the changes from its stored
                # token on; those the engine processes after it sent the resync page go
                # out as events, and an insert's record carries the document as inserted
                known_bugs.append(f"events older than the resync page after a feed restart: {older}")
        else:
            assert not older, older

        # 3. (channel) Redis restarted mid-stream
        if redis is not None:
            await redis_restart(session, db, instances, watchers, writes, redis, local)
    if known_bugs:
        # engine bugs (reported), seen only in some runs (races); everything else
        # this test checks held
        pytest.xfail("\n".join(known_bugs))


async def marker(db: Any, code: str) -> str:
    await db[ScaleTrack.get_collection_name()].insert_one({"code": code, "title": "m", "room": "marker"})
    return code


async def check_resumed_feed(
    session: aiohttp.ClientSession,
    victim: Peer,
    truth: list[tuple[str, str, str | None]],
    marker_a: str,
    marker_b: str,
) -> None:
    """The restarted feed delivered every change made while its process was dead:
    every change between the two markers in this process's own change stream."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT
    while True:
        codes = [code for _, _, code in truth]
        if marker_b in codes:
            break
        assert time.monotonic() < deadline, "this process's change stream did not see the markers"
        await asyncio.sleep(0.05)
    first = codes.index(marker_a)
    last = codes.index(marker_b)
    missed_window = [token for token, _, _ in truth[first : last + 1]]
    assert len(missed_window) >= 3  # the markers and writes in between
    while True:
        state = await victim.state(session)
        delivered = {record[0] for record in state["feed_records"]}
        missing = [token for token in missed_window if token not in delivered]
        if not missing or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert not missing, f"{len(missing)} of {len(missed_window)} changes made while down not delivered"


async def redis_restart(
    session: aiohttp.ClientSession,
    db: Any,
    instances: list[Peer],
    watchers: list[Watcher],
    writes: Writes,
    redis: RedisServer,
    local: Callable[[], Any] | None,
) -> None:
    """Inserts go on through every way in while Redis restarts (empty: no
    persistence). Lost, as docs/dispatch.md says: only what was published while
    Redis was down (the publish failed: ``publish_errors``), or was in Redis
    unread when it stopped; the writer's own subscribers still get its writes;
    and the channels read again by themselves."""
    writes.gap = 0.01
    writes.pace = False  # some inserts may be lost here
    stop = asyncio.Event()
    before = set(writes.written)
    task = asyncio.get_running_loop().create_task(writes.until(stop, "r", parallel=3, longest=1))
    try:
        await asyncio.sleep(0.4)
        down_at = time.monotonic()
        await asyncio.to_thread(redis.restart)
        back_at = time.monotonic()
        await asyncio.sleep(1.5)  # the readers reconnect (backoff 0.05-0.2 s)
        after_back = time.monotonic()
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        async with asyncio.timeout(DELIVERY_TIMEOUT):
            await task
    written = {c: n for c, n in writes.written.items() if c not in before}
    # everything written once the channels were back arrives everywhere, once, in order
    late = {c: n for c, n in written.items() if writes.log[(c, 0)][1] > after_back}
    assert len(late) >= 3
    await wait_exact(watchers, late)
    for watcher in watchers:
        assert_exact(watcher, writes, late)
    await asyncio.sleep(0.5)
    # what each subscriber lacks: (subscriber, document) pairs
    missed: dict[str, set[int]] = {}
    for n, watcher in enumerate(watchers):
        for code, length in written.items():
            got = watcher.events.get(code, [])
            if got == expected(length):
                continue
            assert got == [], f"{watcher.label} {code}: {got}"  # one insert: all or nothing
            _, started, ended = writes.log[(code, 0)]
            assert down_at - 0.5 <= ended and started <= back_at + 1.0, (
                f"{watcher.label} lost {code}, written outside the outage",
                started - down_at,
                ended - back_at,
            )
            missed.setdefault(code, set()).add(n)
    # the instance that wrote a change always delivers it (no Redis on the way)
    for code, who in missed.items():
        assert writes.log[(code, 0)][0] not in who, f"the writing instance lost its own {code}"
    states = [await peer.state(session) for peer in instances]
    for peer, state in zip(instances, states, strict=True):
        counters = state["channel"]
        # each channel noticed the restart and that it may have lost what it had not read
        assert counters["restarts"] == 1 and counters["gaps"] == 1, (peer.instance, counters)
    errors = [s["channel"]["publish_errors"] for s in states]
    if local is not None:
        errors.append(local().publish_errors)
    # a failed publish is missed by every instance but the writer's own ...
    by_all = sum(1 for code, who in missed.items() if len(who) == (2 if writes.log[(code, 0)][0] < 3 else 3))
    assert by_all >= sum(errors), (by_all, errors, missed)
    # ... and anything else lost was in Redis, unread, when it stopped (docs/dispatch.md)
    print(
        f"Redis restart: publishes failed {errors} (instances, this process); "
        f"{len(missed)} documents missed somewhere, {by_all} by every other instance; "
        f"{sum(len(w) for w in missed.values())} (subscriber, document) losses; "
        f"{len(written)} documents written"
    )


def is_subsequence(part: list[Event], whole: list[Event]) -> bool:
    items = iter(whole)
    return all(any(x == y for y in items) for x in part)


# -- the tests -------------------------------------------------------------------


async def test_three_instances_on_a_redis_channel(
    db: Any, mongo_uri: str, restartable_redis: RedisServer
) -> None:
    from tbone.dispatch import WebsocketMultiplexer
    from tbone.dispatch.channels.redis import RedisChannel
    from tbone.resources.live import LiveQueries

    from .scaleout_peer import CHANNEL_NAME

    # this process's model-method writes reach the instances: its own engine publishes them
    url = restartable_redis.url
    channel = RedisChannel(name=CHANNEL_NAME, url=url, retry_delay=0.05, max_retry_delay=0.2)
    await channel.wait_ready()
    engine = LiveQueries(WebsocketMultiplexer(channel=channel))
    try:
        await run_scaleout(db, mongo_uri, "channel", restartable_redis, local=lambda: channel)
    finally:
        await engine.close()


async def test_three_instances_on_change_stream_feeds(db: Any, mongo_uri: str) -> None:
    await run_scaleout(db, mongo_uri, "feed", None)
