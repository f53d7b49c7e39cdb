"""pytest plugin (entry point ``tbone``): database fixtures for TBone apps.

Fixtures:

- ``mongo_uri`` (session): ``MONGODB_URI`` when set, else an embedded SecantusDB
  started once per session on 127.0.0.1.
- ``driver``: ``"pymongo"`` by default; override or parametrize it in a
  ``conftest.py`` (``@pytest.fixture(params=["pymongo", "motor"])``) to run
  tests on both drivers.
- ``db``: a fresh, uniquely named database per test, dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tbone.testing.embedded_db import embedded_mongo, make_client

__all__ = ["db", "driver", "mongo_uri"]


@pytest.fixture(scope="session")
def mongo_uri() -> Iterator[str]:
    with embedded_mongo() as uri:
        yield uri


@pytest.fixture
def driver() -> str:
    return "pymongo"


@pytest.fixture
async def db(mongo_uri: str, driver: str) -> AsyncIterator[Any]:
    client = make_client(mongo_uri, driver)
    name = f"tbone_test_{uuid.uuid4().hex[:12]}"
    database = client[name]
    try:
        yield database
    finally:
        await client.drop_database(name)
        closing = client.close()
        if closing is not None:  # pymongo's close() is a coroutine, motor's is not
            await closing
