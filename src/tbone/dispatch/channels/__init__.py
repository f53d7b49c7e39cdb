"""Channels: named pub/sub buses that fan events out to carriers.

``MemoryChannel`` works inside one process; ``MongoChannel`` across every
process sharing a database.
"""

from tbone.dispatch.channels.base import Channel
from tbone.dispatch.channels.fanout import (
    DELIVER_TIMEOUT,
    HIGH_WATER_MARK,
    STALL_TIMEOUT,
    Fanout,
)
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.dispatch.channels.mongo import MongoChannel

__all__ = [
    "DELIVER_TIMEOUT",
    "HIGH_WATER_MARK",
    "STALL_TIMEOUT",
    "Channel",
    "Fanout",
    "MemoryChannel",
    "MongoChannel",
]
