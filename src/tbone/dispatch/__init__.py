"""Signals, channels and carriers: how events travel inside and across processes.

This package imports neither ``tbone.db`` nor ``tbone.resources``, and no web
server: the aiohttp and Sanic carriers are imported from their own modules.
"""

from tbone.dispatch.carriers.base import Carrier, StreamCarrier
from tbone.dispatch.channels.base import Channel
from tbone.dispatch.encoding import EncodedMessage
from tbone.dispatch.feeds import ChangeStreamFeed, FeedUnavailable
from tbone.dispatch.messages import ProtocolError
from tbone.dispatch.multiplexer import WebsocketMultiplexer
from tbone.dispatch.request_router import RequestRouter
from tbone.dispatch.signals import Receiver, Signal

__all__ = [
    "Carrier",
    "ChangeStreamFeed",
    "Channel",
    "EncodedMessage",
    "FeedUnavailable",
    "ProtocolError",
    "Receiver",
    "RequestRouter",
    "Signal",
    "StreamCarrier",
    "WebsocketMultiplexer",
]
