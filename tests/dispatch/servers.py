"""Real aiohttp and Sanic websocket servers on 127.0.0.1, started in-process.

Each server routes ``/ws`` to a handler that wraps the connection in the
framework's carrier and serves it with the given multiplexer. The carriers
created are recorded so tests can look at the server side of a connection.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from tbone.dispatch import WebsocketMultiplexer

SERVERS = ("aiohttp", "sanic")

_names = itertools.count()


@dataclass
class Running:
    url: str
    carriers: list[Any] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def shrink(transport: Any, sndbuf: int | None) -> None:
    if sndbuf is not None and transport is not None:
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)


@asynccontextmanager
async def serve(
    kind: str, multiplexer: WebsocketMultiplexer, *, sndbuf: int | None = None
) -> AsyncIterator[Running]:
    """Serve ``multiplexer`` on ``/ws``; ``sndbuf`` shrinks each connection's
    kernel send buffer (so a peer that stops reading fills our own buffer fast
    instead of megabytes of autotuned kernel memory)."""
    if kind == "aiohttp":
        async with _serve_aiohttp(multiplexer, sndbuf) as running:
            yield running
    elif kind == "sanic":
        async with _serve_sanic(multiplexer, sndbuf) as running:
            yield running
    else:
        raise ValueError(kind)


@asynccontextmanager
async def _serve_aiohttp(multiplexer: WebsocketMultiplexer, sndbuf: int | None) -> AsyncIterator[Running]:
    from aiohttp import web

    from tbone.dispatch.carriers.aiohttp_websocket import AioHttpWebSocketCarrier

    port = free_port()
    running = Running(f"ws://127.0.0.1:{port}/ws")

    async def handler(request: web.Request) -> web.WebSocketResponse:
        shrink(request.transport, sndbuf)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        carrier = AioHttpWebSocketCarrier(ws)
        running.carriers.append(carrier)
        running.connected.set()
        await carrier.serve(multiplexer)
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield running
    finally:
        await runner.cleanup()


@asynccontextmanager
async def _serve_sanic(multiplexer: WebsocketMultiplexer, sndbuf: int | None) -> AsyncIterator[Running]:
    from sanic import Request, Sanic
    from sanic.server.websockets.impl import WebsocketImplProtocol

    from tbone.dispatch.carriers.sanic_websocket import SanicWebSocketCarrier

    port = free_port()
    running = Running(f"ws://127.0.0.1:{port}/ws")
    Sanic.test_mode = True
    app = Sanic(f"tbone_dispatch_test_{next(_names)}", configure_logging=False)

    async def handler(request: Request, ws: WebsocketImplProtocol) -> None:
        shrink(request.transport, sndbuf)
        carrier = SanicWebSocketCarrier(ws)
        running.carriers.append(carrier)
        running.connected.set()
        await carrier.serve(multiplexer)

    app.add_websocket_route(handler, "/ws")
    server: Any = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield running
    finally:
        await server.before_stop()
        for conn in list(server.connections):
            conn.close_if_idle()
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.abort()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        Sanic.unregister_app(app)
