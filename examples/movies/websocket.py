"""The movies' websocket endpoint: ``create_live_app(db)`` is ``create_app(db)``
plus ``/ws``, serving the same requests (filters, sorting, paging) as HTTP."""

from __future__ import annotations

from typing import Any

from sanic import Sanic

from examples.movies.app import create_app, router
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.resources.sanic import mount_websocket

__all__ = ["add_websocket", "create_live_app"]


def add_websocket(app: Sanic[Any, Any], path: str = "/ws") -> WebsocketMultiplexer:
    """Serve the movies' router (and the ``pubsub`` channel's events) at ``path``."""
    multiplexer = WebsocketMultiplexer(app, channel=MemoryChannel(name="pubsub"))
    multiplexer.add_router(router.name, router)
    mount_websocket(app, multiplexer, path)
    return multiplexer


def create_live_app(db: Any, name: str | None = None) -> Sanic[Any, Any]:
    app = create_app(db, name)
    add_websocket(app)
    return app
