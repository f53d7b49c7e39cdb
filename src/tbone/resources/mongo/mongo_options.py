"""``MongoResourceOptions``: the ``Meta`` options of a Mongo resource.

They extend the core options with what only a MongoDB list needs: a fixed
filter (``query``), a default ``sort``, page sizes, the full-text argument and
whether a DELETE on the list may go without a filter. Kept out of
``tbone.resources.options`` so that the core describes any resource, whatever
stores its objects. Everything is checked when the resource class is defined,
against the model's fields: a typo is a ``ConfigurationError`` then, not a
500 (or a silently empty list) at the first request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tbone.data.errors import ConfigurationError
from tbone.data.fields.composite import DictField, ListField
from tbone.db.models import MongoCollectionMixin
from tbone.resources.model_resources import ModelResourceOptions
from tbone.resources.mongo.list_queries import RESERVED_ARGS, field_at

__all__ = ["MongoResourceOptions"]

#: How ``Meta.sort`` may spell a direction.
_DIRECTIONS: Mapping[Any, int] = {1: 1, -1: -1, "asc": 1, "desc": -1, "ascending": 1, "descending": -1}
_SORT_FORMS = (
    'a list of (field, direction) pairs with direction 1, -1, "asc" or "desc", '
    'or of "field" / "-field" strings, e.g. [("price", "desc"), "title"]'
)
#: Query operators whose value is a list of filter documents.
_LOGICAL = frozenset({"$and", "$or", "$nor"})


def _sort_entry(entry: Any, where: str) -> tuple[str, int]:
    if isinstance(entry, str) and entry.lstrip("-+"):
        return entry.lstrip("-+"), -1 if entry.startswith("-") else 1
    if isinstance(entry, tuple | list) and len(entry) == 2 and isinstance(entry[0], str):
        key, direction = entry
        if isinstance(direction, str):
            direction = direction.lower()
        if not isinstance(direction, bool) and direction in _DIRECTIONS:
            return key, _DIRECTIONS[direction]
    raise ConfigurationError(f"{where}: cannot read {entry!r}; Meta.sort takes {_SORT_FORMS}")


def _sort(value: Any, where: str) -> tuple[tuple[str, int], ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{where} must be a list; it takes {_SORT_FORMS}")
    return tuple(_sort_entry(entry, where) for entry in value)


def _query_paths(query: Mapping[str, Any], where: str) -> list[str]:
    """The field paths a filter document names (inside ``$and``/``$or``/``$nor`` too)."""
    paths: list[str] = []
    for key, value in query.items():
        if not isinstance(key, str):
            raise ConfigurationError(f"{where}: keys must be strings, not {key!r}")
        if key in _LOGICAL:
            if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
                raise ConfigurationError(f"{where}: {key} takes a list of filter documents")
            for part in value:
                paths.extend(_query_paths(part, where))
        elif not key.startswith("$"):  # other top-level operators ($text, $expr...) name no field
            paths.append(key)
    return paths


def _declared(by_key: Mapping[str, Any], path: str) -> bool:
    """Whether ``path`` names a declared field, or a key inside a dict field
    (``attrs.colour``), which a filter written by the developer may reach."""
    parts = path.split(".")
    for end in range(1, len(parts) + 1):
        found = field_at(by_key, ".".join(parts[:end]))
        if found is None:
            return False
        inner = found.item if isinstance(found, ListField) else found
        if isinstance(inner, DictField):
            return True
    return True


# no slots: a slotted dataclass is a new class, which breaks zero-argument super()
@dataclass(frozen=True, kw_only=True)
class MongoResourceOptions(ModelResourceOptions):
    """Core options plus ``query``, ``sort``, ``fts_operator``, ``limit``,
    ``max_limit`` and ``allow_delete_all``.

    ``fts_operator`` names the full-text query arg (``"q"``); ``None``, the
    default, turns full-text search off (``q`` is then an unknown filter).
    ``allow_delete_all`` lets a DELETE on the list go without a filter.
    """

    query: Mapping[str, Any] | None = None
    sort: tuple[tuple[str, int], ...] | None = None
    fts_operator: str | None = None
    limit: int = 20
    max_limit: int = 100
    allow_delete_all: bool = False

    @classmethod
    def normalize(cls, values: dict[str, Any], owner: str) -> dict[str, Any]:
        values = super().normalize(values, owner)
        if values.get("sort") is not None:
            values["sort"] = _sort(values["sort"], f"{owner}.Meta.sort")
        return values

    def check(self, owner: str) -> None:
        super().check(owner)
        fts: Any = self.fts_operator
        if fts is not None and not (isinstance(fts, str) and fts):
            raise ConfigurationError(f"{owner}.Meta.fts_operator must be a non-empty string or None")
        if fts in RESERVED_ARGS:
            raise ConfigurationError(f"{owner}.Meta.fts_operator: {fts!r} is a reserved query arg")
        for key in ("limit", "max_limit"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{owner}.Meta.{key} must be a positive int")
        if self.limit > self.max_limit:
            raise ConfigurationError(f"{owner}.Meta.limit exceeds max_limit ({self.max_limit})")
        if not isinstance(self.allow_delete_all, bool):
            raise ConfigurationError(f"{owner}.Meta.allow_delete_all must be True or False")
        query: Any = self.query
        if query is not None and not isinstance(query, Mapping):
            raise ConfigurationError(f"{owner}.Meta.query must be a filter document (a dict)")
        model: Any = self.object_class
        if model is None:
            return
        if not issubclass(model, MongoCollectionMixin):
            raise ConfigurationError(
                f"{owner}.Meta.object_class: {model.__name__} has no MongoCollectionMixin; declare it as "
                f"`class {model.__name__}(Model, MongoCollectionMixin)`"
            )
        self._check_fields(owner, model)

    def _check_fields(self, owner: str, model: Any) -> None:
        # the fields are resolved here (the core's check already needed the primary key)
        by_key = {f.data_key: f for f in model._meta.fields.values()}
        known = sorted(by_key)
        for key, _ in self.sort or ():
            if field_at(by_key, key) is None:
                raise ConfigurationError(
                    f"{owner}.Meta.sort: {key!r} is not a field of {model.__name__}; its fields are {known}"
                )
        for path in _query_paths(self.query or {}, f"{owner}.Meta.query"):
            if not _declared(by_key, path):
                raise ConfigurationError(
                    f"{owner}.Meta.query: {path!r} is not a field of {model.__name__}; its fields are {known}"
                )
        if self.fts_operator is not None and field_at(by_key, self.fts_operator) is not None:
            raise ConfigurationError(
                f"{owner}.Meta.fts_operator: {self.fts_operator!r} is also a field of {model.__name__}"
            )
