"""Live groups: the subscriptions that share one filter, one scope and one projection.

Subscribers whose list href and read scope give the same membership filter
and the same ``fields=`` are one group: a change is matched once per group,
and the event's payload is serialized and JSON-encoded once per group, then
framed per subscriber (only the subscription ``key`` differs). A group keeps
the primary keys of every document that matches (``members``): that is how a
change that moves a document out of the filter, whose new state no longer
says where it was, is known to be a ``leave``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from bson import ObjectId

from tbone.data.fields.base import BaseField
from tbone.dispatch.carriers.base import Carrier
from tbone.dispatch.encoding import EncodedMessage, KeyedMessage, dumps
from tbone.resources.live.records import ChangeRecord

__all__ = ["LiveGroup", "Subscription", "equality_terms"]


class Subscription:
    """One client's live query: its carrier, its key, and its events not yet sent.

    ``pending`` holds the events computed while the client's initial page was
    being read, one per document (the latest wins, in the order documents
    last changed), or is ``None`` once the subscription is live.
    """

    __slots__ = ("carrier", "group", "key", "key_bytes", "pending", "token")

    def __init__(self, carrier: Carrier, key: Any, group: LiveGroup, token: str) -> None:
        self.carrier = carrier
        self.key = key
        self.key_bytes = dumps(key)
        self.group = group
        self.token = token  # the fan-out's name for this subscription
        self.pending: dict[Any, tuple[dict[str, Any], bytes]] | None = {}

    def message(self, payload: dict[str, Any], encoded: bytes) -> EncodedMessage:
        """The event for this subscriber: the group's encoded payload, framed with the key."""
        return KeyedMessage(self.key, self.key_bytes, payload, encoded)


class LiveGroup:
    """Subscriptions with the same resource, database, filter and projection."""

    def __init__(
        self,
        *,
        signature: tuple[Any, ...],
        resource: Any,
        model: type[Any],
        pk_field: BaseField,
        database: str,
        collection: str,
        filters: Mapping[str, Any],
        matcher: Callable[[Mapping[str, Any]], bool],
        fields: frozenset[str] | None = None,
    ) -> None:
        self.signature = signature
        #: A resource instance built from the first subscriber's request: it
        #: serializes documents as that resource's GET detail does.
        self.resource = resource
        self.model = model
        self.pk_field = pk_field
        self.database = database
        self.collection = collection
        self.filters = filters
        self.matcher = matcher
        self.fields = fields
        #: groups with the same render key show a document the same way (same
        #: resource, URL and projection: only the scope differs), so a change
        #: is rendered and encoded once for all of them
        self.render_key = (type(resource), resource.base_url, fields)
        #: Primary keys of the matching documents; ``None`` until read.
        self.members: set[Any] | None = None
        #: Changes seen before ``members`` was read, replayed once it is.
        self.buffer: list[ChangeRecord] = []
        self.subscriptions: dict[tuple[int, Any], Subscription] = {}
        self.index_terms = equality_terms(filters)
        #: Set once ``members`` has been read (and queued for the engine).
        self.ready = asyncio.Event()
        #: ``_id`` -> primary key, for a model keyed otherwise, fed by change streams
        self.ids: dict[Any, Any] = {}

    def __repr__(self) -> str:
        return f"<LiveGroup {self.collection} {dict(self.filters)!r} x{len(self.subscriptions)}>"

    def pk_of(self, record: ChangeRecord) -> Any:
        if record.primitive:
            return self.pk_field.to_python(record.pk)
        if record.by_id and self.pk_field.data_key != "_id":
            # a change stream names documents by _id; the model by its own key
            key = self.pk_field.data_key
            if record.document is not None and key in record.document:
                pk = record.document[key]
                self.ids[record.pk] = pk
                return pk
            return self.ids.get(record.pk)
        return record.pk

    def native(self, record: ChangeRecord, cache: dict[Any, Any]) -> tuple[Any, Any]:
        """The changed document as (model instance, native document), or (None, None) for a delete.

        A record from another process holds JSON primitives: it is read back
        by this group's model once per batch (``cache``).
        """
        if record.document is None:
            return None, None
        if not record.primitive and isinstance(record.instance, self.model):
            return record.instance, record.document
        entry = cache.get((id(record), self.model))
        if entry is None:
            if record.instance is not None:
                source = record.instance.export_data(native=False)
            else:  # from a channel (primitives) or a change stream (natives)
                source = record.document
            instance = self.model.from_data(source)
            entry = cache[(id(record), self.model)] = (instance, instance.export_data(native=True))
        return entry

    async def render(self, instance: Any) -> dict[str, Any]:
        """What ``GET`` of the detail returns to the group's clients."""
        resource = self.resource
        data: dict[str, Any] = await instance.serialize()
        fields = self.fields
        if fields is not None:
            data = {k: v for k, v in data.items() if k in fields}
        if resource._meta.hypermedia:
            data = resource.add_hypermedia(data)
        return data


def equality_terms(filters: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Top-level ``field = scalar`` conditions of a filter (through ``$and``),
    the ones a change can be looked up by."""
    terms: list[tuple[str, Any]] = []
    for key, value in filters.items():
        if key == "$and" and isinstance(value, list):
            for part in value:
                if isinstance(part, Mapping):
                    terms.extend(equality_terms(part))
        elif not key.startswith("$") and "." not in key and _indexable(value):
            terms.append((key, value))
    return terms


def _indexable(value: Any) -> bool:
    # values MongoDB equals only to values of the same type: a lookup by hash
    # finds every match (numbers are left out: 7, 7.0 and Decimal128("7") match)
    return isinstance(value, str | ObjectId)
