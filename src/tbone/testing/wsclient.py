"""A websocket test client that speaks TBone's protocol (``tbone.dispatch.messages``).

::

    async with await WebSocketTestClient.connect(f"{url}/ws") as client:
        await client.subscribe("resource_create")
        status, payload = await client.request("POST", "/api/books/", body={"title": "T"})
        data = await client.next_event("resource_create")

A background task reads the socket and sorts what arrives: responses and
acks go to the call awaiting their key, events wait in a queue per event
name (from the moment the client connects, so none is missed between a
request and ``next_event``), errors without a key in their own queue.
Built on aiohttp's client websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import defaultdict
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp
import orjson

__all__ = ["ProtocolErrorReply", "WebSocketTestClient"]

DEFAULT_TIMEOUT = 5.0


class ProtocolErrorReply(RuntimeError):
    """The server answered a message with ``{"type": "error"}``."""

    def __init__(self, reply: Mapping[str, Any]) -> None:
        super().__init__(str(reply.get("error")))
        self.reply = dict(reply)


class WebSocketTestClient:
    """One websocket connection; create it with :meth:`connect`."""

    def __init__(
        self, ws: aiohttp.ClientWebSocketResponse, session: aiohttp.ClientSession, *, owns_session: bool
    ) -> None:
        self.ws = ws
        self._session = session
        self._owns_session = owns_session
        self._keys = itertools.count(1)
        self._pending: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self._pongs: list[asyncio.Future[dict[str, Any]]] = []
        self._events: defaultdict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self._payloads: defaultdict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self._changes: defaultdict[str, asyncio.Queue[dict[str, Any]]] = defaultdict(asyncio.Queue)
        self._errors: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read(), name="WebSocketTestClient")

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Self:
        """Open a websocket to ``url`` (``ws://`` or ``http://``), with handshake ``headers``.

        Pass a ``session`` to share one connection pool among many clients
        (it is left open on close); otherwise the client owns its session.
        """
        owns = session is None
        session = session if session is not None else aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(
                url,
                headers=dict(headers or {}),
                timeout=aiohttp.ClientWSTimeout(ws_close=timeout),
                max_msg_size=0,
            )
        except BaseException:
            if owns:
                await session.close()
            raise
        return cls(ws, session, owns_session=owns)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- the protocol ---------------------------------------------------------

    async def request(
        self,
        method: str,
        href: str,
        body: Any = None,
        args: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> tuple[int, Any]:
        """Send a request message and await its response: ``(status, payload)``."""
        message: dict[str, Any] = {"type": "request", "method": method, "href": href}
        if body is not None:
            message["body"] = body
        if args:
            message["args"] = dict(args)
        if headers:
            message["headers"] = dict(headers)
        reply = await self._call(message, timeout)
        return reply["status"], reply["payload"]

    async def subscribe(self, event: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Subscribe to ``event``; raises :class:`ProtocolErrorReply` when refused."""
        await self._call({"type": "subscribe", "event": event}, timeout)

    async def unsubscribe(self, event: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        await self._call({"type": "unsubscribe", "event": event}, timeout)

    async def live(
        self,
        href: str,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
        since: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> tuple[str, int, Any]:
        """Subscribe to the live query ``href``: ``(key, status, payload)`` of its
        response; its events then come from :meth:`next_change`. ``since`` (a
        previous response's or event's token) resumes instead of reading a page."""
        key = key or f"live{next(self._keys)}"
        message: dict[str, Any] = {"type": "subscribe", "href": href, "key": key}
        if headers:
            message["headers"] = dict(headers)
        if since is not None:
            message["since"] = since
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self.send_json(message)
            async with asyncio.timeout(timeout):
                reply = await future
        finally:
            self._pending.pop(key, None)
        return key, reply["status"], reply["payload"]

    async def unsubscribe_live(self, key: str, *, timeout: float = DEFAULT_TIMEOUT) -> int:
        """End the live query ``key``; the status of the reply (204)."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self.send_json({"type": "unsubscribe", "key": key})
            async with asyncio.timeout(timeout):
                reply = await future
        finally:
            self._pending.pop(key, None)
        status: int = reply["status"]
        return status

    async def next_change(self, key: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The payload (``op``, ``pk``, ``rev``, ``data``) of the live query's next event."""
        async with asyncio.timeout(timeout):
            return await self._changes[key].get()

    def pending_changes(self, key: str) -> int:
        """Events of the live query ``key`` received and not yet taken."""
        return self._changes[key].qsize()

    async def next_event(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> Any:
        """The ``data`` of the next ``name`` event received (possibly already queued)."""
        async with asyncio.timeout(timeout):
            return await self._events[name].get()

    async def next_event_payload(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The whole payload (``name``, ``resource``, ``data``) of the next ``name``
        event; a separate queue from :meth:`next_event`'s."""
        async with asyncio.timeout(timeout):
            return await self._payloads[name].get()

    def pending_events(self, name: str) -> int:
        """How many ``name`` events arrived and were not taken by ``next_event`` yet."""
        return self._events[name].qsize()

    async def ping(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Send ``{"type": "ping"}`` and await the pong."""
        future = asyncio.get_running_loop().create_future()
        self._pongs.append(future)
        await self.send_json({"type": "ping"})
        async with asyncio.timeout(timeout):
            await future

    async def next_error(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """The next error message that answered no pending call (e.g. a malformed frame)."""
        async with asyncio.timeout(timeout):
            return await self._errors.get()

    async def send_json(self, message: Mapping[str, Any]) -> None:
        await self.ws.send_str(orjson.dumps(message).decode())

    async def send_text(self, text: str) -> None:
        """Send a raw text frame (for testing what the server does with bad input)."""
        await self.ws.send_str(text)

    # -- connection -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.ws.closed

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def wait_closed(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Wait until the server closes the socket; its close code."""
        async with asyncio.timeout(timeout):
            await asyncio.shield(self._reader)
        return self.ws.close_code

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        if self._owns_session:
            await self._session.close()

    # -- internals ------------------------------------------------------------

    async def _call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        key = f"k{next(self._keys)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self.send_json({**message, "key": key})
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._pending.pop(key, None)

    async def _read(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    self._sort(orjson.loads(msg.data))
        finally:
            gone = ConnectionError(f"websocket closed (code {self.ws.close_code})")
            for future in [*self._pending.values(), *self._pongs]:
                if not future.done():
                    future.set_exception(gone)
                    future.exception()  # retrieved: nobody may be awaiting it any more

    def _sort(self, reply: dict[str, Any]) -> None:
        kind = reply.get("type")
        if kind == "event":
            payload = reply.get("payload") or {}
            if "key" in reply:  # a live query's event
                self._changes[str(reply["key"])].put_nowait(payload)
                return
            self._events[str(payload.get("name"))].put_nowait(payload.get("data"))
            self._payloads[str(payload.get("name"))].put_nowait(payload)
            return
        if kind == "pong":
            while self._pongs:
                pong = self._pongs.pop(0)
                if not pong.done():
                    pong.set_result(reply)
                    break
            return
        future = self._pending.get(reply.get("key"))
        if future is None or future.done():
            if kind == "error":
                self._errors.put_nowait(reply)
            return
        if kind == "error":
            future.set_exception(ProtocolErrorReply(reply))
        else:
            future.set_result(reply)
