"""``tbone.resources.aiohttp``: the SPEC's path to the aiohttp adapter.

The adapter lives in ``tbone.servers.aiohttp``, the one place that imports
aiohttp; this module re-exports it so the documented import keeps working.
"""

from tbone.servers.aiohttp import (
    DB_KEY,
    MAX_FRAME_SIZE,
    AioHttpConnection,
    AioHttpHandler,
    AioHttpResource,
    AioHttpWebSocketCarrier,
    mount,
    mount_websocket,
    websocket_handler,
)

__all__ = [
    "DB_KEY",
    "MAX_FRAME_SIZE",
    "AioHttpConnection",
    "AioHttpHandler",
    "AioHttpResource",
    "AioHttpWebSocketCarrier",
    "mount",
    "mount_websocket",
    "websocket_handler",
]
