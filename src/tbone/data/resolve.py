"""Annotation → field object.

Called once per model, on first use, with annotations already evaluated by
``typing.get_type_hints`` (so forward references and ``from __future__ import
annotations`` work). Models are recognised by their marker
(``tbone.data.protocols.is_model``), so this module sits below ``models``.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from uuid import UUID

from bson import DBRef, ObjectId

from tbone.data.errors import ConfigurationError
from tbone.data.fields.base import BaseField, FieldSpec
from tbone.data.fields.composite import DictField, ListField, ModelField
from tbone.data.fields.identifiers import DBRefField, EnumField, ObjectIdField, UUIDField
from tbone.data.fields.scalars import (
    BooleanField,
    DecimalField,
    FloatField,
    IntegerField,
    StringField,
)
from tbone.data.fields.temporal import DateField, DateTimeField, TimeField
from tbone.data.protocols import is_model
from tbone.data.refs import Ref

__all__ = ["field_for_annotation"]

# bool before int and datetime before date: exact types are looked up first
_SIMPLE: dict[Any, type[BaseField]] = {
    str: StringField,
    bool: BooleanField,
    int: IntegerField,
    float: FloatField,
    Decimal: DecimalField,
    datetime: DateTimeField,
    date: DateField,
    time: TimeField,
    UUID: UUIDField,
    ObjectId: ObjectIdField,
    DBRef: DBRefField,
}


def field_for_annotation(annotation: Any, where: str) -> BaseField:
    """Build the field for one annotation; ``where`` ("Book.title") names it in errors."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        given = [e for e in extras if isinstance(e, BaseField)]
        specs = [e for e in extras if isinstance(e, FieldSpec)]
        if len(given) > 1:
            raise ConfigurationError(f"{where}: more than one field object in Annotated[...]")
        field = field_for_annotation(base, where)
        if given:
            nullable = field.nullable
            field = given[0].with_options(nullable=nullable or given[0].nullable)
            _adopt_structure(field, base, where)
        for spec in specs:
            field = field.with_options(**spec.options)
        return field
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            raise ConfigurationError(
                f"{where}: unions other than `T | None` are not supported ({annotation!r})"
            )
        inner = field_for_annotation(args[0], where)
        return inner.with_options(nullable=True)
    if origin is Literal:
        values = get_args(annotation)
        kinds = {type(v) for v in values}
        if kinds == {str}:
            return StringField(choices=values)
        if kinds == {int}:
            return IntegerField(choices=values)
        if kinds == {bool}:
            return BooleanField(choices=values)
        raise ConfigurationError(f"{where}: Literal values must all be str, all int or all bool")
    if origin is list:
        (item,) = get_args(annotation) or (Any,)
        return ListField(field_for_annotation(item, f"{where}[]"))
    if origin is dict:
        key, value = get_args(annotation) or (str, Any)
        if key is not str:
            raise ConfigurationError(f"{where}: dict keys must be str (BSON and JSON need it)")
        return DictField(field_for_annotation(value, f"{where}{{}}"))
    if origin is Ref:
        (model,) = get_args(annotation)
        if not is_model(model):
            raise ConfigurationError(f"{where}: Ref[...] takes a Model subclass")
        return DBRefField(model=model)
    if annotation is Ref:
        raise ConfigurationError(f"{where}: use Ref[SomeModel], or bson.DBRef for untyped refs")
    if annotation in _SIMPLE:
        return _SIMPLE[annotation]()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return EnumField(annotation)
    if is_model(annotation):
        return ModelField(annotation)
    if annotation is Any or annotation is typing.Any:
        raise ConfigurationError(f"{where}: Any is not a field type; annotate a concrete type")
    raise ConfigurationError(f"{where}: no field class for annotation {annotation!r}")


def _adopt_structure(field: BaseField, base: Any, where: str) -> None:
    """A field object given in ``Annotated`` may omit what the annotation implies
    (the list item, the enum class, the nested model): fill it in."""
    inferred = field_for_annotation(base, where)
    for attr in ("item", "value", "enum_class", "model"):
        if getattr(field, attr, None) is None and getattr(inferred, attr, None) is not None:
            setattr(field, attr, getattr(inferred, attr))
            if attr in ("enum_class", "model"):
                field.python_type = getattr(inferred, "python_type", None)
