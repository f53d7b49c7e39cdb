"""MongoChannel: publish/subscribe across processes through a capped collection.

Publishing inserts ``{_id, key, data, at}`` into a capped collection (created
on first use, ``size`` bytes). Each process tails it with a tailable await
cursor and fans every document out to its local subscribers.

Semantics, and why:

- Starts from now: before its first cursor, the tail notes the ids of the
  documents already there (those of the last ``resume_window`` seconds, the
  only ones a cursor could return) and never delivers them. "Now" is the
  moment that snapshot is taken; ``await channel.wait_ready()`` waits for it.
- Resumes after the last seen message: when the cursor dies (killed, timed
  out, server restart, network error) a new one is opened from
  ``last_seen.at - resume_window`` and documents already delivered are skipped
  by ``_id``. Rewinding by a window instead of filtering ``_id > last_id``
  matters with several publishers: ObjectIds from different processes are not
  ordered like inserts, so a strict ``$gt`` could skip a message inserted
  just after the one last seen. Nothing published while the cursor was down
  is lost (as long as the capped collection did not wrap around it, and
  publishers' clocks agree within ``resume_window``) or delivered twice.
- Delivery order is the collection's natural (insertion) order.
- Documents that arrive together (one cursor batch) are fanned out together,
  as ``MemoryChannel`` does with a burst: ``_receive`` queues each event and
  the fan-out runs once the batch is read (at the event loop's next turn), so
  each subscriber gets one write per batch instead of one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from bson import ObjectId
from pymongo import CursorType
from pymongo.errors import CollectionInvalid, PyMongoError

from tbone.dispatch.carriers.base import Carrier
from tbone.dispatch.channels import registry
from tbone.dispatch.channels.fanout import (
    DELIVER_TIMEOUT,
    HIGH_WATER_MARK,
    STALL_TIMEOUT,
    Fanout,
)

__all__ = ["MongoChannel"]

logger = logging.getLogger("tbone.dispatch.mongo")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _now() -> datetime:
    # BSON dates have millisecond precision: truncate so that what we compare
    # locally is exactly what the server stores.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _aware(value: datetime) -> datetime:
    # Clients created without tz_aware=True hand back naive UTC datetimes.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def _maybe_await(value: Any) -> None:
    # pymongo's AsyncCursor.close() is a coroutine; motor's returns a future.
    if inspect.isawaitable(value):
        await value


class MongoChannel:
    """A channel shared by every process using the same database.

    Singleton per (``name``, database name) within a process.

    Parameters:
        name: the channel's name.
        db: a pymongo ``AsyncDatabase`` or a motor ``AsyncIOMotorDatabase``.
        collection: the capped collection's name (default ``"channel.<name>"``).
        size: the capped collection's size in bytes, when this channel creates it.
        resume_window: seconds to rewind when reopening a cursor (see module doc).
        retry_delay: seconds to wait before reopening a cursor after an error.
        high_water_mark, stall_timeout, deliver_timeout: see ``MemoryChannel``.
    """

    name: str
    fanout: Fanout

    def __new__(cls, name: str = "pubsub", *, db: Any, **options: Any) -> Self:
        key = (name, db.name)
        existing = registry.lookup(cls, key)
        if existing is not None:
            return existing
        channel = super().__new__(cls)
        channel._build(name, db, **options)
        registry.register(cls, key, channel)
        return channel

    def __init__(self, name: str = "pubsub", *, db: Any, **options: Any) -> None:
        # Set-up happens once, in ``__new__`` (the instance is shared).
        pass

    def _build(
        self,
        name: str,
        db: Any,
        *,
        collection: str | None = None,
        size: int = 16 * 1024 * 1024,
        resume_window: float = 5.0,
        retry_delay: float = 0.5,
        high_water_mark: int = HIGH_WATER_MARK,
        stall_timeout: float = STALL_TIMEOUT,
        deliver_timeout: float = DELIVER_TIMEOUT,
    ) -> None:
        self.name = name
        self.db = db
        self.collection_name = collection or f"channel.{name}"
        self.size = size
        self.resume_window = timedelta(seconds=resume_window)
        self.retry_delay = retry_delay
        self.fanout = Fanout(
            high_water_mark=high_water_mark,
            stall_timeout=stall_timeout,
            deliver_timeout=deliver_timeout,
        )
        #: How many tail cursors were opened (diagnostics; 1 while nothing failed).
        self.cursors_opened = 0
        self._collection_ready = False
        self._create_lock: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._cursor: Any = None
        self._floor: datetime | None = None
        self._last_at: datetime | None = None
        self._seen: OrderedDict[ObjectId, datetime] = OrderedDict()
        self._ready: asyncio.Event | None = None
        self._pending: list[tuple[str, Any]] = []
        self._flush: asyncio.Handle | None = None

    def __repr__(self) -> str:
        return f"<MongoChannel {self.name!r} on {self.db.name}.{self.collection_name}>"

    @property
    def collection(self) -> Any:
        return self.db[self.collection_name]

    @property
    def cursor_id(self) -> int | None:
        """The server id of the current tail cursor, if one is open."""
        cursor = self._cursor
        return None if cursor is None else int(cursor.cursor_id or 0) or None

    def subscribe(self, event: str, carrier: Carrier) -> None:
        """Subscribe; starts tailing if an event loop is running."""
        self.fanout.subscribe(event, carrier)
        with contextlib.suppress(RuntimeError):
            self.kickoff()

    def unsubscribe(self, event: str, carrier: Carrier) -> None:
        self.fanout.unsubscribe(event, carrier)

    def subscriber_count(self, event: str | None = None) -> int:
        return self.fanout.count(event)

    async def publish(self, key: str, data: Any = None) -> None:
        """Insert the event; every process tailing the channel delivers it."""
        await self.ensure_collection()
        document = {"_id": ObjectId(), "key": key, "data": data, "at": _now()}
        await self.collection.insert_one(document)

    def kickoff(self) -> None:
        """Start tailing from now in the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._ready = asyncio.Event()
        self._create_lock = None
        self._pending, self._flush = [], None  # a flush scheduled in an old loop never runs
        self._task = loop.create_task(self._tail(), name=f"MongoChannel:{self.name}")

    async def wait_ready(self) -> None:
        """Wait until the collection exists and the tail is running (kicking off if needed)."""
        self.kickoff()
        assert self._ready is not None
        await self._ready.wait()

    async def close(self) -> None:
        """Stop tailing, forget every subscriber, free the name."""
        registry.forget(type(self), (self.name, self.db.name), self)
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._flush is not None:
            self._flush.cancel()
        self._pending, self._flush = [], None
        self.fanout.close()

    async def ensure_collection(self) -> None:
        """Create the capped collection if it does not exist yet."""
        if self._collection_ready:
            return
        if self._create_lock is None:
            self._create_lock = asyncio.Lock()
        async with self._create_lock:
            if not self._collection_ready:
                await self._create_collection()

    async def _create_collection(self) -> None:
        try:
            await self.db.create_collection(self.collection_name, capped=True, size=self.size)
        except CollectionInvalid:
            pass  # already there (maybe created by another process)
        else:
            # A sentinel: a tailable cursor on an empty capped collection dies
            # at once on MongoDB; with one document in it, it stays open.
            await self.collection.insert_one({"_id": ObjectId(), "key": None, "at": _EPOCH})
        self._collection_ready = True

    async def _snapshot(self) -> None:
        """Mark what is already in the collection as seen: the tail starts from now."""
        floor = _now() - self.resume_window
        cursor = self.collection.find({"at": {"$gte": floor}}, {"_id": 1, "at": 1})
        async for doc in cursor:
            self._mark_seen(doc["_id"], _aware(doc["at"]))
        self._floor = floor

    def _resume_from(self) -> datetime:
        assert self._floor is not None
        if self._last_at is None:
            return self._floor
        return max(self._floor, self._last_at - self.resume_window)

    async def _tail(self) -> None:
        while True:
            try:
                await self.ensure_collection()
                if self._floor is None:
                    await self._snapshot()
                await self._follow()
            except asyncio.CancelledError:
                raise
            except PyMongoError as exc:
                logger.warning("channel %r: tail cursor failed (%r); reopening", self.name, exc)
                self._collection_ready = False
            await asyncio.sleep(self.retry_delay)

    async def _follow(self) -> None:
        """Open one tail cursor and read it until it dies."""
        query = {"at": {"$gte": self._resume_from()}}
        cursor = self.collection.find(query, cursor_type=CursorType.TAILABLE_AWAIT)
        self._cursor = cursor
        self.cursors_opened += 1
        if self._ready is not None:
            self._ready.set()
        try:
            while cursor.alive:
                started = time.monotonic()
                got = 0
                async for doc in cursor:
                    got += 1
                    self._receive(doc)
                if not got and time.monotonic() - started < 0.05:
                    # The server answered an empty batch at once instead of
                    # awaiting data: do not spin.
                    await asyncio.sleep(0.05)
        finally:
            self._cursor = None
            with contextlib.suppress(PyMongoError):
                await _maybe_await(cursor.close())

    def _receive(self, doc: dict[str, Any]) -> None:
        key = doc.get("key")
        if key is None:
            return  # the sentinel
        oid = doc["_id"]
        if oid in self._seen:
            return
        self._mark_seen(oid, _aware(doc["at"]))
        self._pending.append((key, doc.get("data")))
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_soon(self._fan_out)

    def _fan_out(self) -> None:
        """Hand every event received since the last turn of the loop to the fan-out,
        in order, as one batch (an event that cannot be encoded is logged and skipped)."""
        events, self._pending, self._flush = self._pending, [], None
        self.fanout.publish_batch(events)

    def _mark_seen(self, oid: ObjectId, at: datetime) -> None:
        # Keep the ids a reopened cursor could return again (those within the
        # resume window of the newest seen), and only those.
        self._seen[oid] = at
        if self._last_at is None or at > self._last_at:
            self._last_at = at
        horizon = self._last_at - self.resume_window
        while self._seen:
            first_at = next(iter(self._seen.values()))
            if first_at >= horizon:
                break
            self._seen.popitem(last=False)
