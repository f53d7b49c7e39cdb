"""Live queries: a websocket subscription to a list URL, kept up to date (SPEC §6).

``LiveQueries(multiplexer)`` serves ``{"type": "subscribe", "key", "href"}``
messages on a ``WebsocketMultiplexer`` (``mount_websocket`` attaches one);
see ``tbone.resources.live.engine`` for how changes are matched and fanned out.
"""

from tbone.resources.live.engine import MAX_SUBSCRIPTIONS, LiveQueries, live_queries_of
from tbone.resources.live.records import CHANGES_EVENT, ChangeRecord

__all__ = ["CHANGES_EVENT", "MAX_SUBSCRIPTIONS", "ChangeRecord", "LiveQueries", "live_queries_of"]
