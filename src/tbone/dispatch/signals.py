"""In-process signals, modelled on Django's: receivers connect to a signal and
are called, in connection order, whenever the signal is sent.

Sending is robust (like Django's ``send_robust``): a receiver that raises does
not stop the others; its exception is logged and returned in the send result.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["Receiver", "Signal"]

logger = logging.getLogger("tbone.dispatch.signals")

Receiver = Callable[..., Awaitable[Any] | Any]


class Signal:
    """A named hook. ``await signal.send(sender, **kwargs)`` calls every connected
    receiver as ``receiver(sender=sender, **kwargs)``.

    Receivers may be plain functions or coroutine functions. A receiver connected
    with ``sender=SomeClass`` only hears sends whose sender is that class or one
    of its subclasses. Receivers are called one after the other, in the order
    they were connected, so an earlier receiver's side effects are visible to a
    later one.
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._receivers: list[tuple[Receiver, type | None]] = []

    def __repr__(self) -> str:
        return f"<Signal {self.name!r} receivers={len(self._receivers)}>"

    def connect(self, receiver: Receiver, sender: type | None = None) -> Receiver:
        """Connect ``receiver``; connecting the same (receiver, sender) twice is a no-op.

        Returns the receiver so ``connect`` can be used as a decorator via
        ``functools.partial`` or directly: ``signal.connect(fn)``.
        """
        if not callable(receiver):
            raise TypeError(f"signal receiver must be callable, got {receiver!r}")
        entry = (receiver, sender)
        if entry not in self._receivers:
            self._receivers.append(entry)
        return receiver

    def disconnect(self, receiver: Receiver, sender: type | None = None) -> bool:
        """Disconnect ``receiver`` (for ``sender``); returns whether it was connected."""
        entry = (receiver, sender)
        if entry in self._receivers:
            self._receivers.remove(entry)
            return True
        return False

    def has_receivers(self, sender: type | None = None) -> bool:
        return any(self._matches(filt, sender) for _, filt in self._receivers)

    @property
    def receivers(self) -> list[Receiver]:
        return [receiver for receiver, _ in self._receivers]

    @staticmethod
    def _matches(filt: type | None, sender: type | None) -> bool:
        if filt is None:
            return True
        return isinstance(sender, type) and issubclass(sender, filt)

    async def send(self, sender: type | None, **kwargs: Any) -> list[tuple[Receiver, Any]]:
        """Call every matching receiver; return ``[(receiver, result_or_exception)]``."""
        results: list[tuple[Receiver, Any]] = []
        for receiver, filt in list(self._receivers):
            if not self._matches(filt, sender):
                continue
            try:
                result = receiver(sender=sender, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                logger.exception("receiver %r of signal %r raised", receiver, self.name)
                results.append((receiver, exc))
            else:
                results.append((receiver, result))
        return results
