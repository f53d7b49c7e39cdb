"""A carrier over an aiohttp ``web.WebSocketResponse``.

Fast path: on a connection without a negotiated extension (no
permessage-deflate), ``send_encoded`` writes the event's prebuilt websocket
frame, shared by all subscribers, straight into the connection's transport:
no per-subscriber encoding, framing or awaiting. With compression, frames
depend on each connection's compressor state, so messages go through
aiohttp's own ``send_str`` from a per-connection ``Outbox`` instead.
``send_batch`` writes the frames of several pending events at once (one
system call for all of them).

The transport is reached through the response's writer (``ws._writer``), an
aiohttp internal; if a future aiohttp moves it, the carrier falls back to the
outbox path rather than failing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tbone.dispatch.carriers.frames import FrameWriter
from tbone.dispatch.carriers.outbox import Outbox
from tbone.dispatch.encoding import EncodedMessage

if TYPE_CHECKING:
    from tbone.dispatch.multiplexer import WebsocketMultiplexer

__all__ = ["AioHttpWebSocketCarrier"]

logger = logging.getLogger("tbone.dispatch.carriers.aiohttp")


class AioHttpWebSocketCarrier(FrameWriter):
    """Deliver messages over a prepared aiohttp websocket response."""

    def __init__(self, ws: web.WebSocketResponse, *, send_timeout: float = 10.0) -> None:
        self.ws = ws
        self._outbox = Outbox(self._send_text, timeout=send_timeout)
        self._writer: Any = None
        self._raw_transport: asyncio.Transport | None = None

    def __repr__(self) -> str:
        return f"<AioHttpWebSocketCarrier {self.ws.get_extra_info('peername')!r}>"

    def _transport(self) -> asyncio.Transport | None:
        transport = self._raw_transport
        if transport is None:
            # Looked up once: the response's writer and its transport are set
            # by ``prepare`` and never replaced.
            writer = getattr(self.ws, "_writer", None)
            transport = getattr(writer, "transport", None)
            if not isinstance(transport, asyncio.Transport):
                return None
            self._writer, self._raw_transport = writer, transport
        return transport

    @property
    def raw_frames(self) -> bool:
        """Whether prebuilt frames can be written directly (no extension negotiated)."""
        return not self.ws.compress and self._transport() is not None

    async def deliver(self, data: dict[str, Any]) -> bool:
        return await self._send_text(EncodedMessage(data))

    async def _send_text(self, message: EncodedMessage) -> bool:
        if self.ws.closed:
            return False
        try:
            await self.ws.send_str(message.text)
        except (ConnectionError, RuntimeError) as exc:
            logger.debug("send to %r failed: %r", self, exc)
            return False
        return True

    def _route(self) -> asyncio.Transport | bool:
        """Where messages go now: the transport (frames written directly),
        ``True`` for the outbox, ``False`` when the peer is gone."""
        ws = self.ws
        if ws.closed or self._outbox.failed:
            return False
        transport = self._transport()
        if ws.compress or transport is None or self._outbox.pending_bytes:
            # Keep order: once something waits in the outbox, queue behind it.
            return True
        if transport.is_closing() or getattr(self._writer, "_closing", False):
            return False
        return transport

    async def serve(self, multiplexer: WebsocketMultiplexer) -> None:
        """Read messages until the socket closes, dispatching each text message
        in order; then unsubscribe this carrier from everything."""
        try:
            async for msg in self.ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    await multiplexer.dispatch(self, msg.data)
        finally:
            multiplexer.disconnect(self)
            self._outbox.close()
