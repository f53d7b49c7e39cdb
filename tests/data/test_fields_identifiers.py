"""UUID, ObjectId, Enum, Literal choices and references (DBRef / Ref[Model])."""

from __future__ import annotations

import enum
import uuid
from typing import Any, Literal

import pytest
from bson import DBRef, ObjectId

from tbone.data import Field, Model, Ref, ValidationError
from tbone.data.fields import DBRefField, EnumField, ObjectIdField, StringField, UUIDField

from .helpers import errors_of, types

OID = ObjectId("65f1c0ffee00000000000001")
UID = uuid.UUID("12345678-1234-5678-1234-567812345678")


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 3


class Author(Model):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    name: str = ""

    class Meta:
        name = "authors"
        namespace = "lib"


class Things(Model):
    oid: ObjectId | None = None
    uid: uuid.UUID | None = None
    color: Color | None = None
    level: Level | None = None
    size: Literal["S", "M", "L"] | None = None
    count: Literal[1, 2, 3] | None = None
    ref: DBRef | None = None
    author: Ref[Author] | None = None


def test_field_classes() -> None:
    assert isinstance(Things.oid, ObjectIdField)
    assert isinstance(Things.uid, UUIDField)
    assert isinstance(Things.color, EnumField)
    assert isinstance(Things.size, StringField) and Things.size.choices == ("S", "M", "L")
    assert isinstance(Things.ref, DBRefField) and Things.ref.model is None
    assert isinstance(Things.author, DBRefField) and Things.author.model is Author


def test_objectid() -> None:
    assert Things.from_data({"oid": str(OID)}).oid == OID
    assert Things.from_data({"oid": OID}).oid is OID
    assert types(Things, {"oid": "65f1c0ffee"}) == ["objectid_parsing"]
    assert types(Things, {"oid": "z" * 24}) == ["objectid_parsing"]
    assert types(Things, {"oid": 12}) == ["objectid_parsing"]
    assert Things(oid=OID).export_data(native=False)["oid"] == str(OID)


def test_uuid() -> None:
    assert Things.from_data({"uid": str(UID)}).uid == UID
    assert Things.from_data({"uid": UID.hex}).uid == UID
    assert types(Things, {"uid": "not-a-uuid"}) == ["uuid_parsing"]
    assert types(Things, {"uid": 5}) == ["uuid_type"]
    assert Things(uid=UID).export_data(native=False)["uid"] == str(UID)
    assert Things(uid=UID).export_data()["uid"] is UID


def test_enum_accepts_members_and_values() -> None:
    assert Things.from_data({"color": "red"}).color is Color.RED
    assert Things.from_data({"color": Color.BLUE}).color is Color.BLUE
    assert Things.from_data({"level": 3}).level is Level.HIGH
    assert Things.from_data({"level": "3"}).level is Level.HIGH  # a query string carries "3"
    assert Things(color=Color.RED).export_data(native=False)["color"] == "red"
    assert Things(color=Color.RED).export_data(native=True)["color"] is Color.RED


@pytest.mark.parametrize(("name", "raw"), [("color", "green"), ("level", 2), ("level", True), ("color", [])])
def test_enum_rejects(name: str, raw: Any) -> None:
    (err,) = errors_of(Things, {name: raw})
    assert err["type"] == "enum" and err["loc"] == (name,)


def test_literal_is_choices() -> None:
    assert Things.from_data({"size": "M", "count": 2}).count == 2
    assert types(Things, {"size": "XL"}) == ["choice"]
    assert types(Things, {"count": 4}) == ["choice"]
    assert types(Things, {"count": "4"}) == ["choice"]
    assert Things.from_data({"count": "2"}).count == 2


def test_untyped_dbref() -> None:
    ref = DBRef("books", OID)
    assert Things.from_data({"ref": ref}).ref == ref
    assert Things.from_data({"ref": {"$ref": "books", "$id": 3}}).ref == DBRef("books", 3)
    assert types(Things, {"ref": "books/3"}) == ["dbref_type"]
    assert Things(ref=ref).export_data(native=False)["ref"] == {"$ref": "books", "$id": str(OID)}


