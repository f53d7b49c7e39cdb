"""Change records: a persistence-layer ``Change`` in a form that crosses processes.

A ``tbone.db.changes.Change`` holds live objects (the model class, the
instance, the database). Live queries of other processes get the same change
through the multiplexer's channel, as a record of JSON primitives: the
database and collection names, the operation, the primary key and the
document as ``export_data(native=False)`` gives it. A receiving process
rebuilds the document with the model of the subscriptions that watch the
collection, so matching always works on native values.

``origin`` names the process that wrote (for diagnostics). With a channel that
crosses processes, a process's own changes go through the channel too, so
that every process applies the changes of a document in the same order.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import Any

from tbone.db.changes import Change

__all__ = ["CHANGES_EVENT", "PROCESS_ORIGIN", "ChangeRecord", "record_of", "record_of_feed"]

#: The channel event that carries change records between processes.
CHANGES_EVENT = "tbone.changes"

#: This process's name in change records (a fork gets a new one on first use).
PROCESS_ORIGIN = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One written document, as the live queries of any process consume it.

    ``document`` is the stored document as native values (``None`` for a
    delete) when the change is local, or as JSON primitives (``primitive``
    True) when it came through a channel; ``model`` is the writing model when
    known (local changes), used to read ``document`` back.
    """

    database: str
    collection: str
    op: str
    pk: Any
    document: dict[str, Any] | None
    instance: Any = None
    model: Any = None
    rev: int | None = None
    primitive: bool = False
    #: ``pk`` is the document's ``_id`` (a change stream's ``documentKey``),
    #: whatever the model's primary key is
    by_id: bool = False

    def to_message(self) -> dict[str, Any]:
        """The record as channel data (JSON primitives)."""
        document = None
        if self.instance is not None:
            document = self.instance.export_data(native=False)
        return {
            "origin": PROCESS_ORIGIN,
            "database": self.database,
            "collection": self.collection,
            "op": self.op,
            "document": document,
            "pk": _primitive_pk(self.pk),
            "rev": self.rev,
        }

    @classmethod
    def from_message(cls, data: Any) -> ChangeRecord | None:
        """A record from channel data (this process's own included: they come
        back through the channel, in its order), or ``None`` for data that is
        not a record."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                database=str(data["database"]),
                collection=str(data["collection"]),
                op=str(data["op"]),
                pk=data["pk"],
                document=data.get("document"),
                rev=data.get("rev"),
                primitive=True,
            )
        except KeyError:
            return None


def _primitive_pk(pk: Any) -> Any:
    return pk if pk is None or isinstance(pk, str | int | float | bool) else str(pk)


def record_of(change: Change) -> ChangeRecord:
    """The record of a local change (its document exported once, natively)."""
    instance = change.instance
    document = None if instance is None else instance.export_data(native=True)
    rev = None if document is None else document.get("_rev")
    database = getattr(change.db, "name", "")
    return ChangeRecord(
        database=str(database),
        collection=change.collection,
        op=change.op,
        pk=change.pk,
        document=document,
        instance=instance,
        model=change.model,
        rev=rev if isinstance(rev, int) else None,
    )


def record_of_feed(change: dict[str, Any]) -> ChangeRecord:
    """The record of a change-stream feed's change (a document of native values)."""
    document = change.get("document")
    rev = None if document is None else document.get("_rev")
    return ChangeRecord(
        database=str(change["database"]),
        collection=str(change["collection"]),
        op=str(change["op"]),
        pk=change.get("pk"),
        document=document,
        rev=rev if isinstance(rev, int) else None,
        by_id=True,
    )
