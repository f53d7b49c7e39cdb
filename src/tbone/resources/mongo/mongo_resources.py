"""``MongoResource[M]``: REST over a MongoDB collection of ``M`` models.

``Meta.object_class`` is a model with ``tbone.db.models.MongoCollectionMixin``.
The list speaks the query language of ``tbone.resources.mongo.list_queries`` (filters,
``order_by``, ``limit``/``offset``, ``fields``, full text) and answers
``{"meta": {"total_count", "limit", "offset"}, "objects": [...]}``.

Verbs: GET/POST/DELETE on the list (POST of an array creates many; DELETE
removes what the filters match), GET/PUT/PATCH/DELETE on a detail. PUT and
PATCH on the list and POST on a detail are not implemented (501).

After each write the resource publishes ``resource_create``,
``resource_update`` or ``resource_delete`` on ``Meta.channel_class(name=
"pubsub", db=db)``, when a channel class is set. The event's data is the
serialized object with its ``_links`` when the verb is in ``outgoing_list`` /
``outgoing_detail``, else only ``{pk_key: pk}``: a verb kept out of the
response is kept out of the event too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from pymongo.errors import DuplicateKeyError

from tbone.db.errors import DocumentValidationError, DoesNotExist
from tbone.db.errors import DuplicateKeyError as StoredDuplicateKeyError
from tbone.resources.errors import DEFAULT_EXCEPTION_STATUSES, Conflict, NotFound
from tbone.resources.http import Response
from tbone.resources.model_resources import M, ModelResource
from tbone.resources.mongo.list_queries import ListQuery, parse_list_query
from tbone.resources.mongo.mongo_options import MongoResourceOptions
from tbone.resources.options import ResourceOptions

__all__ = ["MongoResource"]

#: The events a MongoResource publishes, by verb.
EVENTS: Mapping[str, str] = {
    "post": "resource_create",
    "put": "resource_update",
    "patch": "resource_update",
    "delete": "resource_delete",
}


def make_channel(channel_class: Any, db: Any) -> Any:
    """``channel_class(name="pubsub", db=db)``: every shipped channel takes ``db``
    (``MemoryChannel`` ignores it)."""
    return channel_class(name="pubsub", db=db)


logger = logging.getLogger("tbone.resources.mongo")


def conflict(exc: DuplicateKeyError, model: str) -> Conflict:
    """The client's view of a duplicate key: which field values are taken, as
    field errors; index and collection names stay in the server's log."""
    key = exc.key_value if isinstance(exc, StoredDuplicateKeyError) else None
    if not key:
        return Conflict(f"A {model} with the same unique value already exists")
    values = ", ".join(f"{name}={value!r}" for name, value in key.items())
    errors = [
        {"loc": (name,), "msg": f"A {model} with this value already exists", "type": "duplicate_key"}
        for name in key
    ]
    return Conflict(f"A {model} with {values} already exists", errors=errors)


def _doc(obj: Any) -> Any:
    # The db layer's methods are typed on the model mixin, while resources stay
    # generic over any ``Model``: they are reached through this untyped handle.
    return obj


