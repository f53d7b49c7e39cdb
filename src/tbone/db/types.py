"""Type aliases for the driver objects ``tbone.db`` accepts (a leaf module).

Two drivers are supported: pymongo's native asyncio API (``AsyncDatabase``,
``AsyncCollection``, ``AsyncCursor``) and motor (``AsyncIOMotorDatabase`` and
friends). motor ships no type information, so the common type of both is
``Any``; the aliases say at least which object a parameter expects.
"""

from typing import Any, TypeAlias

__all__ = ["Collection", "Cursor", "Database"]

Database: TypeAlias = Any
"""pymongo ``AsyncDatabase`` or motor ``AsyncIOMotorDatabase``."""

Collection: TypeAlias = Any
"""pymongo ``AsyncCollection`` or motor ``AsyncIOMotorCollection``."""

Cursor: TypeAlias = Any
"""pymongo ``AsyncCursor`` or motor ``AsyncIOMotorCursor``."""
