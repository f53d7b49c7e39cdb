"""``ModelOptions``: a model's ``Meta`` plus its resolved fields.

Field resolution is lazy: annotations are evaluated on first use (first
instance, first ``from_data``, first class access of a field), so models may
refer to classes defined later in the module.
"""

from __future__ import annotations

import collections
import inspect
import re
import sys
import threading
import typing
from collections.abc import Callable
from typing import Any

from tbone.data.errors import ConfigurationError
from tbone.data.fields.base import MISSING, BaseField, FieldSpec
from tbone.data.protocols import ModelLike
from tbone.data.resolve import field_for_annotation

__all__ = ["META_OPTIONS", "ModelOptions", "PendingField", "is_classvar_annotation", "own_type_hints"]

_CLASSVAR_RE = re.compile(r"^\s*(typing\.|t\.)?ClassVar\b")
_lock = threading.RLock()


def is_classvar_annotation(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return bool(_CLASSVAR_RE.match(annotation))
    return annotation is typing.ClassVar or typing.get_origin(annotation) is typing.ClassVar


def own_type_hints(
    model: type, annotations: dict[str, Any], localns: dict[str, Any] | None
) -> dict[str, Any]:
    """The evaluated annotations ``model`` declares itself (not its bases': each
    model resolves its own, with its own names).

    Names are looked up as ``typing.get_type_hints`` does for a class (the
    module's globals, then the class namespace), after ``localns``: the names
    local to the function that defined the model, as Python would see them.
    """
    holder = type(model.__name__, (), {"__annotations__": annotations, "__module__": model.__module__})
    module = sys.modules.get(model.__module__)
    globalns: dict[str, Any] = vars(module) if module is not None else {}
    scope = collections.ChainMap(localns or {}, globalns, dict(vars(model)))
    return typing.get_type_hints(holder, globalns=globalns, localns=scope, include_extras=True)


class PendingField:
    """Stands in for a field until the model's annotations are resolved; class
    access (``Book.title``) resolves the model and returns the real field."""

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default

    def __get__(self, instance: Any, owner: type[ModelLike] | None = None) -> Any:
        if owner is None:
            owner = type(instance)
        owner._meta.fields  # noqa: B018 - resolving replaces this placeholder
        value = owner.__dict__.get(self.name, self)
        if value is self:
            raise AttributeError(self.name)
        return value.__get__(instance, owner)


#: The ``Meta`` options a model takes; anything else is a ConfigurationError.
META_OPTIONS = frozenset(
    {"name", "namespace", "exclude_fields", "exclude_serialize", "creation_args", "indices", "concrete"}
)


class ModelOptions:
    """The options of one model class (``cls._meta``).

    ``localns``: the names local to where the class was defined (a model
    defined in a function), kept until its string annotations are resolved.
    """

    def __init__(
        self,
        model: type[ModelLike],
        meta: type | None,
        parent: ModelOptions | None,
        localns: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.parent = parent
        self.localns = localns
        own = dict(vars(meta)) if meta is not None else {}
        unknown = {k for k in own if not k.startswith("__")} - META_OPTIONS
        if unknown:
            raise ConfigurationError(
                f"{model.__name__}.Meta: unknown option(s) {sorted(unknown)}; "
                f"known options are {sorted(META_OPTIONS)}"
            )
        self.name: str = own.get("name", model.__name__.lower())
        # namespace, creation_args and indices are inherited; the rest is per class
        self.namespace: str | None = own.get("namespace", parent.namespace if parent else None)
        inherited_args = parent.creation_args if parent else {}
        self.creation_args: dict[str, Any] = dict(own.get("creation_args", inherited_args))
        self.indices: list[dict[str, Any]] = list(own.get("indices", parent.indices if parent else []))
        self.exclude_fields: tuple[str, ...] = tuple(own.get("exclude_fields", ()))
        self.exclude_serialize: tuple[str, ...] = tuple(own.get("exclude_serialize", ()))
        self.concrete: bool = bool(own.get("concrete", True))
        self._fields: dict[str, BaseField] | None = None
        self._serialize_methods: dict[str, Callable[[Any], Any]] | None = None
        self._own_defaults: dict[str, Any] = {}

    # -- fields -------------------------------------------------------------
    @property
    def fields(self) -> dict[str, BaseField]:
        """Attribute name → field, inherited fields first; resolved on first use."""
        fields = self._fields
        if fields is None:
            with _lock:
                if self._fields is None:
                    self._fields = self._resolve()
                    self.localns = None  # resolved: the defining function's names may go
                fields = self._fields
        return fields

    def _resolve(self) -> dict[str, BaseField]:
        model = self.model
        fields: dict[str, BaseField] = {}
        if self.parent is not None:
            fields.update(self.parent.fields)
        for name in self.exclude_fields:
            fields.pop(name, None)
        own = inspect.get_annotations(model)
        if own:
            try:
                hints = own_type_hints(model, own, self.localns)
            except NameError as exc:
                raise ConfigurationError(
                    f"{model.__name__}: cannot resolve annotation ({exc}); define the "
                    "referenced class before the model, or at module level"
                ) from exc
            for name in own:
                if name not in hints or name.startswith("__") or is_classvar_annotation(hints[name]):
                    continue
                where = f"{model.__name__}.{name}"
                field = field_for_annotation(hints[name], where)
                field = self._apply_default(field, name)
                field.check_options(where)
                field.bind(name, model.__name__)
                fields[name] = field
                setattr(model, name, field)
        self._check(fields)
        return fields

    def _apply_default(self, field: BaseField, name: str) -> BaseField:
        default = self._own_defaults.get(name, MISSING)
        if isinstance(default, FieldSpec):
            return field.with_options(**default.options)
        if default is not MISSING:
            return field.with_options(default=default)
        return field

    def _check(self, fields: dict[str, BaseField]) -> None:
        pks = [f.name for f in fields.values() if f.primary_key]
        if len(pks) > 1:
            raise ConfigurationError(f"{self.model.__name__}: more than one primary key: {pks}")
        keys: dict[str, str] = {}
        for field in fields.values():
            if field.data_key in keys:
                raise ConfigurationError(
                    f"{self.model.__name__}: fields {keys[field.data_key]!r} and {field.name!r} "
                    f"share the data key {field.data_key!r}"
                )
            keys[field.data_key] = field.name

    @property
    def pk_field(self) -> BaseField | None:
        """The ``primary_key=True`` field, else the ``_id`` field, else None."""
        fields = self.fields
        for field in fields.values():
            if field.primary_key:
                return field
        return fields.get("_id")

    @property
    def serialize_methods(self) -> dict[str, Callable[[Any], Any]]:
        """Output key → ``@serialize`` coroutine function, inherited ones first."""
        if self._serialize_methods is None:
            found: dict[str, Callable[[Any], Any]] = {}
            if self.parent is not None:
                found.update(self.parent.serialize_methods)
            for name in self.exclude_serialize:
                found.pop(name, None)
            for name, attr in vars(self.model).items():
                if getattr(attr, "_tbone_serialize", False):
                    found[name] = attr
            self._serialize_methods = found
        return self._serialize_methods

    @property
    def overrides_clean(self) -> bool:
        """Whether the model has a ``clean()`` hook of its own (inherited ones
        included): the root model's is a no-op that builders skip."""
        root = self
        while root.parent is not None:
            root = root.parent
        return self.model.clean is not root.model.clean

    def collection_name(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name

    def readonly_keys(self) -> frozenset[str]:
        return frozenset(f.data_key for f in self.fields.values() if f.readonly)

    def __repr__(self) -> str:
        return f"<ModelOptions {self.model.__name__} name={self.name!r}>"
