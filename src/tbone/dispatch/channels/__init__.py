"""Channels: named pub/sub buses that fan events out to carriers.

``MemoryChannel`` works inside one process; ``MongoChannel`` across every
process sharing a database; ``RedisChannel`` across every process sharing a
Redis (it needs redis-py, ``pip install tbone[redis]``, and is imported on
first use, so this package imports without it). The delivery defaults
(``HIGH_WATER_MARK``, ``STALL_TIMEOUT``, ``DELIVER_TIMEOUT``) live in
``tbone.dispatch.channels.fanout``.
"""

import typing

from tbone.dispatch.channels.base import Channel
from tbone.dispatch.channels.fanout import Fanout
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.dispatch.channels.mongo import MongoChannel

if typing.TYPE_CHECKING:
    from tbone.dispatch.channels.redis import RedisChannel

__all__ = ["Channel", "Fanout", "MemoryChannel", "MongoChannel", "RedisChannel"]


def __getattr__(name: str) -> typing.Any:
    if name == "RedisChannel":
        try:
            # on first use, not a cycle: redis-py is optional (the 'redis' extra)
            from tbone.dispatch.channels.redis import RedisChannel
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != "redis":
                raise
            raise ImportError(
                "RedisChannel needs redis-py: pip install 'tbone[redis]' (or 'redis>=5.0.1')"
            ) from exc
        return RedisChannel
    raise AttributeError(f"module 'tbone.dispatch.channels' has no attribute {name!r}")
