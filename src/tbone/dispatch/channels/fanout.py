"""Deliver one event to many carriers without letting any of them hold up the rest.

The event is encoded once (``EncodedMessage``). For each subscriber the loop
does only non-blocking work: a ``StreamCarrier`` writes the shared bytes (the
same websocket frame, when it can) straight into its transport; any other
carrier gets the message appended to its own ``Outbox``, drained by a task.
Nothing in the loop awaits a subscriber: awaiting (or gathering) 1,000 sends
was measured 2.5x slower than a loop of non-blocking writes, and a single
stalled peer would hold the event for everyone.

Back-pressure is watched per subscriber instead. After each write, the
carrier's write buffer is compared with ``high_water_mark``; a carrier that
stays above it for ``stall_timeout`` seconds, or whose send fails, is dropped
from every event of the channel and its connection aborted (the client then
knows to reconnect rather than silently missing events).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from tbone.dispatch.carriers.base import Carrier, StreamCarrier
from tbone.dispatch.carriers.outbox import Outbox
from tbone.dispatch.encoding import EncodedMessage, event_message

__all__ = ["DELIVER_TIMEOUT", "HIGH_WATER_MARK", "STALL_TIMEOUT", "Fanout"]

logger = logging.getLogger("tbone.dispatch.fanout")

#: Bytes a subscriber may have queued before it counts as not keeping up.
HIGH_WATER_MARK = 256 * 1024
#: Seconds a subscriber may stay above the high-water mark before it is dropped.
STALL_TIMEOUT = 5.0
#: Seconds one ``deliver`` call may take (carriers without ``send_encoded``).
DELIVER_TIMEOUT = 10.0


class _Subscriber:
    """Per-carrier state shared by every event the carrier is subscribed to."""

    __slots__ = ("carrier", "events", "outbox", "send", "size", "timer")

    def __init__(self, carrier: Carrier, fanout: Fanout) -> None:
        self.carrier = carrier
        self.events: set[str] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.outbox: Outbox | None = None
        self.send: Callable[[EncodedMessage], bool]
        self.size: Callable[[], int]
        if isinstance(carrier, StreamCarrier):
            self.send = carrier.send_encoded
            self.size = carrier.write_buffer_size
        else:
            outbox = Outbox(
                self._deliver,
                timeout=fanout.deliver_timeout,
                on_failure=lambda: fanout.drop(carrier, reason="deliver failed"),
            )
            self.outbox = outbox
            self.send = outbox.put
            self.size = lambda: outbox.pending_bytes

    async def _deliver(self, message: EncodedMessage) -> bool:
        return await self.carrier.deliver(message.data)


class Fanout:
    """Subscriptions of carriers to events, and the delivery loop."""

    def __init__(
        self,
        *,
        high_water_mark: int = HIGH_WATER_MARK,
        stall_timeout: float = STALL_TIMEOUT,
        deliver_timeout: float = DELIVER_TIMEOUT,
    ) -> None:
        self.high_water_mark = high_water_mark
        self.stall_timeout = stall_timeout
        self.deliver_timeout = deliver_timeout
        self._events: dict[str, dict[Carrier, _Subscriber]] = {}
        self._subscribers: dict[Carrier, _Subscriber] = {}
        #: How many carriers were dropped for failing or stalling (diagnostics).
        self.dropped = 0

    def subscribe(self, event: str, carrier: Carrier) -> None:
        sub = self._subscribers.get(carrier)
        if sub is None:
            sub = self._subscribers[carrier] = _Subscriber(carrier, self)
        sub.events.add(event)
        self._events.setdefault(event, {})[carrier] = sub

    def unsubscribe(self, event: str, carrier: Carrier) -> None:
        sub = self._subscribers.get(carrier)
        if sub is None or event not in sub.events:
            return
        sub.events.discard(event)
        subs = self._events[event]
        del subs[carrier]
        if not subs:
            del self._events[event]
        if not sub.events:
            self._forget(sub)

    def count(self, event: str | None = None) -> int:
        if event is None:
            return len(self._subscribers)
        return len(self._events.get(event, ()))

    def drop(self, carrier: Carrier, *, reason: str = "dropped") -> None:
        """Unsubscribe ``carrier`` from everything and abort its connection."""
        sub = self._subscribers.get(carrier)
        if sub is None:
            return
        for event in list(sub.events):
            self.unsubscribe(event, carrier)
        self.dropped += 1
        logger.warning("dropping subscriber %r: %s", carrier, reason)
        if isinstance(carrier, StreamCarrier):
            try:
                carrier.abort()
            except Exception:  # a carrier failing to abort must not break the fan-out
                logger.exception("abort of %r failed", carrier)

    def publish(self, key: str, data: Any = None) -> int:
        """Send the event to every subscriber of ``key``; returns how many took it."""
        subs = self._events.get(key)
        if not subs:
            return 0
        message = event_message(key, data)
        high_water_mark = self.high_water_mark
        sent = 0
        failed: list[Carrier] = []
        stalled: list[_Subscriber] = []
        for carrier, sub in list(subs.items()):
            try:
                ok = sub.send(message)
                over = sub.size() > high_water_mark
            except Exception as exc:  # a broken carrier is dropped, never propagated
                logger.debug("send to %r raised %r", carrier, exc)
                ok, over = False, False
            if not ok:
                failed.append(carrier)
                continue
            sent += 1
            if over:
                if sub.timer is None:
                    stalled.append(sub)
            elif sub.timer is not None:
                sub.timer.cancel()
                sub.timer = None
        for carrier in failed:
            self.drop(carrier, reason="send failed")
        for sub in stalled:
            self._watch(sub)
        return sent

    def close(self) -> None:
        """Forget every subscriber (without aborting their connections)."""
        for sub in list(self._subscribers.values()):
            self._forget(sub)
        self._events.clear()

    def _watch(self, sub: _Subscriber) -> None:
        if self.stall_timeout <= 0:
            self.drop(sub.carrier, reason="over the high-water mark")
            return
        loop = asyncio.get_running_loop()
        sub.timer = loop.call_later(self.stall_timeout, self._check_stalled, sub)

    def _check_stalled(self, sub: _Subscriber) -> None:
        sub.timer = None
        if self._subscribers.get(sub.carrier) is not sub:
            return
        try:
            size = sub.size()
        except Exception:  # reading the buffer of a dead carrier: it is gone
            size = self.high_water_mark + 1
        if size > self.high_water_mark:
            self.drop(sub.carrier, reason=f"{size} bytes pending for {self.stall_timeout}s")

    def _forget(self, sub: _Subscriber) -> None:
        self._subscribers.pop(sub.carrier, None)
        sub.events.clear()
        if sub.timer is not None:
            sub.timer.cancel()
            sub.timer = None
        if sub.outbox is not None:
            sub.outbox.close()
