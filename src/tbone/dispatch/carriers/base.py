"""What the channels need from a connection: the carrier Protocols.

A leaf module: implementations (ours in this package or third-party ones)
never need to import it, they only need the right methods.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from tbone.dispatch.encoding import EncodedBatch, EncodedMessage

__all__ = ["BatchCarrier", "Carrier", "StreamCarrier"]


@runtime_checkable
class Carrier(Protocol):
    """Anything that can deliver a message (a dict of JSON-able values) to a peer.

    ``deliver`` returns ``False`` (or raises) when the peer is gone; the channel
    then drops the carrier. The dict may be shared with other subscribers: do
    not mutate it.
    """

    async def deliver(self, data: dict[str, Any]) -> bool: ...


@runtime_checkable
class StreamCarrier(Carrier, Protocol):
    """A carrier that can take already-encoded messages without waiting.

    The fan-out prefers this path: it encodes an event once, calls
    ``send_encoded`` on every subscriber in a plain loop (never awaiting one
    of them), then reads ``write_buffer_size`` to spot subscribers that do not
    keep up. Carriers that only implement ``deliver`` still work, through a
    per-carrier outbox task.
    """

    def send_encoded(self, message: EncodedMessage) -> bool:
        """Queue ``message`` for sending without blocking; ``False`` if the peer is gone."""
        ...

    def write_buffer_size(self) -> int:
        """Bytes accepted by ``send_encoded`` but not yet handed to the OS."""
        ...

    def abort(self) -> None:
        """Drop the connection at once (used when the fan-out gives up on it)."""
        ...


@runtime_checkable
class BatchCarrier(StreamCarrier, Protocol):
    """A stream carrier that can also take several messages in one write.

    When events queue up faster than they are fanned out, the channel hands
    each subscriber all of its pending messages at once, and a carrier that
    implements ``send_batch`` writes their frames (``batch.frames``) with a
    single call, one system call per subscriber per batch instead of one per
    event. Optional: other stream carriers get ``send_encoded`` once per
    message of the batch, in order.
    """

    def send_batch(self, batch: EncodedBatch) -> bool:
        """Queue every message of ``batch``, in order, without blocking; ``False`` if the peer is gone."""
        ...
