"""connect(): a pymongo AsyncDatabase set up for model documents."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from bson.binary import UuidRepresentation
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConfigurationError

from tbone.db import TYPE_REGISTRY, connect

from .models import Book


@pytest.fixture
async def database(mongo_uri: str) -> AsyncIterator[AsyncDatabase[dict[str, object]]]:
    db = connect(uri=mongo_uri, name=f"tbone_connect_{uuid.uuid4().hex[:8]}")
    yield db
    await db.client.drop_database(db.name)
    await db.client.close()


async def test_connect_returns_a_configured_async_database(
    database: AsyncDatabase[dict[str, object]],
) -> None:
    assert isinstance(database, AsyncDatabase)
    options = database.codec_options
    assert options.tz_aware
    assert options.uuid_representation == UuidRepresentation.STANDARD
    assert options.type_registry is TYPE_REGISTRY


async def test_raw_queries_through_connect_take_natives(database: AsyncDatabase[dict[str, object]]) -> None:
    book = Book(title="t", price=Decimal("2.50"), release=date(2001, 9, 9))
    await book.insert(database)
    raw = await database["store.books"].find_one({"price": Decimal("2.50"), "release": date(2001, 9, 9)})
    assert raw is not None and raw["uid"] == book.uid  # a UUID, not a Binary


def _with_path(uri: str, path: str) -> str:
    return urlsplit(uri)._replace(path=path).geturl()


async def test_database_name_from_the_uri(mongo_uri: str) -> None:
    db = connect(uri=_with_path(mongo_uri, "/fromuri"))
    try:
        assert db.name == "fromuri"
    finally:
        await db.client.close()
    with pytest.raises(ConfigurationError, match="database"):
        connect(uri=_with_path(mongo_uri, "/"))  # no name and none in the URI


async def test_client_options_override_the_defaults(mongo_uri: str) -> None:
    db = connect(uri=mongo_uri, name="x", tz_aware=False)
    try:
        assert db.codec_options.tz_aware is False
    finally:
        await db.client.close()
