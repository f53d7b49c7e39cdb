"""Encode a message once, send it many times.

Fan-out cost is dominated by per-subscriber work, so an event is turned into
JSON bytes exactly once (orjson), and, for carriers that can write raw
websocket frames, into one unmasked server-to-client text frame, also once.
Every subscriber is then handed the same immutable bytes.

When several events are pending at once, an ``EncodedBatch`` strings their
frames together (once per batch) so that a subscriber gets all of them with a
single write: one system call instead of one per event.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from functools import cached_property
from typing import Any

import orjson

__all__ = [
    "RESOURCE_EVENTS",
    "EncodedBatch",
    "EncodedMessage",
    "KeyedMessage",
    "dumps",
    "event_message",
    "resource_event_key",
    "text_frame",
]

#: The events resources publish about their objects. Their channel keys name the
#: resource (:func:`resource_event_key`), so that a subscription hears only the
#: resources its client may read.
RESOURCE_EVENTS: frozenset[str] = frozenset({"resource_create", "resource_update", "resource_delete"})


def resource_event_key(name: str, resource: str) -> str:
    """The channel key of event ``name`` published by the resource at URL ``resource``:
    ``"resource_create@/api/notes/"``. Subscribers receive ``{"name": name,
    "resource": resource, "data": ...}``."""
    return f"{name}@{resource}"


_OPCODE_TEXT_FIN = 0x81


def dumps(data: Any) -> bytes:
    """JSON-encode ``data`` (orjson: UTF-8 bytes, no whitespace)."""
    return orjson.dumps(data)


def text_frame(payload: bytes) -> bytes:
    """An RFC 6455 text frame, final, unmasked (server to client), no extension bits.

    Only valid on a connection without a negotiated extension (no
    permessage-deflate): with compression, frames must go through the server
    library's own writer.
    """
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", _OPCODE_TEXT_FIN, length)
    elif length < 65536:
        header = struct.pack("!BBH", _OPCODE_TEXT_FIN, 126, length)
    else:
        header = struct.pack("!BBQ", _OPCODE_TEXT_FIN, 127, length)
    return header + payload


class EncodedMessage:
    """A message and its encodings, computed lazily and at most once.

    ``data`` is the message as a dict (shared by every subscriber: treat it as
    read-only), ``payload`` its JSON bytes, ``text`` the same as ``str`` and
    ``frame`` a ready-to-write websocket text frame.
    """

    __slots__ = ("__dict__", "data", "payload")

    def __init__(self, data: dict[str, Any], payload: bytes | None = None) -> None:
        self.data = data
        self.payload = dumps(data) if payload is None else payload

    def __repr__(self) -> str:
        return f"<EncodedMessage {self.payload[:60]!r}>"

    def __len__(self) -> int:
        return len(self.payload)

    @cached_property
    def text(self) -> str:
        return self.payload.decode()

    @cached_property
    def frame(self) -> bytes:
        return text_frame(self.payload)


class KeyedMessage(EncodedMessage):
    """One subscriber's copy of a shared event: the shared payload bytes framed
    with this subscriber's key, ``{"type": "event", "key": k, "payload": ...}``.

    Built for every delivery of a live query, so it allocates as little as it
    can: the frame is made at once (every stream carrier writes it), and the
    message as a dict only when a carrier without a stream path asks for it.
    """

    __slots__ = ("_key", "_payload", "frame")

    def __init__(self, key: Any, key_json: bytes, payload: Any, payload_json: bytes) -> None:
        raw = b'{"type":"event","key":' + key_json + b',"payload":' + payload_json + b"}"
        self.payload = raw
        self.frame = text_frame(raw)
        self._key = key
        self._payload = payload

    @property
    def data(self) -> dict[str, Any]:  # type: ignore[override]
        return {"type": "event", "key": self._key, "payload": self._payload}


def event_message(name: str, data: Any = None) -> EncodedMessage:
    """The message every subscriber of channel key ``name`` receives; a key made by
    :func:`resource_event_key` also names the resource."""
    event, at, resource = name.partition("@")
    if at:
        payload = {"name": event, "resource": resource, "data": data}
        return EncodedMessage({"type": "event", "payload": payload})
    return EncodedMessage({"type": "event", "payload": {"name": name, "data": data}})


class EncodedBatch:
    """Consecutive messages for one subscriber, in order, sent as one write.

    ``messages`` are the ``EncodedMessage`` objects (shared with every other
    batch holding them), ``frames`` the concatenation of their websocket
    frames, built at most once however many subscribers receive the batch.
    Several frames back to back in one write are what a websocket peer reads
    anyway: TCP has no message boundaries.
    """

    __slots__ = ("__dict__", "messages", "nbytes")

    def __init__(self, messages: Iterable[EncodedMessage]) -> None:
        self.messages = tuple(messages)
        #: Bytes of JSON payload in the batch (what an outbox would hold).
        self.nbytes = sum(len(message.payload) for message in self.messages)

    def __repr__(self) -> str:
        return f"<EncodedBatch of {len(self.messages)} messages, {self.nbytes} bytes>"

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[EncodedMessage]:
        return iter(self.messages)

    @cached_property
    def frames(self) -> bytes:
        if len(self.messages) == 1:
            return self.messages[0].frame
        return b"".join([message.frame for message in self.messages])
