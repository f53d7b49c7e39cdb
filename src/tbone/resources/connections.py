"""Server-neutral pieces of the ready-made websocket handlers.

The handlers in ``tbone.resources.aiohttp`` and ``tbone.resources.sanic``
wrap each socket in a carrier that also knows the handshake's headers and
answers ``may_subscribe``; the multiplexer uses both (see
``tbone.dispatch.multiplexer``). This module holds what both servers share:
the frame size limit and the subscription check.

Subscriptions and authentication: event names (``resource_create``, ...) are
shared by every resource publishing on a channel, so a subscription is
checked against all of them. A client may subscribe to an event only if every
resource that publishes events (``Meta.channel_class`` set) on the
multiplexer's routers lets it read: its ``Authentication`` is asked about a
``GET`` on the resource's list URL carrying the handshake's headers. A client
refused by any such resource hears no events at all, so it never receives an
object it could not have read over HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from tbone.resources.errors import HTTPError
from tbone.resources.http import Headers, Request
from tbone.resources.routing import Router

__all__ = ["MAX_FRAME_SIZE", "ResourceConnection", "may_subscribe"]

logger = logging.getLogger("tbone.resources.connections")

#: Largest message a client may send, in bytes (1 MiB). A bigger one closes
#: the socket with code 1009 ("message too big"), as RFC 6455 prescribes.
MAX_FRAME_SIZE = 1 << 20


async def may_subscribe(multiplexer: Any, headers: Mapping[str, str], event: str) -> bool:
    """Whether a client with these handshake ``headers`` may hear ``event``.

    ``multiplexer`` is a ``WebsocketMultiplexer``: its routers' resources with
    a ``Meta.channel_class`` must all authenticate a ``GET`` of their list.
    """
    routers: Mapping[str, Any] = multiplexer.routers
    for router in routers.values():
        if not isinstance(router, Router):
            continue
        for endpoint, resource in router.endpoints.items():
            meta = getattr(resource, "_meta", None)
            if meta is None or meta.channel_class is None:
                continue
            request = Request(
                app=multiplexer.app, method="GET", path=router.base_url(endpoint), headers=Headers(headers)
            )
            try:
                allowed = await meta.authentication.is_authenticated(request)
            except HTTPError:
                allowed = False
            except Exception:
                logger.exception("%s: authentication failed on a subscription", resource.__name__)
                allowed = False
            if not allowed:
                return False
    return True


class ResourceConnection:
    """Mixin for carriers: the handshake headers and the subscription check.

    Combined with a server's carrier by the ready-made handlers; the
    multiplexer reads ``headers`` and calls ``may_subscribe``.
    """

    headers: Headers
    multiplexer: Any

    async def may_subscribe(self, event: str) -> bool:
        return await may_subscribe(self.multiplexer, self.headers, event)