def test_typed_ref_from_instance_primary_key_and_dbref() -> None:
    author = Author(_id=OID, name="Leo")
    expected = Ref("lib.authors", OID, None, Author)
    assert Things(author=author).author == expected
    assert Things.from_data({"author": str(OID)}).author == expected
    assert Things.from_data({"author": DBRef("lib.authors", str(OID))}).author == expected
    assert Things.from_data({"author": {"$ref": "lib.authors", "$id": str(OID)}}).author == expected
    assert Ref.to(author) == expected


def test_typed_ref_rejects() -> None:
    assert types(Things, {"author": Author(name="unsaved")}) == ["dbref_unsaved"]
    assert types(Things, {"author": "not-an-objectid"}) == ["dbref_type"]
    with pytest.raises(ValueError, match="no primary key"):
        Ref.to(Author(name="unsaved"))


def test_ref_exports_as_dbref_natively_and_as_object_in_json() -> None:
    things = Things(author=Author(_id=OID))
    native = things.export_data(native=True)["author"]
    assert type(native) is DBRef and native == DBRef("lib.authors", OID)
    assert things.export_data(native=False)["author"] == {"$ref": "lib.authors", "$id": str(OID)}
    assert Things.from_data(things.export_data(native=False)) == things
    assert Things.from_data(things.export_data(native=True)) == things


async def test_ref_fetch_uses_the_primary_key() -> None:
    class FakeCollection:
        def __init__(self) -> None:
            self.queries: list[dict[str, Any]] = []

        async def find_one(self, query: dict[str, Any]) -> dict[str, Any] | None:
            self.queries.append(query)
            return {"_id": OID, "name": "Leo"} if query == {"_id": OID} else None

    collection = FakeCollection()
    db = {"lib.authors": collection}
    ref = Ref.to(Author(_id=OID))
    fetched = await ref.fetch(db)
    assert fetched == Author(_id=OID, name="Leo")
    assert await Ref("lib.authors", ObjectId(), None, Author).fetch(db) is None
    assert collection.queries[0] == {"_id": OID}


@pytest.mark.parametrize(
    "raw",
    [
        {"$ref": "users", "$id": str(OID)},
        {"$ref": "authors", "$id": str(OID)},  # the name without the namespace
        DBRef("users", OID),
        Ref("users", OID, None, Author),  # the fast path: an exact Ref
        Ref("users", OID),
    ],
)
def test_a_typed_ref_into_another_collection_is_refused(raw: Any) -> None:
    for build in (lambda: Things.from_data({"author": raw}), lambda: Things(author=raw)):
        with pytest.raises(ValidationError) as info:
            build()
        errors = info.value.errors
        assert [(e["loc"], e["type"]) for e in errors] == [(("author",), "dbref_collection")]
        assert "'lib.authors'" in errors[0]["msg"]
    things = Things()
    things.author = raw  # type: ignore[assignment]  # assignment is not validated
    with pytest.raises(ValidationError):
        things.validate()


def test_a_typed_ref_takes_its_own_collection_in_every_form() -> None:
    expected = Ref("lib.authors", OID, None, Author)
    for raw in ({"$ref": "lib.authors", "$id": str(OID)}, DBRef("lib.authors", OID), expected, OID):
        assert Things(author=raw).author == expected
    assert types(Things, {"author": {"$ref": "lib.authors", "$id": str(OID), "$db": 3}}) == ["dbref_type"]


def test_an_untyped_dbref_id_beyond_64_bits_is_refused() -> None:
    assert types(Things, {"ref": {"$ref": "x", "$id": 2**64}}) == ["int64_range"]
    assert Things.from_data({"ref": {"$ref": "x", "$id": 2**63 - 1}}).ref == DBRef("x", 2**63 - 1)
