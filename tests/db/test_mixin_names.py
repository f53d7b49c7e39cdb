"""A field named like a persistence method of ``MongoCollectionMixin`` is refused
when the class is defined (issue 11, item 4): it would shadow the method, and
every list request and DELETE would then fail.

Only the attribute name collides: the stored key may be anything, through
``Field(alias=...)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from bson import ObjectId

from tbone.data import ConfigurationError, Field, Model
from tbone.db.models import MongoCollectionMixin

#: Every persistence method a field could shadow (the mixin's public methods).
METHODS = [
    "count",
    "delete",
    "delete_entries",
    "find",
    "find_one",
    "get",
    "get_collection",
    "get_cursor",
    "insert",
    "insert_many",
    "modify",
    "pk_filter",
    "save",
    "update",
]


def define(field_name: str, *bases: type[Any]) -> type[Any]:
    """``class Stored(*bases): <field_name>: int = 0``, built as a class statement would."""
    namespace: dict[str, Any] = {"__annotations__": {field_name: int}, field_name: 0}
    return type("Stored", bases or (Model, MongoCollectionMixin), namespace)


def test_every_public_method_is_covered() -> None:
    public = sorted(
        name
        for name, value in vars(MongoCollectionMixin).items()
        if not name.startswith("_") and callable(getattr(MongoCollectionMixin, name))
    )
    assert public == sorted(METHODS)


@pytest.mark.parametrize("method", METHODS)
def test_field_named_like_a_method_is_refused(method: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        define(method)
    message = str(info.value)
    assert f"Stored.{method}" in message  # the field
    assert f"MongoCollectionMixin.{method}()" in message  # the method
    assert f'Field(alias="{method}")' in message  # the fix


def test_class_statement_with_count_field() -> None:
    with pytest.raises(ConfigurationError, match=r"Inventory\.count"):

        class Inventory(Model, MongoCollectionMixin):
            _id: ObjectId | None = Field(default=None, primary_key=True)
            name: str
            count: int = 0


def test_mixin_listed_first_is_checked_too() -> None:
    with pytest.raises(ConfigurationError, match=r"Stored\.delete"):
        define("delete", MongoCollectionMixin, Model)


def test_inherited_field_is_checked() -> None:
    class Base(Model):  # not persisted itself: a field named save is fine here
        save: bool = False

    with pytest.raises(ConfigurationError, match=r"Base\.save.*MongoCollectionMixin\.save\(\)"):

        class Stored(Base, MongoCollectionMixin):
            name: str = ""

    assert Base(save=True).save is True


def test_annotation_without_default() -> None:
    with pytest.raises(ConfigurationError, match=r"find_one"):

        class Stored(Model, MongoCollectionMixin):
            find_one: str


async def test_alias_keeps_the_stored_key(db: Any) -> None:
    class Shelf(Model, MongoCollectionMixin):
        _id: ObjectId | None = Field(default=None, primary_key=True)
        n: int = Field(default=0, alias="count")

        class Meta:
            name = "shelves_alias"

    shelf = Shelf.from_data({"count": 4})
    assert shelf.n == 4
    await shelf.insert(db)
    stored = await Shelf.get_collection(db).find_one({"_id": shelf._id})
    assert stored is not None and stored["count"] == 4
    assert await Shelf.count(db) == 1  # the method is still there
    assert await Shelf.delete_entries(db, {}) == 1


def test_classvar_and_private_names_are_not_fields() -> None:
    class Stored(Model, MongoCollectionMixin):
        _id: ObjectId | None = Field(default=None, primary_key=True)
        kinds: ClassVar[tuple[str, ...]] = ("a",)
        name: str = ""

    assert Stored.kinds == ("a",)


def test_method_override_is_not_a_field() -> None:
    class Stored(Model, MongoCollectionMixin):
        _id: ObjectId | None = Field(default=None, primary_key=True)

        @classmethod
        async def count(cls, db: Any, filters: Any = None) -> int:
            return 0

    assert callable(Stored.count)


def test_subclass_of_a_checked_model_is_checked() -> None:
    class Stored(Model, MongoCollectionMixin):
        _id: ObjectId | None = Field(default=None, primary_key=True)

    with pytest.raises(ConfigurationError, match=r"Child\.modify"):

        class Child(Stored):
            modify: str = ""
