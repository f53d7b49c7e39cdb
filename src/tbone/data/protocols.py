"""What the modules below ``tbone.data.models`` may know about a model.

A leaf module: it imports nothing of the package, so ``refs``, ``fields``,
``resolve``, ``options`` and ``compiler`` can name and recognise models
without importing ``Model`` (which imports all of them). ``ModelLike`` is the
small structural type they use in annotations; ``is_model`` recognises a model
class by the marker its metaclass sets, as attrs' ``has()`` checks
``__attrs_attrs__`` instead of importing a base class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, Self

from typing_extensions import TypeIs

__all__ = ["MODEL_MARKER", "ModelLike", "is_model"]

#: Class attribute that ``ModelMeta`` sets to True on every model class.
MODEL_MARKER = "_tbone_model"


class ModelLike(Protocol):
    """The part of ``Model`` used below it. ``Model`` conforms; mypy checks it
    wherever a model class is passed down."""

    #: a ``tbone.data.options.ModelOptions``, typed where that class is known
    _meta: ClassVar[Any]

    @property
    def pk(self) -> Any: ...

    @classmethod
    def get_collection_name(cls) -> str: ...

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self: ...

    @classmethod
    def _tbone_from_data(cls, data: Any) -> Self: ...

    @classmethod
    def _schema_body(cls, defs: dict[str, Any]) -> dict[str, Any]: ...

    def clean(self) -> None: ...


def is_model(obj: object) -> TypeIs[type[ModelLike]]:
    """Whether ``obj`` is a model class (``Model`` or a subclass)."""
    return isinstance(obj, type) and getattr(obj, MODEL_MARKER, False) is True
