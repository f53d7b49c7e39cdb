"""Server-neutral pieces of the ready-made websocket handlers.

The handlers in ``tbone.servers.aiohttp`` and ``tbone.servers.sanic`` wrap
each socket in a carrier that also knows the handshake's headers and answers
``event_keys``; the multiplexer uses both (see ``tbone.dispatch.multiplexer``).
This module holds what both servers share: the frame size limit and the
subscription check.

Event-name subscriptions are per resource (SPEC §7). A resource publishes
its events under keys that name it (``resource_create@/api/notes/``), and a
subscription to ``resource_create`` listens to the keys of the resources on
the multiplexer's routers that this client could read over HTTP:

- the resource publishes (``Meta.channel_class``) and allows ``GET``;
- its ``Authentication`` accepts a ``GET`` of its list with the handshake's
  headers;
- its ``Authorization`` gives this client no read scope (``None``): events
  of a scoped resource reach only live queries, which match each document
  against the scope.

A client that may read none of them is refused; one private resource no
longer locks a client out of the public ones. Other event names (an app's
own ``channel.publish("news", ...)``) are not resource events: they are
subscribed as named, and the app decides what it publishes on them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tbone.dispatch.encoding import RESOURCE_EVENTS, resource_event_key
from tbone.resources.errors import HTTPError
from tbone.resources.http import Headers, Request
from tbone.resources.routing import Router

__all__ = ["MAX_FRAME_SIZE", "ResourceConnection", "event_keys"]

logger = logging.getLogger("tbone.resources.connections")

#: Largest message a client may send, in bytes (1 MiB). A bigger one closes
#: the socket with code 1009 ("message too big"), as RFC 6455 prescribes.
MAX_FRAME_SIZE = 1 << 20


async def event_keys(multiplexer: Any, headers: Mapping[str, str], event: str) -> list[str]:
    """The channel keys a client with these handshake ``headers`` hears for ``event``
    (see module doc); empty when it may hear none."""
    if event not in RESOURCE_EVENTS:
        return [event]
    keys: list[str] = []
    routers: Mapping[str, Any] = multiplexer.routers
    for router in routers.values():
        if not isinstance(router, Router):
            continue
        for endpoint, resource in router.endpoints.items():
            base_url = router.base_url(endpoint)
            if await _may_read(multiplexer, resource, base_url, headers):
                keys.append(resource_event_key(event, base_url))
    return keys


async def _may_read(multiplexer: Any, resource: Any, base_url: str, headers: Mapping[str, str]) -> bool:
    meta = getattr(resource, "_meta", None)
    if meta is None or meta.channel_class is None:
        return False
    if "get" not in meta.incoming_detail and "get" not in meta.incoming_list:
        return False  # a write-only resource: nobody reads its documents
    request = Request(app=multiplexer.app, method="GET", path=base_url, headers=Headers(headers))
    try:
        if not await meta.authentication.is_authenticated(request):
            return False
        return await meta.authorization.read_scope(request) is None
    except HTTPError:
        return False
    except Exception:
        logger.exception("%s: authentication failed on a subscription", resource.__name__)
        return False


class ResourceConnection:
    """Mixin for carriers: the handshake headers and the subscription check.

    Combined with a server's carrier by the ready-made handlers; the
    multiplexer reads ``headers`` and calls ``event_keys``.
    """

    headers: Headers
    multiplexer: Any

    async def event_keys(self, event: str) -> list[str]:
        return await event_keys(self.multiplexer, self.headers, event)
