"""A MongoResource on SecantusDB, served by aiohttp or Sanic on a real socket.

``serve(kind, db, *routers)`` mounts each router with the adapter's one-line
``mount`` and yields the base URL. ``things_router(kind)`` registers ``Things``
(every verb, ``DELETE`` of the list included) under ``/api/things/``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin
from tbone.resources import Router
from tbone.resources.mongo import MongoResource
from tbone.servers import aiohttp as aiohttp_server
from tbone.servers import sanic as sanic_server
from tbone.testing.servers import run_aiohttp, run_sanic

SERVERS = ("aiohttp", "sanic")
_names = itertools.count()


class Thing(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    note: str = ""

    class Meta:
        name = "things"


class Things(MongoResource[Thing]):
    class Meta:
        object_class = Thing
        incoming_list = ["get", "post", "delete"]
        incoming_detail = ["get", "put", "patch", "delete"]


class AioThings(Things, aiohttp_server.AioHttpResource):
    pass


class SanicThings(Things, sanic_server.SanicResource):
    pass


def things_router(kind: str, name: str = "api", *, resource: Any = None) -> Router:
    router = Router(name=name)
    router.register(resource or (AioThings if kind == "aiohttp" else SanicThings), "things")
    return router


@asynccontextmanager
async def serve(kind: str, db: Any, *routers: Router) -> AsyncIterator[str]:
    """Serve ``routers`` (mounted in order) on ``kind``; yield the base URL."""
    if kind == "aiohttp":
        from aiohttp import web

        app = web.Application()
        app[aiohttp_server.DB_KEY] = db
        for router in routers:
            aiohttp_server.mount(app, router)
        async with run_aiohttp(app) as url:
            yield url
    else:
        from sanic import Sanic

        sanic_app: Sanic[Any, Any] = Sanic(f"tbone_servers_test_{next(_names)}", configure_logging=False)
        sanic_app.ctx.db = db
        for router in routers:
            sanic_server.mount(sanic_app, router)
        try:
            async with run_sanic(sanic_app) as url:
                yield url
        finally:
            Sanic.unregister_app(sanic_app)


async def raw_request(url: str, data: bytes, *, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is on a new connection; parse the (HTTP/1.x) answer."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ")[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
        return status, headers, body
    finally:
        writer.close()
