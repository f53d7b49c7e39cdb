"""ModelResource's conversions, on a dict-backed store, through Router.dispatch."""

from __future__ import annotations

import builtins
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from bson import ObjectId

from tbone.data import Field, Model
from tbone.data.errors import ConfigurationError
from tbone.resources import ModelResource, NotFound, Router


class Book(Model):
    isbn: str = Field(primary_key=True)
    title: str = Field(min_length=1)
    rating: int = Field(default=3, min=1, max=5)
    added: datetime = Field(default_factory=lambda: datetime(2024, 1, 1, tzinfo=UTC), readonly=True)


class Note(Model):
    _id: ObjectId = Field(default_factory=ObjectId, readonly=True)
    text: str


class Counter(Model):
    id: int = Field(primary_key=True)


class Store:
    def __init__(self) -> None:
        self.db: dict[Any, Model] = {}


M = TypeVar("M", bound=Model)


class Stored(ModelResource[M]):
    """A resource over a dict, for any model: each subclass names its model once,
    as ``Stored[Book]`` (``Meta.object_class`` is inferred from it)."""

    def store(self) -> dict[Any, Model]:
        db: dict[Any, Model] = self.get_db()
        return db

    def found(self, pk: Any) -> Any:
        if pk not in self.store():
            raise NotFound()
        return self.store()[pk]

    async def list(self) -> builtins.list[dict[str, Any]]:
        return await self.serialize_many(self.store().values())  # type: ignore[arg-type]

    async def create(self) -> Any:
        many = isinstance(self.data, builtins.list)
        objs = self.build_many(self.data) if many else [self.build(self.data)]
        for obj in objs:
            self.store()[obj.pk] = obj
        return await self.serialize_many(objs) if many else await self.serialize(objs[0])

    async def detail(self, pk: Any) -> dict[str, Any]:
        return await self.serialize(self.found(pk))

    async def update(self, pk: Any) -> dict[str, Any]:
        obj = self.build(self.data, keep=self.keep_readonly(self.found(pk)))
        self.store()[pk] = obj
        return await self.serialize(obj)

    async def modify(self, pk: Any) -> dict[str, Any]:
        return await self.serialize(await self.apply(self.found(pk), self.data))


class Books(Stored[Book]):
    pass


class Notes(Stored[Note]):
    pass


class Counters(Stored[Counter]):
    class Meta:
        object_class = Counter  # the same class as Stored[Counter]: fine


def router() -> Router:
    r = Router("api")
    r.register(Books, "books")
    r.register(Notes, "notes")
    r.register(Counters, "counters")
    return r


@pytest.fixture
def api() -> tuple[Router, Store]:
    return router(), Store()


async def test_create_skips_readonly_and_links_by_primary_key(api: tuple[Router, Store]) -> None:
    r, app = api
    body = {"isbn": "978-1", "title": "Dune", "added": "1999-01-01T00:00:00Z", "extra": 1}
    status, payload = await r.dispatch(app, "POST", "/api/books/", body=body)
    assert status == 201
    assert payload == {
        "isbn": "978-1",
        "title": "Dune",
        "rating": 3,
        "added": "2024-01-01T00:00:00+00:00",
        "_links": {"self": {"href": "/api/books/978-1/"}},
    }


async def test_validation_errors_are_400_with_the_list(api: tuple[Router, Store]) -> None:
    r, app = api
    status, payload = await r.dispatch(app, "POST", "/api/books/", body={"title": "", "rating": "x"})
    assert status == 400
    assert [e["loc"] for e in payload["errors"]] == [["isbn"], ["title"], ["rating"]]
    status, payload = await r.dispatch(app, "POST", "/api/books/", body=[{"isbn": "1", "title": "A"}, {}])
    assert status == 400
    assert [e["loc"] for e in payload["errors"]] == [[1, "isbn"], [1, "title"]]
    assert app.db == {}
    for body in ("text", 3):
        status, payload = await r.dispatch(app, "POST", "/api/books/", body=body)
        assert (status, payload["error"]) == (
            400,
            f"Expected a JSON object, got a JSON {type(body).__name__}",
        )
    status, payload = await r.dispatch(app, "POST", "/api/books/", body=[1])
    assert (status, payload["errors"][0]["loc"]) == (400, [0])


