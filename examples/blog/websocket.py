"""The blog's websocket endpoint: ``create_live_app(db)`` is ``create_app(db)``
plus ``/ws``, where clients send the same requests as over HTTP and hear the
posts' and comments' events (``resource_create``...)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from examples.blog.app import create_app, router
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.resources.aiohttp import mount_websocket

__all__ = ["add_websocket", "create_live_app"]


def add_websocket(app: web.Application, path: str = "/ws") -> WebsocketMultiplexer:
    """Serve the blog's router and its ``pubsub`` events over a websocket at ``path``."""
    multiplexer = WebsocketMultiplexer(app, channel=MemoryChannel(name="pubsub"))
    multiplexer.add_router(router.name, router)
    mount_websocket(app, multiplexer, path)
    return multiplexer


def create_live_app(db: Any) -> web.Application:
    app = create_app(db)
    add_websocket(app)
    return app
