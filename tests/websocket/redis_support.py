"""A MongoResource whose ``Meta.channel_class`` is ``RedisChannel``, served on
aiohttp or Sanic with its websocket endpoint: what one app instance of a
scaled-out deployment runs. The resource builds its channel as every
resource does, ``RedisChannel(name="pubsub", db=db)``, so the URL comes from
``TBONE_REDIS_URL``; the multiplexer is given the same channel."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tbone.data import Field, Model
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels.redis import RedisChannel
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing.servers import run_aiohttp, run_sanic

_names = itertools.count()


class Track(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    title: str = Field(min_length=1)

    class Meta:
        name = "tracks"


class Tracks(MongoResource[Track]):
    class Meta:
        object_class = Track
        sort = [("code", 1)]
        channel_class = RedisChannel


class AioTracks(Tracks, aiohttp_adapter.AioHttpResource):
    pass


class SanicTracks(Tracks, sanic_adapter.SanicResource):
    pass


@asynccontextmanager
async def serve(kind: str, db: Any, redis_url: str) -> AsyncIterator[str]:
    """Serve the tracks over HTTP and ``/ws``; yields the base URL once the channel reads."""
    await create_collection(db, Track)
    channel = RedisChannel(name="pubsub", url=redis_url, retry_delay=0.05, max_retry_delay=0.2)
    await channel.wait_ready()
    router = Router(name="api")
    router.register(AioTracks if kind == "aiohttp" else SanicTracks, "tracks")
    multiplexer = WebsocketMultiplexer(channel=channel)
    multiplexer.add_router("api", router)
    if kind == "aiohttp":
        from aiohttp import web

        app = web.Application()
        app[aiohttp_adapter.DB_KEY] = db
        aiohttp_adapter.mount(app, router)
        aiohttp_adapter.mount_websocket(app, multiplexer)
        async with run_aiohttp(app) as url:
            yield url
    else:
        from sanic import Sanic

        sanic_app: Sanic[Any, Any] = Sanic(f"tbone_ws_redis_{next(_names)}", configure_logging=False)
        sanic_app.ctx.db = db
        sanic_adapter.mount(sanic_app, router)
        sanic_adapter.mount_websocket(sanic_app, multiplexer)
        try:
            async with run_sanic(sanic_app) as url:
                yield url
        finally:
            Sanic.unregister_app(sanic_app)
