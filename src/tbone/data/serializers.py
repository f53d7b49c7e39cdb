"""The ``@serialize`` decorator: extra, computed keys in ``Model.serialize()``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["serialize"]

F = TypeVar("F", bound=Callable[[Any], Awaitable[Any]])


def serialize(method: F) -> F:
    """Mark an ``async def name(self) -> value`` method: ``await model.serialize()``
    adds ``{"name": await self.name()}``. All such methods of one model run
    concurrently; subclasses inherit them unless ``Meta.exclude_serialize`` lists them.
    """
    method._tbone_serialize = True  # type: ignore[attr-defined]
    return method
