"""Field classes: one per supported annotation, plus ``Field(...)`` and ``@validator``.

Subclass a field class and decorate methods with ``@validator`` for reusable
checks, then use it as ``Annotated[int, PositiveIntegerField()]``.
"""

from tbone.data.fields.base import MISSING, BaseField, Field, FieldSpec, validator
from tbone.data.fields.composite import DictField, ListField, ModelField
from tbone.data.fields.identifiers import DBRefField, EnumField, ObjectIdField, UUIDField
from tbone.data.fields.network import (
    URL,
    Email,
    EmailField,
    PhoneNumber,
    PhoneNumberField,
    URLField,
)
from tbone.data.fields.scalars import (
    BooleanField,
    DecimalField,
    FloatField,
    IntegerField,
    StringField,
)
from tbone.data.fields.temporal import DateField, DateTimeField, TimeField

__all__ = [
    "MISSING",
    "URL",
    "BaseField",
    "BooleanField",
    "DBRefField",
    "DateField",
    "DateTimeField",
    "DecimalField",
    "DictField",
    "Email",
    "EmailField",
    "EnumField",
    "Field",
    "FieldSpec",
    "FloatField",
    "IntegerField",
    "ListField",
    "ModelField",
    "ObjectIdField",
    "PhoneNumber",
    "PhoneNumberField",
    "StringField",
    "TimeField",
    "URLField",
    "UUIDField",
    "validator",
]
