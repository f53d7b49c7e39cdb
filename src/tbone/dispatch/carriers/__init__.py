"""Carriers: the connections that events and responses travel over.

Only the Protocols and server-neutral helpers are exported here. The shipped
carriers live with their servers, in ``tbone.servers.aiohttp.carrier`` and
``tbone.servers.sanic.carrier``; ``aiohttp_websocket`` and ``sanic_websocket``
here re-export them at the SPEC's paths, and this package imports neither.
"""

from tbone.dispatch.carriers.base import Carrier, StreamCarrier
from tbone.dispatch.carriers.outbox import Outbox

__all__ = ["Carrier", "Outbox", "StreamCarrier"]
