"""The ready-made Sanic websocket endpoint (exported by ``tbone.servers.sanic``).

The same shape as ``tbone.servers.aiohttp.endpoint``: ``mount_websocket(app,
multiplexer)`` adds a websocket route at ``/ws``. Sanic applies one message
size limit to every websocket route of an app (``config.WEBSOCKET_MAX_SIZE``),
so ``mount_websocket`` sets it: messages over ``max_size`` bytes close the
socket with 1009.

Graceful shutdown: Sanic waits ``GRACEFUL_SHUTDOWN_TIMEOUT`` (15 s) for busy
connections before failing websockets. ``mount_websocket`` keeps the open
sockets of its path (an ``OpenSockets``, which it returns) and closes them in
a ``before_server_stop`` listener, on SIGTERM/SIGINT in every worker: each
gets the close code 1001, and the ones whose client has not answered within
``shutdown_timeout`` seconds are failed (``fail_connection(1001)``).
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
from tbone.servers.common import GOING_AWAY, SHUTDOWN_TIMEOUT, OpenSockets
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


async def going_away(carrier: SanicWebSocketCarrier) -> None:
    """Send ``carrier``'s client the close code 1001 (the reading loop then
    sees the client's answer and ends)."""
    await carrier.ws.close(code=GOING_AWAY, reason="server shutting down")


def fail_going_away(carrier: SanicWebSocketCarrier) -> None:
    """Drop ``carrier``'s connection, telling the client 1001 if it still can."""
    carrier.ws.fail_connection(code=GOING_AWAY, reason="server shutting down")


def open_sockets(timeout: float = SHUTDOWN_TIMEOUT) -> OpenSockets[SanicConnection]:
    """An empty ``OpenSockets`` that closes Sanic connections with 1001."""
    return OpenSockets(going_away, fail_going_away, timeout=timeout)


def websocket_handler(
    multiplexer: WebsocketMultiplexer, *, sockets: OpenSockets[SanicConnection] | None = None
) -> SanicWebsocketHandler:
    """A Sanic websocket handler serving ``multiplexer`` (add it with ``add_websocket_route``).

    ``sockets`` keeps the open connections, for a graceful shutdown
    (``mount_websocket`` passes its own)."""

    async def handler(request: Request, ws: WebsocketImplProtocol) -> None:
        if multiplexer.app is None:
            multiplexer.app = request.app
        carrier = SanicConnection(ws, multiplexer, Headers(request.headers.items()))
        if sockets is None:
            await carrier.serve(multiplexer)
        elif not sockets.add(carrier):  # the server is stopping
            await going_away(carrier)
        else:
            try:
                await carrier.serve(multiplexer)
            finally:
                sockets.discard(carrier)

    return handler


def mount_websocket(
    app: Sanic[Any, Any],
    multiplexer: WebsocketMultiplexer,
    path: str = "/ws",
    *,
    max_size: int = MAX_FRAME_SIZE,
    name: str = "tbone_websocket",
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
) -> OpenSockets[SanicConnection]:
    """Serve ``multiplexer`` at ``path``; the multiplexer's app defaults to ``app``.

    Returns the open websockets of this path (``len()`` counts them). When
    the server stops (``before_server_stop``), each is closed with 1001, and
    those whose client has not completed the close within
    ``shutdown_timeout`` seconds are failed.
    """
    if multiplexer.app is None:
        multiplexer.app = app
    app.config.WEBSOCKET_MAX_SIZE = max_size
    live = live_queries_of(multiplexer)  # live queries (SPEC §6) on every mounted websocket

    async def start_live(*_: Any) -> None:
        await live.start()  # a change-stream feed fails here, clearly, without change streams

    async def close_live(*_: Any) -> None:
        await live.close()

    sockets = open_sockets(shutdown_timeout)

    async def close_sockets(*_: Any) -> None:
        await sockets.close_all()

    app.before_server_start(start_live)
    app.before_server_stop(close_sockets)
    app.after_server_stop(close_live)
    app.add_websocket_route(websocket_handler(multiplexer, sockets=sockets), path, name=name)
    return sockets
