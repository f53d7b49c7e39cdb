"""Live queries (SPEC §6) on real aiohttp and Sanic servers, a real database and real
websocket clients: the page, then enter / update / leave for writes from every path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.data import Field, Model
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import ChangeStreamFeed, WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import ProtocolErrorReply, WebSocketTestClient
from tbone.testing.servers import serve_api

from .support import SERVERS

pytestmark = pytest.mark.parametrize("kind", SERVERS)


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    """Both drivers: live queries and authorization read through either."""
    return str(request.param)


def without_since(event: dict[str, Any]) -> dict[str, Any]:
    """A live event without its resume token (which names this run's engine)."""
    assert isinstance(event.pop("since"), str)
    return event


class Track(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    title: str = Field(min_length=1)
    year: int = 2000
    tags: list[str] = Field(default_factory=list)

    class Meta:
        name = "live_tracks"


class Tracks(MongoResource[Track]):
    class Meta:
        object_class = Track
        sort = [("code", 1)]


class AioTracks(Tracks, aiohttp_adapter.AioHttpResource):
    pass


class SanicTracks(Tracks, sanic_adapter.SanicResource):
    pass


@asynccontextmanager
async def serve(kind: str, db: Any, feed: Any = None) -> AsyncIterator[str]:
    router = Router(name="api")
    router.register(AioTracks if kind == "aiohttp" else SanicTracks, "tracks")
    multiplexer = WebsocketMultiplexer(channel=MemoryChannel(name=f"live-{kind}"), feed=feed)
    multiplexer.add_router("api", router)
    async with serve_api(kind, db, [router], multiplexer) as url:
        yield url


async def http(url: str, method: str, href: str, body: Any = None) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        data = orjson.dumps(body) if body is not None else None
        async with session.request(method, url + href, data=data) as response:
            raw = await response.read()
            return response.status, orjson.loads(raw) if raw else None


def ws_url(url: str) -> str:
    return url.replace("http", "ws", 1) + "/ws"


async def test_page_then_enter_update_leave_from_every_write_path(kind: str, db: Any) -> None:
    await create_collection(db, Track)
    await Track(code="t1", title="So What", year=1959).insert(db)
    await Track(code="t2", title="Blue in Green", year=1957).insert(db)
    async with serve(kind, db) as url, await WebSocketTestClient.connect(ws_url(url)) as client:
        key, status, page = await client.live("/api/tracks/?year__gt=1958")
        assert status == 200
        assert page["meta"].pop("since")  # the resume token, beside what GET answers
        assert page == (await http(url, "GET", "/api/tracks/?year__gt=1958"))[1]
        assert [o["code"] for o in page["objects"]] == ["t1"]

        # a resource verb
        assert (await http(url, "POST", "/api/tracks/", {"code": "t3", "title": "Naima", "year": 1960}))[
            0
        ] == 201
        event = await client.next_change(key)
        assert (event["op"], event["pk"], event["data"]) == (
            "enter",
            "t3",
            (await http(url, "GET", "/api/tracks/t3/"))[1],
        )
        # updated out of the filter: leave, with no data
        assert (await http(url, "PATCH", "/api/tracks/t1/", {"year": 1950}))[0] == 202
        assert without_since(await client.next_change(key)) == {
            "op": "leave",
            "pk": "t1",
            "rev": None,
            "data": None,
        }
        # still matching and changed: update
        assert (await http(url, "PATCH", "/api/tracks/t3/", {"title": "Naima (take 2)"}))[0] == 202
        event = await client.next_change(key)
        assert (event["op"], event["data"]["title"]) == ("update", "Naima (take 2)")
        # a model method outside any request
        await Track(code="t5", title="Impressions", year=1963).insert(db)
        assert (await client.next_change(key))["op"] == "enter"
        # a write that stays outside the filter is not seen
        await Track(code="t6", title="Old", year=1901).insert(db)
        await Track.modify(db, key="t2", data={"year": 1961})  # updated into the filter
        event = await client.next_change(key)
        assert (event["op"], event["pk"]) == ("enter", "t2")
        # deletes: one by the resource, several by the model layer
        assert (await http(url, "DELETE", "/api/tracks/t3/"))[0] == 204
        assert without_since(await client.next_change(key)) == {
            "op": "leave",
            "pk": "t3",
            "rev": None,
            "data": None,
        }
        await Track.delete_entries(db, {"year": {"$gt": 1960}})
        left = {(await client.next_change(key))["pk"] for _ in range(2)}
        assert left == {"t2", "t5"}
        assert await client.unsubscribe_live(key) == 204
        await Track(code="t7", title="After", year=1999).insert(db)
        await client.ping()
        await asyncio.sleep(0.05)
        assert client.pending_changes(key) == 0


async def test_projection_and_groups_share_nothing_they_should_not(kind: str, db: Any) -> None:
    await create_collection(db, Track)
    async with serve(kind, db) as url, await WebSocketTestClient.connect(ws_url(url)) as client:
        slim, status, _ = await client.live("/api/tracks/?fields=title&tags=jazz")
        assert status == 200
        full, status, _ = await client.live("/api/tracks/?tags=jazz")
        assert status == 200
        other, status, _ = await client.live("/api/tracks/?tags=rock")
        assert status == 200
        await http(url, "POST", "/api/tracks/", {"code": "j1", "title": "Freddie", "tags": ["jazz", "cool"]})
        slim_event, full_event = await client.next_change(slim), await client.next_change(full)
        assert slim_event["data"] == {
            "code": "j1",
            "title": "Freddie",
            "_links": {"self": {"href": "/api/tracks/j1/"}},
        }
        assert full_event["data"] == (await http(url, "GET", "/api/tracks/j1/"))[1]
        await client.ping()
        assert client.pending_changes(other) == 0


async def test_bad_subscriptions_get_answers_and_the_socket_stays_open(kind: str, db: Any) -> None:
    await create_collection(db, Track)
    async with serve(kind, db) as url, await WebSocketTestClient.connect(ws_url(url)) as client:
        assert (await client.live("/nowhere/things/"))[1] == 404
        assert (await client.live("/api/nothing/"))[1] == 404
        assert (await client.live("/api/tracks/t1/"))[1] == 404  # what GET answers
        await Track(code="t1", title="One").insert(db)
        _, status, payload = await client.live("/api/tracks/t1/")
        assert status == 400 and "list" in payload["error"]
        _, status, payload = await client.live("/api/tracks/?year__gt=soon&nope=1")
        assert status == 400
        assert {tuple(e["loc"]) for e in payload["errors"]} == {("year__gt",), ("nope",)}
        key, status, _ = await client.live("/api/tracks/")
        assert status == 200
        with pytest.raises(ProtocolErrorReply, match="already in use"):
            await client.live("/api/tracks/", key=key)
        for message in (
            {"type": "subscribe", "href": "/api/tracks/", "key": True},
            {"type": "subscribe", "href": "/api/tracks/"},
            {"type": "subscribe", "href": 5, "key": "h"},
            {"type": "unsubscribe", "key": "never"},
        ):
            await client.send_json(message)
            error = await client.next_error()
            assert error["type"] == "error" and "Traceback" not in error["error"]
        await client.ping()
        assert not client.closed


async def test_a_change_stream_feed_counts_writes_made_straight_to_mongodb(kind: str, db: Any) -> None:
    await create_collection(db, Track)
    feed = ChangeStreamFeed(db, instance=f"live-test-{kind}")
    raw = db[Track.get_collection_name()]  # a write by "another tool": no tbone on the way
    async with serve(kind, db, feed) as url, await WebSocketTestClient.connect(ws_url(url)) as client:
        key, status, _ = await client.live("/api/tracks/?year__gte=2000")
        assert status == 200
        await raw.insert_one({"code": "x1", "title": "Raw", "year": 2001, "tags": []})
        event = await client.next_change(key, timeout=10)
        assert (event["op"], event["pk"], event["data"]["title"]) == ("enter", "x1", "Raw")
        await raw.update_one({"code": "x1"}, {"$set": {"title": "Cooked"}})
        event = await client.next_change(key, timeout=10)
        assert (event["op"], event["data"]["title"]) == ("update", "Cooked")
        await Track(code="x2", title="Via tbone", year=2002).insert(db)  # counted once, by the feed
        assert (await client.next_change(key, timeout=10))["pk"] == "x2"
        # the model's key is "code", the stream's is _id: a delete is still recognised
        await raw.delete_one({"code": "x1"})
        assert without_since(await client.next_change(key, timeout=10)) == {
            "op": "leave",
            "pk": "x1",
            "rev": None,
            "data": None,
        }
        await raw.update_one({"code": "x2"}, {"$set": {"year": 1990}})
        assert (await client.next_change(key, timeout=10))["op"] == "leave"
        await client.ping()
        assert client.pending_changes(key) == 0
    await feed.close()


async def test_a_reconnecting_client_resumes_with_since(kind: str, db: Any) -> None:
    await create_collection(db, Track)
    await Track(code="r1", title="Kept", year=2001).insert(db)
    await Track(code="r2", title="Changed", year=2002).insert(db)
    async with serve(kind, db) as url:
        async with await WebSocketTestClient.connect(ws_url(url)) as first:
            _, status, page = await first.live("/api/tracks/?year__gte=2000")
            assert status == 200 and page["meta"]["since"]
            since = page["meta"]["since"]
        # while the client is away
        await Track(code="r3", title="New", year=2003).insert(db)
        await Track.modify(db, key="r2", data={"year": 1999})  # left the filter
        await Track.modify(db, key="r3", data={"title": "Newer"})
        async with await WebSocketTestClient.connect(ws_url(url)) as again:
            key, status, page = await again.live("/api/tracks/?year__gte=2000", since=since)
            assert (status, page["meta"]["resync"], page["objects"]) == (200, False, [])
            replayed = [await again.next_change(key) for _ in range(2)]
            assert [(e["op"], e["pk"]) for e in replayed] == [("leave", "r2"), ("enter", "r3")]
            assert replayed[1]["data"]["title"] == "Newer"  # the latest state, once
            await again.ping()
            assert again.pending_changes(key) == 0
            # live again after the replay
            await Track(code="r4", title="Live", year=2004).insert(db)
            event = await again.next_change(key)
            assert (event["op"], event["pk"]) == ("enter", "r4")
            # a token that cannot be honoured gets the full page, flagged
            _, status, page = await again.live("/api/tracks/?year__gte=2000", since="elsewhere.3")
            assert (status, page["meta"]["resync"]) == (200, True)
            assert {o["code"] for o in page["objects"]} == {"r1", "r3", "r4"}
