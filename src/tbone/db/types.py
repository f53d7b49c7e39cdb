"""Type aliases for the driver objects ``tbone.db`` accepts (a leaf module).

Two drivers are supported: pymongo's native asyncio API (``AsyncDatabase``,
``AsyncCollection``, ``AsyncCursor``) and motor (``AsyncIOMotorDatabase`` and
friends). motor ships no type information, so the common type of both is
``Any``; the aliases say at least which object a parameter expects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeAlias

if TYPE_CHECKING:  # typing only: this module imports nothing of tbone at run time
    from tbone.data.options import ModelOptions

__all__ = ["Collection", "Cursor", "Database", "HasOptions"]

Database: TypeAlias = Any
"""pymongo ``AsyncDatabase`` or motor ``AsyncIOMotorDatabase``."""

Collection: TypeAlias = Any
"""pymongo ``AsyncCollection`` or motor ``AsyncIOMotorCollection``."""

Cursor: TypeAlias = Any
"""pymongo ``AsyncCursor`` or motor ``AsyncIOMotorCursor``."""


class HasOptions(Protocol):
    """A model class, or the persistence mixin standing in for one in its methods."""

    _meta: ClassVar[ModelOptions]
