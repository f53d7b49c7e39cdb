"""ChangeStreamFeed on a real server: changes written straight with pymongo become records.

Most tests use the session's SecantusDB (or ``MONGODB_URI``) through the ``db``
fixture, on both drivers; the writes they watch are made by a separate
pymongo client, as another tool would. The tests that need a server of their
own (a standalone one, a tiny oplog, a restart) start a SecantusDB and skip
under ``MONGODB_URI``.

SecantusDB 0.7, checked here: ``fullDocument="updateLookup"`` looks the
document up when the change is read (as mongod: an update read after a later
delete has no document); ``startAfter`` / ``resumeAfter`` resume exactly after
the token, ``startAfter`` also after an invalidate event's token; dropping a
watched collection sends ``drop`` then ``invalidate``; a token older than the
oplog's floor is refused with 286 ChangeStreamHistoryLost (its oplog is pruned
past ``oplog_max_entries`` every 1,000 writes, or at once by the
``secantusAdmin.pruneOplog`` command); a malformed token with 9 FailedToParse;
a server started with ``replica_set_name=None`` answers ``$changeStream``
with 40573, as a standalone mongod does.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from tbone.dispatch.feeds import ChangeStreamFeed, FeedUnavailable

TIMEOUT = 10.0


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Recorder:
    """A feed callback that keeps every record; ``wait_for(n)`` waits until it holds ``n``."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    def __call__(self, change: dict[str, Any]) -> None:
        self.records.append(change)
        self._changed.set()

    async def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.records) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.records

    def brief(self) -> list[tuple[Any, ...]]:
        """(collection, op, pk) of each record; (collection, "resync") for a resync."""
        return [
            (r["collection"], r["op"]) if r["op"] == "resync" else (r["collection"], r["op"], r["pk"])
            for r in self.records
        ]


async def settle(seconds: float = 0.3) -> None:
    """Give a record that should not come the time to arrive."""
    await asyncio.sleep(seconds)


async def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


async def close_client(client: Any) -> None:
    closing = client.close()
    if closing is not None:  # pymongo's close() is a coroutine, motor's is not
        await closing


