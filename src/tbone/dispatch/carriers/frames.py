"""``FrameWriter``: the server-neutral half of the websocket carriers.

Both shipped carriers write prebuilt frames straight into the connection's
transport when they can, and fall back to a per-connection ``Outbox`` (the
server library's own send) when they cannot. Only *how* to find the
transport and *whether* the direct path is open differ per server, so the
subclasses supply ``_route()`` and ``_transport()``; everything else lives
here, importing neither aiohttp nor sanic.
"""

from __future__ import annotations

import asyncio

from tbone.dispatch.carriers.outbox import Outbox
from tbone.dispatch.encoding import EncodedBatch, EncodedMessage

__all__ = ["FrameWriter"]


class FrameWriter:
    """``send_encoded`` / ``send_batch`` / ``write_buffer_size`` / ``abort`` for a
    carrier with an ``_outbox`` and the two hooks below."""

    _outbox: Outbox

    def _transport(self) -> asyncio.Transport | None:
        raise NotImplementedError

    def _route(self) -> asyncio.Transport | bool:
        """Where messages go now: the transport (frames written directly),
        ``True`` for the outbox, ``False`` when the peer is gone."""
        raise NotImplementedError

    def send_encoded(self, message: EncodedMessage) -> bool:
        route = self._route()
        if isinstance(route, bool):
            return route and self._outbox.put(message)
        route.write(message.frame)
        return True

    def send_batch(self, batch: EncodedBatch) -> bool:
        route = self._route()
        if isinstance(route, bool):
            return route and self._outbox.put_all(batch.messages)
        route.write(batch.frames)  # every frame of the batch, one write
        return True

    def write_buffer_size(self) -> int:
        transport = self._transport()
        buffered = transport.get_write_buffer_size() if transport is not None else 0
        return buffered + self._outbox.pending_bytes

    def abort(self) -> None:
        self._outbox.close()
        transport = self._transport()
        if transport is not None:
            transport.abort()
