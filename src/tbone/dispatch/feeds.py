"""ChangeStreamFeed: MongoDB change streams turned into change records.

A feed watches collections of one database with MongoDB change streams, one
stream per watched collection per feed (``fullDocument="updateLookup"``), and
hands every insert, update, replace and delete to its callbacks as a plain
dict, whoever made the write: this process, another one, a migration script,
``mongosh``. The live-query engine uses it instead of a channel when writes
made outside tbone must count (SPEC §11).

Records (``callback(change)`` is called in the event loop and must not block)::

    {"database": "app", "collection": "notes", "op": "insert" | "update" | "delete",
     "pk": <_id>, "document": <full document after the write> | None, "token": <resume token>}
    {"database": "app", "collection": "notes", "op": "resync"}

- ``replace`` is reported as ``update``; an ``update`` whose post-image lookup
  finds nothing (the document was deleted since) as ``delete``. ``document``
  is the document as the server had it when the change was read (MongoDB's
  ``updateLookup``), which may already include later writes: consumers
  compare revisions and drop older ones.
- Per collection, records arrive in the server's (oplog) order.
- ``resync``: the stream could not resume where it stopped (the token fell
  out of the oplog window, the server rejected it, or the collection was
  dropped or renamed: an ``invalidate`` event). Changes may have been missed;
  the consumer re-reads what it shows. It is sent once per loss, after the
  new stream is open, so a re-read made on receiving it misses nothing.

Resume tokens are stored in the database (``tokens_collection``, default
``tbone_feed_tokens``), one document per (instance, collection):
``{_id: "<instance>:<db>.<collection>", token, at}``. ``watch`` resumes from
the stored token (``start_after=``), so a process restarted with the same
``instance`` name gets exactly the changes made while it was down. The token
is written once ``store_every`` records (100) have arrived since the last
write, or ``store_interval`` seconds (0.5) after the first of them, and on
``unwatch`` and ``close``. Delivery is at least once: after a crash, the
records after the last stored token (at most ``store_every`` records or
``store_interval`` seconds of them) are delivered again; after a clean
``close`` nothing is. On a quiet collection the token still advances with
the server's post-batch token, stored every ``idle_store_interval`` seconds
(60), so that it stays inside the oplog window.

Each process needs its own ``instance`` name (two processes sharing one would
resume from each other's position).

Errors: network errors and server restarts are retried with backoff
(``retry_delay`` doubling up to ``max_retry_delay``), resuming from the last
record delivered, so nothing is lost or repeated. On a standalone ``mongod``
change streams do not exist: ``start()`` raises ``FeedUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import OperationFailure, PyMongoError

__all__ = ["ChangeCallback", "ChangeStreamFeed", "FeedUnavailable"]

logger = logging.getLogger("tbone.dispatch.feeds")

#: ``callback(change)``: called in the event loop for every record; must not block.
ChangeCallback = Callable[[dict[str, Any]], None]

#: "The $changeStream stage is only supported on replica sets" (IllegalOperation).
_STANDALONE = 40573
#: The stream cannot continue from its token: ChangeStreamHistoryLost,
#: ChangeStreamFatalError, InvalidResumeToken.
_LOST = frozenset({286, 280, 260})
#: ... and, only when opening from a token, FailedToParse: a token the server
#: cannot read (mongod and SecantusDB answer a malformed ``_data`` with it).
_LOST_AT_OPEN = _LOST | {9}

_OPS = {"insert": "insert", "update": "update", "replace": "update", "delete": "delete"}

_UNAVAILABLE_MESSAGE = (
    "MongoDB change streams are not available on this server ({reason}): they need a "
    "replica set (a single-node replica set will do) or a sharded cluster, and a "
    "standalone mongod has none. Start mongod with --replSet and run rs.initiate(), or "
    "carry changes between processes with a channel instead of a feed: "
    "tbone.dispatch.channels.MongoChannel or RedisChannel."
)


class FeedUnavailable(RuntimeError):
    """Change streams are not available on this server (a standalone mongod)."""


def _code(exc: BaseException) -> int | None:
    return exc.code if isinstance(exc, OperationFailure) else None


def _unavailable(exc: OperationFailure) -> FeedUnavailable:
    errmsg = (exc.details or {}).get("errmsg") or str(exc)
    return FeedUnavailable(_UNAVAILABLE_MESSAGE.format(reason=f"error {exc.code}: {errmsg}"))


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class _Stream:
    """One watched collection: its refcount, task, and resume tokens."""

    __slots__ = (
        "collection",
        "fatal",
        "key",
        "last_stored",
        "loaded",
        "opened",
        "pending",
        "refs",
        "stored",
        "task",
        "token",
        "urgent",
    )

    def __init__(self, key: str, collection: str) -> None:
        self.key = key
        self.collection = collection
        self.refs = 0
        self.task: asyncio.Task[None] | None = None
        #: Where the stream is: the token to resume from (None: from now).
        self.token: Any = None
        #: The token last written to the database (``loaded``: read from it).
        self.stored: Any = None
        self.loaded = False
        #: Records delivered since the last write, and when the first of them came.
        self.pending = 0
        self.urgent: float | None = None
        self.last_stored = time.monotonic()
        self.opened: asyncio.Event | None = None
        self.fatal: BaseException | None = None


class ChangeStreamFeed:
    """Change records of the watched collections of ``db``, from MongoDB change streams.

    Parameters:
        db: a pymongo ``AsyncDatabase`` or a motor ``AsyncIOMotorDatabase``; only
            collections of this database are watched.
        instance: this process's name in the token store (one per process).
        tokens_collection: where resume tokens are stored, in ``db``.
        store_every: write a stream's token once this many records arrived since
            the last write ...
        store_interval: ... or this many seconds after the first of them.
        idle_store_interval: seconds between writes of a token that only moved
            with the server's post-batch token (no record).
        retry_delay, max_retry_delay: backoff between attempts after an error.
        max_await_time_ms: how long one ``getMore`` waits for changes.
        close_timeout: seconds ``close()`` may spend writing the last tokens.
    """

    def __init__(
        self,
        db: Any,
        *,
        instance: str = "default",
        tokens_collection: str = "tbone_feed_tokens",
        store_every: int = 100,
        store_interval: float = 0.5,
        idle_store_interval: float = 60.0,
        retry_delay: float = 0.1,
        max_retry_delay: float = 5.0,
        max_await_time_ms: int = 500,
        close_timeout: float = 5.0,
    ) -> None:
        if ":" in instance:
            raise ValueError(f"instance name {instance!r} must not contain ':'")
        self.db = db
        self.database: str = db.name
        self.instance = instance
        self.tokens_collection = tokens_collection
        self.store_every = max(1, store_every)
        self.store_interval = store_interval
        self.idle_store_interval = idle_store_interval
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.max_await_time_ms = max_await_time_ms
        self.close_timeout = close_timeout
        #: How many change streams were opened (diagnostics).
        self.streams_opened = 0
        #: How many resyncs were sent (diagnostics).
        self.resyncs = 0
        self._callbacks: list[ChangeCallback] = []
        self._streams: dict[str, _Stream] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._store_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"<ChangeStreamFeed {self.instance!r} on {self.database}>"

    # -- consumers ---------------------------------------------------------

    def connect(self, callback: ChangeCallback) -> None:
        """Call ``callback(change)`` for every record (once, however often connected)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: ChangeCallback) -> None:
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    # -- watching ----------------------------------------------------------

    def watch(self, database: str, collection: str) -> None:
        """Watch ``database.collection`` (refcounted: one stream however often watched).

        The stream starts at once when an event loop is running, else at
        ``start()``. It resumes from the stored token of this instance, if
        any, else it starts from now; ``await ready(...)`` waits until it is open.
        """
        stream = self._stream(database, collection)
        stream.refs += 1
        if stream.refs == 1:
            with contextlib.suppress(RuntimeError):  # no running loop: at start()
                self._launch(stream)

    def unwatch(self, database: str, collection: str) -> None:
        """Undo one ``watch``; the last one stops the stream and stores its token."""
        stream = self._streams.get(self._key(database, collection))
        if stream is None or stream.refs == 0:
            return
        stream.refs -= 1
        if stream.refs == 0:
            self._stop(stream)
            stream.urgent = time.monotonic()
            if self._wake is not None:
                self._wake.set()

    def watching(self) -> set[tuple[str, str]]:
        """The (database, collection) pairs watched now."""
        return {(self.database, s.collection) for s in self._streams.values() if s.refs}

    async def ready(self, database: str, collection: str) -> None:
        """Wait until the stream of a watched collection is open (its start point is fixed).

        Raises ``FeedUnavailable`` if change streams are not available.
        """
        stream = self._streams.get(self._key(database, collection))
        if stream is None or not stream.refs:
            raise LookupError(f"{database}.{collection} is not watched")
        self._launch(stream)
        assert stream.opened is not None
        await stream.opened.wait()
        if stream.fatal is not None:
            raise stream.fatal

    # -- life cycle --------------------------------------------------------

    async def start(self) -> None:
        """Check that change streams are available, and start the watched streams.

        Raises ``FeedUnavailable`` on a standalone mongod (and the driver's
        error if the server cannot be reached).
        """
        await self.check_available()
        for stream in self._streams.values():
            if stream.refs:
                self._launch(stream)

    async def check_available(self) -> None:
        """Open (and close) a change stream on the tokens collection."""
        try:
            reply = await self.db.command(
                "aggregate",
                self.tokens_collection,
                pipeline=[{"$changeStream": {}}],
                cursor={},
            )
        except OperationFailure as exc:
            if exc.code == _STANDALONE or "only supported on replica sets" in str(exc):
                raise _unavailable(exc) from exc
            raise
        cursor_id = reply.get("cursor", {}).get("id")
        if cursor_id:
            with contextlib.suppress(PyMongoError):
                await self.db.command("killCursors", self.tokens_collection, cursors=[cursor_id])

    async def flush(self) -> None:
        """Write every token that moved since it was last stored."""
        await self._store(list(self._streams.values()), force=True)

    async def close(self) -> None:
        """Stop every stream and store the last tokens (within ``close_timeout``)."""
        tasks = []
        for stream in self._streams.values():
            stream.refs = 0
            if stream.task is not None:
                tasks.append(stream.task)
            self._stop(stream)
        flusher, self._flusher, self._wake = self._flusher, None, None
        if flusher is not None:
            flusher.cancel()
            tasks.append(flusher)
        running = asyncio.get_running_loop()
        for task in tasks:
            if task.get_loop() is running:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        try:
            async with asyncio.timeout(self.close_timeout):
                await self.flush()
        except (TimeoutError, PyMongoError) as exc:
            logger.warning("feed %r: could not store the last resume tokens (%r)", self.instance, exc)

    # -- internals ---------------------------------------------------------

    def _key(self, database: str, collection: str) -> str:
        return f"{self.instance}:{database}.{collection}"

    def _stream(self, database: str, collection: str) -> _Stream:
        if database != self.database:
            raise ValueError(f"this feed watches database {self.database!r}, not {database!r}")
        key = self._key(database, collection)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(key, collection)
        return stream

    def _launch(self, stream: _Stream) -> None:
        """Start the stream's task and the token flusher in the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        task = stream.task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        if stream.fatal is not None and task is not None and task.get_loop() is loop:
            return  # change streams are unavailable: do not retry
        if stream.opened is None or task is None or task.get_loop() is not loop:
            stream.opened = asyncio.Event()
        stream.fatal = None
        stream.task = loop.create_task(self._run(stream), name=f"ChangeStreamFeed:{stream.key}")
        flusher = self._flusher
        if flusher is None or flusher.done() or flusher.get_loop() is not loop:
            self._wake = asyncio.Event()
            self._store_lock = None
            self._flusher = loop.create_task(self._flush_loop(), name=f"ChangeStreamFeed:{self.instance}")

    def _stop(self, stream: _Stream) -> None:
        task, stream.task = stream.task, None
        if task is not None and not task.done():
            task.cancel()

    async def _load(self, stream: _Stream) -> None:
        doc = await self.db[self.tokens_collection].find_one({"_id": stream.key})
        token = doc.get("token") if doc else None
        if stream.token is None:
            stream.token = token
        stream.stored = token
        stream.loaded = True

    async def _open(self, stream: _Stream, token: Any) -> Any:
        options: dict[str, Any] = {
            "full_document": "updateLookup",
            "max_await_time_ms": self.max_await_time_ms,
        }
        if token is not None:
            # start_after, not resume_after: it also accepts an invalidate
            # event's token (the point just after a drop or rename).
            options["start_after"] = token
        change_stream = await _maybe_await(self.db[stream.collection].watch(**options))
        # motor opens the stream lazily; entering it opens it now (pymongo's is open).
        change_stream = await change_stream.__aenter__()
        self.streams_opened += 1
        return change_stream

    async def _run(self, stream: _Stream) -> None:
        delay = self.retry_delay
        owed_resync = False
        while True:
            change_stream: Any = None
            try:
                if not stream.loaded:
                    await self._load(stream)
                    if stream.token is not None and not isinstance(stream.token, Mapping):
                        logger.warning(
                            "feed %r: stored token of %s is not a resume token (%r); starting from now",
                            self.instance,
                            stream.key,
                            stream.token,
                        )
                        stream.token, owed_resync = None, True
                try:
                    change_stream = await self._open(stream, stream.token)
                except OperationFailure as exc:
                    if stream.token is None or exc.code not in _LOST_AT_OPEN:
                        raise
                    logger.warning(
                        "feed %r: cannot resume %s from its token (%s); restarting from now",
                        self.instance,
                        stream.key,
                        exc,
                    )
                    stream.token, owed_resync = None, True
                    change_stream = await self._open(stream, None)
                if stream.token is None:
                    # From now: where "now" is, so that a restart resumes from here.
                    stream.token = change_stream.resume_token
                    stream.urgent = stream.urgent or time.monotonic()
                assert stream.opened is not None
                stream.opened.set()
                if owed_resync:
                    owed_resync = False
                    self._resync(stream)
                delay = self.retry_delay
                if await self._follow(stream, change_stream):
                    owed_resync = True  # invalidated: reopen after it, then resync
                    continue
                await asyncio.sleep(self.retry_delay)  # the server closed the stream
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                code = _code(exc)
                if code == _STANDALONE:
                    assert isinstance(exc, OperationFailure)
                    stream.fatal = _unavailable(exc)
                    logger.error("feed %r: %s", self.instance, stream.fatal)
                    assert stream.opened is not None
                    stream.opened.set()
                    return
                if code in _LOST:
                    logger.warning(
                        "feed %r: change stream of %s lost its history (%s); restarting from now",
                        self.instance,
                        stream.key,
                        exc,
                    )
                    stream.token, owed_resync = None, True
                    await asyncio.sleep(self.retry_delay)
                    continue
                logger.warning(
                    "feed %r: change stream of %s failed (%r); retrying in %.2fs",
                    self.instance,
                    stream.key,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_retry_delay)
            finally:
                if change_stream is not None:
                    with contextlib.suppress(PyMongoError):
                        await change_stream.close()

    async def _follow(self, stream: _Stream, change_stream: Any) -> bool:
        """Deliver the stream's changes until it ends; True if it was invalidated."""
        while True:
            started = time.monotonic()
            change = await change_stream.try_next()
            if change is None:
                if not change_stream.alive:
                    return False
                token = change_stream.resume_token
                if token is not None:
                    stream.token = token  # the post-batch token: no record, stored lazily
                if time.monotonic() - started < 0.01:
                    # The server answered an empty batch at once instead of
                    # awaiting changes: do not spin.
                    await asyncio.sleep(0.05)
                continue
            operation = change.get("operationType")
            if operation == "invalidate":
                stream.token = change["_id"]
                return True
            op = _OPS.get(str(operation))
            if stream.task is not asyncio.current_task():
                # unwatched (by a callback) while a batch was being delivered
                raise asyncio.CancelledError
            if op is not None:
                document = change.get("fullDocument")
                if op == "update" and document is None:
                    op = "delete"  # deleted before the lookup
                record = {
                    "database": self.database,
                    "collection": stream.collection,
                    "op": op,
                    "pk": change.get("documentKey", {}).get("_id"),
                    "document": None if op == "delete" else document,
                    "token": change["_id"],
                }
                self._emit(record)
            # drop, rename, dropDatabase (an invalidate follows) and DDL events: no record
            token = change_stream.resume_token
            stream.token = token if token is not None else change["_id"]
            stream.pending += 1
            if stream.urgent is None:
                stream.urgent = time.monotonic()
            if stream.pending >= self.store_every and self._wake is not None:
                self._wake.set()

    def _resync(self, stream: _Stream) -> None:
        self.resyncs += 1
        self._emit({"database": self.database, "collection": stream.collection, "op": "resync"})

    def _emit(self, record: dict[str, Any]) -> None:
        for callback in list(self._callbacks):
            try:
                callback(record)
            except Exception:
                logger.exception("feed %r: callback %r failed", self.instance, callback)

    # -- token store -------------------------------------------------------

    def _due(self, stream: _Stream, now: float, force: bool) -> bool:
        if stream.token is None or stream.token == stream.stored:
            return False
        if force or stream.pending >= self.store_every:
            return True
        if stream.urgent is not None and now - stream.urgent >= self.store_interval:
            return True
        return now - stream.last_stored >= self.idle_store_interval

    async def _store(self, streams: list[_Stream], *, force: bool = False) -> None:
        if self._store_lock is None:
            self._store_lock = asyncio.Lock()
        async with self._store_lock:  # one writer: a token never goes back
            tokens = self.db[self.tokens_collection]
            for stream in streams:
                now = time.monotonic()
                if not self._due(stream, now, force):
                    continue
                token, pending = stream.token, stream.pending
                await tokens.update_one(
                    {"_id": stream.key},
                    {"$set": {"token": token, "at": datetime.now(UTC)}},
                    upsert=True,
                )
                stream.stored, stream.last_stored = token, now
                stream.pending -= pending
                stream.urgent = time.monotonic() if stream.pending else None

    async def _flush_loop(self) -> None:
        wake = self._wake
        assert wake is not None
        tick = min(self.store_interval, self.idle_store_interval) / 2 or 0.05
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(tick):
                    await wake.wait()
            wake.clear()
            try:
                await self._store(list(self._streams.values()))
            except PyMongoError as exc:
                logger.warning("feed %r: could not store resume tokens (%r)", self.instance, exc)
                await asyncio.sleep(self.retry_delay)
