"""pytest plugin (entry point ``tbone``): database fixtures for TBone apps.

Fixtures:

- ``mongo_uri`` (session): ``MONGODB_URI`` when set, else an embedded SecantusDB
  started once per session on 127.0.0.1.
- ``driver``: ``"pymongo"`` by default; override or parametrize it in a
  ``conftest.py`` (``@pytest.fixture(params=["pymongo", "motor"])``) to run
  tests on both drivers.
- ``db``: a fresh, uniquely named database per test, dropped afterwards.
- ``redis_server`` (session): a ``redis-server`` on 127.0.0.1 with a free port,
  no persistence, started on first use (see ``tbone.testing.redis_server``);
  shared by the session, so do not stop it. Skips the test when
  ``redis-server`` is missing, except in CI (``CI`` set), where it fails.
- ``redis_url``: that server's URL; every key is deleted after the test.
- ``restartable_redis``: a ``RedisServer`` of the test's own, which it may
  ``stop``, ``kill``, ``start`` and ``restart`` (same port); closed afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tbone.testing.embedded_db import embedded_mongo, make_client
from tbone.testing.redis_server import RedisServer, require_redis_server

__all__ = ["db", "driver", "mongo_uri", "redis_server", "redis_url", "restartable_redis"]


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


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    with RedisServer(require_redis_server()) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    try:
        yield redis_server.url
    finally:
        if redis_server.running:
            redis_server.flush()


@pytest.fixture
def restartable_redis() -> Iterator[RedisServer]:
    with RedisServer(require_redis_server()) as server:
        yield server
