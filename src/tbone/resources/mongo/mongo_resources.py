"""``MongoResource[M]``: REST over a MongoDB collection of ``M`` models.

``Meta.object_class`` is a model with ``tbone.db.models.MongoCollectionMixin``.
The list speaks the query language of ``tbone.resources.mongo.list_queries`` (filters,
``order_by``, ``limit``/``offset``, ``fields``, full text) and answers
``{"meta": {"total_count", "limit", "offset"}, "objects": [...]}``.

Verbs: GET/POST/DELETE on the list (POST of an array creates many; DELETE
removes what the filters match: filters only, and at least one unless
``Meta.allow_delete_all``), GET/PUT/PATCH/DELETE on a detail. PUT and PATCH
on the list and POST on a detail are not implemented (501). PATCH refuses
unknown keys, PATCH and PUT a changed primary key (400s with field errors).

Writes go through ``tbone.db``'s persistence methods (``insert_many``,
``insert``, ``update``, ``modify``, ``delete``, ``delete_entries``), and
events come from what those writes did: ``handle`` runs a write verb inside
``tbone.db.collect_changes()`` and then calls :meth:`MongoResource.publish`
once per collected change of the resource's model, which publishes
``resource_create``, ``resource_update`` or ``resource_delete`` (by the
change's op) on ``Meta.channel_class(name="pubsub", db=db)`` when a channel
class is set. So a verb method overridden in a subclass still emits the
events of the writes it makes. The event's data is the serialized object with
its ``_links`` when the verb is in ``outgoing_list`` / ``outgoing_detail``,
else only ``{pk_key: pk}``: a verb kept out of the response is kept out of
the event too.

PUT replaces an existing document and never creates one (creation is POST):
a PUT of a missing primary key, or one racing a DELETE, is a 404.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from pymongo.errors import ConnectionFailure, DocumentTooLarge, DuplicateKeyError, OperationFailure

from tbone.db.changes import Change, collect_changes
from tbone.db.errors import DocumentValidationError, DoesNotExist
from tbone.db.errors import DuplicateKeyError as StoredDuplicateKeyError
from tbone.dispatch.encoding import resource_event_key
from tbone.resources.authorization import AllowAll
from tbone.resources.errors import (
    DEFAULT_EXCEPTION_STATUSES,
    BadRequest,
    Conflict,
    ExceptionTable,
    Forbidden,
    NotFound,
)
from tbone.resources.http import MISSING, Response
from tbone.resources.model_resources import ModelResource
from tbone.resources.mongo.list_queries import ListQuery, parse_list_query
from tbone.resources.mongo.mongo_models import M
from tbone.resources.mongo.mongo_options import MongoResourceOptions
from tbone.resources.options import ResourceOptions

__all__ = ["MongoResource"]

#: The events a MongoResource publishes, by the op of a change.
EVENTS: Mapping[str, str] = {
    "insert": "resource_create",
    "update": "resource_update",
    "delete": "resource_delete",
}

#: HTTP methods whose verb may write: served inside a change collector.
_WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def make_channel(channel_class: Any, db: Any) -> Any:
    """``channel_class(name="pubsub", db=db)``: every shipped channel takes ``db``
    (``MemoryChannel`` ignores it)."""
    return channel_class(name="pubsub", db=db)


logger = logging.getLogger("tbone.resources.mongo")


def conflict(exc: DuplicateKeyError) -> Conflict:
    """The client's view of a duplicate key (an ``exception_statuses`` handler):
    which field values are taken, as field errors; index and collection names
    stay in the server's log. For a bulk insert the errors are located by the
    item's index, and the message says which items were stored."""
    ours = exc if isinstance(exc, StoredDuplicateKeyError) else None
    model = ours.model if ours is not None else "document"
    key = ours.key_value if ours is not None else None
    item = ours.item if ours is not None else None
    where: tuple[Any, ...] = () if item is None else (item,)
    if key:
        values = ", ".join(f"{name}={value!r}" for name, value in key.items())
        message = f"A {model} with {values} already exists"
    else:
        message = f"A {model} with the same unique value already exists"
    errors = [
        {"loc": (*where, name), "msg": f"A {model} with this value already exists", "type": "duplicate_key"}
        for name in key or ()
    ]
    if item is not None:
        if not errors:
            errors = [{"loc": where, "msg": message, "type": "duplicate_key"}]
        count = ours.stored if ours is not None and ours.stored is not None else item
        message = (
            f"Item {item}: {message}; items 0 to {count - 1} were stored, items from {item} on were not"
            if count
            else f"Item {item}: {message}; no item was stored"
        )
    return Conflict(message, errors=errors)


