"""``connect()``: a database handle configured the way model documents need it.

The handle is a pymongo ``AsyncDatabase`` (pymongo's native asyncio driver).
Its client is created lazily connected, with tz-aware datetimes, the standard
UUID representation and ``tbone.db.bsonmap``'s type registry, so raw queries
made through it (``db.books.find({"price": Decimal("9.99")})``) take the same
natives as the models. Model operations do not rely on these settings: they
open their collections with their own codec options, which is why a motor
``AsyncIOMotorDatabase`` works just as well wherever a database is taken.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tbone.db.bsonmap import TYPE_REGISTRY

__all__ = ["connect"]


def connect(
    uri: str = "mongodb://localhost:27017", name: str | None = None, **client_options: Any
) -> AsyncDatabase[dict[str, Any]]:
    """Create a client for ``uri`` and return its database ``name`` (default: the
    database named in the URI).

    ``client_options`` go to ``AsyncMongoClient`` and override tbone's defaults.
    Close the client when done: ``await db.client.close()``.
    """
    options: dict[str, Any] = {
        "tz_aware": True,
        "uuidRepresentation": "standard",
        "type_registry": TYPE_REGISTRY,
    }
    options.update(client_options)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, **options)
    if name is None:
        return client.get_default_database()
    return client[name]
