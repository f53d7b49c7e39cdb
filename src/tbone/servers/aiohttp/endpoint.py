"""The ready-made aiohttp websocket endpoint (exported by ``tbone.servers.aiohttp``).

``mount_websocket(app, multiplexer)`` is the one line: it adds ``GET /ws``
serving the websocket protocol of ``tbone.dispatch.messages`` with
``multiplexer``. Each connection becomes an ``AioHttpConnection`` carrier
that knows its handshake headers (merged under each request's headers, so
resources authenticate websocket requests as HTTP ones) and checks
subscriptions (see ``tbone.resources.connections``). Messages over
``max_size`` bytes close the socket with 1009; on close the carrier is
unsubscribed from everything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tbone.dispatch.multiplexer import WebsocketMultiplexer
from tbone.resources.connections import MAX_FRAME_SIZE, ResourceConnection
from tbone.resources.http import Headers
from tbone.servers.aiohttp.carrier import AioHttpWebSocketCarrier

__all__ = ["AioHttpConnection", "mount_websocket", "websocket_handler"]


class AioHttpConnection(ResourceConnection, AioHttpWebSocketCarrier):
    """An aiohttp websocket carrier with its handshake headers."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        multiplexer: WebsocketMultiplexer,
        headers: Headers,
        *,
        send_timeout: float = 10.0,
    ) -> None:
        super().__init__(ws, send_timeout=send_timeout)
        self.multiplexer = multiplexer
        self.headers = headers


def websocket_handler(
    multiplexer: WebsocketMultiplexer, *, max_size: int = MAX_FRAME_SIZE, heartbeat: float | None = None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler serving ``multiplexer`` on each websocket it accepts.

    ``heartbeat`` (seconds) makes aiohttp ping the client and drop it when
    it stops answering.
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        # aiohttp refuses a message of exactly max_msg_size bytes; Sanic (and
        # our documented limit) accept it: ``+ 1`` makes both servers agree.
        ws = web.WebSocketResponse(max_msg_size=max_size + 1, heartbeat=heartbeat)
        await ws.prepare(request)
        if multiplexer.app is None:
            multiplexer.app = request.app
        carrier = AioHttpConnection(ws, multiplexer, Headers(request.headers.items()))
        await carrier.serve(multiplexer)
        return ws

    return handler


def mount_websocket(
    app: web.Application,
    multiplexer: WebsocketMultiplexer,
    path: str = "/ws",
    *,
    max_size: int = MAX_FRAME_SIZE,
    heartbeat: float | None = None,
    name: str | None = "tbone_websocket",
) -> None:
    """Serve ``multiplexer`` at ``GET path``; the multiplexer's app defaults to ``app``."""
    if multiplexer.app is None:
        multiplexer.app = app
    handler: Any = websocket_handler(multiplexer, max_size=max_size, heartbeat=heartbeat)
    app.router.add_get(path, handler, name=name)
