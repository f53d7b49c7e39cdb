"""MemoryChannel: publish/subscribe inside one process, through an asyncio queue.

``publish`` only enqueues, so a publisher (a request handler) never pays for
the fan-out; one background task per channel takes events off the queue and
hands them to the ``Fanout``: everything pending at once (up to
``MAX_BATCH`` events) as one batch, so that a burst of events costs each
subscriber one write rather than one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Self

from tbone.dispatch.carriers.base import Carrier
from tbone.dispatch.channels import registry
from tbone.dispatch.channels.fanout import (
    DELIVER_TIMEOUT,
    HIGH_WATER_MARK,
    STALL_TIMEOUT,
    Fanout,
)

__all__ = ["MemoryChannel"]

#: Most events taken off the queue for one fan-out; after that many, the task
#: lets the event loop run before taking more.
MAX_BATCH = 1024


class MemoryChannel:
    """A one-process channel; ``MemoryChannel(name=n)`` is a singleton per ``n``.

    Parameters:
        name: the channel's name (the singleton key).
        high_water_mark: bytes a subscriber may have pending before it counts as
            not keeping up (see ``tbone.dispatch.channels.fanout``).
        stall_timeout: seconds a subscriber may stay over the mark before it is
            dropped.
        deliver_timeout: seconds one ``deliver`` may take, for carriers that
            only implement ``deliver``.

    Options given when the name is already in use are ignored: the first
    construction configures the channel.
    """

    name: str
    fanout: Fanout

    def __new__(cls, name: str = "pubsub", **options: Any) -> Self:
        existing = registry.lookup(cls, name)
        if existing is not None:
            return existing
        channel = super().__new__(cls)
        channel._build(name, **options)
        registry.register(cls, name, channel)
        return channel

    def __init__(self, name: str = "pubsub", **options: Any) -> None:
        # All set-up happens once, in ``__new__``: a second construction must
        # not reset the subscribers of the shared instance.
        pass

    def _build(
        self,
        name: str,
        *,
        db: Any = None,
        high_water_mark: int = HIGH_WATER_MARK,
        stall_timeout: float = STALL_TIMEOUT,
        deliver_timeout: float = DELIVER_TIMEOUT,
    ) -> None:
        # ``db`` is accepted and ignored so every channel class can be built the
        # same way: ``Meta.channel_class(name="pubsub", db=db)`` (SPEC §4).
        del db
        self.name = name
        self.fanout = Fanout(
            high_water_mark=high_water_mark,
            stall_timeout=stall_timeout,
            deliver_timeout=deliver_timeout,
        )
        self._queue: asyncio.Queue[tuple[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<MemoryChannel {self.name!r} subscribers={self.subscriber_count()}>"

    def subscribe(self, event: str, carrier: Carrier) -> None:
        self.fanout.subscribe(event, carrier)

    def unsubscribe(self, event: str, carrier: Carrier) -> None:
        self.fanout.unsubscribe(event, carrier)

    def subscriber_count(self, event: str | None = None) -> int:
        return self.fanout.count(event)

    async def publish(self, key: str, data: Any = None) -> None:
        """Queue the event; it is delivered by the channel's task, in publish order."""
        self.kickoff()
        assert self._queue is not None
        self._queue.put_nowait((key, data))

    def kickoff(self) -> None:
        """Start the delivery task in the running loop (idempotent).

        A task left over from another (finished) event loop is replaced, so a
        process-wide channel survives e.g. one event loop per test.
        """
        loop = asyncio.get_running_loop()
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._queue = asyncio.Queue()
        self._task = loop.create_task(self._run(self._queue), name=f"MemoryChannel:{self.name}")

    async def close(self) -> None:
        """Stop delivering, forget every subscriber, free the name."""
        registry.forget(type(self), self.name, self)
        task, self._task = self._task, None
        if task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.fanout.close()

    async def _run(self, queue: asyncio.Queue[tuple[str, Any]]) -> None:
        publish_batch = self.fanout.publish_batch
        while True:
            events = [await queue.get()]
            while not queue.empty() and len(events) < MAX_BATCH:
                events.append(queue.get_nowait())
            publish_batch(events)
            if not queue.empty():
                await asyncio.sleep(0)  # a long burst: let the loop (and the sockets) breathe