async def test_put_keeps_readonly_and_patch_validates(api: tuple[Router, Store]) -> None:
    r, app = api
    await r.dispatch(app, "POST", "/api/books/", body={"isbn": "1", "title": "Dune"})
    status, payload = await r.dispatch(
        app, "PUT", "/api/books/1/", body={"isbn": "2", "title": "Emma", "added": "2000-01-01T00:00:00Z"}
    )
    assert status == 202
    assert (payload["isbn"], payload["title"], payload["added"]) == ("1", "Emma", "2024-01-01T00:00:00+00:00")
    status, payload = await r.dispatch(app, "PATCH", "/api/books/1/", body={"rating": 9})
    assert status == 400
    assert payload["errors"] == [{"loc": ["rating"], "msg": "Value must be at most 5", "type": "too_large"}]
    status, payload = await r.dispatch(app, "PATCH", "/api/books/1/", body={"rating": "4"})
    assert (status, payload["rating"], payload["title"]) == (202, 4, "Emma")


async def test_fields_limit_the_payload_and_keep_the_pk(api: tuple[Router, Store]) -> None:
    r, app = api
    await r.dispatch(app, "POST", "/api/books/", body={"isbn": "1", "title": "Dune"})
    status, payload = await r.dispatch(app, "GET", "/api/books/1/?fields=title")
    assert (status, payload) == (
        200,
        {"isbn": "1", "title": "Dune", "_links": {"self": {"href": "/api/books/1/"}}},
    )
    status, payload = await r.dispatch(app, "GET", "/api/books/?fields=title,nope")
    assert status == 400
    assert payload["errors"] == [{"loc": ["fields"], "msg": "Unknown field 'nope'", "type": "unknown_field"}]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/notes/abc/", 400),
        (f"/api/notes/{ObjectId()}/", 404),
        ("/api/counters/x1/", 400),
        ("/api/counters/12/", 404),
        ("/api/books/any%20string/", 404),
    ],
)
async def test_ids_are_coerced_by_the_primary_key_field(
    api: tuple[Router, Store], path: str, status: int
) -> None:
    r, app = api
    got, payload = await r.dispatch(app, "GET", path)
    assert got == status, payload
    if status == 400:
        assert payload["error"].startswith("Invalid id")
        assert payload["errors"][0]["loc"] == ["pk"]


async def test_objectid_and_int_keys_round_trip(api: tuple[Router, Store]) -> None:
    r, app = api
    status, note = await r.dispatch(app, "POST", "/api/notes/", body={"text": "hi", "_id": "ignored"})
    assert status == 201
    oid = note["_id"]
    assert ObjectId.is_valid(oid)
    assert (await r.dispatch(app, "GET", f"/api/notes/{oid}/")) == (200, note)
    assert note["_links"]["self"]["href"] == f"/api/notes/{oid}/"
    _, counter = await r.dispatch(app, "POST", "/api/counters/", body={"id": "7"})
    assert counter["id"] == 7
    assert (await r.dispatch(app, "GET", "/api/counters/7/"))[0] == 200


def test_object_class_must_be_a_model() -> None:
    with pytest.raises(ConfigurationError, match="object_class"):

        class Wrong(ModelResource[Any]):
            class Meta:
                object_class = dict


async def test_abstract_model_resource_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    class Abstract(ModelResource[Any]):
        async def detail(self, pk: Any) -> Any:
            return None

    r = Router("api")
    r.register(Abstract, "x")
    assert await r.dispatch(Store(), "GET", "/api/x/1/") == (500, {"error": "Internal Server Error"})
    assert "object_class is not set" in caplog.text


def test_a_model_without_primary_key_is_rejected_when_the_resource_is_defined() -> None:
    from tbone.data import ConfigurationError, Model
    from tbone.resources import ModelResource

    class Keyless(Model):
        text: str

    with pytest.raises(ConfigurationError, match="Keyless has no primary key"):

        class KeylessResource(ModelResource[Keyless]):
            class Meta:
                object_class = Keyless
