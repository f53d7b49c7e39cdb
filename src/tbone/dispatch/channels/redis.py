"""RedisChannel: publish/subscribe across processes through a Redis stream.

Needs redis-py (``pip install tbone[redis]``). Publishing appends
``{k: key, d: JSON of data}`` to the stream ``tbone:channel:<name>``
(``XADD ... MAXLEN ~ maxlen``); each process reads it with a blocking
``XREAD`` from the last id it has seen and fans every entry out to its own
subscribers. The data is JSON-encoded once per publish, decoded once per
reading process, and each event encoded once for all of that process's
subscribers (``Fanout``).

Why a stream and not Redis pub/sub: pub/sub forgets what was published while
a subscriber's connection was down; a stream keeps the last ``maxlen``
entries, so a reader that reconnects resumes exactly after the last entry it
read. What this guarantees:

- Order: every process delivers the entries in the stream's order (one total
  order across all publishers), each once.
- Starts from now: a new channel delivers what is published after its first
  connection (``await channel.wait_ready()``), not the stream's history.
- The connection drops while Redis stays up (network, ``CLIENT KILL``, a
  failover proxy): the reader reconnects with backoff and resumes after the
  last entry it read: nothing lost or repeated, unless it fell more than
  ``maxlen`` entries behind (the older ones were trimmed; a warning says so).
- Redis restarts. Without persistence (``--save '' --appendonly no``) its
  stream is gone: events published before the restart that this channel had
  not yet read are lost (normally few or none: a reader keeps up within
  milliseconds). Events published after Redis is back are all delivered, also
  those published before this channel reconnected. With persistence, what
  Redis kept is resumed after the last entry read. Publishes attempted while
  Redis is down fail (``PublishError``); they never enter the channel.
- One warning when the reader loses Redis, and one line when it is back
  saying what was resumed or lost (INFO when nothing was lost, else WARNING);
  never a line per retry.

``publish`` waits for Redis at most ``publish_timeout`` seconds (1 s); when
Redis is down, slow or unreachable it raises ``PublishError`` (and counts it
in ``publish_errors``, logging one warning per run of failures), so that the
caller knows its event was not sent.

The URL is ``url=``, else the environment variable ``TBONE_REDIS_URL``, else
``redis://localhost:6379/0``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import re
import time
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import orjson
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.typing import EncodableT, FieldT

from tbone.dispatch.carriers.base import Carrier
from tbone.dispatch.channels import registry
from tbone.dispatch.channels.fanout import (
    DELIVER_TIMEOUT,
    HIGH_WATER_MARK,
    STALL_TIMEOUT,
    Fanout,
)

__all__ = ["DEFAULT_URL", "URL_ENV", "PublishError", "RedisChannel", "resolve_url"]

logger = logging.getLogger("tbone.dispatch.redis")

#: The environment variable a ``RedisChannel`` built without ``url=`` reads.
URL_ENV = "TBONE_REDIS_URL"
#: The URL used when neither ``url=`` nor ``TBONE_REDIS_URL`` gives one.
DEFAULT_URL = "redis://localhost:6379/0"
#: Seconds a blocked ``XREAD`` may overrun ``block`` before the reader gives
#: up on the connection (a hung server).
READ_MARGIN = 2.0
#: Seconds the reader waits for a connection to be set up.
CONNECT_TIMEOUT = 2.0

_CONNECTION_ERRORS = (RedisError, OSError, TimeoutError)
#: What may not appear in a connection's name (``CLIENT SETNAME``).
_UNSAFE = re.compile(r"[^\w.:-]")


class PublishError(Exception):
    """An event could not be added to Redis within ``publish_timeout``: it was not sent."""


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$TBONE_REDIS_URL``, else ``redis://localhost:6379/0``."""
    return url or os.environ.get(URL_ENV) or DEFAULT_URL


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _id(entry_id: bytes | str) -> tuple[int, int]:
    raw = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = raw.partition("-")
    return int(ms), int(seq or 0)


