"""``MongoCollectionMixin``: persistence for models, and the ``post_save`` /
``post_delete`` signals it sends.

``class Book(Model, MongoCollectionMixin)`` stores books in the collection
``Book.get_collection_name()``. Documents are the model's native export
(``export_data()``), encoded by ``tbone.db.bsonmap``; documents read back are
built with ``from_data``, so a stored document that no longer fits the model
raises ``DocumentValidationError`` instead of yielding a half-built model.

The primary key is the field with ``primary_key=True``, else ``_id``. A
primary key other than ``_id`` is stored under its own key (its alias, if it
has one) and made unique by ``create_collection``; ``_id`` is then left to
MongoDB. ``save`` is an upsert that writes every field the model declares and
leaves keys it does not declare alone; ``update`` replaces the whole document;
``modify`` ``$set``s only the given fields, so concurrent modifications of
different fields never overwrite each other. See docs/persistency.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError as DriverDuplicateKeyError

from tbone.data.errors import ConfigurationError, ErrorDetail, ValidationError, error_details
from tbone.data.fields.base import BaseField
from tbone.db.collections import model_collection
from tbone.db.errors import DocumentValidationError, DoesNotExist, DuplicateKeyError
from tbone.db.types import Collection, Cursor, Database
from tbone.dispatch.signals import Signal

if TYPE_CHECKING:
    from tbone.data.options import ModelOptions

__all__ = ["FIND_BATCH_SIZE", "MongoCollectionMixin", "post_delete", "post_save"]

FIND_BATCH_SIZE = 300
"""Documents per batch of a ``get_cursor`` cursor unless ``batch_size`` is given.
Smaller than the driver's default after the first batch (everything up to 16 MiB),
so that ``find`` builds one batch while the server prepares the next: measured
on SecantusDB, a find of 1,000 documents went from 1.27x to 1.09x the time of a
raw pymongo ``find().to_list()``. A getMore per 300 documents is cheap next to
building them."""

post_save = Signal("post_save")
"""Sent after ``insert``, ``save``, ``update`` and ``modify`` as
``receiver(sender=ModelClass, db=db, instance=instance, created=bool)``."""

post_delete = Signal("post_delete")
"""Sent after ``delete`` removed a document as
``receiver(sender=ModelClass, db=db, instance=instance)``."""


class _Keys:
    """Where a model's identity lives in its documents (computed once per class)."""

    __slots__ = ("by_key", "id_name", "pk", "pk_key")

    def __init__(self, options: ModelOptions) -> None:
        fields = options.fields
        self.pk: BaseField | None = options.pk_field
        self.pk_key = "_id" if self.pk is None else self.pk.data_key
        self.by_key = {f.data_key: f for f in fields.values()}
        id_field = self.by_key.get("_id")
        self.id_name = None if id_field is None else id_field.name


def _keys(cls: type[Any]) -> _Keys:
    keys: _Keys | None = cls.__dict__.get("_tbone_db_keys")
    if keys is None:
        keys = _Keys(cls._meta)
        cls._tbone_db_keys = keys
    return keys


def _required_pk(cls: type[Any]) -> _Keys:
    keys = _keys(cls)
    if keys.pk is None:
        raise ConfigurationError(
            f"{cls.__name__} has no primary key: declare `_id: ObjectId | None = "
            "Field(default=None, primary_key=True)` or mark a field primary_key=True"
        )
    return keys


def _duplicate(exc: DriverDuplicateKeyError, cls: type[Any], collection: Collection) -> DuplicateKeyError:
    return DuplicateKeyError.from_driver(exc, cls.__name__, collection.name)


