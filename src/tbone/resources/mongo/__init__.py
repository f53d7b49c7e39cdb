"""REST over MongoDB collections: ``MongoResource[M]``, its options and list queries.

The only part of ``tbone.resources`` that knows MongoDB: it speaks to
``tbone.db`` and turns list URLs into filter documents. The core above it
(``Resource``, ``ModelResource``, routing) never imports it.
"""

from tbone.resources.mongo.list_queries import (
    OPERATORS,
    RESERVED_ARGS,
    ListQuery,
    field_at,
    parse_list_query,
)
from tbone.resources.mongo.mongo_models import MongoModel
from tbone.resources.mongo.mongo_options import MongoResourceOptions
from tbone.resources.mongo.mongo_resources import MongoResource

__all__ = [
    "OPERATORS",
    "RESERVED_ARGS",
    "ListQuery",
    "MongoModel",
    "MongoResource",
    "MongoResourceOptions",
    "field_at",
    "parse_list_query",
]
