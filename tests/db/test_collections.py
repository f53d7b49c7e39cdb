"""create_collection: creation args and every kind of Meta index, idempotently."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from bson import ObjectId
from pymongo import DESCENDING
from pymongo.errors import OperationFailure

from tbone.data import ConfigurationError, Field, Model
from tbone.db import create_collection, index_specs
from tbone.db.models import MongoCollectionMixin
from tbone.testing import is_secantus

from .models import Author, Book, Ticket


class Session(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    user: str
    email: str | None = Field(default=None, alias="mail")
    expires: datetime | None = None
    nickname: str | None = None

    class Meta:
        name = "sessions"
        namespace = "auth"
        creation_args = {"capped": False}
        indices = [
            {"name": "user", "fields": ["user", ("expires", DESCENDING)]},
            {"name": "ttl", "fields": ["expires"], "expireAfterSeconds": 3600},
            {"name": "nick", "fields": "nickname", "sparse": True},
            {
                "name": "email",
                "fields": ["email"],  # the attribute name: stored under its alias
                "unique": True,
                "partialFilterExpression": {"mail": {"$type": "string"}},
            },
        ]


class Log(Model, MongoCollectionMixin):
    line: str

    class Meta:
        name = "log"
        creation_args = {"capped": True, "size": 65536}


async def test_creates_every_index_with_its_options(db: Any) -> None:
    collection = await create_collection(db, Session)
    info = await db["auth.sessions"].index_information()
    assert info["user"]["key"] == [("user", 1), ("expires", -1)]
    assert info["ttl"]["expireAfterSeconds"] == 3600
    assert info["nick"]["sparse"] is True
    assert info["email"]["unique"] is True
    assert info["email"]["key"] == [("mail", 1)]
    assert dict(info["email"]["partialFilterExpression"]) == {"mail": {"$type": "string"}}
    assert collection.name == "auth.sessions"


async def test_is_idempotent_and_keeps_an_existing_collection(db: Any) -> None:
    await db["auth.sessions"].insert_one({"user": "kept"})
    await create_collection(db, Session)
    await create_collection(db, Session)
    assert await db["auth.sessions"].count_documents({}) == 1
    assert len(await db["auth.sessions"].index_information()) == 5


async def test_creation_args_are_used(db: Any) -> None:
    await create_collection(db, Log)
    options = await db["log"].options()
    assert options.get("capped") is True
    await create_collection(db, Log)


async def test_a_primary_key_other_than_id_gets_a_unique_index(db: Any) -> None:
    await create_collection(db, Author)
    await create_collection(db, Ticket)
    assert (await db["store.authors"].index_information())["handle_1"]["unique"] is True
    assert (await db["tickets"].index_information())["n_1"]["unique"] is True


def test_declared_unique_pk_index_is_not_doubled() -> None:
    class Account(Model, MongoCollectionMixin):
        login: str = Field(primary_key=True)

        class Meta:
            indices = [{"name": "login", "fields": ["login"], "unique": True}]

    assert index_specs(Account) == [([("login", 1)], {"name": "login", "unique": True})]


async def test_changed_index_options_are_an_error_not_ignored(db: Any) -> None:
    class Changed(Model, MongoCollectionMixin):
        user: str

        class Meta:
            name = "sessions"
            namespace = "auth"
            indices = [{"name": "user", "fields": ["user"], "unique": True}]

    await create_collection(db, Session)
    with pytest.raises(OperationFailure):
        await create_collection(db, Changed)


@pytest.mark.parametrize(
    "indices",
    [[{"name": "x"}], [{"fields": []}], [{"fields": [("a", 1, 2)]}], [{"fields": [3]}], ["title"]],
)
def test_malformed_indices_are_configuration_errors(indices: list[Any]) -> None:
    class Bad(Model, MongoCollectionMixin):
        title: str

        class Meta:
            pass

    Bad._meta.indices = indices
    with pytest.raises(ConfigurationError, match=r"Bad.Meta.indices\[0\]"):
        index_specs(Bad)


async def test_text_index(db: Any) -> None:
    if await is_secantus(db):
        pytest.skip("SecantusDB has no text indexes")

    class Searchable(Model, MongoCollectionMixin):
        title: str

        class Meta:
            name = "searchable"
            indices = [{"name": "fts", "fields": [("title", "text")]}]

    await create_collection(db, Searchable)
    await Searchable(title="war and peace").insert(db)
    assert await Searchable.count(db, {"$text": {"$search": "peace"}}) == 1


async def test_book_indices_enforce_uniqueness_only_for_set_isbns(db: Any) -> None:
    await create_collection(db, Book)
    await Book(title="a").insert(db)
    await Book(title="b").insert(db)  # isbn None twice: the partial index ignores them
    assert await Book.count(db) == 2


async def test_a_models_collection_is_opened_once_per_database_object(db: Any) -> None:
    from datetime import timedelta, timezone

    from bson.codec_options import CodecOptions

    collection = Book.get_collection(db)
    assert Book.get_collection(db) is collection  # reused: opening one costs ~3.5 µs
    assert collection.codec_options.type_registry is not None and collection.codec_options.tz_aware
    assert Ticket.get_collection(db) is not collection
    # another database object has its own options, hence its own collections
    plus_two = timezone(timedelta(hours=2))
    other = db.client.get_database(db.name, codec_options=CodecOptions(tz_aware=True, tzinfo=plus_two))
    theirs = Book.get_collection(other)
    assert theirs is not collection and theirs.codec_options.tzinfo == plus_two
    await Ticket.from_data({"n": 1}).insert(db)
    assert (await Ticket.get(other, {"n": 1})).number == 1
