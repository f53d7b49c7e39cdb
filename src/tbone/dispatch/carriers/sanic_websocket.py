"""``tbone.dispatch.carriers.sanic_websocket``: the SPEC's path to the sanic carrier.

The carrier lives in ``tbone.servers.sanic.carrier``, beside the rest of the
sanic code; this module re-exports it so the documented import keeps working.
"""

from tbone.servers.sanic.carrier import SanicWebSocketCarrier

__all__ = ["SanicWebSocketCarrier"]
