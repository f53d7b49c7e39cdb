"""The list query language of Mongo resources: filters, sorting, paging, fields.

``parse_list_query(model, args, ...)`` reads a request's query args into a
:class:`ListQuery` whose ``filters`` is a MongoDB filter document. Every
problem in the args is collected and raised once, as a ``BadRequest`` whose
``errors`` locate each bad arg (``{"loc": ["rating__gt"], ...}``), so a client
gets a 400 that lists everything wrong, never a 500.

- ``field=value`` and ``field__op=value`` with ``op`` one of ``gt gte lt lte
  ne in nin``; ``in``/``nin`` take comma-separated values. ``field`` is a
  declared field's data key; values are coerced by the field's type (the
  items' type for a list field). Only coercion applies, not the field's
  checks: ``?rating__gt=0`` is a fine query even if ratings start at 1.
- ``order_by=-rating,title``: several keys, ``-`` for descending.
- ``limit`` (default ``Meta.limit``, at most ``Meta.max_limit``) and ``offset``.
- ``fields=a,b``: the data keys to serialize (the primary key is always kept).
- ``Meta.fts_operator`` (``q``): full-text search words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField
from tbone.data.fields.composite import ListField
from tbone.resources.errors import BadRequest
from tbone.resources.field_selection import parse_fields

__all__ = ["OPERATORS", "RESERVED_ARGS", "ListQuery", "parse_list_query"]

#: ``field__op`` suffix → MongoDB operator.
OPERATORS: Mapping[str, str] = {
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "ne": "$ne",
    "in": "$in",
    "nin": "$nin",
}
#: Query args that are not filters (the full-text arg is ``Meta.fts_operator``).
RESERVED_ARGS: frozenset[str] = frozenset({"limit", "offset", "order_by", "fields"})


@dataclass(slots=True)
class ListQuery:
    """A parsed list request. ``sort`` is ``[(data_key, 1 | -1), ...]`` or ``None``."""

    filters: dict[str, Any] = field(default_factory=dict)
    sort: list[tuple[str, int]] | None = None
    limit: int = 20
    offset: int = 0
    fields: frozenset[str] | None = None
    text: str | None = None


def _error(loc: str, msg: str, kind: str) -> dict[str, Any]:
    return {"loc": [loc], "msg": msg, "type": kind}


def _filter_field(field: BaseField) -> BaseField:
    # ``?tags=novel`` matches documents whose ``tags`` array holds "novel"
    return field.item if isinstance(field, ListField) else field


def _coerce(field: BaseField, raw: str) -> Any:
    if raw == "null" and field.nullable:
        return None
    return _filter_field(field).coerce(raw)


def _int_arg(args: Mapping[str, str], name: str, default: int, errors: list[dict[str, Any]]) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        errors.append(_error(name, f"{name} must be an integer, not {raw!r}", "int_parsing"))
        return default
    if value < 0:
        errors.append(_error(name, f"{name} must not be negative", "too_small"))
        return default
    return value


def parse_list_query(
    fields: Mapping[str, BaseField],
    args: Mapping[str, str],
    *,
    limit: int = 20,
    max_limit: int = 100,
    fts_operator: str = "q",
    pk_key: str | None = None,
) -> ListQuery:
    """Parse ``args`` against a model's ``fields`` (attr → field); see the module doc.

    ``limit=0`` means the default; a limit above ``max_limit`` is an error
    rather than silently clipped, so a client never misreads a short page.
    """
    by_key = {f.data_key: f for f in fields.values()}
    errors: list[dict[str, Any]] = []
    query = ListQuery(limit=limit)

    query.limit = _int_arg(args, "limit", limit, errors) or limit
    if query.limit > max_limit:
        errors.append(_error("limit", f"limit must be at most {max_limit}", "too_large"))
    query.offset = _int_arg(args, "offset", 0, errors)

    order_by = args.get("order_by")
    if order_by:
        sort: list[tuple[str, int]] = []
        for item in (s.strip() for s in order_by.split(",")):
            key = item.lstrip("-+")
            if key not in by_key:
                errors.append(_error("order_by", f"Unknown sort field {key!r}", "unknown_field"))
            else:
                sort.append((key, -1 if item.startswith("-") else 1))
        query.sort = sort

    query.fields = parse_fields(by_key, args.get("fields"), pk_key, errors)

    text = args.get(fts_operator)
    if text is not None:
        query.text = text

    filters: dict[str, dict[str, Any]] = {}
    for name, raw in args.items():
        if name in RESERVED_ARGS or name == fts_operator:
            continue
        key, op = (name, "") if name in by_key or "__" not in name else name.rsplit("__", 1)
        field_ = by_key.get(key)
        if op and op not in OPERATORS:
            errors.append(_error(name, f"Unknown filter operator {op!r}", "unknown_operator"))
            continue
        if field_ is None:
            errors.append(_error(name, f"Unknown filter field {key!r}", "unknown_field"))
            continue
        try:
            if op in ("in", "nin"):
                value: Any = [_coerce(field_, part) for part in raw.split(",")] if raw else []
            else:
                value = _coerce(field_, raw)
        except (FieldError, ValueError, TypeError) as exc:
            errors.append(_error(name, str(exc), getattr(exc, "type", "value_error")))
            continue
        filters.setdefault(key, {})[OPERATORS[op] if op else "$eq"] = value
    query.filters = {k: ops["$eq"] if list(ops) == ["$eq"] else ops for k, ops in filters.items()}

    if errors:
        raise BadRequest("Invalid query arguments", errors=errors)
    return query
