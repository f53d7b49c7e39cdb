"""TBone on Sanic: ``SanicResource``, ``mount``, ``mount_websocket``, ``mount_health`` and the carrier.

The only package of tbone that imports Sanic (with its SPEC-named
re-exports ``tbone.resources.sanic`` and
``tbone.dispatch.carriers.sanic_websocket``).
"""

from tbone.resources.connections import MAX_FRAME_SIZE
from tbone.servers.common import MAX_BODY_SIZE
from tbone.servers.sanic.carrier import SanicWebSocketCarrier
from tbone.servers.sanic.endpoint import SanicConnection, mount_websocket, websocket_handler
from tbone.servers.sanic.handlers import SanicHandler, SanicResource, mount, mount_health

__all__ = [
    "MAX_BODY_SIZE",
    "MAX_FRAME_SIZE",
    "SanicConnection",
    "SanicHandler",
    "SanicResource",
    "SanicWebSocketCarrier",
    "mount",
    "mount_health",
    "mount_websocket",
    "websocket_handler",
]
