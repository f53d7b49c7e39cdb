"""``Ref[Model]``: a typed reference to a document of another model.

Stored as a BSON DBRef. ``await ref.fetch(db)`` loads the referenced document
with any database object that has ``db[name].find_one`` (pymongo's async
database or motor's), so this module needs no import of ``tbone.db``; a model
with ``tbone.db``'s mixin is read through its ``get_collection(db)``.
``Ref[M]`` is bound by ``ModelLike`` (``tbone.data.protocols``), not ``Model``:
``DBRefField`` stores refs, so this module sits below the fields.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from bson import DBRef

from tbone.data.protocols import ModelLike

__all__ = ["Ref"]

M = TypeVar("M", bound=ModelLike)


class Ref(Generic[M]):
    """A reference to the document with primary key ``id`` in ``collection``."""

    __slots__ = ("collection", "database", "id", "model")

    def __init__(
        self, collection: str, id: Any, database: str | None = None, model: type[M] | None = None
    ) -> None:
        self.collection = collection
        self.id = id
        self.database = database
        self.model = model

    @classmethod
    def to(cls, instance: M) -> Ref[M]:
        """A reference to a saved ``instance`` (it must have its primary key)."""
        if instance.pk is None:
            raise ValueError("cannot reference a document that has no primary key yet")
        return Ref(type(instance).get_collection_name(), instance.pk, None, type(instance))

    def as_dbref(self) -> DBRef:
        return DBRef(self.collection, self.id, self.database)

    async def fetch(self, db: Any) -> M | None:
        """Load the referenced document, or None if it no longer exists."""
        if self.model is None:
            raise TypeError("this reference has no model; annotate the field as Ref[Model]")
        pk_field = self.model._meta.pk_field
        key = pk_field.data_key if pk_field is not None else "_id"
        # A persistent model opens its own collection with the codec options its
        # documents need (e.g. standard UUIDs), whatever the client's defaults are.
        opener = getattr(self.model, "get_collection", None)
        if opener is not None and self.collection == self.model.get_collection_name():
            collection = opener(db)
        else:
            collection = db[self.collection]
        doc = await collection.find_one({key: self.id})
        if doc is None:
            return None
        return self.model.from_data(doc)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ref):
            return (self.collection, self.id, self.database) == (
                other.collection,
                other.id,
                other.database,
            )
        if isinstance(other, DBRef):
            return self.as_dbref() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.collection, repr(self.id), self.database))

    def __repr__(self) -> str:
        model = self.model.__name__ if self.model is not None else "?"
        return f"Ref[{model}]({self.collection!r}, {self.id!r})"