def not_found(exc: DoesNotExist) -> NotFound:
    """``DoesNotExist`` from a write (a PUT whose document is gone) as a 404."""
    values = list(exc.query.values())
    what = f" with id {values[0]!s}" if len(values) == 1 else ""
    return NotFound(f"No {exc.model}{what}")


def too_large(exc: DocumentTooLarge) -> Response:
    """A write MongoDB cannot store (over 16 MiB as BSON) as a 413: the
    client sent too much, whatever the body limit let through."""
    return Response(413, {"error": "Document too large: MongoDB stores at most 16 MiB per document"})


#: ``Retry-After`` (seconds) of a 503 while the database is unreachable.
DATABASE_RETRY_AFTER = 5


def database_unavailable(exc: ConnectionFailure) -> Response:
    """The database cannot be reached (``ServerSelectionTimeoutError``,
    ``AutoReconnect``, ``NetworkTimeout``...: pymongo's ``ConnectionFailure``,
    which motor raises too) as a 503 with ``Retry-After``. The body is fixed:
    the driver's message names hosts and the topology, so it goes to the log
    only. A write that answered 503 may or may not have been stored
    (docs/resources.md, "When the database goes away")."""
    logger.warning("database unavailable, answered 503: %s: %s", type(exc).__name__, exc)
    return Response(
        503,
        {"error": "The database is unavailable; retry later"},
        {"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def _no_text_index(exc: OperationFailure) -> bool:
    # MongoDB: IndexNotFound (27), "text index required for $text query";
    # servers without text search (SecantusDB): BadValue (2), "unknown ... $text"
    return exc.code == 27 or (exc.code == 2 and "$text" in str(exc))


def _doc(obj: Any) -> Any:
    # The db layer's methods are typed on the model mixin, while resources stay
    # generic over any ``Model``: they are reached through this untyped handle.
    return obj


class MongoResource(ModelResource[M]):
    """A resource over the MongoDB collection of ``Meta.object_class`` (see module doc)."""

    options_class: ClassVar[type[ResourceOptions]] = MongoResourceOptions
    _meta: ClassVar[MongoResourceOptions]
    #: the client's read scope once asked (:meth:`read_scope`), per request
    _read_scope: Any = MISSING

    exception_statuses: ClassVar[ExceptionTable] = {
        **DEFAULT_EXCEPTION_STATUSES,
        DuplicateKeyError: conflict,  # tbone.db's DuplicateKeyError subclasses the driver's
        DoesNotExist: not_found,
        DocumentTooLarge: too_large,
        ConnectionFailure: database_unavailable,  # covers motor too: it raises pymongo's errors
        # a stored document that no longer fits the model is the server's fault,
        # not the client's: logged, and answered with a generic 500
        DocumentValidationError: 500,
    }

    async def handle(self, params: Mapping[str, str]) -> Response:
        """Serve the request; a write verb runs inside ``collect_changes()`` and
        its changes are then published (see :meth:`publish_changes`), also when
        the verb fails after writing (a bulk insert stopped by a duplicate key)."""
        if self.request.method not in _WRITE_METHODS:
            return await super().handle(params)
        with collect_changes() as changes:
            try:
                response = await super().handle(params)
            except Exception:
                if changes:
                    await self.publish_changes(changes)
                raise
        if changes:
            await self.publish_changes(changes)
        return response

    @classmethod
    def collection(cls) -> Any:
        return cls.model()

    # -- query --------------------------------------------------------------

    def list_query(self, *, delete: bool = False) -> ListQuery:
        """The parsed query args, with ``Meta.query`` and ``Meta.sort`` applied.

        ``delete=True`` reads a DELETE's args: filters only, and at least one
        unless ``Meta.allow_delete_all`` (``Meta.query`` does not count: it is
        the resource's scope, not the client's choice)."""
        meta = self._meta
        query = parse_list_query(
            self.model()._meta.fields,
            self.request.args,
            limit=meta.limit,
            max_limit=meta.max_limit,
            fts_operator=meta.fts_operator,
            pk_key=self.pk_field().data_key,
            delete=delete,
        )
        if delete and not meta.allow_delete_all and not query.filters and query.text is None:
            raise BadRequest(
                "DELETE on the list needs a filter (e.g. ?genre=x): this resource does not delete "
                "every document at once",
                errors=[{"loc": [], "msg": "At least one filter is required", "type": "filter_required"}],
            )
        if query.text is not None:
            query.filters["$text"] = {"$search": query.text}
        if meta.query:
            query.filters = {"$and": [dict(meta.query), query.filters]} if query.filters else dict(meta.query)
        if query.sort is None and meta.sort:
            query.sort = list(meta.sort)
        return query

    def pk_query(self, pk: Any) -> dict[str, Any]:
        return {self.pk_field().data_key: pk}

    # -- authorization (SPEC §7) --------------------------------------------

    async def read_scope(self) -> Mapping[str, Any] | None:
        """``Meta.authorization.read_scope(request)``, asked once per request."""
        scope = self._read_scope
        if scope is MISSING:
            scope = self._read_scope = await self._meta.authorization.read_scope(self.request)
        return scope  # type: ignore[no-any-return]

    async def scoped(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        """``filters`` ANDed with this client's read scope."""
        scope = await self.read_scope()
        if scope is None:
            return dict(filters)
        return {"$and": [dict(filters), dict(scope)]} if filters else dict(scope)

    async def check_write(self, verb: str, obj: M | None) -> None:
        """403 unless ``Meta.authorization.can_write(request, verb, obj)``."""
        if not await self._meta.authorization.can_write(self.request, verb, obj):
            raise Forbidden(f"Not allowed to {verb} this {self.model().__name__}")

    async def get_object(self, pk: Any) -> M:
        """The stored object ``pk`` within the client's read scope; 404 otherwise
        (a document outside the scope is not revealed)."""
        query = await self.scoped(self.pk_query(pk))
        obj: M | None = await self.collection().find_one(self.get_db(), query)
        if obj is None:
            raise NotFound(f"No {self.model().__name__} with id {pk!s}")
        return obj

    # -- events -------------------------------------------------------------

    async def publish_changes(self, changes: list[Change]) -> None:
        """Call :meth:`publish` for each change of this resource's model (or a
        subclass of it), in write order; changes of other models are left alone."""
        model = self.model()
        for change in changes:
            if issubclass(change.model, model):
                await self.publish(change)

    async def event_data(self, change: Change) -> dict[str, Any]:
        """The data of the event of ``change``: the object serialized once per
        request (:meth:`serialized`) with its ``_links``, when the request's verb
        is in ``outgoing_list``/``outgoing_detail`` and the object is known (for
        a delete: the deleted object), else ``{pk_key: pk}``."""
        meta = self._meta
        outgoing = meta.outgoing_list if self.endpoint == "list" else meta.outgoing_detail
        verb = self.request.method.lower()
        field = self.pk_field()
        obj = change.instance if change.op != "delete" else change.previous
        if verb in outgoing and obj is not None:
            data = await self.serialized(obj)
            return self.add_hypermedia(data) if meta.hypermedia else dict(data)
        data = {field.data_key: field.export_value(change.pk, "serialize")}
        return self.add_hypermedia(data) if verb in outgoing and meta.hypermedia else data

    async def publish(self, change: Change) -> None:
        """Publish the event of one change this request made (see module doc):
        ``EVENTS[change.op]``, keyed by this resource's URL
        (``resource_create@/api/books/``), with :meth:`event_data` on
        ``Meta.channel_class(name="pubsub", db=db)``; nothing without a channel
        class. Override it to shape, filter or redirect events."""
        channel_class = self._meta.channel_class
        if channel_class is None:
            return
        data = await self.event_data(change)
        # the key names this resource: subscribers hear only resources they may read
        key = resource_event_key(EVENTS[change.op], self.base_url)
        await make_channel(channel_class, self.get_db()).publish(key, data)

    # -- list ---------------------------------------------------------------

    @contextmanager
    def full_text_errors(self, query: ListQuery) -> Iterator[None]:
        """Turn the server's refusal of a ``$text`` query (no text index on the
        collection) into a 400 located at the full-text arg, not a 500."""
        try:
            yield
        except OperationFailure as exc:
            if query.text is None or not _no_text_index(exc):
                raise
            arg = self._meta.fts_operator or "q"
            raise BadRequest(
                "Full-text search is not available on this resource",
                errors=[{"loc": [arg], "msg": "Full-text search is not available", "type": "full_text"}],
            ) from None

    async def list(self) -> dict[str, Any]:
        query = self.list_query()
        query.filters = await self.scoped(query.filters)
        db, model = self.get_db(), self.collection()
        cursor = model.get_cursor(
            db, query=query.filters, sort=query.sort, skip=query.offset, limit=query.limit
        )
        with self.full_text_errors(query):
            objs = await model.find(cursor)
            total = await model.count(db, query.filters)
        return {
            "meta": {"total_count": total, "limit": query.limit, "offset": query.offset},
            "objects": await self.serialize_many(objs),
        }

    async def create(self) -> Any:
        """POST: one object from a JSON object, or many from a JSON array.

        An array is validated whole first (every item's errors, located by
        index, in one 400), then inserted in order by one ``insert_many``: a
        duplicate key on item *k* answers 409 with errors located at ``[k,
        field]``; items before *k* stay stored (and publish their events),
        *k* and the items after it are not stored."""
        db = self.get_db()
        await self.check_write("post", None)
        if isinstance(self.data, list):
            objs = self.build_many(self.data)
            await self.collection().insert_many(db, objs, validate=False)
            return await self.serialize_many(objs)
        obj = self.build(self.data)
        await _doc(obj).insert(db, validate=False)
        return await self.serialize(obj)

    async def delete_list(self) -> None:
        """DELETE on the list: every document the filters (and ``Meta.query``) match.

        Only filters apply (``limit``, ``offset``, ``order_by``, ``fields`` are a
        400), and at least one is needed unless ``Meta.allow_delete_all``."""
        query = self.list_query(delete=True)
        filters = await self.scoped(query.filters)
        db, model = self.get_db(), self.collection()
        with self.full_text_errors(query):
            if not isinstance(self._meta.authorization, AllowAll):
                # every document is checked first: one refusal deletes nothing
                objs = await model.find(model.get_cursor(db, query=filters))
                for obj in objs:
                    await self.check_write("delete", obj)
                key = self.pk_field().data_key
                filters = {"$and": [filters, {key: {"$in": [obj.pk for obj in objs]}}]}
            await model.delete_entries(db, filters)

    # -- detail -------------------------------------------------------------

    async def detail(self, pk: Any) -> dict[str, Any]:
        return await self.serialize(await self.get_object(pk))

    async def update(self, pk: Any) -> dict[str, Any]:
        """PUT: replace the existing document (readonly fields and the pk kept);
        404 when there is none, also when it is deleted meanwhile: never created."""
        existing = await self.get_object(pk)
        await self.check_write("put", existing)
        self.check_pk(existing, self.data)
        obj = self.build(self.data, keep=self.keep_readonly(existing))
        await _doc(obj).update(self.get_db(), validate=False)
        return await self.serialize(obj)

    async def modify(self, pk: Any) -> dict[str, Any]:
        """PATCH: ``$set`` the fields sent, validated against the stored object."""
        existing = await self.get_object(pk)
        await self.check_write("patch", existing)
        obj = await self.apply(existing, self.data)
        changed = self.writable(self.data).keys()
        native = obj.export_data(native=True)
        data = {k: native[k] for k in changed if k in native}
        if data:
            updated = await self.collection().modify(self.get_db(), key=pk, data=data)
            if updated is None:
                raise NotFound(f"No {self.model().__name__} with id {pk!s}")
            obj = updated
        return await self.serialize(obj)

    async def delete(self, pk: Any) -> None:
        """DELETE: 204 also when a concurrent DELETE removed the document first
        (only the request that deleted it publishes the event)."""
        obj = await self.get_object(pk)
        await self.check_write("delete", obj)
        await _doc(obj).delete(self.get_db())
