"""A model's collection: opening it, and creating it with its ``Meta`` indices.

``Meta.indices`` entries are dicts::

    indices = [
        {"name": "isbn", "fields": ["isbn"], "unique": True},
        {"fields": [("author.last_name", ASCENDING), ("-published")]},   # "-key": descending
        {"name": "ttl", "fields": ["expires"], "expireAfterSeconds": 0},
        {"fields": ["email"], "unique": True, "partialFilterExpression": {"email": {"$exists": True}}},
        {"name": "fts", "fields": [("title", "text")]},
    ]

``fields`` keys are database keys; an attribute name whose field has an alias
is translated to the alias. Every other key of an entry (``unique``,
``sparse``, ``expireAfterSeconds``, ``partialFilterExpression``,
``collation``, ``weights``...) is passed to ``create_index`` unchanged, so any
option MongoDB knows can be used. ``create_collection`` is idempotent:
re-creating an identical index is a no-op on the server, while an index of the
same name with different options raises the server's ``OperationFailure``
rather than being silently kept as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import CollectionInvalid, OperationFailure

from tbone.data.errors import ConfigurationError
from tbone.db.bsonmap import codec_options_for
from tbone.db.types import Collection, Database, HasOptions

if TYPE_CHECKING:
    from tbone.data.models import Model

__all__ = ["IndexSpec", "create_collection", "index_specs", "model_collection", "pk_key"]

_NAMESPACE_EXISTS = 48

IndexSpec = tuple[list[tuple[str, Any]], dict[str, Any]]


_OPENED = "_tbone_collections"


def model_collection(db: Database, model: type[HasOptions]) -> Collection:
    """``model``'s collection in ``db``, opened with tbone's codec options.

    Opened once per database object and collection name, then kept on the
    database object (``get_collection`` costs about 3.5 µs, a tenth of a local
    ``find_one``'s client time). A collection object holds no state of its own
    beyond its name and options, and the options come from the database's,
    which are fixed, so reusing it changes nothing.
    """
    name = model._meta.collection_name()
    opened: dict[str, Collection] | None = getattr(db, "__dict__", {}).get(_OPENED)
    if opened is not None:
        collection = opened.get(name)
        if collection is not None:
            return collection
    collection = db.get_collection(name, codec_options=codec_options_for(db.codec_options))
    if opened is None:
        try:
            db.__dict__[_OPENED] = opened = {}
        except AttributeError:  # pragma: no cover - a database object without a __dict__
            return collection
    opened[name] = collection
    return collection


def pk_key(model: type[HasOptions]) -> str:
    """The database key of ``model``'s primary key (``_id`` when it has none)."""
    field = model._meta.pk_field
    return "_id" if field is None else field.data_key


def _keys(model: type[Model], fields: Any, where: str) -> list[tuple[str, Any]]:
    items: Sequence[Any] = [fields] if isinstance(fields, str | tuple) else fields
    if not isinstance(items, list | tuple) or not items:
        raise ConfigurationError(f"{where}: 'fields' must be a non-empty list of keys or (key, direction)")
    by_name = {f.name: f.data_key for f in model._meta.fields.values()}
    data_keys = set(by_name.values())
    keys: list[tuple[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            key, direction = (item[1:], DESCENDING) if item.startswith("-") else (item, ASCENDING)
        elif isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str):
            key, direction = item[0], item[1]
        else:
            raise ConfigurationError(
                f"{where}: bad index key {item!r}; use 'key', '-key' or (key, direction)"
            )
        head, dot, rest = key.partition(".")
        if head not in data_keys and head in by_name:
            key = by_name[head] + dot + rest
        keys.append((key, direction))
    return keys


def index_specs(model: type[Model]) -> list[IndexSpec]:
    """``(keys, options)`` for every index ``create_collection`` makes for ``model``:
    the ``Meta.indices`` entries, plus a unique index on a primary key that is not
    ``_id`` unless an entry already declares one."""
    specs: list[IndexSpec] = []
    entries: list[Any] = model._meta.indices
    for position, entry in enumerate(entries):
        where = f"{model.__name__}.Meta.indices[{position}]"
        if not isinstance(entry, Mapping) or "fields" not in entry:
            raise ConfigurationError(f"{where}: an index is a dict with a 'fields' list")
        options = {k: v for k, v in entry.items() if k != "fields"}
        specs.append((_keys(model, entry["fields"], where), options))
    key = pk_key(model)
    if key != "_id" and not any(
        len(keys) == 1 and keys[0][0] == key and opts.get("unique") for keys, opts in specs
    ):
        specs.append(([(key, ASCENDING)], {"unique": True}))
    return specs


async def create_collection(db: Database, model: type[Model]) -> Collection:
    """Create ``model``'s collection with ``Meta.creation_args`` (an existing
    collection is kept as it is) and every index of ``index_specs(model)``.
    Safe to call at every start-up. Returns the collection."""
    name = model._meta.collection_name()
    try:
        await db.create_collection(name, **model._meta.creation_args)
    except CollectionInvalid:
        pass  # it exists already
    except OperationFailure as exc:
        if exc.code != _NAMESPACE_EXISTS:  # created concurrently by another process
            raise
    collection = model_collection(db, model)
    for keys, options in index_specs(model):
        await collection.create_index(keys, **options)
    return collection
