"""A MongoResource on SecantusDB answers the same over HTTP and the websocket,
and its events reach websocket subscribers, on both servers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.data import Field, Model
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import WebSocketTestClient
from tbone.testing.servers import run_aiohttp, run_sanic

from .support import SERVERS

_names = itertools.count()


class Album(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    title: str = Field(min_length=1)
    year: int = Field(min=1900, max=2100)

    class Meta:
        name = "albums"


class Albums(MongoResource[Album]):
    class Meta:
        object_class = Album
        sort = [("code", 1)]
        channel_class = MemoryChannel


class AioAlbums(Albums, aiohttp_adapter.AioHttpResource):
    pass


class SanicAlbums(Albums, sanic_adapter.SanicResource):
    pass


SCRIPT: list[tuple[str, str, Any]] = [
    ("POST", "/api/albums/", {"code": "a1", "title": "Kind of Blue", "year": 1959}),
    (
        "POST",
        "/api/albums/",
        [
            {"code": "a2", "title": "Blue Train", "year": 1957},
            {"code": "a3", "title": "Giant Steps", "year": 1960},
        ],
    ),
    ("POST", "/api/albums/", {"code": "a1", "title": "again", "year": 1959}),
    ("POST", "/api/albums/", {"code": "a4", "title": "", "year": 3000}),
    ("GET", "/api/albums/", None),
    ("GET", "/api/albums/?year__gt=1958&order_by=-year", None),
    ("GET", "/api/albums/?limit=1&offset=1", None),
    ("GET", "/api/albums/a1/", None),
    ("PUT", "/api/albums/a2/", {"code": "a2", "title": "Blue Train (mono)", "year": 1957}),
    ("PATCH", "/api/albums/a3/", {"year": 1959}),
    ("PATCH", "/api/albums/a3/", {"year": "soon"}),
    ("DELETE", "/api/albums/a3/", None),
    ("GET", "/api/albums/a3/", None),
    ("PUT", "/api/albums/", []),
    ("POST", "/api/albums/a1/", {}),
    ("GET", "/api/albums/?nope__gt=1", None),
    ("DELETE", "/api/albums/?year=1957", None),
    ("GET", "/api/albums/", None),
]


@asynccontextmanager
async def serve(kind: str, db: Any) -> AsyncIterator[str]:
    router = Router(name="api")
    router.register(AioAlbums if kind == "aiohttp" else SanicAlbums, "albums")
    multiplexer = WebsocketMultiplexer(channel=MemoryChannel(name="pubsub"))
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

        sanic_app: Sanic[Any, Any] = Sanic(f"tbone_ws_mongo_{next(_names)}", configure_logging=False)
        sanic_app.ctx.db = db
        sanic_adapter.mount(sanic_app, router)
        sanic_adapter.mount_websocket(sanic_app, multiplexer)
        try:
            async with run_sanic(sanic_app) as url:
                yield url
        finally:
            Sanic.unregister_app(sanic_app)


@pytest.mark.parametrize("kind", SERVERS)
async def test_mongo_resource_over_websocket_equals_http(kind: str, db: Any) -> None:
    await create_collection(db, Album)
    async with serve(kind, db) as url:
        async with aiohttp.ClientSession() as session:
            over_http = []
            for method, href, body in SCRIPT:
                data = orjson.dumps(body) if body is not None else None
                async with session.request(method, url + href, data=data) as response:
                    raw = await response.read()
                    over_http.append((response.status, orjson.loads(raw) if raw else None))
        await db[Album.get_collection_name()].delete_many({})
        async with await WebSocketTestClient.connect(f"{url}/ws") as client:
            await client.subscribe("resource_create")
            await client.subscribe("resource_delete")
            over_ws = [await client.request(method, href, body) for method, href, body in SCRIPT]
            assert (await client.next_event("resource_create"))["title"] == "Kind of Blue"
            assert (await client.next_event("resource_create"))["code"] == "a2"
            assert (await client.next_event("resource_create"))["code"] == "a3"
            assert (await client.next_event("resource_delete"))["code"] == "a3"
    assert over_ws == over_http
    statuses = [status for status, _ in over_http]
    assert statuses == [
        201,
        201,
        409,
        400,
        200,
        200,
        200,
        200,
        202,
        202,
        400,
        204,
        404,
        501,
        501,
        400,
        204,
        200,
    ]
