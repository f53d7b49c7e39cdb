"""A per-connection queue drained by one task: non-blocking sends over an async API.

Used where a message cannot be written synchronously: carriers that only
implement ``deliver``, and websocket connections with compression (whose
frames must go through the server library's own writer). The fan-out only
appends; the task awaits each send in order, so a slow peer only ever slows
its own outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from tbone.dispatch.encoding import EncodedMessage

__all__ = ["Outbox"]

logger = logging.getLogger("tbone.dispatch.outbox")

Send = Callable[[EncodedMessage], Awaitable[bool]]


class Outbox:
    """Queue messages for ``send``; ``timeout`` bounds each send.

    After a send returns ``False``, raises or times out, the outbox is
    ``failed``: it discards what it holds and refuses new messages, and
    ``on_failure`` (if given) is called once.
    """

    def __init__(
        self,
        send: Send,
        *,
        timeout: float | None = 10.0,
        on_failure: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._timeout = timeout
        self._on_failure = on_failure
        self._queue: deque[EncodedMessage] = deque()
        self._task: asyncio.Task[None] | None = None
        self.pending_bytes = 0
        self.failed = False

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, message: EncodedMessage) -> bool:
        """Queue ``message``; ``False`` once the outbox has failed."""
        if self.failed:
            return False
        self._queue.append(message)
        self.pending_bytes += len(message)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    def put_all(self, messages: Iterable[EncodedMessage]) -> bool:
        """Queue ``messages`` in order; ``False`` once the outbox has failed."""
        if self.failed:
            return False
        for message in messages:
            self._queue.append(message)
            self.pending_bytes += len(message)
        if self._queue and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._drain())
        return True

    def close(self) -> None:
        """Discard pending messages and stop the task."""
        self.failed = True
        self._queue.clear()
        self.pending_bytes = 0
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()

    async def _drain(self) -> None:
        while self._queue and not self.failed:
            message = self._queue[0]
            try:
                ok = await asyncio.wait_for(self._send(message), self._timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of a peer's send means: drop the peer
                logger.debug("send failed: %r", exc)
                ok = False
            if not self._queue or self._queue[0] is not message:
                return  # closed while the send was in flight
            if not ok:
                self._fail()
                return
            self._queue.popleft()
            self.pending_bytes -= len(message)

    def _fail(self) -> None:
        self.close()
        if self._on_failure is not None:
            self._on_failure()
