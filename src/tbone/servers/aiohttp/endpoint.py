"""The ready-made aiohttp websocket endpoint (exported by ``tbone.servers.aiohttp``).

``mount_websocket(app, multiplexer)`` is the one line: it adds ``GET /ws``
serving the websocket protocol of ``tbone.dispatch.messages`` with
``multiplexer``. Each connection becomes an ``AioHttpConnection`` carrier
that knows its handshake headers (merged under each request's headers, so
resources authenticate websocket requests as HTTP ones) and checks
subscriptions (see ``tbone.resources.connections``). Messages over
``max_size`` bytes close the socket with 1009; on close the carrier is
unsubscribed from everything.

RFC 6455 §5.1: a server MUST close the connection when a client sends an
unmasked frame. aiohttp's ``WebSocketReader`` serves clients and servers
alike: it unmasks a masked frame but never checks that a client's frame is
masked, and ``WebSocketResponse`` offers no option or hook for it. The
handler therefore puts :class:`MaskedFramesOnly` in front of the reader
(through aiohttp internals: the connection's ``_payload_parser`` and the
response's ``_reader``); it reads only frame headers and fails the
connection with 1002 on the first unmasked frame. Should a future aiohttp
move those internals, the check is skipped rather than breaking the socket.

Graceful shutdown: aiohttp waits for running handlers (``shutdown_timeout``,
60 s under ``web.run_app``) before closing connections, and a websocket
handler runs until its client leaves. ``mount_websocket`` keeps the open
sockets of its path (an ``OpenSockets``, which it returns) and closes them in
``app.on_shutdown``, aiohttp's documented place for it: each gets the close
code 1001 (``WSCloseCode.GOING_AWAY``), and the ones whose client has not
answered within ``shutdown_timeout`` seconds are dropped. ``on_shutdown``
runs after the server stopped accepting connections, on SIGTERM/SIGINT under
``web.run_app`` and gunicorn's aiohttp worker, and on ``AppRunner.cleanup()``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WebSocketError, WSCloseCode, web

from tbone.dispatch.multiplexer import WebsocketMultiplexer
from tbone.resources.connections import MAX_FRAME_SIZE, ResourceConnection
from tbone.resources.http import Headers
from tbone.resources.live import live_queries_of
from tbone.servers.aiohttp.carrier import AioHttpWebSocketCarrier
from tbone.servers.common import SHUTDOWN_TIMEOUT, OpenSockets

__all__ = ["AioHttpConnection", "MaskedFramesOnly", "mount_websocket", "websocket_handler"]

logger = logging.getLogger("tbone.servers.aiohttp")


class MaskedFramesOnly:
    """aiohttp's websocket reader, refusing unmasked client frames (1002).

    Follows frame boundaries by reading each frame's header (2 to 14 bytes,
    possibly split across reads) and skipping its payload; everything is
    handed on unchanged to the wrapped reader, up to the first unmasked frame.
    """

    def __init__(self, parser: Any, queue: Any) -> None:
        self._parser = parser
        self._queue = queue
        self._head = b""  # the part of a frame header read so far
        self._skip = 0  # payload bytes left in the current frame
        self._failed = False

    def __getattr__(self, name: str) -> Any:  # anything else aiohttp may ask of its reader
        return getattr(self._parser, name)

    def feed_eof(self) -> None:
        self._parser.feed_eof()

    def feed_data(self, data: bytes | bytearray | memoryview) -> tuple[bool, bytes]:
        if self._failed:
            return True, b""
        data = bytes(data)
        unmasked = self._first_unmasked(data)
        if unmasked < 0:
            result: tuple[bool, bytes] = self._parser.feed_data(data)
            return result
        self._failed = True
        if unmasked:
            self._parser.feed_data(data[:unmasked])
        logger.debug("unmasked frame from a websocket client: closing with 1002")
        self._queue.set_exception(WebSocketError(WSCloseCode.PROTOCOL_ERROR, "unmasked client frame"))
        return True, b""

    def _first_unmasked(self, data: bytes) -> int:
        """Where the first unmasked frame of ``data`` starts (0 if it began in an
        earlier read), or -1."""
        pos, size = 0, len(data)
        while pos < size:
            if self._skip:
                step = min(self._skip, size - pos)
                self._skip -= step
                pos += step
                continue
            began = pos - len(self._head)
            head = self._head + data[pos : pos + 14 - len(self._head)]
            if len(head) >= 2 and not head[1] & 0x80:
                return max(began, 0)
            length = head[1] & 0x7F if len(head) >= 2 else 0
            extended = 2 if length == 126 else 8 if length == 127 else 0
            needed = 2 + extended + 4
            if len(head) < needed:
                self._head = head
                return -1
            if extended:
                length = int.from_bytes(head[2 : 2 + extended], "big")
            pos += needed - len(self._head)
            self._head = b""
            self._skip = length
        return -1


def require_masked_frames(request: web.Request, ws: web.WebSocketResponse) -> bool:
    """Put :class:`MaskedFramesOnly` in front of ``ws``'s reader; ``False`` if
    this aiohttp's internals are not where expected (then nothing changes)."""
    protocol = request.protocol
    parser = getattr(protocol, "_payload_parser", None)
    queue = getattr(ws, "_reader", None)
    if parser is None or queue is None or not hasattr(queue, "set_exception"):
        return False
    protocol._payload_parser = MaskedFramesOnly(parser, queue)
    return True


