"""The list query language of Mongo resources: filters, sorting, paging, fields.

``parse_list_query(model, args, ...)`` reads a request's query args into a
:class:`ListQuery` whose ``filters`` is a MongoDB filter document. Every
problem in the args is collected and raised once, as a ``BadRequest`` whose
``errors`` locate each bad arg (``{"loc": ["rating__gt"], ...}``), so a client
gets a 400 that lists everything wrong, never a 500.

- ``field=value`` and ``field__op=value`` with ``op`` one of ``gt gte lt lte
  ne in nin``; ``in``/``nin`` take comma-separated values. ``field`` is a
  declared field's data key, or a dotted path of data keys into nested models
  (``supplier.country``, also through a list of models); values are coerced
  by the field's type (the items' type for a list field). Only coercion
  applies, not the field's checks: ``?rating__gt=0`` is a fine query even if
  ratings start at 1. A value MongoDB cannot store (an integer beyond 64
  bits) is an error too.
- ``order_by=-rating,title``: several keys (paths too), ``-`` for descending.
- ``limit`` (default ``Meta.limit``, at most ``Meta.max_limit``) and ``offset``
  (at most 2**63 - 1).
- ``fields=a,b``: the data keys to serialize (the primary key is always kept).
- ``Meta.fts_operator`` (off unless set, e.g. to ``q``): full-text search words.
- An argument given twice (``?genre=a&genre=b``) is an error, except where it
  lists values: ``__in``/``__nin``, ``order_by`` and ``fields`` take the
  values of every occurrence (``?genre__in=a&genre__in=b`` is ``a,b``).
- For a DELETE (``delete=True``) only filters apply: ``limit``, ``offset``,
  ``order_by`` and ``fields`` are errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.codec_options import CodecOptions

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField
from tbone.data.fields.composite import ListField, ModelField
from tbone.db import TYPE_REGISTRY
from tbone.resources.errors import BadRequest
from tbone.resources.field_selection import parse_fields
from tbone.resources.http import QueryArgs

__all__ = ["OPERATORS", "RESERVED_ARGS", "ListQuery", "field_at", "parse_list_query"]

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
#: Args whose value is a list: repeating them adds to the list.
_LISTING_ARGS = frozenset({"order_by", "fields"})
_LISTING_OPS = frozenset({"in", "nin"})
#: The largest ``offset``: MongoDB's skip is a 64-bit integer.
MAX_OFFSET = 2**63 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT64_MESSAGE = f"Value must be between {_INT64_MIN} and {_INT64_MAX} (a 64-bit integer)"
_CODEC: CodecOptions[dict[str, Any]] = CodecOptions(type_registry=TYPE_REGISTRY)


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


def field_at(by_key: Mapping[str, BaseField], path: str) -> BaseField | None:
    """The field at ``path``: a data key of ``by_key``, or a dotted path of data
    keys into nested models (``supplier.country``), also through a list of
    models (``variants.size``, which MongoDB matches in any item); ``None`` when
    a step is not a declared field or does not lead into a model."""
    head, dot, rest = path.partition(".")
    found = by_key.get(head)
    if found is None or not dot:
        return found
    inner = found.item if isinstance(found, ListField) else found
    if not isinstance(inner, ModelField):
        return None
    nested = {f.data_key: f for f in inner.model._meta.fields.values()}
    return field_at(nested, rest)


def _filter_field(field: BaseField) -> BaseField:
    # ``?tags=novel`` matches documents whose ``tags`` array holds "novel"
    return field.item if isinstance(field, ListField) else field


def _coerce(field: BaseField, raw: str) -> Any:
    if raw == "null" and field.nullable:
        return None
    return _filter_field(field).coerce(raw)


def _unstorable(value: Any) -> tuple[str, str] | None:
    """``(message, type)`` when MongoDB cannot take ``value`` in a filter: a
    field's coercion may yield what BSON cannot encode (an integer beyond 64
    bits, a datetime beyond year 9999 in UTC), which the driver would raise as
    a 500. Values of a type BSON does not know stay a 500: that is a bug."""
    if value is None or value.__class__ is str:
        return None
    if value.__class__ is int:
        return None if _INT64_MIN <= value <= _INT64_MAX else (_INT64_MESSAGE, "int64_range")
    if isinstance(value, list):
        for item in value:
            problem = _unstorable(item)
            if problem is not None:
                return problem
        return None
    try:
        bson.encode({"v": value}, codec_options=_CODEC)
    except ArithmeticError as exc:  # OverflowError, decimal.Overflow, decimal.Inexact...
        detail = str(exc) if isinstance(exc, OverflowError) else "not a Decimal128"
        return f"Value is out of the range MongoDB can store ({detail})", "out_of_range"
    return None


def _int_arg(args: Mapping[str, str], name: str, default: int, errors: list[dict[str, Any]]) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:  # also beyond int()'s 4,300 digits
        shown = raw if len(raw) <= 40 else f"{raw[:40]}..."
        errors.append(_error(name, f"{name} must be an integer, not {shown!r}", "int_parsing"))
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
    fts_operator: str | None = None,
    pk_key: str | None = None,
    delete: bool = False,
) -> ListQuery:
    """Parse ``args`` against a model's ``fields`` (attr → field); see the module doc.

    ``limit=0`` means the default; a limit above ``max_limit`` is an error
    rather than silently clipped, so a client never misreads a short page.
    ``delete=True`` parses the args of a DELETE: filters only.
    """
    by_key = {f.data_key: f for f in fields.values()}
    errors: list[dict[str, Any]] = []
    query = ListQuery(limit=limit)
    repeated = args.repeated if isinstance(args, QueryArgs) else frozenset()

    for name in sorted(repeated):
        op = name.rsplit("__", 1)[1] if "__" in name else ""
        if name not in _LISTING_ARGS and (op not in _LISTING_OPS or name in by_key):
            hint = f", or use {name}__in=a,b" if name not in RESERVED_ARGS and name != fts_operator else ""
            errors.append(_error(name, f"Argument {name!r} is repeated: give it once{hint}", "repeated"))

    if delete:
        for name in sorted(RESERVED_ARGS & args.keys()):
            errors.append(
                _error(name, f"{name!r} does not apply to DELETE: only filters do", "unexpected_argument")
            )
    else:
        query.limit = _int_arg(args, "limit", limit, errors) or limit
        if query.limit > max_limit:
            errors.append(_error("limit", f"limit must be at most {max_limit}", "too_large"))
        query.offset = _int_arg(args, "offset", 0, errors)
        if query.offset > MAX_OFFSET:
            errors.append(_error("offset", f"offset must be at most {MAX_OFFSET}", "int64_range"))
            query.offset = 0

        order_by = args.get("order_by")
        if order_by:
            sort: list[tuple[str, int]] = []
            for item in (s.strip() for s in order_by.split(",")):
                key = item.lstrip("-+")
                if field_at(by_key, key) is None:
                    errors.append(_error("order_by", f"Unknown sort field {key!r}", "unknown_field"))
                else:
                    sort.append((key, -1 if item.startswith("-") else 1))
            query.sort = sort

        query.fields = parse_fields(by_key, args.get("fields"), pk_key, errors)

    if fts_operator is not None:
        text = args.get(fts_operator)
        if text is not None:
            query.text = text

    filters: dict[str, dict[str, Any]] = {}
    for name, raw in args.items():
        if name in RESERVED_ARGS or name == fts_operator:
            continue
        key, op = name, ""
        field_ = field_at(by_key, name)
        if field_ is None and "__" in name:
            key, op = name.rsplit("__", 1)
            field_ = field_at(by_key, key)
        if op and op not in OPERATORS:
            errors.append(_error(name, f"Unknown filter operator {op!r}", "unknown_operator"))
            continue
        if field_ is None:
            errors.append(_error(name, f"Unknown filter field {key!r}", "unknown_field"))
            continue
        try:
            if op in _LISTING_OPS:
                value: Any = [_coerce(field_, part) for part in raw.split(",")] if raw else []
            else:
                value = _coerce(field_, raw)
        except (FieldError, ValueError, TypeError) as exc:
            errors.append(_error(name, str(exc), getattr(exc, "type", "value_error")))
            continue
        problem = _unstorable(value)
        if problem is not None:
            errors.append(_error(name, *problem))
            continue
        filters.setdefault(key, {})[OPERATORS[op] if op else "$eq"] = value
    query.filters = {k: ops["$eq"] if list(ops) == ["$eq"] else ops for k, ops in filters.items()}

    if errors:
        raise BadRequest("Invalid query arguments", errors=errors)
    return query
