"""``MongoModel``: the model type ``MongoResource[M]`` is bounded by.

A ``typing.Protocol`` of what the resource calls on its model: the
``ModelResource`` side (``ResourceModel``) plus ``MongoCollectionMixin``'s
persistence methods. ``class Book(Model, MongoCollectionMixin)`` conforms;
a model without the mixin does not, so mypy reports
``MongoResource[PlainModel]`` ("must be a subtype of MongoModel"), and
``MongoResourceOptions`` refuses it at class definition for code mypy does not
check. A Protocol because Python has no intersection type, and a class
combining ``Model`` and the mixin would not be a base of user models.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, Self, TypeVar

from tbone.resources.model_resources import ResourceModel

__all__ = ["M", "MongoModel"]


class MongoModel(ResourceModel, Protocol):
    """A ``tbone.data.Model`` with ``tbone.db.models.MongoCollectionMixin``."""

    @classmethod
    async def find_one(
        cls, db: Any, query: Mapping[str, Any] | None = None, **options: Any
    ) -> Self | None: ...

    @classmethod
    def get_cursor(
        cls,
        db: Any,
        query: Mapping[str, Any] | None = None,
        projection: Any = None,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        **options: Any,
    ) -> Any: ...

    @classmethod
    async def find(cls, cursor: Any) -> list[Self]: ...

    @classmethod
    async def count(cls, db: Any, filters: Mapping[str, Any] | None = None) -> int: ...

    @classmethod
    async def insert_many(cls, db: Any, instances: Iterable[Self], *, validate: bool = True) -> None: ...

    @classmethod
    async def modify(cls, db: Any, key: Any, data: Mapping[str, Any]) -> Self | None: ...

    @classmethod
    async def delete_entries(cls, db: Any, query: Mapping[str, Any]) -> int: ...

    async def insert(self, db: Any, *, validate: bool = True) -> None: ...

    async def update(
        self, db: Any, data: Mapping[str, Any] | None = None, *, validate: bool = True
    ) -> None: ...

    async def delete(self, db: Any) -> bool: ...


#: The model type of ``MongoResource[M]``.
M = TypeVar("M", bound=MongoModel)
