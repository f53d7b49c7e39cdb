"""Plain in-process carriers for tests: real implementations of the Protocols."""

from __future__ import annotations

import asyncio
from typing import Any

from tbone.dispatch import EncodedMessage


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
