"""The typed ODM: models declared with annotations, validated on the way in,
exported and serialized (asynchronously) on the way out.

>>> from tbone.data import Model
>>> class Person(Model):
...     name: str
...     age: int | None = None
>>> Person.from_data({"name": "Ada", "age": "36"}).age
36
"""

from tbone.data.errors import ConfigurationError, ErrorDetail, FieldError, ValidationError
from tbone.data.fields.base import Field
from tbone.data.fields.network import URL, Email, PhoneNumber
from tbone.data.models import Model, ModelMeta
from tbone.data.options import ModelOptions
from tbone.data.refs import Ref
from tbone.data.serializers import serialize

__all__ = [
    "URL",
    "ConfigurationError",
    "Email",
    "ErrorDetail",
    "Field",
    "FieldError",
    "Model",
    "ModelMeta",
    "ModelOptions",
    "PhoneNumber",
    "Ref",
    "ValidationError",
    "serialize",
]
