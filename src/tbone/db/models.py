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

Every write records a ``tbone.db.changes.Change`` per document written (when
something listens: see ``tbone.db.changes``) and sends ``post_save`` /
``post_delete``, from one place (``_saved`` / ``_deleted``).

``insert``, ``insert_many``, ``save`` and ``update`` validate the instance
before writing it. An instance the caller has just built with ``from_data``
or ``deserialize`` (and not changed since) is already validated: pass
``validate=False`` to skip the second pass.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pymongo import ReturnDocument
from pymongo.errors import BulkWriteError
from pymongo.errors import DuplicateKeyError as DriverDuplicateKeyError

from tbone.data.errors import ConfigurationError, ErrorDetail, ValidationError, error_details
from tbone.data.fields.base import BaseField
from tbone.data.models import ModelMeta
from tbone.data.options import is_classvar_annotation
from tbone.db.changes import Change, Operation, is_listening, record_change
from tbone.db.collections import model_collection
from tbone.db.errors import DocumentValidationError, DoesNotExist, DuplicateKeyError
from tbone.db.types import Collection, Cursor, Database
from tbone.dispatch.signals import Signal

if TYPE_CHECKING:
    from tbone.data.options import ModelOptions

__all__ = ["DELETE_BATCH_SIZE", "FIND_BATCH_SIZE", "MongoCollectionMixin", "post_delete", "post_save"]

FIND_BATCH_SIZE = 300
"""Documents per batch of a ``get_cursor`` cursor unless ``batch_size`` is given.
Smaller than the driver's default after the first batch (everything up to 16 MiB),
so that ``find`` builds one batch while the server prepares the next: measured
on SecantusDB, a find of 1,000 documents went from 1.27x to 1.09x the time of a
raw pymongo ``find().to_list()``. A getMore per 300 documents is cheap next to
building them."""

DELETE_BATCH_SIZE = 1000
"""Primary keys per ``delete_many`` when ``delete_entries`` deletes by keys (when
something listens to changes): keeps each command far below 16 MiB."""

_DUPLICATE_KEY_CODES = frozenset({11000, 11001, 12582})

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


async def _saved(cls: type[Any], db: Database, instance: Any, op: Operation, stored_id: Any = None) -> None:
    """After a write that stored ``instance``: record its change, send ``post_save``.
    ``stored_id`` is the document's ``_id``: the change's pk for a model that has
    no primary key field."""
    if is_listening(cls):
        pk = instance.pk if _keys(cls).pk is not None else stored_id
        change = Change(cls, cls.get_collection_name(), op, pk, instance, None, db)
        await record_change(change)
    await post_save.send(cls, db=db, instance=instance, created=op == "insert")


async def _deleted(cls: type[Any], db: Database, pk: Any, previous: Any, *, signal: bool) -> None:
    """After a write that deleted the document ``pk``: record its change (and send
    ``post_delete`` for ``delete``, whose instance is ``previous``)."""
    if is_listening(cls):
        await record_change(Change(cls, cls.get_collection_name(), "delete", pk, None, previous, db))
    if signal:
        await post_delete.send(cls, db=db, instance=previous)


def _field_names(cls: type[Any]) -> dict[str, type[Any]]:
    """The field names of model ``cls``, own and inherited, each with the class
    that declares it. Read from the annotations, as ``ModelMeta`` does, so it
    works at class creation, before the (lazy) annotations are resolved."""
    names: dict[str, type[Any]] = {}
    for klass in reversed(cls.__mro__):
        if not isinstance(klass, ModelMeta):
            continue
        for name, annotation in inspect.get_annotations(klass).items():
            if not name.startswith("__") and not is_classvar_annotation(annotation):
                names[name] = klass
    return names


