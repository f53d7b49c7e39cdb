"""Channels: named pub/sub buses that fan events out to carriers.

``MemoryChannel`` works inside one process; ``MongoChannel`` across every
process sharing a database. The delivery defaults (``HIGH_WATER_MARK``,
``STALL_TIMEOUT``, ``DELIVER_TIMEOUT``) live in
``tbone.dispatch.channels.fanout``.
"""

from tbone.dispatch.channels.base import Channel
from tbone.dispatch.channels.fanout import Fanout
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.dispatch.channels.mongo import MongoChannel

__all__ = ["Channel", "Fanout", "MemoryChannel", "MongoChannel"]
