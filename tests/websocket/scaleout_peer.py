"""One app instance of a scaled-out deployment, run as its own OS process.

Usage::

    python -m tests.websocket.scaleout_peer KIND MONGO_URI DB MODE INSTANCE [REDIS_URL]

``KIND`` is ``aiohttp`` or ``sanic``; ``MODE`` is ``channel`` (live queries
take other processes' changes from a ``RedisChannel`` on ``REDIS_URL``) or
``feed`` (from a ``ChangeStreamFeed(db, instance=INSTANCE)``). It serves the
``ScaleTrack`` ``MongoResource`` at ``/api/tracks/`` with ``/ws``, and
``GET /debug/state``: what the channel or the feed did in this process
(counters; with the feed, every record it delivered, with its resume token).
Prints its base URL once it is ready, then serves until stdin closes (a clean
stop: the feed stores its token) or it is killed.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pymongo import AsyncMongoClient

from tbone.data import Field, Model
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import ChangeStreamFeed, WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing.servers import run_aiohttp, run_sanic

#: The Redis channel every instance of the deployment shares (channel mode).
CHANNEL_NAME = "scaleout"


class ScaleTrack(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    title: str = Field(min_length=1)
    room: str = "x"
    #: the test's write counter for this document: event data says which write it shows
    seq: int = 0

    class Meta:
        name = "scaleout_tracks"


class ScaleTracks(MongoResource[ScaleTrack]):
    class Meta:
        object_class = ScaleTrack
        sort = [("code", 1)]


class AioScaleTracks(ScaleTracks, aiohttp_adapter.AioHttpResource):
    pass


class SanicScaleTracks(ScaleTracks, sanic_adapter.SanicResource):
    pass


def token_key(token: Any) -> str:
    """A change-stream resume token as a comparable string."""
    if isinstance(token, dict) and "_data" in token:
        return str(token["_data"])
    return repr(token)


class State:
    """What ``/debug/state`` reports."""

    def __init__(self, channel: Any, feed: ChangeStreamFeed | None) -> None:
        self.channel = channel
        self.feed = feed
        self.records: list[list[Any]] = []
        if feed is not None:
            feed.connect(self.record)

    def record(self, change: dict[str, Any]) -> None:
        document = change.get("document") or {}
        self.records.append(
            [token_key(change.get("token")), change.get("op"), str(change.get("pk")), document.get("code")]
        )

    def report(self) -> dict[str, Any]:
        counters = {
            name: getattr(self.channel, name, None)
            for name in ("connects", "outages", "restarts", "gaps", "publish_errors")
        }
        return {"channel": counters, "feed_records": self.records}


@asynccontextmanager
async def serve(kind: str, db: Any, mode: str, instance: str, redis_url: str | None) -> AsyncIterator[str]:
    await create_collection(db, ScaleTrack)
    feed: ChangeStreamFeed | None = None
    channel: Any
    if mode == "channel":
        from tbone.dispatch.channels.redis import RedisChannel

        channel = RedisChannel(name=CHANNEL_NAME, url=redis_url, retry_delay=0.05, max_retry_delay=0.2)
        await channel.wait_ready()  # reading from "now" before the first client can subscribe
    else:
        channel = MemoryChannel(name=f"scaleout-{instance}")
        feed = ChangeStreamFeed(db, instance=instance, retry_delay=0.05, max_retry_delay=0.5)
    state = State(channel, feed)
    router = Router(name="api")
    router.register(AioScaleTracks if kind == "aiohttp" else SanicScaleTracks, "tracks")
    multiplexer = WebsocketMultiplexer(channel=channel, feed=feed)
    multiplexer.add_router("api", router)
    try:
        if kind == "aiohttp":
            from aiohttp import web

            async def debug(_: web.Request) -> web.Response:
                return web.json_response(state.report())

            app = web.Application()
            app[aiohttp_adapter.DB_KEY] = db
            app.router.add_get("/debug/state", debug)
            aiohttp_adapter.mount(app, router)
            aiohttp_adapter.mount_websocket(app, multiplexer)
            async with run_aiohttp(app) as url:
                yield url
        else:
            from sanic import Sanic, response

            sanic_app: Sanic[Any, Any] = Sanic(f"tbone_scaleout_{instance}", configure_logging=False)
            sanic_app.ctx.db = db

            async def sanic_debug(_: Any) -> Any:
                return response.json(state.report())

            sanic_app.add_route(sanic_debug, "/debug/state")
            sanic_adapter.mount(sanic_app, router)
            sanic_adapter.mount_websocket(sanic_app, multiplexer)
            async with run_sanic(sanic_app) as url:
                yield url
    finally:
        if feed is not None:
            await feed.close()
        await channel.close()


async def main(kind: str, uri: str, name: str, mode: str, instance: str, redis_url: str | None) -> None:
    logging.basicConfig(level=logging.WARNING, format=f"[{instance}] %(levelname)s %(name)s: %(message)s")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        async with serve(kind, client[name], mode, instance, redis_url) as url:
            print(url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await client.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0], args[1], args[2], args[3], args[4], args[5] if len(args) > 5 else None))
