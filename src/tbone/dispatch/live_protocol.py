"""The LiveQueryHandler Protocol: what the multiplexer needs for live queries.

A leaf module. ``tbone.resources.live.LiveQueries`` implements it (the
resources know lists, filters and read scopes; the multiplexer only routes
messages), and ``mount_websocket`` attaches one to the multiplexer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from tbone.dispatch.carriers.base import Carrier

__all__ = ["LiveQueryHandler"]


class LiveQueryHandler(Protocol):
    """Serve ``subscribe``/``unsubscribe`` messages that carry an ``href``/``key``."""

    async def subscribe(self, carrier: Carrier, message: Mapping[str, Any]) -> dict[str, Any] | None:
        """Start a live query; return a reply to deliver, or ``None`` when the
        handler delivers the response (and the events after it) itself."""
        ...

    def unsubscribe(self, carrier: Carrier, key: Any) -> dict[str, Any]:
        """End the live query ``key`` of ``carrier``; return the reply."""
        ...

    def disconnect(self, carrier: Carrier) -> None:
        """End every live query of ``carrier``."""
        ...
