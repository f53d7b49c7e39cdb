"""``MongoResourceOptions``: the ``Meta`` options of a Mongo resource.

They extend the core options with what only a MongoDB list needs: a fixed
filter (``query``), a default ``sort``, page sizes and the full-text argument.
Kept out of ``tbone.resources.options`` so that the core describes any
resource, whatever stores its objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tbone.data.errors import ConfigurationError
from tbone.resources.model_resources import ModelResourceOptions

__all__ = ["MongoResourceOptions"]


# no slots: a slotted dataclass is a new class, which breaks zero-argument super()
@dataclass(frozen=True, kw_only=True)
class MongoResourceOptions(ModelResourceOptions):
    """Core options plus ``query``, ``sort``, ``fts_operator``, ``limit``, ``max_limit``."""

    query: Mapping[str, Any] | None = None
    sort: tuple[tuple[str, int], ...] | None = None
    fts_operator: str = "q"
    limit: int = 20
    max_limit: int = 100

    @classmethod
    def normalize(cls, values: dict[str, Any], owner: str) -> dict[str, Any]:
        values = super().normalize(values, owner)
        if values.get("sort") is not None:
            values["sort"] = tuple((str(k), int(d)) for k, d in values["sort"])
        return values

    def check(self, owner: str) -> None:
        super().check(owner)
        fts: Any = self.fts_operator
        if not (isinstance(fts, str) and fts):
            raise ConfigurationError(f"{owner}.Meta.fts_operator must be a non-empty string")
        for key in ("limit", "max_limit"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{owner}.Meta.{key} must be a positive int")
        if self.limit > self.max_limit:
            raise ConfigurationError(f"{owner}.Meta.limit exceeds max_limit ({self.max_limit})")
