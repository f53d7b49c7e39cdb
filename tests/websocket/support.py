"""An in-memory resource that publishes events, served with its websocket endpoint.

``Items`` behaves like a MongoResource for what the websocket cares about:
every verb, the statuses and error bodies of ``Resource``, and
``resource_create``/``resource_update``/``resource_delete`` events carrying
the serialized object. The store (the app's "database") holds the channel to
publish on, so the same resource runs with a MemoryChannel or a MongoChannel.
``serve_app(kind, store)`` runs it on aiohttp or Sanic, HTTP routes and
``/ws`` (mounted with the one-liner), on a real socket.
"""

from __future__ import annotations

import asyncio
import builtins
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from tbone.data.errors import ValidationError
from tbone.dispatch import Channel, WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.dispatch.encoding import resource_event_key
from tbone.resources import NotFound, Request, Resource, Router, Unauthorized
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.testing.servers import run_aiohttp, run_sanic

SERVERS = ("aiohttp", "sanic")
TOKEN = "s3cret"
_names = itertools.count()


@dataclass
class Store:
    channel: Channel
    objects: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1


def check(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or not isinstance(data.get("title"), str):
        raise ValidationError([{"loc": ("title",), "msg": "a string", "type": "missing"}])
    return {"title": data["title"], "done": bool(data.get("done", False))}


class TokenAuthentication:
    async def is_authenticated(self, request: Request) -> bool:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise Unauthorized("Invalid or missing token")
        return True


class Items(Resource):
    class Meta:
        name = "items"
        incoming_detail = ["get", "put", "patch", "delete"]
        channel_class = MemoryChannel  # marks a publishing resource; the store holds the channel

    def store(self) -> Store:
        return cast(Store, self.get_db())

    def to_pk(self, value: str) -> int:
        return int(value)

    def found(self, pk: int) -> dict[str, Any]:
        obj = self.store().objects.get(pk)
        if obj is None:
            raise NotFound(f"No item {pk}")
        return obj

    async def publish(self, event: str, obj: dict[str, Any]) -> None:
        key = resource_event_key(event, self.base_url)  # per resource, as MongoResource does
        await self.store().channel.publish(key, self.add_hypermedia(obj))

    async def list(self) -> builtins.list[dict[str, Any]]:
        if "slow" in self.request.args:
            await asyncio.sleep(float(self.request.args["slow"]))
        return builtins.list(self.store().objects.values())

    async def create(self) -> dict[str, Any]:
        store = self.store()
        obj = {"id": store.next_id, **check(self.data)}
        store.objects[store.next_id] = obj
        store.next_id += 1
        await self.publish("resource_create", obj)
        return obj

    async def detail(self, pk: int) -> dict[str, Any] | None:
        return self.store().objects.get(pk)

    async def update(self, pk: int) -> dict[str, Any]:
        self.found(pk)
        obj = {"id": pk, **check(self.data)}
        self.store().objects[pk] = obj
        await self.publish("resource_update", obj)
        return obj

    async def modify(self, pk: int) -> dict[str, Any]:
        obj = self.found(pk)
        obj.update(check({**obj, **(self.data or {})}))
        await self.publish("resource_update", obj)
        return obj

    async def delete(self, pk: int) -> None:
        obj = self.store().objects.pop(self.found(pk)["id"])
        await self.publish("resource_delete", obj)


class Secrets(Items):
    class Meta:
        name = "secrets"
        authentication = TokenAuthentication()


class AioItems(Items, aiohttp_adapter.AioHttpResource):
    pass


class AioSecrets(Secrets, aiohttp_adapter.AioHttpResource):
    pass


class SanicItems(Items, sanic_adapter.SanicResource):
    pass


class SanicSecrets(Secrets, sanic_adapter.SanicResource):
    pass


def make_router(kind: str, *, secrets: bool = False) -> Router:
    router = Router(name="api")
    router.register(AioItems if kind == "aiohttp" else SanicItems, "items")
    if secrets:
        router.register(AioSecrets if kind == "aiohttp" else SanicSecrets, "secrets")
    return router


@dataclass
class Served:
    url: str
    ws_url: str
    multiplexer: WebsocketMultiplexer
    store: Store


@asynccontextmanager
async def serve_app(kind: str, store: Store, *, secrets: bool = False) -> AsyncIterator[Served]:
    """Serve the items (and secrets) over HTTP and ``/ws`` on ``kind``."""
    router = make_router(kind, secrets=secrets)
    multiplexer = WebsocketMultiplexer(channel=store.channel)
    multiplexer.add_router("api", router)
    if kind == "aiohttp":
        from aiohttp import web

        app = web.Application()
        app[aiohttp_adapter.DB_KEY] = store
        aiohttp_adapter.mount(app, router)
        aiohttp_adapter.mount_websocket(app, multiplexer)
        async with run_aiohttp(app) as url:
            yield Served(url, f"{url}/ws", multiplexer, store)
    else:
        from sanic import Sanic

        sanic_app: Sanic[Any, Any] = Sanic(f"tbone_ws_test_{next(_names)}", configure_logging=False)
        sanic_app.ctx.db = store
        sanic_adapter.mount(sanic_app, router)
        sanic_adapter.mount_websocket(sanic_app, multiplexer)
        try:
            async with run_sanic(sanic_app) as url:
                yield Served(url, f"{url}/ws", multiplexer, store)
        finally:
            Sanic.unregister_app(sanic_app)


async def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
