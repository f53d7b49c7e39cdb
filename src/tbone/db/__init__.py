"""MongoDB persistence for ``tbone.data`` models, on pymongo's asyncio API or motor.

>>> from tbone.db import connect, create_collection
>>> from tbone.db.models import MongoCollectionMixin
>>> db = connect(uri="mongodb://localhost:27017", name="store")  # doctest: +SKIP
>>> await create_collection(db, Book)  # doctest: +SKIP

Every write records a ``Change`` (``tbone.db.changes``): the ``changed``
signal and ``collect_changes()`` collectors see each one. ``compile_filter``
(``tbone.db.matching``) evaluates a filter document in Python with MongoDB's
semantics, which is how live queries tell whether a change matches.

This package imports ``tbone.data`` and ``tbone.dispatch.signals``, never
``tbone.resources`` nor a web server.
"""

from tbone.db.bsonmap import TYPE_REGISTRY, codec_options_for
from tbone.db.changes import Change, changed, collect_changes, is_listening
from tbone.db.collections import create_collection, index_specs, model_collection
from tbone.db.connection import TIMEOUT_OPTIONS, connect
from tbone.db.errors import DocumentValidationError, DoesNotExist, DuplicateKeyError
from tbone.db.matching import SUPPORTED_OPERATORS, Matcher, bson_key, compile_filter
from tbone.db.models import DELETE_BATCH_SIZE, FIND_BATCH_SIZE, MongoCollectionMixin, post_delete, post_save

__all__ = [
    "DELETE_BATCH_SIZE",
    "FIND_BATCH_SIZE",
    "SUPPORTED_OPERATORS",
    "TIMEOUT_OPTIONS",
    "TYPE_REGISTRY",
    "Change",
    "DocumentValidationError",
    "DoesNotExist",
    "DuplicateKeyError",
    "Matcher",
    "MongoCollectionMixin",
    "bson_key",
    "changed",
    "codec_options_for",
    "collect_changes",
    "compile_filter",
    "connect",
    "create_collection",
    "index_specs",
    "is_listening",
    "model_collection",
    "post_delete",
    "post_save",
]
