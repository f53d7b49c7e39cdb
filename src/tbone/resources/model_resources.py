"""``ModelResource``: a resource whose objects are ``tbone.data`` models.

Storage-independent: it converts between models and payloads and leaves
storing them to a subclass (``tbone.resources.mongo.MongoResource``, or your
own for another store). Models become payloads through ``await
obj.serialize()`` (honouring ``?fields=a,b``) and get their ``_links`` from
:meth:`Resource.prepare_payload`; request bodies become models through
``from_data`` / ``deserialize``, which skip ``readonly`` fields and raise
``ValidationError`` (a 400 carrying its ``errors`` list).

Each object is serialized once per request (:meth:`ModelResource.serialized`
keeps the full payload on the resource instance): the response and the
event of a write share it.

``ModelResource[Book]`` names the model once: ``Meta.object_class`` is
inferred from it when not set, and a ``Meta.object_class`` that is not
``Book`` (or a subclass) is a ``ConfigurationError`` when the class is
defined, since mypy types ``get_object()`` and ``build()`` as ``Book``.

A PATCH body may hold only declared fields (an unknown key is a 400 located
at it), and neither PATCH nor PUT may change the primary key (a 400 located
at it; sending the current value is fine).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from tbone.data.errors import ConfigurationError, ErrorDetail, ValidationError
from tbone.data.fields.base import BaseField
from tbone.data.models import Model
from tbone.data.protocols import ModelLike
from tbone.resources.errors import BadRequest
from tbone.resources.field_selection import parse_fields
from tbone.resources.options import ResourceOptions
from tbone.resources.resources import Resource

__all__ = ["ModelResource", "ModelResourceOptions", "ResourceModel"]


class ResourceModel(ModelLike, Protocol):
    """What a model resource uses of its model: every ``tbone.data.Model``
    conforms. A Protocol rather than ``Model`` itself, so that a storage's
    resource can bound its model type further (``MongoResource[M]`` takes only
    models with ``MongoCollectionMixin``)."""

    def export_data(self, native: bool = True) -> dict[str, Any]: ...

    async def serialize(self) -> dict[str, Any]: ...

    async def deserialize(self, data: Mapping[str, Any]) -> None: ...


M = TypeVar("M", bound=ResourceModel)


def declared_model(cls: type) -> type | None:
    """The model ``cls`` is parametrized with (``ModelResource[Book]``, through
    any subclass such as ``MongoResource[Book]``), read from the nearest
    ``__orig_bases__`` along its MRO; ``None`` when it has none (a generic
    base, or a class that subclasses a bare resource)."""
    for klass in cls.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            # a marker, not issubclass: this runs while ModelResource itself is defined
            if not getattr(origin, "_tbone_model_resource", False):
                continue
            args = typing.get_args(base)
            if len(args) == 1 and isinstance(args[0], type) and args[0] is not Any:
                return args[0]
    return None


class ModelResourceOptions(ResourceOptions):
    """``ResourceOptions`` that also check ``object_class`` is a ``Model`` class."""

    def check(self, owner: str) -> None:
        super().check(owner)
        model: Any = self.object_class
        if model is not None and not (isinstance(model, type) and issubclass(model, Model)):
            raise ConfigurationError(f"{owner}.Meta.object_class must be a tbone.data Model class")
        # A resource addresses objects by primary key (ids, links, events): say so
        # when the class is defined rather than answering every request with a 500.
        if model is not None and model._meta.pk_field is None:
            raise ConfigurationError(
                f"{owner}: {model.__name__} has no primary key; declare one, e.g. "
                "`_id: ObjectId | None = Field(default=None, primary_key=True)`"
            )


class ModelResource(Resource, Generic[M]):
    """Base of resources serving ``Meta.object_class`` models (see module doc).

    A resource without ``object_class`` is abstract: using it raises
    ``ConfigurationError`` (a 500, logged), which is a programming error.
    """

    options_class: ClassVar[type[ResourceOptions]] = ModelResourceOptions
    _tbone_model_resource: ClassVar[bool] = True
    _tbone_pk_field: ClassVar[BaseField | None] = None
    #: id(obj) → (obj, its full serialized payload), for this request only
    _serialized: dict[int, tuple[Any, dict[str, Any]]] | None = None

    # -- the model --------------------------------------------------------

    @classmethod
    def meta_values(cls) -> dict[str, Any]:
        """The merged ``Meta``, with ``object_class`` inferred from
        ``ModelResource[M]`` when not set; a different class is refused."""
        values = super().meta_values()
        model = declared_model(cls)
        if model is None:
            return values
        declared = values.get("object_class")
        if declared is None:
            values["object_class"] = model
        elif not (isinstance(declared, type) and issubclass(declared, model)):
            shown = getattr(declared, "__name__", repr(declared))
            raise ConfigurationError(
                f"{cls.__name__}.Meta.object_class is {shown}, but the resource is declared over "
                f"{model.__name__} (...Resource[{model.__name__}]); make them the same class, "
                f"or leave Meta.object_class out: it is inferred"
            )
        return values

    @classmethod
    def model(cls) -> type[M]:
        model = cls._meta.object_class
        if model is None:
            raise ConfigurationError(f"{cls.__name__}.Meta.object_class is not set")
        return cast("type[M]", model)

    @classmethod
    def pk_field(cls) -> BaseField:
        # cached per resource class: it is on every request's path (ids, links)
        field: BaseField | None = cls.__dict__.get("_tbone_pk_field")
        if field is None:
            field = cls.model()._meta.pk_field
            if field is None:
                raise ConfigurationError(f"{cls.model().__name__} has no primary key (_id) field")
            cls._tbone_pk_field = field
        return field

    def to_pk(self, value: str) -> Any:
        """Coerce the route's ``pk`` by the primary key field: ObjectId, str, int..."""
        try:
            return self.pk_field().to_python(value)
        except ValueError as exc:
            raise BadRequest(
                f"Invalid id {value!r}", errors=[{"loc": ["pk"], "msg": str(exc), "type": "invalid_id"}]
            ) from None

    def object_pk(self, obj: Mapping[str, Any]) -> Any:
        key = self.pk_field().data_key
        return obj[key] if obj.get(key) is not None else super().object_pk(obj)

    # -- models → payloads -------------------------------------------------

    def selected_fields(self) -> frozenset[str] | None:
        """The data keys ``?fields=a,b`` asks for (plus the pk); ``None`` for all."""
        wanted = self.request.args.get("fields")
        if not wanted:
            return None
        cached: Any = self.request.state.get("tbone.fields", False)
        if cached is False:
            errors: list[dict[str, Any]] = []
            by_key = {f.data_key: f for f in self.model()._meta.fields.values()}
            cached = parse_fields(by_key, wanted, self.pk_field().data_key, errors)
            if errors:
                raise BadRequest("Invalid query arguments", errors=errors)
            self.request.state["tbone.fields"] = cached
        return cast("frozenset[str] | None", cached)

    async def serialized(self, obj: M) -> dict[str, Any]:
        """``await obj.serialize()``, computed once per object and request.

        The cache is keyed by the object itself: an object changed after it was
        serialized in this request must be serialized by ``obj.serialize()``
        directly (or be a new object). The payload is shared: copy it before
        changing it.
        """
        cache = self._serialized
        if cache is None:
            cache = self._serialized = {}
        entry = cache.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        data = await obj.serialize()
        cache[id(obj)] = (obj, data)
        return data

    async def serialize(self, obj: M) -> dict[str, Any]:
        """The payload of one object for the response: :meth:`serialized`, limited
        to ``?fields``."""
        data = await self.serialized(obj)
        fields = self.selected_fields()
        if fields is not None:
            return {k: v for k, v in data.items() if k in fields}
        return data

    async def serialize_many(self, objs: Iterable[M]) -> list[dict[str, Any]]:
        return [await self.serialize(obj) for obj in objs]

    # -- payloads → models -------------------------------------------------

    def writable(self, data: Any) -> dict[str, Any]:
        """``data`` as a dict without readonly keys; a non-object body is a 400."""
        if not isinstance(data, Mapping):
            kind = "no body" if data is None else f"a JSON {type(data).__name__}"
            raise BadRequest(
                f"Expected a JSON object, got {kind}",
                errors=[{"loc": [], "msg": "Expected a JSON object", "type": "model_type"}],
            )
        readonly = self.model()._meta.readonly_keys()
        return {k: v for k, v in data.items() if k not in readonly}

    def build(self, data: Any, *, keep: Mapping[str, Any] | None = None) -> M:
        """A new, validated model from a request body (readonly keys skipped).

        ``keep`` supplies values the body may not set (readonly fields and the
        pk of the object a PUT replaces). The model is built by ``from_data``,
        which validates it; storage resources write it without validating it
        again, so an override must return a validated model too (build it with
        ``from_data``/``deserialize``, or call ``validate()`` after changing it).
        """
        return self.model().from_data({**self.writable(data), **(keep or {})})

    def build_many(self, items: Any) -> list[M]:
        """Models from a JSON array; every item's errors, located by index, in one 400."""
        if not isinstance(items, list):
            raise BadRequest("Expected a JSON array")
        objs: list[M] = []
        errors: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                objs.append(self.build(item))
            except BadRequest as exc:
                errors.extend({**e, "loc": [index, *e.get("loc", [])]} for e in exc.errors)
            except ValidationError as exc:
                errors.extend({**e, "loc": [index, *e["loc"]]} for e in exc.errors)
        if errors:
            raise BadRequest(f"{len(errors)} validation error(s) in the array", errors=errors)
        return objs

    async def apply(self, obj: M, data: Any) -> M:
        """Apply a partial body (PATCH) to ``obj``: readonly keys skipped, validated.

        Every key must be a declared field's data key (an unknown one is a
        field error ``unknown_field``, as ``Model.modify`` answers), and the
        primary key may not change (:meth:`check_pk`)."""
        body = self.writable(data)
        known = {f.data_key for f in self.model()._meta.fields.values()}
        errors: list[ErrorDetail] = [
            {"loc": (key,), "msg": "Unknown field", "type": "unknown_field"}
            for key in data
            if key not in known
        ]
        errors.extend(self.pk_errors(obj, data))
        if errors:
            raise ValidationError(errors, self.model().__name__)
        await obj.deserialize(body)
        return obj

    def pk_errors(self, obj: M, data: Mapping[str, Any]) -> list[ErrorDetail]:
        """A field error when ``data`` sets the primary key to another value than
        ``obj``'s: a key is not renamed (every reference to it would break)."""
        field = self.pk_field()
        key = field.data_key
        if key not in data:
            return []
        try:
            same = bool(field.to_python(data[key]) == obj.pk)
        except (ValueError, TypeError):
            same = False
        if same:
            return []
        return [{"loc": (key,), "msg": "The primary key cannot be changed", "type": "frozen_field"}]

    def check_pk(self, obj: M, data: Any) -> None:
        """Raise ``ValidationError`` (a 400) if ``data`` changes ``obj``'s primary key
        (a PUT); a body that is not an object is left to :meth:`build`."""
        errors = self.pk_errors(obj, data) if isinstance(data, Mapping) else []
        if errors:
            raise ValidationError(errors, self.model().__name__)

    def keep_readonly(self, obj: M) -> dict[str, Any]:
        """The readonly (and pk) values of ``obj``, as a PUT must preserve them."""
        native = obj.export_data(native=True)
        keys = self.model()._meta.readonly_keys() | {self.pk_field().data_key}
        return {k: native[k] for k in keys if k in native}
