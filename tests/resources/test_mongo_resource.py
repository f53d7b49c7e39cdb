"""MongoResource over real HTTP (aiohttp and Sanic) against the ``db`` fixture's database.

Every test runs on both adapters. Events are checked on the process-wide
``MemoryChannel(name="pubsub")`` through a test carrier.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from bson import ObjectId
from sanic import Sanic

from tbone.data import Field, Model, serialize
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.dispatch.encoding import resource_event_key
from tbone.resources import ReadOnlyAuthentication, Route, Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import is_secantus
from tbone.testing.servers import run_aiohttp, run_sanic


class Book(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    title: str = Field(min_length=1)
    genre: str = "fiction"
    rating: int = Field(default=3, min=1, max=5)
    year: int | None = None
    tags: list[str] = []

    class Meta:
        name = "books"
        indices = [{"fields": ["title"], "unique": True}]


class Tag(Model, MongoCollectionMixin):
    name: str = Field(primary_key=True)
    uses: int = 0


class Counter(Model, MongoCollectionMixin):
    id: int = Field(primary_key=True)
    value: int = 0


class Books(MongoResource[Book]):
    class Meta:
        object_class = Book
        channel_class = MemoryChannel
        incoming_detail = ["get", "put", "patch", "delete"]
        limit = 3
        max_limit = 5
        fts_operator = "q"

    @classmethod
    def nested_routes(cls, base_url: str) -> list[Route]:
        path = f"{base_url}{cls.route_param('pk')}/similar/"
        return [cls.route(path, "similar", name="similar", base_url=base_url)]

    async def get_similar(self, pk: Any) -> dict[str, Any]:
        book = await self.get_object(pk)
        found = await Book.find(Book.get_cursor(self.get_db(), {"genre": book.genre, "_id": {"$ne": pk}}))
        return {"meta": {"total_count": len(found)}, "objects": await self.serialize_many(found)}


class Quiet(Books):
    """Writes answer no body, and their events carry the pk only."""

    class Meta:
        outgoing_list = ["get"]
        outgoing_detail = ["get"]


class Good(Books):
    class Meta:
        query = {"rating": {"$gte": 4}}
        sort = [("title", -1)]
        authentication = ReadOnlyAuthentication()
        hypermedia = False


class Stamped(Books):
    """Overrides ``create`` and writes through the model: its event still goes out."""

    async def create(self) -> Any:
        book = self.build(self.data)
        book.tags = [*book.tags, "stamped"]
        await book.insert(self.get_db())  # validates again: the book was changed after build
        return await self.serialize(book)


#: How often the Gadget's validator and its @serialize method ran.
CALLS = {"validate": 0, "serialize": 0}


def counted(value: str) -> str:
    CALLS["validate"] += 1
    return value


class Gadget(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str = Field(validators=[counted])

    @serialize
    async def label(self) -> str:
        CALLS["serialize"] += 1
        return self.name.upper()


class Gadgets(MongoResource[Gadget]):
    class Meta:
        object_class = Gadget
        channel_class = MemoryChannel


class Tags(MongoResource[Tag]):
    class Meta:
        object_class = Tag


class Counters(MongoResource[Counter]):
    class Meta:
        object_class = Counter


ENDPOINTS: dict[str, type[MongoResource[Any]]] = {
    "books": Books,
    "quiet": Quiet,
    "good": Good,
    "tags": Tags,
    "counters": Counters,
    "stamped": Stamped,
    "gadgets": Gadgets,
}


def make_router(adapter: str) -> Router:
    base = aiohttp_adapter.AioHttpResource if adapter == "aiohttp" else sanic_adapter.SanicResource
    router = Router("api")
    for endpoint, resource in ENDPOINTS.items():
        router.register(type(f"{adapter}{resource.__name__}", (base, resource), {}), endpoint)
    return router


@dataclass(eq=False)  # carriers are hashed by identity
class Recorder:
    """A Carrier: records every event delivered to it."""

    events: list[dict[str, Any]] = field(default_factory=list)

    async def deliver(self, data: dict[str, Any]) -> bool:
        self.events.append(data["payload"])
        return True

    async def wait(self, count: int) -> list[dict[str, Any]]:
        for _ in range(200):
            if len(self.events) >= count:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.02)  # and nothing more arrives
        return self.events


@dataclass
class Reply:
    status: int
    payload: Any
    headers: Mapping[str, str]


@dataclass
class Api:
    url: str
    db: Any
    session: aiohttp.ClientSession
    recorder: Recorder

    async def call(self, method: str, path: str, json: Any = None, data: bytes | None = None) -> Reply:
        body = orjson.dumps(json) if json is not None else data
        async with self.session.request(method, self.url + path, data=body) as resp:
            raw = await resp.read()
            return Reply(resp.status, orjson.loads(raw) if raw else None, resp.headers)

    async def add(self, *books: dict[str, Any]) -> list[dict[str, Any]]:
        reply = await self.call("POST", "/api/books/", json=list(books))
        assert reply.status == 201, reply.payload
        payload: list[dict[str, Any]] = reply.payload
        return payload


@pytest.fixture(params=["aiohttp", "sanic"])
async def api(request: pytest.FixtureRequest, db: Any) -> AsyncIterator[Api]:
    adapter: str = request.param
    await create_collection(db, Book)
    recorder = Recorder()
    channel = MemoryChannel(name="pubsub")
    for event in ("resource_create", "resource_update", "resource_delete"):
        for endpoint in ENDPOINTS:  # events are keyed per resource
            channel.subscribe(resource_event_key(event, f"/api/{endpoint}/"), recorder)
    router = make_router(adapter)
    try:
        async with aiohttp.ClientSession() as session:
            if adapter == "aiohttp":
                app = web.Application()
                app[aiohttp_adapter.DB_KEY] = db
                aiohttp_adapter.mount(app, router)
                async with run_aiohttp(app) as url:
                    yield Api(url, db, session, recorder)
            else:
                sanic_app: Sanic[Any, Any] = Sanic(f"tbone_mongo_{uuid.uuid4().hex[:12]}")
                sanic_app.ctx.db = db
                sanic_adapter.mount(sanic_app, router)
                try:
                    async with run_sanic(sanic_app) as url:
                        yield Api(url, db, session, recorder)
                finally:
                    Sanic.unregister_app(sanic_app)
    finally:
        await channel.close()


SHELF = [
    {"title": "Dune", "genre": "scifi", "rating": 5, "year": 1965, "tags": ["desert", "classic"]},
    {"title": "Emma", "genre": "novel", "rating": 4, "year": 1815, "tags": ["classic"]},
    {"title": "Hyperion", "genre": "scifi", "rating": 4, "year": 1989},
    {"title": "Ulysses", "genre": "novel", "rating": 2, "year": 1922},
    {"title": "Neuromancer", "genre": "scifi", "rating": 3, "year": 1984, "tags": ["cyber"]},
]


def titles(reply: Reply) -> list[str]:
    return [o["title"] for o in reply.payload["objects"]]


async def test_crud_on_list_and_detail_with_links_and_events(api: Api) -> None:
    created = await api.call("POST", "/api/books/", json={"title": "Dune", "_id": "ignored", "rating": "5"})
    assert created.status == 201
    book = created.payload
    pk = book["_id"]
    assert ObjectId.is_valid(pk)
    assert book == {
        "_id": pk,
        "title": "Dune",
        "genre": "fiction",
        "rating": 5,
        "year": None,
        "tags": [],
        "_links": {"self": {"href": f"/api/books/{pk}/"}},
    }
    listed = await api.call("GET", "/api/books/")
    assert listed.status == 200
    assert listed.payload == {"meta": {"total_count": 1, "limit": 3, "offset": 0}, "objects": [book]}
    assert (await api.call("GET", f"/api/books/{pk}/")).payload == book

    put = await api.call("PUT", f"/api/books/{pk}/", json={"title": "Dune Messiah", "year": 1969})
    assert put.status == 202
    assert (put.payload["_id"], put.payload["title"], put.payload["rating"]) == (pk, "Dune Messiah", 3)
    renamed = await api.call("PATCH", f"/api/books/{pk}/", json={"rating": 4, "_id": str(ObjectId())})
    assert renamed.status == 400  # the primary key is not renamed (issue 11, item 5)
    patch = await api.call("PATCH", f"/api/books/{pk}/", json={"rating": 4, "_id": pk})
    assert patch.status == 202
    assert (patch.payload["_id"], patch.payload["title"], patch.payload["rating"]) == (pk, "Dune Messiah", 4)
    stored = await Book.find_one(api.db, {"_id": ObjectId(pk)})
    assert stored is not None and (stored.title, stored.rating, stored.year) == ("Dune Messiah", 4, 1969)

    deleted = await api.call("DELETE", f"/api/books/{pk}/")
    assert (deleted.status, deleted.payload) == (204, None)
    assert (await api.call("GET", f"/api/books/{pk}/")).status == 404

    events = await api.recorder.wait(4)
    assert [e["name"] for e in events] == [
        "resource_create",
        "resource_update",
        "resource_update",
        "resource_delete",
    ]
    assert events[0]["data"] == book
    assert events[2]["data"] == patch.payload
    assert events[3]["data"]["_links"] == {"self": {"href": f"/api/books/{pk}/"}}


async def test_bulk_create_and_filtered_delete_list(api: Api) -> None:
    books = await api.add(*SHELF)
    assert [b["title"] for b in books] == [b["title"] for b in SHELF]
    assert all(b["_links"]["self"]["href"] == f"/api/books/{b['_id']}/" for b in books)
    assert await Book.count(api.db) == 5
    gone = await api.call("DELETE", "/api/books/?genre=scifi")
    assert (gone.status, gone.payload) == (204, None)
    assert sorted(b.title for b in await Book.find(Book.get_cursor(api.db))) == ["Emma", "Ulysses"]
    events = await api.recorder.wait(8)
    assert [e["name"] for e in events].count("resource_create") == 5
    assert sorted(e["data"]["title"] for e in events if e["name"] == "resource_delete") == [
        "Dune",
        "Hyperion",
        "Neuromancer",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("genre=scifi", ["Dune", "Hyperion", "Neuromancer"]),
        ("rating__gt=3", ["Dune", "Emma", "Hyperion"]),
        ("rating__gte=4&genre=scifi", ["Dune", "Hyperion"]),
        ("year__lt=1922", ["Emma"]),
        ("year__lte=1922", ["Emma", "Ulysses"]),
        ("genre__ne=scifi", ["Emma", "Ulysses"]),
        ("rating__in=2,3", ["Neuromancer", "Ulysses"]),
        ("genre__nin=scifi,poetry", ["Emma", "Ulysses"]),
        ("year__gt=1900&year__lt=1970", ["Dune", "Ulysses"]),
        ("tags=classic", ["Dune", "Emma"]),
        ("rating__gt=0&title=Emma", ["Emma"]),
    ],
)
async def test_filters(api: Api, query: str, expected: list[str]) -> None:
    await api.add(*SHELF)
    reply = await api.call("GET", f"/api/books/?{query}&order_by=title&limit=5")
    assert reply.status == 200, reply.payload
    assert titles(reply) == expected
    assert reply.payload["meta"]["total_count"] == len(expected)


async def test_sorting_paging_and_fields(api: Api) -> None:
    await api.add(*SHELF)
    by_rating = await api.call("GET", "/api/books/?order_by=-rating,title&limit=5")
    assert titles(by_rating) == ["Dune", "Emma", "Hyperion", "Neuromancer", "Ulysses"]
    by_genre = await api.call("GET", "/api/books/?order_by=genre,-year&limit=5")
    assert titles(by_genre) == ["Ulysses", "Emma", "Hyperion", "Neuromancer", "Dune"]

    first = await api.call("GET", "/api/books/?order_by=title")
    assert first.payload["meta"] == {"total_count": 5, "limit": 3, "offset": 0}
    assert titles(first) == ["Dune", "Emma", "Hyperion"]
    second = await api.call("GET", "/api/books/?order_by=title&offset=3")
    assert second.payload["meta"] == {"total_count": 5, "limit": 3, "offset": 3}
    assert titles(second) == ["Neuromancer", "Ulysses"]
    page = await api.call("GET", "/api/books/?order_by=title&limit=2&offset=1")
    assert titles(page) == ["Emma", "Hyperion"]
    past = await api.call("GET", "/api/books/?offset=10")
    assert past.payload["objects"] == [] and past.payload["meta"]["total_count"] == 5

    slim = await api.call("GET", "/api/books/?fields=title,rating&order_by=title&limit=1")
    (obj,) = slim.payload["objects"]
    assert set(obj) == {"_id", "title", "rating", "_links"}
    detail = await api.call("GET", f"{obj['_links']['self']['href']}?fields=year")
    assert set(detail.payload) == {"_id", "year", "_links"}


async def test_meta_query_and_sort_defaults(api: Api) -> None:
    await api.add(*SHELF)
    good = await api.call("GET", "/api/good/?limit=5")
    assert titles(good) == ["Hyperion", "Emma", "Dune"]
    assert "_links" not in good.payload["objects"][0]
    assert titles(await api.call("GET", "/api/good/?genre=scifi&order_by=year")) == ["Dune", "Hyperion"]
    assert titles(await api.call("GET", "/api/good/?rating=2")) == []  # Meta.query still applies
    assert (await api.call("POST", "/api/good/", json={"title": "X"})).status == 401  # read only


async def test_full_text_search(api: Api) -> None:
    if await is_secantus(api.db):
        pytest.skip("SecantusDB has no text indexes")
    await Book.get_collection(api.db).create_index([("title", "text")])
    await api.add(*SHELF)
    reply = await api.call("GET", "/api/books/?q=dune")
    assert titles(reply) == ["Dune"]


async def test_primary_keys_of_any_type(api: Api) -> None:
    tag = await api.call("POST", "/api/tags/", json={"name": "sci fi/космос", "uses": "2"})
    assert tag.status == 201
    href = tag.payload["_links"]["self"]["href"]
    assert href == "/api/tags/sci%20fi%2F%D0%BA%D0%BE%D1%81%D0%BC%D0%BE%D1%81/"
    assert (await api.call("GET", href)).payload == tag.payload
    assert (await api.call("PATCH", href, json={"uses": 3})).payload["uses"] == 3
    assert (await api.call("DELETE", href)).status == 204
    counter = await api.call("POST", "/api/counters/", json={"id": "42"})
    assert counter.payload["_links"]["self"]["href"] == "/api/counters/42/"
    assert (await api.call("PUT", "/api/counters/42/", json={"value": 7})).payload == {
        "id": 42,
        "value": 7,
        "_links": {"self": {"href": "/api/counters/42/"}},
    }
    assert (await api.call("GET", "/api/counters/41/")).status == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("GET", "/api/books/?colour=red", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/?rating__gt=high", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/?rating__near=3", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/?order_by=-colour", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/?limit=6", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/?offset=-1", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/?limit=x", None, 400, "Invalid query arguments"),
        ("GET", "/api/books/not-an-id/", None, 400, "Invalid id 'not-an-id'"),
        ("GET", "/api/counters/x/", None, 400, "Invalid id 'x'"),
        ("GET", f"/api/books/{ObjectId()}/", None, 404, None),
        ("PUT", f"/api/books/{ObjectId()}/", {"title": "X"}, 404, None),
        ("PATCH", f"/api/books/{ObjectId()}/", {"title": "X"}, 404, None),
        ("DELETE", f"/api/books/{ObjectId()}/", None, 404, None),
        ("POST", "/api/books/", b'{"title": ', 400, None),
        ("POST", "/api/books/", {"rating": 9}, 400, "2 validation errors for Book"),
        ("POST", "/api/books/", "a string", 400, "Expected a JSON object, got a JSON str"),
        ("POST", "/api/books/", [{"title": "A"}, {"title": ""}], 400, "1 validation error(s) in the array"),
        (
            "POST",
            f"/api/books/{ObjectId()}/",
            {"title": "X"},
            405,
            "Method POST is not allowed on this endpoint",
        ),
        ("PUT", "/api/books/", [{"title": "X"}], 501, "Method PUT is not implemented on this endpoint"),
        ("PATCH", "/api/books/", [{"title": "X"}], 501, "Method PATCH is not implemented on this endpoint"),
        ("POST", "/api/tags/1/", {}, 501, "Method POST is not implemented on this endpoint"),
    ],
)
async def test_error_statuses(
    api: Api, method: str, path: str, body: Any, status: int, error: str | None
) -> None:
    raw = body if isinstance(body, bytes) else None
    reply = await api.call(method, path, json=None if raw else body, data=raw)
    assert reply.status == status, reply.payload
    if error is not None:
        assert reply.payload["error"].partition("\n")[0] == error
    if status == 400 and error == "Invalid query arguments":
        (problem,) = reply.payload["errors"]
        assert set(problem) == {"loc", "msg", "type"}
    assert await Book.count(api.db) == 0
    assert await api.recorder.wait(0) == []


async def test_error_bodies_locate_the_problem(api: Api) -> None:
    reply = await api.call("GET", "/api/books/?colour=red&rating__gt=high&order_by=nope&rating__near=1")
    assert reply.status == 400
    assert reply.payload["errors"] == [
        {"loc": ["order_by"], "msg": "Unknown sort field 'nope'", "type": "unknown_field"},
        {"loc": ["colour"], "msg": "Unknown filter field 'colour'", "type": "unknown_field"},
        {"loc": ["rating__gt"], "msg": "Value 'high' is not a valid integer", "type": "int_parsing"},
        {"loc": ["rating__near"], "msg": "Unknown filter operator 'near'", "type": "unknown_operator"},
    ]
    bulk = await api.call("POST", "/api/books/", json=[{"title": "A"}, {"title": "", "rating": 0}])
    assert [e["loc"] for e in bulk.payload["errors"]] == [[1, "title"], [1, "rating"]]
    single = await api.call("POST", "/api/books/", json={"title": "", "rating": 9})
    # a one-line headline; the details are in "errors", located
    assert single.payload["error"] == "2 validation errors for Book"
    assert [e["loc"] for e in single.payload["errors"]] == [["title"], ["rating"]]
    bad_id = await api.call("GET", "/api/books/123/")
    assert bad_id.payload["errors"] == [
        {"loc": ["pk"], "msg": "Value '123' is not a valid ObjectId (24 hex digits)", "type": "invalid_id"}
    ]


async def test_duplicate_key_is_409(api: Api) -> None:
    (dune,) = await api.add({"title": "Dune"})
    (emma,) = await api.add({"title": "Emma"})
    again = await api.call("POST", "/api/books/", json={"title": "Dune"})
    assert again.status == 409
    assert again.payload == {
        "error": "A Book with title='Dune' already exists",
        "errors": [
            {"loc": ["title"], "msg": "A Book with this value already exists", "type": "duplicate_key"}
        ],
    }
    assert "title_1" not in str(again.payload)  # the index name stays server-side
    clash = await api.call("PATCH", f"/api/books/{emma['_id']}/", json={"title": "Dune"})
    assert clash.status == 409
    replace = await api.call("PUT", f"/api/books/{emma['_id']}/", json={"title": "Dune"})
    assert replace.status == 409
    assert await Book.count(api.db) == 2
    assert len(await api.recorder.wait(2)) == 2
    assert dune["title"] == "Dune"


async def test_outgoing_excludes_bodies_and_event_data(api: Api) -> None:
    created = await api.call("POST", "/api/quiet/", json={"title": "Dune"})
    assert (created.status, created.payload) == (201, None)
    (book,) = await Book.find(Book.get_cursor(api.db))
    pk = str(book.pk)
    patched = await api.call("PATCH", f"/api/quiet/{pk}/", json={"rating": 1})
    assert (patched.status, patched.payload) == (202, None)
    assert (await api.call("GET", f"/api/quiet/{pk}/")).payload["rating"] == 1
    assert (await api.call("DELETE", f"/api/quiet/{pk}/")).status == 204
    events = await api.recorder.wait(3)
    assert events == [
        {"name": "resource_create", "resource": "/api/quiet/", "data": {"_id": pk}},
        {"name": "resource_update", "resource": "/api/quiet/", "data": {"_id": pk}},
        {"name": "resource_delete", "resource": "/api/quiet/", "data": {"_id": pk}},
    ]


async def test_nested_route(api: Api) -> None:
    dune, *_ = await api.add(*SHELF)
    similar = await api.call("GET", f"/api/books/{dune['_id']}/similar/")
    assert similar.status == 200
    assert sorted(titles(similar)) == ["Hyperion", "Neuromancer"]
    assert similar.payload["objects"][0]["_links"]["self"]["href"].startswith("/api/books/")
    assert (await api.call("GET", f"/api/books/{ObjectId()}/similar/")).status == 404
    assert (await api.call("POST", f"/api/books/{dune['_id']}/similar/", json={})).status == 405


async def test_stored_document_that_no_longer_fits_is_a_generic_500(api: Api) -> None:
    # Another writer (or an old schema) left a document the model rejects:
    # that is the server's problem, answered with a 500 that leaks nothing.
    await api.db[Book.get_collection_name()].insert_one({"title": "Broken", "rating": "not a number"})
    listing = await api.call("GET", "/api/books/")
    assert listing.status == 500
    assert listing.payload == {"error": "Internal Server Error"}
    (doc,) = await api.db[Book.get_collection_name()].find({"title": "Broken"}).to_list(None)
    detail = await api.call("GET", f"/api/books/{doc['_id']}/")
    assert detail.status == 500
    assert "not a number" not in str(detail.payload)


# -- the write path: one event mechanism, validate and serialize once, PUT --


async def test_an_overridden_verb_still_emits_its_event(api: Api) -> None:
    created = await api.call("POST", "/api/stamped/", json={"title": "Dune"})
    assert created.status == 201 and created.payload["tags"] == ["stamped"]
    (event,) = await api.recorder.wait(1)
    assert event["name"] == "resource_create"
    assert event["data"]["tags"] == ["stamped"]
    assert event["data"]["_links"] == {"self": {"href": f"/api/stamped/{created.payload['_id']}/"}}


async def test_each_object_is_validated_and_serialized_once(api: Api) -> None:
    CALLS.update(validate=0, serialize=0)
    created = await api.call("POST", "/api/gadgets/?fields=name", json={"name": "lamp"})
    assert created.status == 201 and set(created.payload) == {"_id", "name", "_links"}
    (event,) = await api.recorder.wait(1)
    assert event["data"]["label"] == "LAMP"  # the event has the whole object, whatever ?fields= said
    assert CALLS == {"validate": 1, "serialize": 1}
    CALLS.update(validate=0, serialize=0)
    bulk = await api.call("POST", "/api/gadgets/", json=[{"name": "a"}, {"name": "b"}, {"name": "c"}])
    assert [g["label"] for g in bulk.payload] == ["A", "B", "C"]
    await api.recorder.wait(4)
    assert CALLS == {"validate": 3, "serialize": 3}


async def test_put_replaces_and_never_creates(api: Api) -> None:
    missing = ObjectId()
    reply = await api.call("PUT", f"/api/books/{missing}/", json={"title": "Ghost"})
    assert (reply.status, reply.payload["error"]) == (404, f"No Book with id {missing}")
    assert (await api.call("PUT", "/api/counters/41/", json={"value": 1})).status == 404
    (book,) = await api.add({"title": "Dune"})
    assert (await api.call("DELETE", f"/api/books/{book['_id']}/")).status == 204
    assert (await api.call("PUT", f"/api/books/{book['_id']}/", json={"title": "Back"})).status == 404
    assert await Book.count(api.db) == 0
    assert await Counter.count(api.db) == 0
    events = await api.recorder.wait(2)
    assert [e["name"] for e in events] == ["resource_create", "resource_delete"]


async def test_put_racing_delete_never_resurrects(api: Api) -> None:
    statuses: set[tuple[int, int]] = set()
    for round_ in range(50):
        book = Book(title=f"race {round_}")
        await book.insert(api.db)
        href = f"/api/books/{book.pk}/"
        put, delete = await asyncio.gather(
            api.call("PUT", href, json={"title": f"race {round_} again"}), api.call("DELETE", href)
        )
        statuses.add((put.status, delete.status))
        assert put.status in (202, 404) and delete.status == 204
        assert await Book.count(api.db) == 0, f"round {round_}: the document came back"
    assert statuses <= {(202, 204), (404, 204)}


async def test_bulk_create_stopped_by_a_duplicate_names_the_item(api: Api) -> None:
    await api.add({"title": "Dune"})
    reply = await api.call(
        "POST",
        "/api/books/",
        json=[{"title": "Emma"}, {"title": "Ulysses"}, {"title": "Dune"}, {"title": "Zed"}],
    )
    assert reply.status == 409
    assert reply.payload == {
        "error": "Item 2: A Book with title='Dune' already exists; items 0 to 1 were stored, "
        "items from 2 on were not",
        "errors": [
            {"loc": [2, "title"], "msg": "A Book with this value already exists", "type": "duplicate_key"}
        ],
    }
    assert sorted(b.title for b in await Book.find(Book.get_cursor(api.db))) == ["Dune", "Emma", "Ulysses"]
    events = await api.recorder.wait(3)
    assert [e["data"]["title"] for e in events] == ["Dune", "Emma", "Ulysses"]  # the stored ones
    first = await api.call("POST", "/api/books/", json=[{"title": "Dune"}, {"title": "New"}])
    assert first.status == 409 and first.payload["error"].endswith("no item was stored")
    assert await Book.count(api.db) == 3


async def test_writes_by_the_model_inside_a_verb_are_published_once_each(api: Api) -> None:
    (dune,) = await api.add({"title": "Dune"})
    await api.call("PATCH", f"/api/books/{dune['_id']}/", json={})  # nothing written: no event
    await api.call("DELETE", "/api/books/?title=Dune")
    events = await api.recorder.wait(2)
    assert [(e["name"], e["data"]["title"]) for e in events] == [
        ("resource_create", "Dune"),
        ("resource_delete", "Dune"),
    ]


async def test_the_database_is_found_once_per_request(db: Any) -> None:
    class CountingApp:
        lookups = 0

        @property
        def db(self) -> Any:
            CountingApp.lookups += 1
            return db

    router = Router("api")
    router.register(Books, "books")
    try:
        status, created = await router.dispatch(CountingApp(), "POST", "/api/books/", body={"title": "Dune"})
        assert status == 201
        assert CountingApp.lookups == 1  # create, then the event: one lookup
        CountingApp.lookups = 0
        href = created["_links"]["self"]["href"]
        assert (await router.dispatch(CountingApp(), "PUT", href, body={"title": "Emma"}))[0] == 202
        assert CountingApp.lookups == 1  # get_object, update, the event
    finally:
        await MemoryChannel(name="pubsub").close()