@pytest.fixture
async def writer(mongo_uri: str, db: Any) -> AsyncIterator[Any]:
    """The test's database through a separate pymongo client: writes tbone knows nothing of."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    try:
        yield client[db.name]
    finally:
        await client.close()


@pytest.fixture
async def feeds() -> AsyncIterator[list[ChangeStreamFeed]]:
    """Feeds a test creates; closed at the end."""
    made: list[ChangeStreamFeed] = []
    try:
        yield made
    finally:
        for feed in made:
            await feed.close()


def new_feed(feeds: list[ChangeStreamFeed], db: Any, **options: Any) -> tuple[ChangeStreamFeed, Recorder]:
    options.setdefault("instance", "app")
    feed = ChangeStreamFeed(db, **options)
    recorder = Recorder()
    feed.connect(recorder)
    feeds.append(feed)
    return feed, recorder


async def watching(feed: ChangeStreamFeed, *collections: str) -> None:
    await feed.start()
    for collection in collections:
        feed.watch(feed.database, collection)
    for collection in collections:
        await asyncio.wait_for(feed.ready(feed.database, collection), TIMEOUT)


# -- records -----------------------------------------------------------------


async def test_writes_straight_to_mongodb_arrive_as_records_in_order(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    feed, got = new_feed(feeds, db)
    await watching(feed, "notes")
    oid = ObjectId()
    when = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)

    await writer.notes.insert_one({"_id": oid, "title": "a", "at": when})
    await got.wait_for(1)
    await writer.notes.update_one({"_id": oid}, {"$set": {"title": "b"}})
    await got.wait_for(2)
    await writer.notes.replace_one({"_id": oid}, {"title": "c"})
    await got.wait_for(3)
    await writer.notes.delete_one({"_id": oid})
    await got.wait_for(4)
    await settle()

    base = {"database": db.name, "collection": "notes", "pk": oid}
    documents = [{"_id": oid, "title": "a", "at": when}, {"_id": oid, "title": "b", "at": when}]
    assert [{k: v for k, v in r.items() if k != "token"} for r in got.records] == [
        {**base, "op": "insert", "document": documents[0]},
        {**base, "op": "update", "document": documents[1]},
        {**base, "op": "update", "document": {"_id": oid, "title": "c"}},  # a replace
        {**base, "op": "delete", "document": None},
    ]
    # native BSON values, as the driver decodes them
    assert isinstance(got.records[0]["document"]["at"], datetime)
    tokens = [r["token"] for r in got.records]
    assert all(t is not None for t in tokens) and len({repr(t) for t in tokens}) == 4


async def test_many_writes_arrive_in_write_order(db: Any, writer: Any, feeds: list[ChangeStreamFeed]) -> None:
    feed, got = new_feed(feeds, db)
    await watching(feed, "notes")
    await writer.notes.insert_many([{"_id": n} for n in range(50)])
    for n in range(50, 100):
        await writer.notes.insert_one({"_id": n})
    await writer.notes.delete_many({"_id": {"$lt": 10}})
    await got.wait_for(110)
    await settle()
    assert got.brief() == [
        *[("notes", "insert", n) for n in range(100)],
        *[("notes", "delete", n) for n in range(10)],
    ]
    assert feed.streams_opened == 1


async def test_two_collections_one_stream_each_and_unwatch_stops_delivery(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    feed, got = new_feed(feeds, db)
    await watching(feed, "a", "b")
    feed.watch(db.name, "a")  # a second watcher of "a": still one stream
    await feed.ready(db.name, "a")
    assert feed.streams_opened == 2
    assert feed.watching() == {(db.name, "a"), (db.name, "b")}

    for n in range(3):
        await writer.a.insert_one({"_id": n})
        await writer.b.insert_one({"_id": n})
        await writer.c.insert_one({"_id": n})  # not watched
    await got.wait_for(6)
    await settle()
    by_collection: dict[str, list[Any]] = {}
    for record in got.records:
        by_collection.setdefault(record["collection"], []).append(record["pk"])
    assert by_collection == {"a": [0, 1, 2], "b": [0, 1, 2]}

    feed.unwatch(db.name, "a")  # one watcher of "a" left
    await writer.a.insert_one({"_id": 3})
    await got.wait_for(7)
    assert got.records[-1]["pk"] == 3

    feed.unwatch(db.name, "a")  # none: the stream stops
    assert feed.watching() == {(db.name, "b")}
    await writer.a.insert_one({"_id": 4})
    await writer.b.insert_one({"_id": 4})
    await got.wait_for(8)
    await settle()
    assert got.brief()[7:] == [("b", "insert", 4)]
    assert feed.streams_opened == 2


async def test_watching_again_resumes_where_the_stream_stopped(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    feed, got = new_feed(feeds, db)
    await watching(feed, "notes")
    await writer.notes.insert_one({"_id": 1})
    await got.wait_for(1)
    feed.unwatch(db.name, "notes")
    await writer.notes.insert_one({"_id": 2})  # while not watched
    await settle()
    assert len(got.records) == 1
    feed.watch(db.name, "notes")
    await writer.notes.insert_one({"_id": 3})
    await got.wait_for(3)
    await settle()
    assert got.brief() == [("notes", "insert", n) for n in (1, 2, 3)]


async def test_a_callback_may_unwatch_mid_batch(db: Any, writer: Any, feeds: list[ChangeStreamFeed]) -> None:
    feed, got = new_feed(feeds, db)

    def stop_at_first(change: dict[str, Any]) -> None:
        feed.unwatch(db.name, "notes")

    feed.connect(stop_at_first)
    await watching(feed, "notes")
    await writer.notes.insert_many([{"_id": n} for n in range(20)])  # arrive as one batch
    await got.wait_for(1)
    await settle()
    assert got.brief() == [("notes", "insert", 0)]


async def test_a_failing_callback_does_not_stop_the_others(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    feed, got = new_feed(feeds, db)

    def broken(change: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    feed.connect(broken)
    feed.connect(got)  # connected once however often
    await watching(feed, "notes")
    await writer.notes.insert_one({"_id": 1})
    await writer.notes.insert_one({"_id": 2})
    await got.wait_for(2)
    await settle()
    assert got.brief() == [("notes", "insert", 1), ("notes", "insert", 2)]
    feed.disconnect(got)
    await writer.notes.insert_one({"_id": 3})
    await settle()
    assert len(got.records) == 2


async def test_only_the_feeds_database_is_watched(db: Any, feeds: list[ChangeStreamFeed]) -> None:
    feed, _ = new_feed(feeds, db)
    with pytest.raises(ValueError, match="watches database"):
        feed.watch("another_db", "notes")
    with pytest.raises(LookupError):
        await feed.ready(db.name, "notes")
    with pytest.raises(ValueError):
        ChangeStreamFeed(db, instance="a:b")


# -- resume tokens -------------------------------------------------------------


async def test_a_recreated_feed_resumes_with_exactly_the_changes_made_while_it_was_down(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    first, got = new_feed(feeds, db, instance="web-1")
    await watching(first, "notes")
    for n in range(5):
        await writer.notes.insert_one({"_id": n, "v": 0})
    await got.wait_for(5)
    await first.close()  # stores the last token
    stored = await writer.tbone_feed_tokens.find_one({"_id": f"web-1:{db.name}.notes"})
    assert stored is not None and stored["token"] is not None

    # while no feed runs
    for n in range(5, 10):
        await writer.notes.insert_one({"_id": n, "v": 0})
    await writer.notes.update_one({"_id": 1}, {"$set": {"v": 1}})
    await writer.notes.update_one({"_id": 2}, {"$set": {"v": 1}})
    await writer.notes.delete_one({"_id": 2})  # so the update of 2 finds no document

    second, again = new_feed(feeds, db, instance="web-1")
    other, fresh = new_feed(feeds, db, instance="web-2")  # no token stored: from now
    await watching(second, "notes")
    await watching(other, "notes")
    await again.wait_for(8)
    await writer.notes.insert_one({"_id": 10})
    await again.wait_for(9)
    await fresh.wait_for(1)
    await settle()
    assert again.brief() == [
        *[("notes", "insert", n) for n in range(5, 10)],
        ("notes", "update", 1),
        ("notes", "delete", 2),  # an update whose lookup found nothing: deleted since
        ("notes", "delete", 2),
        ("notes", "insert", 10),
    ]
    assert again.records[5]["document"] == {"_id": 1, "v": 1}
    assert fresh.brief() == [("notes", "insert", 10)]
    assert second.resyncs == 0


async def test_after_a_crash_the_changes_after_the_last_stored_token_are_delivered_again(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed], monkeypatch: pytest.MonkeyPatch
) -> None:
    key = f"crash:{db.name}.notes"
    first, got = new_feed(
        feeds, db, instance="crash", store_every=5, store_interval=60, idle_store_interval=60
    )
    await watching(first, "notes")
    for n in range(13):
        await writer.notes.insert_one({"_id": n})
    await got.wait_for(13)
    await wait_until(lambda: first._streams[key].stored is not None)  # stored after 5 records
    await asyncio.sleep(0.3)

    # A crash: the stream stops and nothing more is stored.
    async def lost(*args: Any, **kwargs: Any) -> None:
        pass

    monkeypatch.setattr(first, "_store", lost)
    await first.close()
    stored = await writer.tbone_feed_tokens.find_one({"_id": key})
    assert stored is not None
    seen = [r["token"] for r in got.records]
    for n in range(13, 20):
        await writer.notes.insert_one({"_id": n})

    second, again = new_feed(feeds, db, instance="crash")
    await watching(second, "notes")
    await wait_until(lambda: bool(again.records) and again.records[-1]["pk"] == 19)
    await settle()
    pks = [r["pk"] for r in again.records]
    start = pks[0]
    # at least once: everything from just after the stored token, in order, none missed
    assert pks == list(range(start, 20))
    assert 0 < start <= 13
    if stored["token"] in seen:  # the stored token is a record's (always on SecantusDB)
        assert start == seen.index(stored["token"]) + 1
    assert all(r["op"] == "insert" for r in again.records)


async def test_tokens_are_stored_every_n_records_or_after_the_interval(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    key = f"app:{db.name}.notes"
    feed, got = new_feed(feeds, db, store_every=3, store_interval=0.3, idle_store_interval=60)
    await watching(feed, "notes")
    stream = feed._streams[key]
    await wait_until(lambda: stream.stored is not None)  # the start point, stored at once
    for n in range(3):
        await writer.notes.insert_one({"_id": n})
    await got.wait_for(3)
    await wait_until(lambda: stream.pending == 0, timeout=0.2)  # N records: stored now
    await writer.notes.insert_one({"_id": 3})
    await got.wait_for(4)
    await asyncio.sleep(0.1)
    assert stream.pending == 1  # one record: not yet ...
    await wait_until(lambda: stream.pending == 0, timeout=2)  # ... after the interval
    stored = await writer.tbone_feed_tokens.find_one({"_id": key})
    assert stored is not None and stored["token"] == stream.stored


# -- resync ------------------------------------------------------------------


@pytest.mark.parametrize("token", [{"_data": "zz-not-a-token"}, {"_data": "aa"}, "not a document"])
async def test_an_unusable_stored_token_resyncs_once_then_continues(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed], token: Any
) -> None:
    key = f"app:{db.name}.notes"
    await writer.tbone_feed_tokens.insert_one({"_id": key, "token": token})
    feed, got = new_feed(feeds, db)
    await watching(feed, "notes")
    await got.wait_for(1)
    await writer.notes.insert_one({"_id": 1})
    await got.wait_for(2)
    await settle()
    assert got.records[0] == {"database": db.name, "collection": "notes", "op": "resync"}
    assert got.brief() == [("notes", "resync"), ("notes", "insert", 1)]
    assert feed.resyncs == 1
    await feed.flush()
    stored = await writer.tbone_feed_tokens.find_one({"_id": key})
    assert stored is not None and stored["token"] == got.records[1]["token"]


async def test_dropping_a_watched_collection_resyncs_and_the_stream_goes_on(
    db: Any, writer: Any, feeds: list[ChangeStreamFeed]
) -> None:
    feed, got = new_feed(feeds, db)
    await watching(feed, "notes")
    await writer.notes.insert_one({"_id": 1})
    await got.wait_for(1)
    await writer.notes.drop()  # drop, then invalidate
    await got.wait_for(2)
    await writer.notes.insert_one({"_id": 2})  # into a new collection of the same name
    await got.wait_for(3)
    await settle()
    assert got.brief() == [("notes", "insert", 1), ("notes", "resync"), ("notes", "insert", 2)]
    assert feed.resyncs == 1


# -- servers of their own --------------------------------------------------------

own_server = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")), reason="starts its own SecantusDB server"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A SecantusDB on 127.0.0.1 that can be stopped and started again (same port and data)."""

    def __init__(self, storage: Path, **options: Any) -> None:
        self.storage = storage
        self.options = options
        self.port = _free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self._server: Any = None

    async def start(self) -> None:
        from secantus import SecantusDBServer

        server = SecantusDBServer(
            host="127.0.0.1", port=self.port, storage_path=str(self.storage), **self.options
        )
        await asyncio.to_thread(server.start)
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            await asyncio.to_thread(server.stop)  # joins threads: keep the loop running


