"""``tbone.resources.sanic``: the SPEC's path to the sanic adapter.

The adapter lives in ``tbone.servers.sanic``, the one place that imports
sanic; this module re-exports it so the documented import keeps working.
"""

from tbone.servers.sanic import (
    MAX_FRAME_SIZE,
    SanicConnection,
    SanicHandler,
    SanicResource,
    SanicWebSocketCarrier,
    mount,
    mount_websocket,
    websocket_handler,
)

__all__ = [
    "MAX_FRAME_SIZE",
    "SanicConnection",
    "SanicHandler",
    "SanicResource",
    "SanicWebSocketCarrier",
    "mount",
    "mount_websocket",
    "websocket_handler",
]