class MongoCollectionMixin:
    """Persistence methods for a ``tbone.data.Model``; list it after ``Model``.

    ``db`` is a pymongo ``AsyncDatabase`` or a motor ``AsyncIOMotorDatabase``.
    """

    if TYPE_CHECKING:  # provided by Model; declared so mypy knows the mixin's host
        _meta: ClassVar[ModelOptions]

        @classmethod
        def from_data(cls, data: Mapping[str, Any]) -> Self: ...

        @classmethod
        def _tbone_adopt(cls, data: Any) -> Self: ...

        def export_data(self, native: bool = True) -> dict[str, Any]: ...

        def validate(self) -> None: ...

        @property
        def pk(self) -> Any: ...

        @classmethod
        def get_collection_name(cls) -> str: ...

    # -- collection and documents --------------------------------------------
    @classmethod
    def get_collection(cls, db: Database) -> Collection:
        """The driver collection of this model in ``db`` (with tbone's codec options)."""
        return model_collection(db, cls)

    @classmethod
    def pk_filter(cls, value: Any) -> dict[str, Any]:
        """The query for the document whose primary key is ``value``, coerced by the
        primary key's field (so the 24-hex string of an ObjectId works)."""
        keys = _required_pk(cls)
        assert keys.pk is not None
        try:
            return {keys.pk_key: keys.pk.to_python(value)}
        except ValueError as exc:
            raise ValidationError(error_details(exc, (keys.pk_key,)), cls.__name__) from exc

    def _document(self) -> dict[str, Any]:
        """The validated native export; a ``None`` ``_id`` is left out for MongoDB.

        Validation goes through the model's compiled builder (``from_data``: every
        field's coercion, checks and validators, and ``clean()``), which is several
        times faster than ``validate()`` on nested models. Only when the instance
        holds values that are not yet normalized (an assigned ``"7"`` for an int)
        does ``validate()`` run, to normalize it in place as it documents.
        """
        cls = type(self)
        try:
            exported = self.export_data()
        except Exception:  # a value of the wrong shape was assigned: name it, or fix it
            self.validate()
            exported = self.export_data()
        doc = cls.from_data(exported).export_data()
        if doc != exported:
            self.validate()
        if "_id" in doc and doc["_id"] is None:
            del doc["_id"]
        keys = _keys(type(self))
        if keys.pk_key != "_id" and doc.get(keys.pk_key) is None:
            error: ErrorDetail = {
                "loc": (keys.pk_key,),
                "msg": "Primary key is required to store the document",
                "type": "missing",
            }
            raise ValidationError([error], type(self).__name__)
        return doc

    @classmethod
    def _load(cls, doc: dict[str, Any]) -> Self:
        # The driver's document is ours: the model adopts it instead of copying
        try:
            return cls._tbone_adopt(doc)
        except ValidationError as exc:
            raise DocumentValidationError(
                exc.errors, cls.__name__, doc.get("_id"), cls.get_collection_name()
            ) from exc

    # -- writes -----------------------------------------------------------------
    async def insert(self, db: Database) -> None:
        """Validate and insert as a new document; sets ``_id`` when the model has
        one and it was None. Raises ``DuplicateKeyError`` if the key is taken."""
        cls = type(self)
        doc = self._document()
        collection = model_collection(db, cls)
        try:
            result = await collection.insert_one(doc)
        except DriverDuplicateKeyError as exc:
            raise _duplicate(exc, cls, collection) from exc
        id_name = _keys(cls).id_name
        if id_name is not None:
            self.__dict__[id_name] = result.inserted_id
        await post_save.send(cls, db=db, instance=self, created=True)

    async def save(self, db: Database) -> None:
        """Upsert by primary key: insert when the document is new (or its ``_id`` is
        None), else ``$set`` every field the model declares. Keys of the stored
        document that the model does not declare are kept."""
        cls = type(self)
        keys = _required_pk(cls)
        if keys.pk_key == "_id" and self.pk is None:
            await self.insert(db)
            return
        doc = self._document()
        query = {keys.pk_key: doc[keys.pk_key]}
        fields = {k: v for k, v in doc.items() if k != "_id"}
        update: dict[str, Any] = {"$set": fields} if fields else {"$setOnInsert": query}
        if keys.pk_key != "_id" and "_id" in doc:
            update["$setOnInsert"] = {"_id": doc["_id"]}
        collection = model_collection(db, cls)
        try:
            result = await collection.update_one(query, update, upsert=True)
        except DriverDuplicateKeyError as exc:
            raise _duplicate(exc, cls, collection) from exc
        created = result.upserted_id is not None
        if created and keys.id_name is not None and self.__dict__.get(keys.id_name) is None:
            self.__dict__[keys.id_name] = result.upserted_id
        await post_save.send(cls, db=db, instance=self, created=created)

    async def update(self, db: Database, data: Mapping[str, Any] | None = None) -> None:
        """Apply ``data`` (data keys → values) and replace the stored document, found
        by the current primary key, with this model. The instance changes only if
        the write succeeds. Raises ``DoesNotExist`` when no document matches."""
        cls = type(self)
        keys = _required_pk(cls)
        query = {keys.pk_key: self.pk}
        candidate = cls.from_data({**self.export_data(), **data}) if data else self
        doc = candidate._document()
        doc.pop("_id", None)  # a replacement keeps the stored _id
        collection = model_collection(db, cls)
        try:
            result = await collection.replace_one(query, doc)
        except DriverDuplicateKeyError as exc:
            raise _duplicate(exc, cls, collection) from exc
        if result.matched_count == 0:
            raise DoesNotExist(cls.__name__, query)
        if candidate is not self:
            self.__dict__.update(candidate.__dict__)
        await post_save.send(cls, db=db, instance=self, created=False)

    @classmethod
    async def modify(cls, db: Database, key: Any, data: Mapping[str, Any]) -> Self | None:
        """``$set`` only the given fields (data keys → values, each coerced by its
        field) of the document with primary key ``key``; return the updated model,
        or None when there is no such document. Invalid values raise
        ``ValidationError`` and write nothing. Model-level ``clean()`` is not run:
        it needs the whole model."""
        keys = _required_pk(cls)
        query = cls.pk_filter(key)
        changes: dict[str, Any] = {}
        errors: list[ErrorDetail] = []
        for name, value in data.items():
            field = keys.by_key.get(name)
            if field is None:
                errors.append({"loc": (name,), "msg": "Unknown field", "type": "unknown_field"})
                continue
            try:
                coerced = field.to_python(value)
            except Exception as exc:
                errors.extend(error_details(exc, (name,)))
                continue
            changes[name] = None if coerced is None else field.export_value(coerced, "native")
        if errors:
            raise ValidationError(errors, cls.__name__)
        collection = model_collection(db, cls)
        if not changes:
            doc = await collection.find_one(query)
        else:
            try:
                doc = await collection.find_one_and_update(
                    query, {"$set": changes}, return_document=ReturnDocument.AFTER
                )
            except DriverDuplicateKeyError as exc:
                raise _duplicate(exc, cls, collection) from exc
        if doc is None:
            return None
        instance = cls._load(doc)
        if changes:
            await post_save.send(cls, db=db, instance=instance, created=False)
        return instance

    async def delete(self, db: Database) -> bool:
        """Delete this model's document; returns whether one was deleted (and only
        then sends ``post_delete``)."""
        cls = type(self)
        keys = _required_pk(cls)
        if self.pk is None:
            return False
        result = await model_collection(db, cls).delete_one({keys.pk_key: self.pk})
        if result.deleted_count == 0:
            return False
        await post_delete.send(cls, db=db, instance=self)
        return True

    @classmethod
    async def delete_entries(cls, db: Database, query: Mapping[str, Any]) -> int:
        """Delete every document matching ``query`` (``{}``: all); returns how many.
        Bulk deletes send no signals."""
        result = await model_collection(db, cls).delete_many(query)
        return int(result.deleted_count)

    # -- reads --------------------------------------------------------------------
    @classmethod
    async def find_one(
        cls, db: Database, query: Mapping[str, Any] | None = None, **options: Any
    ) -> Self | None:
        """The first document matching ``query`` as a model, or None. ``options``
        (``sort``, ``skip``...) go to the driver's ``find_one``."""
        collection = model_collection(db, cls)
        doc = await collection.find_one(query or {}, **options)
        return None if doc is None else cls._load(doc)

    @classmethod
    async def get(cls, db: Database, query: Mapping[str, Any] | None = None, **options: Any) -> Self:
        """Like ``find_one``, but raises ``DoesNotExist`` when nothing matches."""
        found = await cls.find_one(db, query, **options)
        if found is None:
            raise DoesNotExist(cls.__name__, query or {})
        return found

    @classmethod
    def get_cursor(
        cls,
        db: Database,
        query: Mapping[str, Any] | None = None,
        projection: Any = None,
        sort: Any = None,
        skip: int = 0,
        limit: int = 0,
        **options: Any,
    ) -> Cursor:
        """A driver cursor over this model's documents, for ``find``. ``sort`` takes
        the driver's forms (``[("title", 1)]``); ``options`` go to the driver's
        ``find``. A projection must keep the required fields (see ``find``).
        ``batch_size`` defaults to ``FIND_BATCH_SIZE`` (see ``find``)."""
        collection = model_collection(db, cls)
        options.setdefault("batch_size", FIND_BATCH_SIZE)
        return collection.find(query or {}, projection, skip=skip, limit=limit, sort=sort, **options)

    @classmethod
    async def find(cls, cursor: Cursor) -> list[Self]:
        """Drain ``cursor`` (from ``get_cursor``) into models. A document that does
        not fit raises ``DocumentValidationError``; fields left out by a projection
        take their defaults, so a projection must keep the required ones.

        With pymongo, each batch is built into models while the server prepares
        the next one (the request for it is sent first), so building costs
        little wall time on results of several batches."""
        load = cls._load
        next_batch = getattr(cursor, "_next_batch", None)  # pymongo's AsyncCursor
        if next_batch is None:  # motor: its cursor fetches in a thread of its own
            docs: list[dict[str, Any]] = await cursor.to_list(None)
            return [load(doc) for doc in docs]
        models: list[Self] = []
        batch: list[dict[str, Any]] = []
        await next_batch(batch)
        while batch:
            following: list[dict[str, Any]] = []
            fetch = None
            if cursor.alive:
                fetch = asyncio.ensure_future(next_batch(following))
                await asyncio.sleep(0)  # the fetch sends its request and waits for the reply
            try:
                models += [load(doc) for doc in batch]
            except BaseException:
                if fetch is not None:
                    fetch.cancel()
                raise
            if fetch is not None:
                await fetch
            batch = following
        return models

    @classmethod
    async def count(cls, db: Database, filters: Mapping[str, Any] | None = None) -> int:
        """The number of documents matching ``filters`` (all when None)."""
        return int(await model_collection(db, cls).count_documents(filters or {}))