class RedisChannel:
    """A channel shared by every process using the same Redis (and stream).

    ``RedisChannel(name=n, url=u)`` is a singleton per (``n``, URL) within a
    process. ``db`` is accepted and ignored, so that resources can build any
    channel as ``Meta.channel_class(name="pubsub", db=db)``; such a channel
    takes its URL from ``TBONE_REDIS_URL``.

    Parameters:
        name: the channel's name (part of the singleton key and the stream's key).
        url: the Redis URL (``redis://[[user]:password@]host:port/db``,
            ``rediss://`` for TLS); default ``$TBONE_REDIS_URL``, else
            ``redis://localhost:6379/0``.
        stream: the stream's key (default ``"tbone:channel:<name>"``). Apps that
            share a Redis must not share a stream unless they mean to.
        maxlen: entries the stream keeps, roughly (``MAXLEN ~``): how far a
            reader may fall behind (or be disconnected) and still resume
            everything. ``None`` keeps every entry.
        publish_timeout: seconds ``publish`` may wait for Redis before it
            raises ``PublishError``.
        block: seconds one ``XREAD`` waits for entries before asking again.
        retry_delay, max_retry_delay: the reader's reconnect backoff: the first
            retry after ``retry_delay`` seconds, doubling up to ``max_retry_delay``
            (with jitter, so that many processes do not all retry at once).
        batch: most entries read (and fanned out together) at once.
        high_water_mark, stall_timeout, deliver_timeout: see ``MemoryChannel``.
    """

    name: str
    url: str
    fanout: Fanout

    def __new__(cls, name: str = "pubsub", *, url: str | None = None, db: Any = None, **options: Any) -> Self:
        resolved = resolve_url(url)
        key = (name, resolved)
        existing = registry.lookup(cls, key)
        if existing is not None:
            return existing
        channel = super().__new__(cls)
        channel._build(name, resolved, **options)
        registry.register(cls, key, channel)
        return channel

    def __init__(
        self, name: str = "pubsub", *, url: str | None = None, db: Any = None, **options: Any
    ) -> None:
        # Set-up happens once, in ``__new__`` (the instance is shared).
        pass

    def _build(
        self,
        name: str,
        url: str,
        *,
        stream: str | None = None,
        maxlen: int | None = 10_000,
        publish_timeout: float = 1.0,
        block: float = 1.0,
        retry_delay: float = 0.1,
        max_retry_delay: float = 5.0,
        batch: int = 1024,
        high_water_mark: int = HIGH_WATER_MARK,
        stall_timeout: float = STALL_TIMEOUT,
        deliver_timeout: float = DELIVER_TIMEOUT,
    ) -> None:
        self.name = name
        self.url = url
        self.stream = stream or f"tbone:channel:{name}"
        self.maxlen = maxlen
        self.publish_timeout = publish_timeout
        self.block = block
        self.retry_delay = retry_delay
        self.max_retry_delay = max(retry_delay, max_retry_delay)
        self.batch = batch
        self.fanout = Fanout(
            high_water_mark=high_water_mark,
            stall_timeout=stall_timeout,
            deliver_timeout=deliver_timeout,
        )
        #: The id of the last entry read (``None`` until the first connection).
        self.last_id: bytes | None = None
        #: Successful (re)connections of the reader (1 while nothing failed).
        self.connects = 0
        #: Times the reader lost Redis.
        self.outages = 0
        #: Redis restarts the reader noticed (the server's run id changed).
        self.restarts = 0
        #: Reconnections after which entries this channel had not read may be lost
        #: (a restart without persistence, or trimming past ``maxlen``).
        self.gaps = 0
        #: Publishes that failed (raised ``PublishError``).
        self.publish_errors = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: Redis | None = None
        self._writer: Redis | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._connected = False
        self._run_id: str | None = None
        self._down_since: float | None = None
        self._publish_failing = False
        self._closing = False

    def __repr__(self) -> str:
        return f"<RedisChannel {self.name!r} on {_redacted(self.url)} stream={self.stream!r}>"

    @property
    def connected(self) -> bool:
        """Whether the reader is connected and following the stream."""
        return self._connected

    def subscribe(self, event: str, carrier: Carrier) -> None:
        """Subscribe; starts reading if an event loop is running."""
        self.fanout.subscribe(event, carrier)
        with contextlib.suppress(RuntimeError):
            self.kickoff()

    def unsubscribe(self, event: str, carrier: Carrier) -> None:
        self.fanout.unsubscribe(event, carrier)

    def subscriber_count(self, event: str | None = None) -> int:
        return self.fanout.count(event)

    async def publish(self, key: str, data: Any = None) -> None:
        """Append the event to the stream; every process reading it delivers it.

        Raises ``TypeError`` for data that cannot be JSON-encoded (nothing is
        sent), and ``PublishError`` when Redis did not take the event within
        ``publish_timeout`` seconds.
        """
        fields: dict[FieldT, EncodableT] = {b"k": key.encode(), b"d": orjson.dumps(data)}
        writer = self._clients()[1]
        try:
            async with asyncio.timeout(self.publish_timeout):
                await writer.xadd(self.stream, fields, maxlen=self.maxlen, approximate=True)
        except _CONNECTION_ERRORS as exc:
            self.publish_errors += 1
            if not self._publish_failing:
                self._publish_failing = True
                logger.warning(
                    "channel %r: publishing to %s failed (%r); raising PublishError until it works again",
                    self.name,
                    _redacted(self.url),
                    exc,
                )
            raise PublishError(f"event {key!r} not published on channel {self.name!r}: {exc!r}") from exc
        if self._publish_failing:
            self._publish_failing = False
            logger.info("channel %r: publishing works again", self.name)

    def kickoff(self) -> None:
        """Start reading from now in the running loop (idempotent)."""
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._ready = asyncio.Event()
        self._closing = False
        self._clients()
        self._task = loop.create_task(self._run(), name=f"RedisChannel:{self.name}")

    async def wait_ready(self) -> None:
        """Wait until the reader has connected once and reads from "now" (kicking off if needed)."""
        self.kickoff()
        assert self._ready is not None
        await self._ready.wait()

    async def close(self) -> None:
        """Stop reading, close the connections, forget every subscriber, free the name."""
        registry.forget(type(self), (self.name, self.url), self)
        running = asyncio.get_running_loop()
        self._closing = True
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is running:
            await self._stop(task)
        clients = [c for c in (self._reader, self._writer) if c is not None]
        same_loop = self._loop is running
        self._reader = self._writer = None
        self._loop = None
        self._connected = False
        if same_loop:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self.fanout.close()

    async def _stop(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=0.2)
        if not done and self._reader is not None:
            # redis-py can swallow a cancellation that lands while a command
            # starts; the read then blocks until ``block`` ends. Cut it short
            # by closing the reader's connection (``_closing`` makes it stop).
            with contextlib.suppress(Exception):
                await self._reader.connection_pool.disconnect()
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=self.block + READ_MARGIN)
        if done:
            with contextlib.suppress(asyncio.CancelledError):
                task.result()
        else:
            logger.warning("channel %r: its reader did not stop", self.name)

    # -- connections -------------------------------------------------------------

    def _clients(self) -> tuple[Redis, Redis]:
        """The reader's and the publishers' clients, made for the running loop."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._reader is None or self._writer is None:
            # Connections belong to one event loop: a channel used again in a
            # new loop (one loop per test) gets new clients.
            self._loop = loop
            no_retry = Retry(NoBackoff(), 0)  # our loops retry, with their own bounds
            # Named connections: ``CLIENT LIST`` shows which process reads what.
            prefix = f"tbone:{_UNSAFE.sub('_', self.name)}:{os.getpid()}"
            self._reader = Redis.from_url(
                self.url,
                socket_timeout=self.block + READ_MARGIN,
                socket_connect_timeout=CONNECT_TIMEOUT,
                retry=no_retry,
                client_name=f"{prefix}:reader",
            )
            self._writer = Redis.from_url(
                self.url,
                socket_timeout=self.publish_timeout,
                socket_connect_timeout=self.publish_timeout,
                retry=no_retry,
                client_name=f"{prefix}:publisher",
            )
        return self._reader, self._writer

    async def _run(self) -> None:
        delay = self.retry_delay
        while True:
            reader = self._clients()[0]
            try:
                await self._connect(reader)
                delay = self.retry_delay
                await self._follow(reader)
            except asyncio.CancelledError:
                raise
            except _CONNECTION_ERRORS as exc:
                self._stop_if_closing()
                self._lost(exc)
            except Exception:  # a bug must not stop the channel for good
                self._stop_if_closing()
                self._connected = False
                logger.exception("channel %r: reader failed; restarting it", self.name)
            await asyncio.sleep(delay * random.uniform(0.75, 1.0))
            delay = min(delay * 2, self.max_retry_delay)

    def _stop_if_closing(self) -> None:
        """Raise ``CancelledError`` if ``close`` asked the reader to stop (see ``_stop``)."""
        task = asyncio.current_task()
        if self._closing or (task is not None and task.cancelling()):
            raise asyncio.CancelledError

    def _lost(self, exc: BaseException) -> None:
        self._connected = False
        if self._down_since is None:
            self._down_since = time.monotonic()
            self.outages += 1
            logger.warning(
                "channel %r: lost Redis at %s (%r); reconnecting with backoff",
                self.name,
                _redacted(self.url),
                exc,
            )

    async def _connect(self, reader: Redis) -> None:
        """(Re)connect and choose where to read from: "now" the first time, then
        after the last entry read (or the whole stream, if it is a new one)."""
        info = await reader.info("server")
        run_id = str(info.get("run_id", ""))
        try:
            stream = await reader.xinfo_stream(self.stream)
        except ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise
            stream = None
        first = stream.get("first-entry") if stream else None
        first_id = _id(first[0]) if first else None
        restarted = self._run_id is not None and run_id != self._run_id
        self._run_id = run_id
        self.connects += 1
        outcome, lost = "resumed after the last event read, nothing missed", False
        if self.last_id is None:
            # The first connection: from now on.
            self.last_id = stream["last-generated-id"] if stream else b"0-0"
        else:
            kept = first_id is not None and first_id <= _id(self.last_id)
            if restarted:
                self.restarts += 1
            if not kept:
                # Nothing this channel read is still in the stream: it is a new
                # stream (Redis restarted without persistence, or the key was
                # deleted) or it was trimmed past us. Everything in it is
                # unread: read it all (entries of a new stream may even have
                # ids below the last one read, if Redis's clock went back).
                self.last_id = b"0-0"
                self.gaps += 1
                lost = True
                if restarted:
                    outcome = (
                        "Redis restarted without its data: events published before the restart that "
                        "this channel had not read (if any) are lost; delivering everything published since"
                    )
                else:
                    outcome = (
                        "the stream no longer holds the last event read (trimmed past maxlen, or deleted): "
                        "events in between may be lost"
                    )
            elif restarted:
                outcome = "Redis restarted with its data: resumed after the last event read"
        self._connected = True
        if self._down_since is not None:
            down = time.monotonic() - self._down_since
            self._down_since = None
            level = logging.WARNING if lost else logging.INFO
            logger.log(level, "channel %r: Redis back after %.1fs; %s", self.name, down, outcome)
        elif lost:
            logger.warning("channel %r: %s", self.name, outcome)

    async def _follow(self, reader: Redis) -> None:
        if self._ready is not None:
            self._ready.set()
        block_ms = max(1, int(self.block * 1000))
        while True:
            assert self.last_id is not None
            reply: Any = await reader.xread({self.stream: self.last_id}, count=self.batch, block=block_ms)
            self._stop_if_closing()
            if reply:
                # RESP2 answers [[stream, entries]], RESP3 {stream: entries}.
                for entries in reply.values() if isinstance(reply, dict) else (e for _, e in reply):
                    self._receive(entries)

    def _receive(self, entries: Any) -> None:
        """Hand the entries of one read to the fan-out, in order, as one batch."""
        events: list[tuple[str, Any]] = []
        for entry_id, fields in entries:
            self.last_id = entry_id
            try:
                events.append((fields[b"k"].decode(), orjson.loads(fields[b"d"])))
            except (KeyError, UnicodeDecodeError, orjson.JSONDecodeError):
                logger.warning("channel %r: skipping malformed entry %r", self.name, entry_id)
        if events:
            self.fanout.publish_batch(events)
