"""``connect()``: a database handle configured the way model documents need it.

The handle is a pymongo ``AsyncDatabase`` (pymongo's native asyncio driver).
Its client is created lazily connected, with tz-aware datetimes, the standard
UUID representation and ``tbone.db.bsonmap``'s type registry, so raw queries
made through it (``db.books.find({"price": Decimal("9.99")})``) take the same
natives as the models. Model operations do not rely on these settings: they
open their collections with their own codec options, which is why a motor
``AsyncIOMotorDatabase`` works just as well wherever a database is taken.

The client also gets :data:`TIMEOUT_OPTIONS`: when the database goes away, an
operation fails within about five seconds instead of the driver's 30 s, and a
``MongoResource`` answers it with a 503 (see docs/resources.md, "When the
database goes away"). The driver reconnects by itself when the database
returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from tbone.db.bsonmap import TYPE_REGISTRY

__all__ = ["TIMEOUT_OPTIONS", "connect"]

TIMEOUT_OPTIONS: Final[Mapping[str, int]] = {
    # how long an operation waits for a usable server (the database is down,
    # or unreachable): then ServerSelectionTimeoutError. The driver's default
    # is 30 s, far longer than an HTTP client waits.
    "serverSelectionTimeoutMS": 5000,
    # opening a connection (TCP and TLS handshake, then hello); also the
    # monitor's timeout when it checks the server. Driver default: 20 s.
    "connectTimeoutMS": 5000,
    # Not socketTimeoutMS: with it, pymongo's asyncio network layer puts a
    # timeout around every read, measured at 5-10% more time per find_one
    # (bench/db.py); a connection that goes silent (a partition) is left to
    # the driver's monitor. Pass socketTimeoutMS to connect() to bound it.
}
"""Client timeouts ``connect()`` sets unless the caller (or the URI) sets them.
Pass the same to a motor client: ``AsyncIOMotorClient(uri, **TIMEOUT_OPTIONS)``."""


def _uri_option_names(uri: str) -> set[str]:
    """The (lower-cased) names of the options in ``uri``'s query string."""
    _, _, query = uri.partition("?")
    return {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}


def connect(
    uri: str = "mongodb://localhost:27017", name: str | None = None, **client_options: Any
) -> AsyncDatabase[dict[str, Any]]:
    """Create a client for ``uri`` and return its database ``name`` (default: the
    database named in the URI).

    ``client_options`` go to ``AsyncMongoClient`` and override tbone's defaults:
    the codec settings above and :data:`TIMEOUT_OPTIONS`
    (``connect(uri, serverSelectionTimeoutMS=2000)``; ``None`` for no timeout
    where the driver allows it). A timeout set in the URI
    (``?serverSelectionTimeoutMS=2000``) is kept too.
    Close the client when done: ``await db.client.close()``.
    """
    in_uri = _uri_option_names(uri)
    given = {key.lower() for key in client_options}
    options: dict[str, Any] = {
        "tz_aware": True,
        "uuidRepresentation": "standard",
        "type_registry": TYPE_REGISTRY,
    }
    options.update(
        (key, value)
        for key, value in TIMEOUT_OPTIONS.items()
        if key.lower() not in in_uri and key.lower() not in given
    )
    options.update(client_options)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, **options)
    if name is None:
        return client.get_default_database()
    return client[name]
