"""Start and reach a MongoDB-wire-protocol server for tests.

When ``MONGODB_URI`` is set, tests run against that server (a real ``mongod``).
Otherwise an embedded SecantusDB server is started in this process on
127.0.0.1 with its data in a temporary directory, and stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["DRIVERS", "embedded_mongo", "is_secantus", "make_client"]

DRIVERS = ("pymongo", "motor")


@contextmanager
def embedded_mongo() -> Iterator[str]:
    """Yield a MongoDB URI: ``MONGODB_URI`` if set, else a fresh embedded SecantusDB."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield uri
        return
    from secantus import SecantusDBServer  # on use, not a cycle: unneeded with MONGODB_URI

    storage = tempfile.mkdtemp(prefix="tbone-secantus-")
    server = SecantusDBServer(host="127.0.0.1", port=0, storage_path=storage)
    server.start()
    try:
        yield str(server.uri)
    finally:
        server.stop()
        shutil.rmtree(storage, ignore_errors=True)


def make_client(uri: str, driver: str = "pymongo") -> Any:
    """Create an async client of the given driver ("pymongo" or "motor")."""
    if driver == "pymongo":
        from pymongo import AsyncMongoClient  # on use, not a cycle: the driver asked for

        return AsyncMongoClient(uri, tz_aware=True)
    if driver == "motor":
        from motor.motor_asyncio import AsyncIOMotorClient  # on use, not a cycle: optional

        return AsyncIOMotorClient(uri, tz_aware=True)
    raise ValueError(f"unknown driver {driver!r}; expected one of {DRIVERS}")


async def is_secantus(db: Any) -> bool:
    """Whether ``db`` lives on SecantusDB (its buildInfo carries ``secantusVersion``)."""
    info = await db.command("buildInfo")
    return "secantusVersion" in info
