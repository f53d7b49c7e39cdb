"""Exceptions of the persistence layer, each one a builtin or driver error too.

Callers can catch them by what they mean without importing tbone:
``DoesNotExist`` is a ``LookupError``, ``DuplicateKeyError`` is pymongo's
``DuplicateKeyError`` (so ``except pymongo.errors.DuplicateKeyError`` keeps
working), and ``DocumentValidationError`` is the ODM's ``ValidationError``
(a ``ValueError``) with the offending document's ``_id`` added.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import errors as driver_errors

from tbone.data.errors import ErrorDetail, ValidationError

__all__ = ["DocumentValidationError", "DoesNotExist", "DuplicateKeyError"]

_INDEX_IN_MESSAGE = re.compile(r"index: (\S+)")


class DoesNotExist(LookupError):
    """No document matched; raised by the raising finders (``get``) and by
    writes that need an existing document (``update``)."""

    def __init__(self, model: str, query: Mapping[str, Any]) -> None:
        self.model = model
        self.query = dict(query)
        super().__init__(f"no {model} matches {self.query!r}")


class DuplicateKeyError(driver_errors.DuplicateKeyError):
    """A write collided with a unique index; names the index and the key.

    ``index`` is the index name, ``key_value`` the duplicated key (both None
    when the server does not say), ``collection`` the collection written to.
    For ``insert_many``, ``item`` is the position of the instance that collided
    and ``stored`` how many instances before it were stored (None otherwise).
    """

    def __init__(
        self,
        model: str,
        collection: str,
        index: str | None,
        key_value: Mapping[str, Any] | None,
        code: int | None = 11000,
        details: Mapping[str, Any] | None = None,
        *,
        item: int | None = None,
        stored: int | None = None,
    ) -> None:
        self.model = model
        self.collection = collection
        self.index = index
        self.item = item
        self.stored = stored
        self.key_value = dict(key_value) if key_value is not None else None
        where = f"index {index!r}" if index else "a unique index"
        key = f" for key {self.key_value!r}" if self.key_value else ""
        message = f"duplicate key in {collection} ({model}): {where}{key} already exists"
        super().__init__(message, code, details)

    @classmethod
    def from_driver(
        cls, exc: driver_errors.DuplicateKeyError, model: str, collection: str
    ) -> DuplicateKeyError:
        details = exc.details or {}
        message = str(details.get("errmsg", "")) or str(exc)
        found = _INDEX_IN_MESSAGE.search(message)
        key_value = details.get("keyValue")
        return cls(
            model,
            collection,
            found.group(1) if found else None,
            key_value if isinstance(key_value, Mapping) else None,
            exc.code,
            exc.details,
        )


class DocumentValidationError(ValidationError):
    """A stored document no longer fits its model (the schema moved on, or another
    program wrote it). Carries the document's ``_id`` and collection so it can be
    found and fixed; no half-built model is ever returned instead."""

    def __init__(self, errors: Sequence[ErrorDetail], model: str, document_id: Any, collection: str) -> None:
        self.document_id = document_id
        self.collection = collection
        super().__init__(errors, f"{model} (document _id={document_id!r} in {collection})")