class AioHttpConnection(ResourceConnection, AioHttpWebSocketCarrier):
    """An aiohttp websocket carrier with its handshake headers."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        multiplexer: WebsocketMultiplexer,
        headers: Headers,
        *,
        send_timeout: float = 10.0,
    ) -> None:
        super().__init__(ws, send_timeout=send_timeout)
        self.multiplexer = multiplexer
        self.headers = headers


async def going_away(carrier: AioHttpWebSocketCarrier) -> None:
    """Close ``carrier``'s socket with 1001 and wait for the client's answer."""
    await carrier.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


def open_sockets(timeout: float = SHUTDOWN_TIMEOUT) -> OpenSockets[AioHttpConnection]:
    """An empty ``OpenSockets`` that closes aiohttp connections with 1001."""
    return OpenSockets(going_away, AioHttpWebSocketCarrier.abort, timeout=timeout)


def websocket_handler(
    multiplexer: WebsocketMultiplexer,
    *,
    max_size: int = MAX_FRAME_SIZE,
    heartbeat: float | None = None,
    sockets: OpenSockets[AioHttpConnection] | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler serving ``multiplexer`` on each websocket it accepts.

    ``heartbeat`` (seconds) makes aiohttp ping the client and drop it when
    it stops answering. ``sockets`` keeps the open connections, for a
    graceful shutdown (``mount_websocket`` passes its own).
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        # aiohttp refuses a message of exactly max_msg_size bytes; Sanic (and
        # our documented limit) accept it: ``+ 1`` makes both servers agree.
        ws = web.WebSocketResponse(max_msg_size=max_size + 1, heartbeat=heartbeat)
        await ws.prepare(request)
        require_masked_frames(request, ws)
        if multiplexer.app is None:
            multiplexer.app = request.app
        carrier = AioHttpConnection(ws, multiplexer, Headers(request.headers.items()))
        if sockets is None:
            await carrier.serve(multiplexer)
        elif not sockets.add(carrier):  # the server is stopping
            await going_away(carrier)
        else:
            try:
                await carrier.serve(multiplexer)
            finally:
                sockets.discard(carrier)
        return ws

    return handler


def mount_websocket(
    app: web.Application,
    multiplexer: WebsocketMultiplexer,
    path: str = "/ws",
    *,
    max_size: int = MAX_FRAME_SIZE,
    heartbeat: float | None = None,
    name: str | None = "tbone_websocket",
    shutdown_timeout: float = SHUTDOWN_TIMEOUT,
) -> OpenSockets[AioHttpConnection]:
    """Serve ``multiplexer`` at ``GET path``; the multiplexer's app defaults to ``app``.

    Returns the open websockets of this path (``len()`` counts them). When
    the app shuts down (``on_shutdown``), each is closed with 1001, and those
    whose client has not completed the close within ``shutdown_timeout``
    seconds are dropped.
    """
    if multiplexer.app is None:
        multiplexer.app = app
    live = live_queries_of(multiplexer)  # live queries (SPEC §6) on every mounted websocket

    async def start_live(_: web.Application) -> None:
        await live.start()  # a change-stream feed fails here, clearly, without change streams

    async def close_live(_: web.Application) -> None:
        await live.close()

    sockets = open_sockets(shutdown_timeout)

    async def close_sockets(_: web.Application) -> None:
        await sockets.close_all()

    app.on_startup.append(start_live)
    app.on_shutdown.append(close_sockets)
    app.on_cleanup.append(close_live)
    handler: Any = websocket_handler(multiplexer, max_size=max_size, heartbeat=heartbeat, sockets=sockets)
    app.router.add_get(path, handler, name=name)
    return sockets
