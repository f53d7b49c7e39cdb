"""Carriers: the connections that events and responses travel over.

Only the Protocols and server-neutral helpers are exported here. The shipped
carriers live in ``tbone.dispatch.carriers.aiohttp_websocket`` and
``tbone.dispatch.carriers.sanic_websocket``, each importing only its own server
library, and are deliberately not imported by this package.
"""

from tbone.dispatch.carriers.base import Carrier, StreamCarrier
from tbone.dispatch.carriers.outbox import Outbox

__all__ = ["Carrier", "Outbox", "StreamCarrier"]
