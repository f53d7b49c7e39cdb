"""Authorization (SPEC §7) on real aiohttp and Sanic servers, the real database with both
drivers, over HTTP, websocket requests and live queries: a read scope hides documents
(404, never revealed), ``can_write`` refuses writes (403) and nothing refused is stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest
from bson import ObjectId

from tbone.data import Field, Model
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Request, Router, Unauthorized
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import WebSocketTestClient
from tbone.testing.servers import serve_api


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    """Both drivers: live queries and authorization read through either."""
    return str(request.param)


def without_since(event: dict[str, Any]) -> dict[str, Any]:
    """A live event without its resume token (which names this run's engine)."""
    assert isinstance(event.pop("since"), str)
    return event


class Note(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    owner: str
    text: str = ""
    shared: bool = False

    class Meta:
        name = "authz_notes"


class UserHeader:
    """Who is calling: the X-User header (a stand-in for a real token check)."""

    async def is_authenticated(self, request: Request) -> bool:
        user = request.headers.get("X-User")
        if not user:
            raise Unauthorized("Who are you?")
        request.state["user"] = user
        return True


class OwnOrShared:
    """Read your notes and the shared ones; write only your own."""

    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        user = request.state["user"]
        if user == "admin":
            return None
        return {"$or": [{"owner": user}, {"shared": True}]}

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        user = request.state["user"]
        if obj is None:  # a create: the body must name the caller as owner
            body = request.payload
            items = body if isinstance(body, list) else [body]
            return all(isinstance(item, dict) and item.get("owner") == user for item in items)
        return bool(obj.owner == user)


class Notes(MongoResource[Note]):
    class Meta:
        object_class = Note
        authentication = UserHeader()
        authorization = OwnOrShared()


class AioNotes(Notes, aiohttp_adapter.AioHttpResource):
    pass


class SanicNotes(Notes, sanic_adapter.SanicResource):
    pass


@pytest.fixture(params=["aiohttp", "sanic"])
async def url(request: pytest.FixtureRequest, db: Any) -> AsyncIterator[str]:
    async with serve(request.param, db) as served:
        yield served


@asynccontextmanager
async def serve(kind: str, db: Any) -> AsyncIterator[str]:
    await create_collection(db, Note)
    router = Router(name="api")
    router.register(AioNotes if kind == "aiohttp" else SanicNotes, "notes")
    multiplexer = WebsocketMultiplexer(channel=MemoryChannel(name=f"authz-{kind}"))
    multiplexer.add_router("api", router)
    async with serve_api(kind, db, [router], multiplexer) as url:
        yield url


async def call(url: str, user: str, method: str, href: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        data = None if body is None else orjson.dumps(body)
        async with session.request(method, url + href, data=data, headers={"X-User": user}) as response:
            raw = await response.read()
            return response.status, orjson.loads(raw) if raw else None


async def test_reads_are_scoped_and_hidden_documents_are_404(url: str, db: Any) -> None:
    status, mine = await call(url, "alice", "POST", "/api/notes/", {"owner": "alice", "text": "private"})
    assert status == 201
    status, shared = await call(url, "alice", "POST", "/api/notes/", {"owner": "alice", "shared": True})
    assert status == 201
    status, page = await call(url, "bob", "GET", "/api/notes/")
    assert [o["_id"] for o in page["objects"]] == [shared["_id"]]
    assert page["meta"]["total_count"] == 1
    hidden = await call(url, "bob", "GET", f"/api/notes/{mine['_id']}/")
    absent = str(ObjectId())
    missing = await call(url, "bob", "GET", f"/api/notes/{absent}/")
    # the same answer as for an id that does not exist: nothing is revealed
    assert hidden == (404, {"error": f"No Note with id {mine['_id']}"})
    assert missing == (404, {"error": f"No Note with id {absent}"})
    assert (await call(url, "admin", "GET", "/api/notes/"))[1]["meta"]["total_count"] == 2
    # writes on a hidden document are 404 as well, and change nothing
    for method, body in (("PATCH", {"text": "x"}), ("PUT", {"owner": "bob"}), ("DELETE", None)):
        assert (await call(url, "bob", method, f"/api/notes/{mine['_id']}/", body))[0] == 404
    stored = await Note.find_one(db, {"_id": ObjectId(mine["_id"])})
    assert stored is not None and (stored.owner, stored.text) == ("alice", "private")


async def test_refused_writes_are_403_and_store_nothing(url: str, db: Any) -> None:
    assert (await call(url, "bob", "POST", "/api/notes/", {"owner": "alice", "text": "forged"}))[0] == 403
    bulk = [{"owner": "bob"}, {"owner": "alice"}]
    assert (await call(url, "bob", "POST", "/api/notes/", bulk))[0] == 403
    assert await Note.count(db) == 0
    _, shared = await call(url, "alice", "POST", "/api/notes/", {"owner": "alice", "shared": True})
    href = f"/api/notes/{shared['_id']}/"
    status, body = await call(url, "bob", "PATCH", href, {"text": "defaced"})
    assert status == 403 and body == {"error": "Not allowed to patch this Note"}
    assert (await call(url, "bob", "PUT", href, {"owner": "alice", "text": "defaced"}))[0] == 403
    assert (await call(url, "bob", "DELETE", href))[0] == 403
    # a list DELETE that would touch one refused document deletes nothing
    await call(url, "bob", "POST", "/api/notes/", {"owner": "bob", "shared": True})
    assert (await call(url, "bob", "DELETE", "/api/notes/?shared=true"))[0] == 403
    assert await Note.count(db) == 2
    assert (await call(url, "alice", "PATCH", href, {"text": "fine"}))[0] == 202
    assert (await call(url, "bob", "DELETE", "/api/notes/?owner=bob"))[0] == 204
    assert await Note.count(db) == 1


async def test_websocket_requests_and_live_queries_follow_the_same_rules(url: str, db: Any) -> None:
    ws_url = url.replace("http", "ws", 1) + "/ws"
    async with (
        await WebSocketTestClient.connect(ws_url, headers={"X-User": "bob"}) as bob,
        await WebSocketTestClient.connect(ws_url, headers={"X-User": "alice"}) as alice,
    ):
        _, private = await alice.request("POST", "/api/notes/", {"owner": "alice", "text": "p"})
        assert (await bob.request("GET", f"/api/notes/{private['_id']}/"))[0] == 404
        assert (await bob.request("POST", "/api/notes/", {"owner": "alice"}))[0] == 403
        key, status, page = await bob.live("/api/notes/")
        assert (status, page["objects"]) == (200, [])
        # alice's private writes never reach bob; sharing makes the note enter, unsharing leave
        await alice.request("POST", "/api/notes/", {"owner": "alice", "text": "still private"})
        await alice.request("PATCH", f"/api/notes/{private['_id']}/", {"shared": True})
        event = await bob.next_change(key)
        assert (event["op"], event["pk"], event["data"]["text"]) == ("enter", private["_id"], "p")
        await Note.modify(db, key=private["_id"], data={"shared": False})  # a model method, too
        assert without_since(await bob.next_change(key)) == {
            "op": "leave",
            "pk": private["_id"],
            "rev": None,
            "data": None,
        }
        await bob.ping()
        assert bob.pending_changes(key) == 0
