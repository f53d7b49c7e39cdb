"""The Channel Protocol: what resources and the multiplexer need from a channel.

A leaf module; channel implementations do not need to import it.
"""

from __future__ import annotations

from typing import Any, Protocol

from tbone.dispatch.carriers.base import Carrier

__all__ = ["Channel"]


class Channel(Protocol):
    """A named pub/sub bus. Constructing one with a name already in use in this
    process returns the existing instance (``MemoryChannel(name="pubsub")``
    twice is the same object).

    ``publish(key, data)`` sends ``{"type": "event", "payload": {"name": key,
    "data": data}}`` to every carrier subscribed to ``key``. ``kickoff`` starts
    the background delivery task (publishing or subscribing also starts it);
    ``close`` stops it, drops every subscriber and frees the name.
    """

    @property
    def name(self) -> str: ...

    def subscribe(self, event: str, carrier: Carrier) -> None: ...

    def unsubscribe(self, event: str, carrier: Carrier) -> None: ...

    def subscriber_count(self, event: str | None = None) -> int:
        """Carriers subscribed to ``event``, or distinct carriers on any event."""
        ...

    async def publish(self, key: str, data: Any = None) -> None: ...

    def kickoff(self) -> None: ...

    async def close(self) -> None: ...
