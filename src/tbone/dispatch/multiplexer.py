"""WebsocketMultiplexer: one websocket carries requests, responses and events.

Requests are routed, by the first segment of their href, to the router
registered under that name: the same objects that serve HTTP, so statuses
and payloads are the same both ways. Subscriptions go to the channel given
at construction. Whatever the client sends, the socket stays open: bad
messages get an error message, a failing router a generic 500.

Two optional carrier attributes connect a socket to the resources'
authentication without this module knowing about it (the ready-made handlers
of ``tbone.resources.aiohttp``/``.sanic`` set both):

- ``carrier.headers``: the handshake's headers; each request's own
  ``headers`` are merged over them (names compared case-insensitively).
- ``await carrier.event_keys(event) -> list[str]``: the channel keys a
  subscription to ``event`` listens to (the resources' events are published
  per resource, ``resource_create@/api/notes/``, and a client hears only the
  resources it may read); an empty list refuses the subscription with an
  error message. Without it, the key is the event name.
"""

from __future__ import annotations

import logging
from typing import Any

from tbone.dispatch import messages
from tbone.dispatch.carriers.base import Carrier
from tbone.dispatch.channels.base import Channel
from tbone.dispatch.live_protocol import LiveQueryHandler
from tbone.dispatch.messages import ProtocolError
from tbone.dispatch.request_router import RequestRouter

__all__ = ["WebsocketMultiplexer"]

logger = logging.getLogger("tbone.dispatch.multiplexer")

NOT_FOUND = {"error": "Not found"}
SERVER_ERROR = {"error": "Internal server error"}


class WebsocketMultiplexer:
    """Serve the websocket message protocol (see ``tbone.dispatch.messages``).

    Parameters:
        app: handed to every router's ``dispatch`` (it finds the database there).
        channel: where event-name ``subscribe``/``unsubscribe`` messages go
            (without one, they are answered with an error); live queries also
            take other processes' changes from it.
        live: serves live queries, ``subscribe`` messages with an ``href``
            (``tbone.resources.live.LiveQueries``, which attaches itself;
            ``mount_websocket`` creates one). Without one they get an error.
        feed: where live queries take their changes from instead of the
            persistence layer and the channel: a
            ``tbone.dispatch.feeds.ChangeStreamFeed`` (MongoDB change streams,
            so writes by any process or tool count).
    """

    def __init__(
        self,
        app: Any = None,
        *,
        channel: Channel | None = None,
        live: LiveQueryHandler | None = None,
        feed: Any = None,
    ) -> None:
        self.app = app
        self.channel = channel
        self.live = live
        self.feed = feed
        self._routers: dict[str, RequestRouter] = {}
        #: carrier -> event name -> the channel keys it listens to for that event
        self._subscriptions: dict[Carrier, dict[str, tuple[str, ...]]] = {}

    def add_router(self, name: str, router: RequestRouter) -> None:
        """Serve hrefs starting with ``/<name>/`` with ``router``."""
        self._routers[name.strip("/")] = router

    def remove_router(self, name: str) -> None:
        self._routers.pop(name.strip("/"), None)

    @property
    def routers(self) -> dict[str, RequestRouter]:
        return dict(self._routers)

    async def dispatch(self, carrier: Carrier, text: str | bytes) -> dict[str, Any]:
        """Handle one client message and deliver the reply over ``carrier``.

        Returns the reply (also useful in tests).
        """
        try:
            message = messages.parse(text)
            handled = await self._handle(carrier, message)
        except ProtocolError as exc:
            handled = messages.error(str(exc), exc.key)
        if handled is None:  # a live query answered by its handler, in order with its events
            return {}
        reply = handled
        try:
            await carrier.deliver(reply)
        except TypeError:  # the router's payload is not JSON-able
            logger.exception("reply to %r cannot be encoded", carrier)
            reply = messages.response(reply.get("key"), 500, SERVER_ERROR)
            await carrier.deliver(reply)
        return reply

    def disconnect(self, carrier: Carrier) -> None:
        """Forget ``carrier``: unsubscribe it from every event it subscribed to."""
        events = self._subscriptions.pop(carrier, {})
        if self.channel is not None:
            for keys in events.values():
                for channel_key in keys:
                    self.channel.unsubscribe(channel_key, carrier)
        if self.live is not None:
            self.live.disconnect(carrier)

    async def _handle(self, carrier: Carrier, message: dict[str, Any]) -> dict[str, Any] | None:
        kind = message["type"]
        key = message.get("key")
        if kind in ("subscribe", "unsubscribe") and "event" not in message:
            return await self._live(carrier, kind, message, key)
        if kind == "request":
            return await self._request(carrier, messages.parse_request(message))
        if kind == "ping":
            return messages.pong(key)
        if kind in ("subscribe", "unsubscribe"):
            return await self._subscription(carrier, kind, message.get("event"), key)
        raise ProtocolError(f"unknown message type {kind!r}", key)

    async def _live(
        self, carrier: Carrier, kind: str, message: dict[str, Any], key: Any
    ) -> dict[str, Any] | None:
        if kind == "subscribe" and "href" not in message:
            raise ProtocolError("subscribe needs an 'event' or an 'href'", key)
        if self.live is None:
            raise ProtocolError("this endpoint serves no live queries", key)
        if kind == "unsubscribe":
            if key is None:
                raise ProtocolError("unsubscribe needs the 'key' of a live query (or an 'event')")
            return self.live.unsubscribe(carrier, key)
        try:
            return await self.live.subscribe(carrier, message)
        except Exception:  # a bug must not take the socket down, nor show its text
            logger.exception("live subscription %r failed", message.get("href"))
            return messages.response(key, 500, SERVER_ERROR)

    async def _request(self, carrier: Carrier, request: messages.RequestMessage) -> dict[str, Any]:
        name = request.path.strip("/").split("/", 1)[0]
        router = self._routers.get(name)
        if router is None:
            return messages.response(request.key, 404, NOT_FOUND)
        headers = request.headers
        handshake = getattr(carrier, "headers", None)
        if handshake:
            headers = {k.lower(): v for k, v in handshake.items()}
            headers.update((k.lower(), v) for k, v in request.headers.items())
        try:
            status, payload = await router.dispatch(
                self.app, request.method, request.path, request.args, headers, request.body
            )
        except Exception:  # a bug in a resource must not take the socket down
            logger.exception("router %r failed on %s %s", name, request.method, request.path)
            return messages.response(request.key, 500, SERVER_ERROR)
        return messages.response(request.key, status, payload)

    async def _subscription(self, carrier: Carrier, kind: str, event: Any, key: Any) -> dict[str, Any]:
        if not isinstance(event, str) or not event:
            raise ProtocolError(f"{kind} needs an 'event'", key)
        if self.channel is None:
            raise ProtocolError("this endpoint has no channel to subscribe to", key)
        if kind == "subscribe":
            event_keys = getattr(carrier, "event_keys", None)
            keys = [event] if event_keys is None else list(await event_keys(event))
            if not keys:
                raise ProtocolError(f"not authorized to subscribe to {event!r}", key)
            subscribed = self._subscriptions.setdefault(carrier, {})
            for old in subscribed.pop(event, ()):
                self.channel.unsubscribe(old, carrier)
            for channel_key in keys:
                self.channel.subscribe(channel_key, carrier)
            subscribed[event] = tuple(keys)
        else:
            subscribed = self._subscriptions.get(carrier, {})
            for channel_key in subscribed.pop(event, ()):
                self.channel.unsubscribe(channel_key, carrier)
            if not subscribed:
                self._subscriptions.pop(carrier, None)
        return messages.ack(kind, event, key)