def _check_field_names(cls: type[Any]) -> None:
    """Refuse a model whose field would shadow a persistence method (a field
    ``count`` replaces ``MongoCollectionMixin.count`` on the class, and every
    list request and DELETE would then fail)."""
    for name, owner in _field_names(cls).items():
        for klass in cls.__mro__:
            if isinstance(klass, ModelMeta) or not issubclass(klass, MongoCollectionMixin):
                continue
            if name in klass.__dict__:
                inherited = "" if owner is cls else f" in {cls.__name__}"
                raise ConfigurationError(
                    f"{owner.__name__}.{name}: the field shadows the persistence method "
                    f"{klass.__name__}.{name}(){inherited}. Rename the attribute and keep "
                    f'the stored key with Field(alias="{name}"), e.g. '
                    f'`{name}_: ... = Field(alias="{name}")`'
                )


class MongoCollectionMixin:
    """Persistence methods for a ``tbone.data.Model``; list it after ``Model``.

    ``db`` is a pymongo ``AsyncDatabase`` or a motor ``AsyncIOMotorDatabase``.

    A field may not be named like one of these methods (``count``, ``delete``,
    ``find``, ``save``...): it would shadow the method, so the class statement
    raises ``ConfigurationError``. Only the attribute name counts: store the
    field under that key with ``n: int = Field(alias="count")``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_field_names(cls)

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

    def _document(self, validate: bool = True) -> dict[str, Any]:
        """The validated native export; a ``None`` ``_id`` is left out for MongoDB.

        Validation goes through the model's compiled builder (``from_data``: every
        field's coercion, checks and validators, and ``clean()``), which is several
        times faster than ``validate()`` on nested models. Only when the instance
        holds values that are not yet normalized (an assigned ``"7"`` for an int)
        does ``validate()`` run, to normalize it in place as it documents.
        ``validate=False`` exports as is: the caller vouches that the instance was
        just built by ``from_data``/``deserialize`` and not changed since.
        """
        cls = type(self)
        if validate:
            try:
                exported = self.export_data()
            except Exception:  # a value of the wrong shape was assigned: name it, or fix it
                self.validate()
                exported = self.export_data()
            doc = cls.from_data(exported).export_data()
            if doc != exported:
                self.validate()
        else:
            doc = self.export_data()
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
    async def insert(self, db: Database, *, validate: bool = True) -> None:
        """Validate and insert as a new document; sets ``_id`` when the model has
        one and it was None. Raises ``DuplicateKeyError`` if the key is taken.
        ``validate=False``: the instance was just built by ``from_data`` or
        ``deserialize`` and is stored without validating it again."""
        cls = type(self)
        doc = self._document(validate)
        collection = model_collection(db, cls)
        try:
            result = await collection.insert_one(doc)
        except DriverDuplicateKeyError as exc:
            raise _duplicate(exc, cls, collection) from exc
        id_name = _keys(cls).id_name
        if id_name is not None:
            self.__dict__[id_name] = result.inserted_id
        await _saved(cls, db, self, "insert", result.inserted_id)

    @classmethod
    async def insert_many(cls, db: Database, instances: Iterable[Self], *, validate: bool = True) -> None:
        """Insert ``instances`` as new documents, in order, in one ordered
        ``insert_many``; sets each ``_id`` as ``insert`` does. Every instance is
        validated before anything is written (``validate=False`` as for ``insert``).

        Not atomic: when item *k* collides with a unique index, items before *k*
        stay stored (and record their changes), *k* and the items after it are not
        written, and ``DuplicateKeyError`` is raised with ``item=k`` and
        ``stored=k``."""
        objs = list(instances)
        docs = [obj._document(validate) for obj in objs]
        if not docs:
            return
        collection = model_collection(db, cls)
        failure: DuplicateKeyError | None = None
        try:
            await collection.insert_many(docs, ordered=True)
            stored = len(docs)
        except BulkWriteError as exc:
            write_errors = exc.details.get("writeErrors") or []
            first = write_errors[0] if write_errors else {}
            if first.get("code") not in _DUPLICATE_KEY_CODES:
                raise
            stored = int(exc.details.get("nInserted", first.get("index", 0)))
            driver_exc = DriverDuplicateKeyError(first.get("errmsg", ""), first.get("code"), first)
            failure = DuplicateKeyError.from_driver(driver_exc, cls.__name__, collection.name)
            failure.item, failure.stored = int(first.get("index", stored)), stored
        id_name = _keys(cls).id_name
        for obj, doc in zip(objs[:stored], docs, strict=False):
            if id_name is not None and "_id" in doc:
                obj.__dict__[id_name] = doc["_id"]  # the driver sets _id in the documents it sends
            await _saved(cls, db, obj, "insert", doc.get("_id"))
        if failure is not None:
            raise failure

    async def save(self, db: Database, *, validate: bool = True) -> None:
        """Upsert by primary key: insert when the document is new (or its ``_id`` is
        None), else ``$set`` every field the model declares. Keys of the stored
        document that the model does not declare are kept. ``validate=False`` as
        for ``insert``."""
        cls = type(self)
        keys = _required_pk(cls)
        if keys.pk_key == "_id" and self.pk is None:
            await self.insert(db, validate=validate)
            return
        doc = self._document(validate)
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
        await _saved(cls, db, self, "insert" if created else "update")

    async def update(
        self, db: Database, data: Mapping[str, Any] | None = None, *, validate: bool = True
    ) -> None:
        """Apply ``data`` (data keys → values) and replace the stored document, found
        by the current primary key, with this model. The instance changes only if
        the write succeeds. Raises ``DoesNotExist`` when no document matches: it
        never creates one. ``validate=False`` as for ``insert`` (with ``data``, the
        result is built by ``from_data`` and never validated twice)."""
        cls = type(self)
        keys = _required_pk(cls)
        query = {keys.pk_key: self.pk}
        candidate = cls.from_data({**self.export_data(), **data}) if data else self
        doc = candidate._document(validate and candidate is self)
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
        await _saved(cls, db, self, "update")

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
            await _saved(cls, db, instance, "update")
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
        await _deleted(cls, db, self.pk, self, signal=True)
        return True

    @classmethod
    async def delete_entries(cls, db: Database, query: Mapping[str, Any]) -> int:
        """Delete every document matching ``query`` (``{}``: all); returns how many.
        Sends no ``post_delete``.

        When nobody listens to changes this is one ``delete_many(query)``. When
        something does (a ``collect_changes()`` collector, or a receiver of
        ``changed`` for this model), it first reads the matching documents, then
        deletes by ``{"$and": [query, {pk: {"$in": keys}}]}`` (in batches of
        ``DELETE_BATCH_SIZE``) and records one ``"delete"`` change per document it
        deleted. Race semantics: it deletes the documents that matched when it
        read them and still match when it deletes them; a document that starts to
        match in between is left alone. If fewer documents were deleted than read
        (another writer deleted or changed some meanwhile), the keys still stored
        are looked up and left out of the changes; a document deleted by both
        writers is reported by both."""
        collection = model_collection(db, cls)
        if not is_listening(cls):
            result = await collection.delete_many(query)
            return int(result.deleted_count)
        pk_key = _keys(cls).pk_key
        docs: list[dict[str, Any]] = await collection.find(query).to_list(None)
        deleted = 0
        for start in range(0, len(docs), DELETE_BATCH_SIZE):
            batch = {doc[pk_key]: doc for doc in docs[start : start + DELETE_BATCH_SIZE] if pk_key in doc}
            by_keys = {pk_key: {"$in": list(batch)}}
            result = await collection.delete_many({"$and": [dict(query), by_keys]} if query else by_keys)
            count = int(result.deleted_count)
            deleted += count
            if count < len(batch):
                kept = await collection.find(by_keys, {pk_key: 1}).to_list(None)
                for doc in kept:
                    batch.pop(doc[pk_key], None)
            for pk, doc in batch.items():
                await _deleted(cls, db, pk, cls._previous(doc), signal=False)
        return deleted

    @classmethod
    def _previous(cls, doc: dict[str, Any]) -> Self | None:
        try:
            return cls._load(doc)
        except DocumentValidationError:  # a document that does not fit is still deleted
            return None

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
