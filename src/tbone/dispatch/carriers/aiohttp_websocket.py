"""``tbone.dispatch.carriers.aiohttp_websocket``: the SPEC's path to the aiohttp carrier.

The carrier lives in ``tbone.servers.aiohttp.carrier``, beside the rest of the
aiohttp code; this module re-exports it so the documented import keeps working.
"""

from tbone.servers.aiohttp.carrier import AioHttpWebSocketCarrier

__all__ = ["AioHttpWebSocketCarrier"]
