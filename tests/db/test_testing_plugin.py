"""The tbone pytest plugin's database fixtures (tbone.testing)."""

from __future__ import annotations

from typing import Any

import pytest

from tbone.testing import DRIVERS, is_secantus, make_client

_seen: list[tuple[str, str]] = []


async def test_db_is_a_fresh_empty_database_of_the_driver(db: Any, driver: str, mongo_uri: str) -> None:
    assert driver in DRIVERS
    assert db.name.startswith("tbone_test_")
    assert await db.list_collection_names() == []
    await db["scratch"].insert_one({"x": 1})
    assert isinstance(await is_secantus(db), bool)
    _seen.append((mongo_uri, db.name))


async def test_the_previous_database_was_dropped(db: Any) -> None:
    assert _seen, "runs after test_db_is_a_fresh_empty_database_of_the_driver"
    uri, _ = _seen[0]
    client = make_client(uri)
    try:
        names = await client.list_database_names()
    finally:
        await client.close()
    assert not {name for _, name in _seen} & set(names)
    assert db.name not in {name for _, name in _seen}


def test_make_client_rejects_unknown_drivers() -> None:
    with pytest.raises(ValueError, match="unknown driver"):
        make_client("mongodb://127.0.0.1:1", "mongoengine")