@asynccontextmanager
async def running(tmp_path: Path, **options: Any) -> AsyncIterator[Server]:
    storage = tmp_path / f"data-{uuid.uuid4().hex[:6]}"
    storage.mkdir()
    server = Server(storage, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def database(server: Server, driver: str, **options: Any) -> AsyncIterator[Any]:
    client = _client(server.uri, driver, **options)
    try:
        yield client["feeds"]
    finally:
        await close_client(client)


def _client(uri: str, driver: str, **options: Any) -> Any:
    """``tbone.testing.make_client``, with client options."""
    if driver == "motor":
        from motor.motor_asyncio import AsyncIOMotorClient

        return AsyncIOMotorClient(uri, tz_aware=True, **options)
    return AsyncMongoClient(uri, tz_aware=True, **options)


@own_server
async def test_a_standalone_server_is_refused_at_start_up_naming_the_alternative(
    tmp_path: Path, driver: str
) -> None:
    async with running(tmp_path, replica_set_name=None) as server, database(server, driver) as db:
        feed = ChangeStreamFeed(db)
        with pytest.raises(FeedUnavailable, match="replica set") as refused:
            await feed.start()
        assert isinstance(refused.value, RuntimeError)
        assert "MongoChannel" in str(refused.value) and "RedisChannel" in str(refused.value)
        # a stream started without start() stops and says so too
        feed.watch(db.name, "notes")
        with pytest.raises(FeedUnavailable):
            await asyncio.wait_for(feed.ready(db.name, "notes"), TIMEOUT)
        await feed.close()


@own_server
async def test_a_token_out_of_the_oplog_window_resyncs_once_then_continues(
    tmp_path: Path, driver: str
) -> None:
    async with (
        running(tmp_path, oplog_max_entries=20) as server,
        database(server, driver) as db,
        database(server, "pymongo") as writer,
    ):
        first = ChangeStreamFeed(db, instance="w")
        got = Recorder()
        first.connect(got)
        await watching(first, "notes")
        await writer.notes.insert_one({"_id": 0})
        await got.wait_for(1)
        await first.close()

        for n in range(1, 60):  # while down: the oplog moves on past the stored token
            await writer.other.insert_one({"_id": n})
        pruned = await writer.client.admin.command("secantusAdmin.pruneOplog")
        assert pruned["pruned"] > 0

        second = ChangeStreamFeed(db, instance="w")
        again = Recorder()
        second.connect(again)
        try:
            await watching(second, "notes")
            await again.wait_for(1)
            await writer.notes.insert_one({"_id": 1})
            await again.wait_for(2)
            await settle()
            assert again.brief() == [("notes", "resync"), ("notes", "insert", 1)]
            assert second.resyncs == 1
        finally:
            await second.close()


@own_server
async def test_the_stream_comes_back_by_itself_after_a_server_restart(tmp_path: Path, driver: str) -> None:
    async with running(tmp_path) as server:
        # short timeouts: while the server is down each attempt fails fast
        fast = {"serverSelectionTimeoutMS": 300, "connectTimeoutMS": 300}
        async with database(server, driver, **fast) as db, database(server, "pymongo", **fast) as writer:
            feed = ChangeStreamFeed(db, instance="r", retry_delay=0.05, max_retry_delay=0.5)
            got = Recorder()
            feed.connect(got)
            try:
                await watching(feed, "notes")
                for n in range(10):
                    await writer.notes.insert_one({"_id": n})
                await got.wait_for(10)
                opened = feed.streams_opened

                await server.stop()
                await asyncio.sleep(1.0)  # the stream fails and retries meanwhile
                await server.start()

                for n in range(10, 20):
                    await writer.notes.insert_one({"_id": n})
                await got.wait_for(20, timeout=20)
                await settle(0.5)
                assert feed.streams_opened > opened  # it did reopen
                # resumed from the last record: nothing lost, nothing twice, in order
                assert got.brief() == [("notes", "insert", n) for n in range(20)]
                assert feed.resyncs == 0
            finally:
                await feed.close()
