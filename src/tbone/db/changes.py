"""Changes: what each write of the persistence layer did, for whoever listens.

Every write of ``MongoCollectionMixin`` (``insert``, ``insert_many``,
``save``, ``update``, ``modify``, ``delete``, ``delete_entries``) records one
:class:`Change` per document it wrote. A change goes to two places:

- the :data:`changed` signal, sent as ``receiver(sender=ModelClass,
  change=change)`` after the write (a ``tbone.dispatch.Signal``: a sender
  filter limits a receiver to one model and its subclasses);
- every collector opened with :func:`collect_changes` in the running context,
  so that code serving a request learns which writes that request made (a
  ``MongoResource`` publishes its events from them). Collectors are
  context-local (a ``contextvars.ContextVar``): concurrent requests never see
  each other's changes, and tasks started inside a collector (``asyncio.gather``)
  report to it.

A change is recorded only when something listens (a collector is open, or
``changed`` has a receiver for the model), so writes nobody watches cost
nothing extra.

>>> with collect_changes() as changes:  # doctest: +SKIP
...     await book.insert(db)
>>> changes[0].op, changes[0].pk  # doctest: +SKIP
('insert', ObjectId('...'))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal

from tbone.dispatch.signals import Signal

__all__ = ["Change", "Operation", "changed", "collect_changes", "is_listening", "record_change"]

Operation = Literal["insert", "update", "delete"]

changed = Signal("changed")
"""Sent after every write of the persistence layer, once per document written,
as ``receiver(sender=ModelClass, change=Change)``."""

_collectors: ContextVar[tuple[list[Change], ...]] = ContextVar("tbone_change_collectors", default=())


@dataclass(frozen=True, slots=True, eq=False)
class Change:
    """One document written by the persistence layer.

    ``op`` is ``"insert"`` (a new document: ``insert``, ``insert_many``, or a
    ``save`` that created it), ``"update"`` (``save`` of an existing document,
    ``update``, ``modify``) or ``"delete"`` (``delete``, ``delete_entries``).
    ``pk`` is the primary key's value (the ``_id`` for a model without a
    primary key field). ``instance`` is the model as stored after the write,
    ``None`` for a delete; ``previous`` is, for a delete, the instance that
    was deleted when the persistence layer had it (``delete``: the instance
    itself; ``delete_entries``: the document as read before deleting it,
    ``None`` if it no longer fits the model). ``db`` is the database written.
    """

    model: type[Any]
    collection: str
    op: Operation
    pk: Any
    instance: Any | None
    previous: Any | None = None
    db: Any = None


@contextmanager
def collect_changes() -> Iterator[list[Change]]:
    """Collect the changes of every write made in this context, in write order.

    Yields the list the changes are appended to. Collectors nest: a write
    inside two open collectors is recorded in both.
    """
    changes: list[Change] = []
    token = _collectors.set((*_collectors.get(), changes))
    try:
        yield changes
    finally:
        _collectors.reset(token)


def is_listening(model: type[Any]) -> bool:
    """Whether a write of ``model`` would be seen: a collector is open in this
    context, or ``changed`` has a receiver for ``model``."""
    return bool(_collectors.get()) or changed.has_receivers(model)


async def record_change(change: Change) -> None:
    """Append ``change`` to the open collectors, then send ``changed``.

    A receiver that raises is logged by the signal; the write stands.
    """
    for collector in _collectors.get():
        collector.append(change)
    if changed.has_receivers(change.model):
        await changed.send(change.model, change=change)