class MongoResource(ModelResource[M]):
    """A resource over the MongoDB collection of ``Meta.object_class`` (see module doc)."""

    options_class: ClassVar[type[ResourceOptions]] = MongoResourceOptions
    _meta: ClassVar[MongoResourceOptions]

    exception_statuses: ClassVar[Mapping[type[BaseException], int]] = {
        **DEFAULT_EXCEPTION_STATUSES,
        DuplicateKeyError: 409,  # tbone.db's DuplicateKeyError subclasses the driver's
        DoesNotExist: 404,
        # a stored document that no longer fits the model is the server's fault,
        # not the client's: logged, and answered with a generic 500
        DocumentValidationError: 500,
    }

    async def handle(self, params: Mapping[str, str]) -> Response:
        try:
            return await super().handle(params)
        except DuplicateKeyError as exc:
            logger.info("409 for %s: %s", type(self).__name__, exc)
            raise conflict(exc, self.model().__name__) from exc

    @classmethod
    def collection(cls) -> Any:
        return cls.model()

    # -- query --------------------------------------------------------------

    def list_query(self) -> ListQuery:
        """The parsed query args, with ``Meta.query`` and ``Meta.sort`` applied."""
        meta = self._meta
        query = parse_list_query(
            self.model()._meta.fields,
            self.request.args,
            limit=meta.limit,
            max_limit=meta.max_limit,
            fts_operator=meta.fts_operator,
            pk_key=self.pk_field().data_key,
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

    async def get_object(self, pk: Any) -> M:
        obj: M | None = await self.collection().find_one(self.get_db(), self.pk_query(pk))
        if obj is None:
            raise NotFound(f"No {self.model().__name__} with id {pk!s}")
        return obj

    # -- events -------------------------------------------------------------

    async def publish(self, verb: str, obj: M) -> None:
        """Publish the event of ``verb`` about ``obj`` (see module doc)."""
        channel_class = self._meta.channel_class
        if channel_class is None:
            return
        outgoing = self._meta.outgoing_list if self.endpoint == "list" else self._meta.outgoing_detail
        key = self.pk_field().data_key
        if verb in outgoing:
            data = await obj.serialize()
            if self._meta.hypermedia:
                data = self.add_hypermedia(data)
        else:
            data = {key: self.pk_field().export_value(obj.pk, "serialize")}
        await make_channel(channel_class, self.get_db()).publish(EVENTS[verb], data)

    # -- list ---------------------------------------------------------------

    async def list(self) -> dict[str, Any]:
        query = self.list_query()
        db, model = self.get_db(), self.collection()
        cursor = model.get_cursor(
            db, query=query.filters, sort=query.sort, skip=query.offset, limit=query.limit
        )
        objs = await model.find(cursor)
        total = await model.count(db, query.filters)
        return {
            "meta": {"total_count": total, "limit": query.limit, "offset": query.offset},
            "objects": await self.serialize_many(objs),
        }

    async def create(self) -> Any:
        db = self.get_db()
        if isinstance(self.data, list):
            objs = self.build_many(self.data)
            for obj in objs:
                await _doc(obj).insert(db)
                await self.publish("post", obj)
            return await self.serialize_many(objs)
        obj = self.build(self.data)
        await _doc(obj).insert(db)
        await self.publish("post", obj)
        return await self.serialize(obj)

    async def delete_list(self) -> None:
        query = self.list_query()
        db, model = self.get_db(), self.collection()
        objs = await model.find(model.get_cursor(db, query=query.filters))
        if not objs:
            return
        key = self.pk_field().data_key
        await model.delete_entries(db, {key: {"$in": [obj.pk for obj in objs]}})
        for obj in objs:
            await self.publish("delete", obj)

    # -- detail -------------------------------------------------------------

    async def detail(self, pk: Any) -> dict[str, Any]:
        return await self.serialize(await self.get_object(pk))

    async def update(self, pk: Any) -> dict[str, Any]:
        existing = await self.get_object(pk)
        obj = self.build(self.data, keep=self.keep_readonly(existing))
        await _doc(obj).save(self.get_db())
        await self.publish("put", obj)
        return await self.serialize(obj)

    async def modify(self, pk: Any) -> dict[str, Any]:
        obj = await self.apply(await self.get_object(pk), self.data)
        changed = self.writable(self.data).keys()
        native = obj.export_data(native=True)
        data = {k: native[k] for k in changed if k in native}
        if data:
            updated = await self.collection().modify(self.get_db(), key=pk, data=data)
            if updated is None:
                raise NotFound(f"No {self.model().__name__} with id {pk!s}")
            obj = updated
        await self.publish("patch", obj)
        return await self.serialize(obj)

    async def delete(self, pk: Any) -> None:
        obj = await self.get_object(pk)
        await _doc(obj).delete(self.get_db())
        await self.publish("delete", obj)
