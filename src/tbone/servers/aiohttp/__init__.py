"""TBone on aiohttp: ``AioHttpResource``, ``mount``, ``mount_websocket``, ``mount_health`` and the carrier.

The only package of tbone that imports aiohttp (with its SPEC-named
re-exports ``tbone.resources.aiohttp`` and
``tbone.dispatch.carriers.aiohttp_websocket``).
"""

from tbone.resources.connections import MAX_FRAME_SIZE
from tbone.servers.aiohttp.carrier import AioHttpWebSocketCarrier
from tbone.servers.aiohttp.endpoint import AioHttpConnection, mount_websocket, websocket_handler
from tbone.servers.aiohttp.handlers import DB_KEY, AioHttpHandler, AioHttpResource, mount, mount_health
from tbone.servers.common import MAX_BODY_SIZE

__all__ = [
    "DB_KEY",
    "MAX_BODY_SIZE",
    "MAX_FRAME_SIZE",
    "AioHttpConnection",
    "AioHttpHandler",
    "AioHttpResource",
    "AioHttpWebSocketCarrier",
    "mount",
    "mount_health",
    "mount_websocket",
    "websocket_handler",
]
