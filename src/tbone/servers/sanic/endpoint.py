"""The ready-made Sanic websocket endpoint (exported by ``tbone.servers.sanic``).

The same shape as ``tbone.servers.aiohttp.endpoint``: ``mount_websocket(app,
multiplexer)`` adds a websocket route at ``/ws``. Sanic applies one message
size limit to every websocket route of an app (``config.WEBSOCKET_MAX_SIZE``),
so ``mount_websocket`` sets it: messages over ``max_size`` bytes close the
socket with 1009.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from sanic import Request, Sanic
from sanic.server.websockets.impl import WebsocketImplProtocol

from tbone.dispatch.multiplexer import WebsocketMultiplexer
from tbone.resources.connections import MAX_FRAME_SIZE, ResourceConnection
from tbone.resources.http import Headers
from tbone.resources.live import live_queries_of
from tbone.servers.sanic.carrier import SanicWebSocketCarrier

__all__ = ["SanicConnection", "mount_websocket", "websocket_handler"]

SanicWebsocketHandler = Callable[[Request, WebsocketImplProtocol], Coroutine[Any, Any, None]]


class SanicConnection(ResourceConnection, SanicWebSocketCarrier):
    """A Sanic websocket carrier with its handshake headers."""

    def __init__(
        self,
        ws: WebsocketImplProtocol,
        multiplexer: WebsocketMultiplexer,
        headers: Headers,
        *,
        send_timeout: float = 10.0,
    ) -> None:
        super().__init__(ws, send_timeout=send_timeout)
        self.multiplexer = multiplexer
        self.headers = headers


def websocket_handler(multiplexer: WebsocketMultiplexer) -> SanicWebsocketHandler:
    """A Sanic websocket handler serving ``multiplexer`` (add it with ``add_websocket_route``)."""

    async def handler(request: Request, ws: WebsocketImplProtocol) -> None:
        if multiplexer.app is None:
            multiplexer.app = request.app
        carrier = SanicConnection(ws, multiplexer, Headers(request.headers.items()))
        await carrier.serve(multiplexer)

    return handler


def mount_websocket(
    app: Sanic[Any, Any],
    multiplexer: WebsocketMultiplexer,
    path: str = "/ws",
    *,
    max_size: int = MAX_FRAME_SIZE,
    name: str = "tbone_websocket",
) -> None:
    """Serve ``multiplexer`` at ``path``; the multiplexer's app defaults to ``app``."""
    if multiplexer.app is None:
        multiplexer.app = app
    app.config.WEBSOCKET_MAX_SIZE = max_size
    live = live_queries_of(multiplexer)  # live queries (SPEC §6) on every mounted websocket

    async def start_live(*_: Any) -> None:
        await live.start()  # a change-stream feed fails here, clearly, without change streams

    async def close_live(*_: Any) -> None:
        await live.close()

    app.before_server_start(start_live)
    app.after_server_stop(close_live)
    app.add_websocket_route(websocket_handler(multiplexer), path, name=name)
