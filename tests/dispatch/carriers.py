"""Plain in-process carriers for tests: real implementations of the Protocols."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from tbone.dispatch import EncodedMessage
from tbone.dispatch.encoding import EncodedBatch


class ListCarrier:
    """Collects delivered messages; ``wait_for(n)`` waits until it holds ``n``."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    async def deliver(self, data: dict[str, Any]) -> bool:
        self.messages.append(data)
        self._changed.set()
        return True

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.messages

    def data(self) -> list[Any]:
        return [m["payload"]["data"] for m in self.messages]


class StreamListCarrier(ListCarrier):
    """A StreamCarrier whose "socket" is a list; ``buffered`` fakes a full buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[bytes] = []
        self.buffered = 0
        self.aborted = False
        self.alive = True

    def send_encoded(self, message: EncodedMessage) -> bool:
        if not self.alive:
            return False
        self.encoded.append(message.payload)
        return True

    def write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True
        self.alive = False


class BatchListCarrier(StreamListCarrier):
    """A BatchCarrier: records each batch it is handed (one "write" each)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[EncodedBatch] = []
        self.writes: list[bytes] = []

    def send_batch(self, batch: EncodedBatch) -> bool:
        if not self.alive:
            return False
        self.batches.append(batch)
        self.writes.append(batch.frames)
        self.encoded.extend(message.payload for message in batch)
        return True

    def data(self) -> list[Any]:
        return [orjson.loads(payload)["payload"]["data"] for payload in self.encoded]

    def names(self) -> list[str]:
        return [orjson.loads(payload)["payload"]["name"] for payload in self.encoded]


class FailingCarrier:
    """A peer that is gone: deliver reports failure."""

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, data: dict[str, Any]) -> bool:
        self.calls += 1
        return False


class HangingCarrier:
    """A peer whose deliver never completes."""

    async def deliver(self, data: dict[str, Any]) -> bool:
        await asyncio.Event().wait()
        return True
