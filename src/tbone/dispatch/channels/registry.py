"""The process-wide channel-by-name registry (the one global state allowed).

Channels call ``lookup`` in ``__new__`` and ``register`` once built, so that
``MemoryChannel(name="pubsub")`` returns the same object everywhere in a
process; ``forget`` (called by ``close``) frees the name.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TypeVar

__all__ = ["forget", "lookup", "register", "registered"]

T = TypeVar("T")

_channels: dict[tuple[type, Hashable], object] = {}


def lookup(cls: type[T], key: Hashable) -> T | None:
    found = _channels.get((cls, key))
    return found if isinstance(found, cls) else None


def register(cls: type, key: Hashable, channel: object) -> None:
    _channels[(cls, key)] = channel


def forget(cls: type, key: Hashable, channel: object) -> None:
    if _channels.get((cls, key)) is channel:
        del _channels[(cls, key)]


def registered() -> list[object]:
    """Every live channel (for tests and shutdown hooks)."""
    return list(_channels.values())
