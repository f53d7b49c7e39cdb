"""Event-name subscriptions hear only the resources their client could GET (SPEC §7,
issue 11 #6): a write-only resource, a resource whose authorization scopes reads, and a
resource on a router the multiplexer does not serve never reach an anonymous subscriber,
while a public resource does; real servers, real database, real websocket clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Request, Router, Unauthorized
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import ProtocolErrorReply, WebSocketTestClient
from tbone.testing.servers import serve_api

from .support import SERVERS

pytestmark = pytest.mark.parametrize("kind", SERVERS)


class Memo(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    owner: str = "nobody"
    text: str = ""

    class Meta:
        name = "event_memos"


class Token:
    async def is_authenticated(self, request: Request) -> bool:
        if request.headers.get("Authorization") != "Bearer t":
            raise Unauthorized("Invalid or missing token")
        return True


class OwnMemos:
    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        return {"owner": request.headers.get("X-User", "")}

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        return True


class Base(MongoResource[Memo]):
    class Meta:
        object_class = Memo
        channel_class = MemoryChannel


class Public(Base):
    class Meta:
        name = "public"


class DropBox(Base):
    class Meta:
        name = "dropbox"
        incoming_list = ["post"]
        incoming_detail: list[str] = []


class Scoped(Base):
    class Meta:
        name = "scoped"
        authorization = OwnMemos()


class Guarded(Base):
    class Meta:
        name = "guarded"
        authentication = Token()


ADAPTERS = {"aiohttp": aiohttp_adapter.AioHttpResource, "sanic": sanic_adapter.SanicResource}


def served_class(kind: str, base: type[Base]) -> type[Any]:
    return type(f"{kind}{base.__name__}", (base, ADAPTERS[kind]), {})


@asynccontextmanager
async def serve(kind: str, db: Any, *, public: bool = True) -> AsyncIterator[str]:
    api = Router(name="api")
    if public:
        api.register(served_class(kind, Public), "public")
    api.register(served_class(kind, DropBox), "dropbox")
    api.register(served_class(kind, Scoped), "scoped")
    admin = Router(name="admin")  # served over HTTP, not on the multiplexer
    admin.register(served_class(kind, Guarded), "guarded")
    multiplexer = WebsocketMultiplexer(channel=MemoryChannel(name="pubsub"))
    multiplexer.add_router("api", api)
    async with serve_api(kind, db, [api, admin], multiplexer) as url:
        yield url


async def post(url: str, href: str, body: Any, headers: Mapping[str, str] | None = None) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + href, data=orjson.dumps(body), headers=headers) as response,
    ):
        return response.status


async def test_only_readable_resources_reach_a_subscriber(kind: str, db: Any) -> None:
    async with serve(kind, db) as url:
        ws = url.replace("http", "ws", 1) + "/ws"
        async with await WebSocketTestClient.connect(ws, headers={"X-User": "ann"}) as client:
            await client.subscribe("resource_create")
            assert await post(url, "/api/dropbox/", {"code": "d1", "text": "secret drop"}) == 201
            assert await post(url, "/api/scoped/", {"code": "s1", "owner": "ann"}) == 201
            assert await post(url, "/admin/guarded/", {"code": "g1"}, {"Authorization": "Bearer t"}) == 201
            assert await post(url, "/api/public/", {"code": "p1", "text": "hello"}) == 201
            payload = await client.next_event_payload("resource_create")
            assert (payload["resource"], payload["data"]["code"]) == ("/api/public/", "p1")
            await client.ping()
            assert client.pending_events("resource_create") == 1  # p1's data only, nothing else


async def test_a_client_that_may_read_nothing_is_refused(kind: str, db: Any) -> None:
    async with serve(kind, db, public=False) as url:
        ws = url.replace("http", "ws", 1) + "/ws"
        async with await WebSocketTestClient.connect(ws) as client:
            with pytest.raises(ProtocolErrorReply, match="not authorized"):
                await client.subscribe("resource_create")
            await client.subscribe("news")  # an app's own event name: subscribed as named
            await client.ping()
            assert not client.closed
