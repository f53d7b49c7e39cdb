"""A carrier over Sanic's websocket (``sanic.server.websockets.impl.WebsocketImplProtocol``).

Sanic's websocket speaks through the ``websockets`` package's sans-I/O
protocol, which Sanic creates without extensions: frames are never
compressed. So ``send_encoded`` can write the event's prebuilt frame, shared
by all subscribers, directly to the connection's transport while the
protocol is OPEN. Should an extension ever be negotiated, messages go
through Sanic's own ``send`` from a per-connection ``Outbox`` instead.
``send_batch`` writes the frames of several pending events at once (one
system call for all of them).

``serve`` also closes the connection with 1007 on a text message that is not
valid UTF-8, as RFC 6455 §8.1 requires (and aiohttp and ``websockets`` do):
Sanic's frame assembler raises ``UnicodeDecodeError`` in a task of its own,
so the message would be dropped without a word.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from sanic.exceptions import ServerError, WebsocketClosed
from sanic.server.websockets.impl import WebsocketImplProtocol
from websockets.exceptions import ConnectionClosed

from tbone.dispatch.carriers.frames import FrameWriter
from tbone.dispatch.carriers.outbox import Outbox
from tbone.dispatch.encoding import EncodedMessage

if TYPE_CHECKING:
    from tbone.dispatch.multiplexer import WebsocketMultiplexer

__all__ = ["SanicWebSocketCarrier"]

logger = logging.getLogger("tbone.dispatch.carriers.sanic")

#: RFC 6455 close code: a text message that is not UTF-8.
INVALID_DATA = 1007


class SanicWebSocketCarrier(FrameWriter):
    """Deliver messages over a Sanic websocket connection."""

    def __init__(self, ws: WebsocketImplProtocol, *, send_timeout: float = 10.0) -> None:
        self.ws = ws
        self._outbox = Outbox(self._send_text, timeout=send_timeout)

    def __repr__(self) -> str:
        return f"<SanicWebSocketCarrier {id(self.ws):#x}>"

    def _transport(self) -> asyncio.Transport | None:
        transport = getattr(self.ws.io_proto, "transport", None)
        return transport if isinstance(transport, asyncio.Transport) else None

    def _open(self) -> bool:
        return bool(self.ws.ws_proto.state.name == "OPEN")

    @property
    def raw_frames(self) -> bool:
        """Whether prebuilt frames can be written directly (no extension negotiated)."""
        return not self.ws.ws_proto.extensions and self._transport() is not None

    async def deliver(self, data: dict[str, Any]) -> bool:
        return await self._send_text(EncodedMessage(data))

    async def _send_text(self, message: EncodedMessage) -> bool:
        if not self._open():
            return False
        try:
            await self.ws.send(message.text)
        except (WebsocketClosed, ServerError, ConnectionError) as exc:
            logger.debug("send to %r failed: %r", self, exc)
            return False
        return True

    def _route(self) -> asyncio.Transport | bool:
        """Where messages go now: the transport (frames written directly),
        ``True`` for the outbox, ``False`` when the peer is gone."""
        if not self._open() or self._outbox.failed:
            return False
        transport = self._transport()
        if transport is None or self.ws.ws_proto.extensions or self._outbox.pending_bytes:
            # Keep order: once something waits in the outbox, queue behind it.
            return True
        if transport.is_closing():
            return False
        return transport

    def _fail_on_invalid_utf8(self) -> None:
        # Sanic's WebsocketImplProtocol.process_events hands each data frame to
        # its assembler, which decodes text strictly; wrap this connection's
        # process_events so a decoding error fails the connection instead of
        # vanishing in the task that runs it.
        ws = self.ws
        process_events = getattr(ws, "process_events", None)
        if process_events is None or getattr(process_events, "_tbone_utf8", False):
            return

        async def process_or_fail(events: Any) -> None:
            try:
                await process_events(events)
            except UnicodeDecodeError:
                logger.debug("invalid UTF-8 in a text message on %r: closing with 1007", self)
                ws.fail_connection(code=INVALID_DATA, reason="invalid UTF-8 in a text message")

        process_or_fail._tbone_utf8 = True  # type: ignore[attr-defined]
        ws.process_events = process_or_fail  # type: ignore[method-assign]

    async def serve(self, multiplexer: WebsocketMultiplexer) -> None:
        """Read messages until the socket closes, dispatching each in order;
        then unsubscribe this carrier from everything."""
        self._fail_on_invalid_utf8()
        try:
            while True:
                text = await self.ws.recv()
                if text is None:  # the message stream ended
                    break
                await multiplexer.dispatch(self, text)
        except (WebsocketClosed, ConnectionClosed):
            pass  # the peer went away: nothing left to serve
        finally:
            multiplexer.disconnect(self)
            self._outbox.close()
