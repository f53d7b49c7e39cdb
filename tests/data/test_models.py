"""The data-traffic calls of SPEC's table, one by one."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import orjson
import pytest
from bson import ObjectId

from tbone.data import Field, Model, ValidationError, serialize

from .helpers import errors_of

OID = ObjectId("65f1c0ffee00000000000001")


class Person(Model):
    first_name: str
    last_name: str
    age: int | None = Field(default=None, min=0)


class Book(Model):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    isbn: str | None = None
    title: str
    publication_date: date | None = None
    authors: list[Person] = Field(default_factory=list, max_size=10)
    counters: dict[str, int] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list, min_size=0)
    format: Literal["Paperback", "Hardcover"] = "Paperback"
    rating: Annotated[int, Field(min=1, max=5)] = 3
    number_of_views: int = Field(default=0, projection=None)
    password: str | None = Field(default=None, readonly=True)
    price: Decimal = Decimal("9.99")
    updated: datetime | None = None

    @serialize
    async def full_title(self) -> str:
        return f"{self.title} ({self.format})"

    class Meta:
        name = "books"
        namespace = "store"


DATA: dict[str, Any] = {
    "_id": str(OID),
    "title": "War and Peace",
    "publication_date": "1869-01-01",
    "authors": [{"first_name": "Leo", "last_name": "Tolstoy", "age": "82"}],
    "counters": {"likes": 3},
    "tags": ["novel"],
    "format": "Hardcover",
    "rating": "5",
    "price": "34.77",
    "updated": "2024-05-01T12:00:00Z",
}


def test_construction_coerces_and_validates() -> None:
    book = Book(title="x", rating="4", authors=[{"first_name": "A", "last_name": "B"}])  # type: ignore[arg-type, list-item]
    assert book.rating == 4
    assert book.authors == [Person(first_name="A", last_name="B")]
    with pytest.raises(ValidationError) as info:
        Book()  # type: ignore[call-arg]
    assert info.value.errors == [{"loc": ("title",), "msg": "Field required", "type": "missing"}]
    with pytest.raises(TypeError, match="unexpected keyword arguments: nope"):
        Book(title="x", nope=1)  # type: ignore[call-arg]


def test_from_data_primitives_and_natives_agree() -> None:
    book = Book.from_data(DATA)
    assert book._id == OID and book.publication_date == date(1869, 1, 1)
    assert book.price == Decimal("34.77") and book.rating == 5
    assert book.updated == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert Book.from_data(book.export_data(native=True)) == book
    assert Book.from_data(book.export_data(native=False)) == book


def test_from_data_accepts_any_mapping_and_ignores_unknown_keys() -> None:
    book = Book.from_data(OrderedDict(title="x", unknown=1))
    assert book.title == "x" and "unknown" not in book.__dict__


def test_from_data_of_an_instance_returns_it() -> None:
    book = Book(title="x")
    assert Book.from_data(book) is book  # type: ignore[arg-type]


def test_from_data_rejects_non_mappings() -> None:
    for bad in (None, "title", 3, ["title"]):
        with pytest.raises(ValidationError) as info:
            Book.from_data(bad)  # type: ignore[arg-type]
        assert info.value.errors[0]["type"] == "model_type"


def test_import_data_coerces_into_the_instance() -> None:
    book = Book(title="x", rating=2)
    book.import_data({"rating": "4", "tags": ["a"], "unknown": 1})
    assert (book.title, book.rating, book.tags) == ("x", 4, ["a"])


def test_import_data_is_all_or_nothing() -> None:
    book = Book(title="x", rating=2)
    with pytest.raises(ValidationError) as info:
        book.import_data({"rating": 9, "title": "changed", "tags": "no"})
    assert [e["loc"] for e in info.value.errors] == [("rating",), ("tags",)]
    assert (book.title, book.rating, book.tags) == ("x", 2, [])


def test_import_data_rejects_a_non_mapping_with_value_error() -> None:
    book = Book(title="x")
    with pytest.raises(ValueError, match="mapping"):
        book.import_data(["title", "y"])  # type: ignore[arg-type]


def test_export_data_native_and_primitive() -> None:
    book = Book.from_data(DATA)
    native = book.export_data(native=True)
    assert native["_id"] == OID and native["price"] == Decimal("34.77")
    assert native["publication_date"] == date(1869, 1, 1)
    assert native["number_of_views"] == 0 and native["password"] is None  # every field
    primitive = book.export_data(native=False)
    assert primitive["_id"] == str(OID)
    assert primitive["price"] == "34.77"
    assert primitive["updated"] == "2024-05-01T12:00:00+00:00"
    assert primitive["authors"] == [{"first_name": "Leo", "last_name": "Tolstoy", "age": 82}]
    assert orjson.loads(orjson.dumps(primitive)) == primitive  # plain JSON all the way down
    assert list(primitive) == list(Book._meta.fields)


def test_to_json_and_from_json() -> None:
    book = Book.from_data(DATA)
    raw = book.to_json()
    assert orjson.loads(raw) == book.export_data(native=False)
    assert Book.from_json(raw) == book
    with pytest.raises(ValidationError) as info:
        Book.from_json(b"{not json")
    assert info.value.errors[0]["type"] == "json_invalid"


def test_validate_checks_assigned_values_and_normalizes() -> None:
    book = Book(title="x")
    book.rating = "4"  # type: ignore[assignment]  (assignment is not validated)
    book.validate()
    assert book.rating == 4
    book.rating = 9
    book.title = None  # type: ignore[assignment]
    with pytest.raises(ValidationError) as info:
        book.validate()
    assert [e["loc"] for e in info.value.errors] == [("title",), ("rating",)]
    assert book.rating == 9  # on error nothing is changed


def test_validate_reaches_nested_instances() -> None:
    book = Book(title="x", authors=[Person(first_name="A", last_name="B")])
    book.authors[0].age = -5
    with pytest.raises(ValidationError) as info:
        book.validate()
    assert info.value.errors[0]["loc"] == ("authors", 0, "age")


def test_validate_reports_a_deleted_required_value() -> None:
    book = Book(title="x")
    del book.title
    with pytest.raises(ValidationError) as info:
        book.validate()
    assert info.value.errors == [{"loc": ("title",), "msg": "Field required", "type": "missing"}]


async def test_serialize_honours_projection_and_adds_serialize_methods() -> None:
    book = Book.from_data(DATA)
    out = await book.serialize()
    assert out["full_title"] == "War and Peace (Hardcover)"
    assert "number_of_views" not in out
    assert out["_id"] == str(OID) and out["price"] == "34.77"
    assert out["authors"] == [{"first_name": "Leo", "last_name": "Tolstoy", "age": 82}]
    orjson.dumps(out)


class Handshake(Model):
    """Two @serialize methods that each wait for the other: only concurrency finishes."""

    name: str = ""

    @serialize
    async def left(self) -> str:
        self._left.set()
        await self._right.wait()
        return "left"

    @serialize
    async def right(self) -> str:
        self._right.set()
        await self._left.wait()
        return "right"


async def test_serialize_methods_run_concurrently() -> None:
    model = Handshake()
    model._left = asyncio.Event()  # type: ignore[attr-defined]
    model._right = asyncio.Event()  # type: ignore[attr-defined]
    out = await asyncio.wait_for(model.serialize(), timeout=2)
    assert out == {"name": "", "left": "left", "right": "right"}


class Inner(Model):
    n: int = 0

    @serialize
    async def double(self) -> int:
        return self.n * 2


class Outer(Model):
    inner: Inner | None = None
    inners: list[Inner] = Field(default_factory=list)
    by_key: dict[str, Inner] = Field(default_factory=dict)


async def test_serialize_methods_of_nested_models() -> None:
    outer = Outer(inner=Inner(n=1), inners=[Inner(n=2)], by_key={"a": Inner(n=3)})
    out = await outer.serialize()
    assert out == {
        "inner": {"n": 1, "double": 2},
        "inners": [{"n": 2, "double": 4}],
        "by_key": {"a": {"n": 3, "double": 6}},
    }
    assert await Outer().serialize() == {"inner": None, "inners": [], "by_key": {}}


async def test_serialize_without_serialize_methods_creates_no_coroutine_per_nested_model() -> None:
    calls = 0
    original = Person.serialize

    async def counting(self: Person) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return await original(self)

    class Team(Model):
        members: list[Person] = Field(default_factory=list)

    team = Team(members=[Person(first_name="a", last_name="b")] * 3)
    Person.serialize = counting  # type: ignore[method-assign]
    try:
        out = await team.serialize()
    finally:
        Person.serialize = original  # type: ignore[method-assign]
    assert calls == 0
    assert out["members"][2] == {"first_name": "a", "last_name": "b", "age": None}


async def test_deserialize_skips_readonly_then_validates() -> None:
    book = Book(title="x")
    await book.deserialize({"title": "y", "password": "p", "rating": 2})
    assert (book.title, book.password, book.rating) == ("y", None, 2)
    with pytest.raises(ValidationError):
        await book.deserialize({"rating": 0})
    with pytest.raises(ValueError, match="mapping"):
        await book.deserialize("nope")  # type: ignore[arg-type]


def test_items() -> None:
    person = Person(first_name="A", last_name="B")
    assert list(person.items()) == [("first_name", "A"), ("last_name", "B"), ("age", None)]


def test_equality_and_repr() -> None:
    assert Person(first_name="A", last_name="B") == Person(first_name="A", last_name="B")
    assert Person(first_name="A", last_name="B") != Person(first_name="A", last_name="C")
    assert Person(first_name="A", last_name="B") != {"first_name": "A", "last_name": "B"}
    assert repr(Person(first_name="A", last_name="B")) == "Person(first_name='A', last_name='B', age=None)"
    with pytest.raises(TypeError):
        hash(Person(first_name="A", last_name="B"))


def test_class_access_gives_fields_and_instance_access_values() -> None:
    from tbone.data.fields import StringField

    assert isinstance(Book.title, StringField)
    assert Book(title="x").title == "x"


# -- schema -------------------------------------------------------------------------


def _check(schema: dict[str, Any], value: Any, root: dict[str, Any]) -> list[str]:
    """A small JSON Schema checker for the keywords ``schema()`` emits."""
    if "$ref" in schema:
        return _check(root["$defs"][schema["$ref"].rsplit("/", 1)[1]], value, root)
    if "anyOf" in schema:
        options = [_check(option, value, root) for option in schema["anyOf"]]
        return [] if any(not o for o in options) else ["anyOf"]
    problems: list[str] = []
    kind = schema.get("type")
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }
    if kind is not None and not checks[kind](value):
        return [f"type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        problems.append("enum")
    if "minimum" in schema and isinstance(value, int | float) and value < schema["minimum"]:
        problems.append("minimum")
    if "maximum" in schema and isinstance(value, int | float) and value > schema["maximum"]:
        problems.append("maximum")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"required {key}")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                problems += _check(sub, value[key], root)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for sub_value in value.values():
                problems += _check(extra, sub_value, root)
    if kind == "array":
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            problems.append("maxItems")
        for item in value:
            problems += _check(schema.get("items", {}), item, root)
    return problems


def test_schema_shape() -> None:
    schema = Book.schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Book" and schema["type"] == "object"
    assert schema["required"] == ["title"]
    props = schema["properties"]
    assert props["rating"] == {"type": "integer", "minimum": 1, "maximum": 5, "default": 3}
    assert props["format"]["enum"] == ["Paperback", "Hardcover"]
    assert props["authors"] == {"type": "array", "maxItems": 10, "items": {"$ref": "#/$defs/Person"}}
    assert props["counters"]["additionalProperties"] == {"type": "integer"}
    assert props["password"]["readOnly"] is True
    assert props["updated"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    assert schema["$defs"]["Person"]["required"] == ["first_name", "last_name"]


def test_exported_documents_satisfy_the_schema_and_bad_ones_do_not() -> None:
    schema = Book.schema()
    good = [Book(title="x"), Book.from_data(DATA)]
    for book in good:
        assert _check(schema, book.export_data(native=False), schema) == []
    bad = Book.from_data(DATA).export_data(native=False)
    bad["rating"] = 7
    bad["authors"][0]["age"] = "old"
    del bad["title"]
    assert sorted(_check(schema, bad, schema)) == ["anyOf", "maximum", "required title"]


def test_schema_of_a_recursive_model_terminates() -> None:
    from tests.data.forward_models import Node

    schema = Node.schema()
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["properties"]["name"] == {"type": "string"}


def test_missing_required_in_errors_of_helper() -> None:
    assert errors_of(Person, {"first_name": "a"})[0]["loc"] == ("last_name",)
