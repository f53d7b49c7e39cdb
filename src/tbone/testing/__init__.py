"""Test support for TBone apps: database fixtures (the ``tbone`` pytest plugin),
a throwaway ``redis-server`` (``RedisServer``), servers on real sockets
(``tbone.testing.servers``) and a websocket client.

The websocket client needs aiohttp, an optional dependency: it is imported on
first use, so the pytest plugin works without it.
"""

from typing import TYPE_CHECKING, Any

from tbone.testing.embedded_db import DRIVERS, embedded_mongo, is_secantus, make_client
from tbone.testing.redis_server import RedisServer, require_redis_server, running_redis

if TYPE_CHECKING:
    from tbone.testing.wsclient import ProtocolErrorReply, WebSocketTestClient

__all__ = [
    "DRIVERS",
    "ProtocolErrorReply",
    "RedisServer",
    "WebSocketTestClient",
    "embedded_mongo",
    "is_secantus",
    "make_client",
    "require_redis_server",
    "running_redis",
]


def __getattr__(name: str) -> Any:
    if name in ("ProtocolErrorReply", "WebSocketTestClient"):
        # on first use, not a cycle: the client needs aiohttp, a dev dependency
        from tbone.testing import wsclient

        return getattr(wsclient, name)
    raise AttributeError(f"module 'tbone.testing' has no attribute {name!r}")
