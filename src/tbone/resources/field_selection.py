"""``?fields=a,b``: which data keys a response keeps.

Shared by every model resource (the storage-specific list queries call it
too), so it lives in the core rather than with the Mongo query parser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tbone.data.fields.base import BaseField

__all__ = ["parse_fields"]


def parse_fields(
    by_key: Mapping[str, BaseField],
    wanted: str | None,
    pk_key: str | None,
    errors: list[dict[str, Any]],
) -> frozenset[str] | None:
    """The data keys of ``?fields=a,b`` plus the primary key; ``None`` for all."""
    if not wanted:
        return None
    keys = {k.strip() for k in wanted.split(",") if k.strip()}
    for key in sorted(keys - by_key.keys()):
        errors.append({"loc": ["fields"], "msg": f"Unknown field {key!r}", "type": "unknown_field"})
    return frozenset(keys | ({pk_key} if pk_key else set()))
