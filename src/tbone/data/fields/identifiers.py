"""Identifier-like fields: UUID, ObjectId, Enum, and references (DBRef / Ref[Model])."""

from __future__ import annotations

import enum
import uuid
from typing import Any

from bson import DBRef, ObjectId
from bson.errors import InvalidId

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField, ExportMode, Namespace
from tbone.data.fields.scalars import INT64_MAX, INT64_MIN
from tbone.data.refs import Ref

__all__ = ["DBRefField", "EnumField", "ObjectIdField", "UUIDField", "dbref_primitive"]


def dbref_primitive(ref: DBRef) -> dict[str, Any]:
    """``{"$ref", "$id"[, "$db"]}`` with the id as a JSON primitive."""
    doc_id = ref.id
    primitive = doc_id if isinstance(doc_id, str | int | float) else str(doc_id)
    out: dict[str, Any] = {"$ref": ref.collection, "$id": primitive}
    if ref.database:
        out["$db"] = ref.database
    return out


class UUIDField(BaseField):
    python_type = uuid.UUID
    json_type = "string"
    json_format = "uuid"

    def coerce(self, value: Any) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            try:
                return uuid.UUID(value.strip())
            except ValueError:
                raise FieldError(f"Value {value!r} is not a valid UUID", "uuid_parsing") from None
        raise FieldError("Value must be a UUID or its string form", "uuid_type")

    primitive_template = "str({})"


class ObjectIdField(BaseField):
    python_type = ObjectId
    json_type = "string"
    json_format = "objectid"

    def coerce(self, value: Any) -> ObjectId:
        if isinstance(value, ObjectId):
            return value
        if isinstance(value, str):
            try:  # one parse: ObjectId() validates 24-hex strings itself
                return ObjectId(value)
            except InvalidId:
                pass
        raise FieldError(f"Value {value!r} is not a valid ObjectId (24 hex digits)", "objectid_parsing")

    primitive_template = "str({})"


class EnumField(BaseField):
    """An ``Enum`` subclass: accepts members, or their values (as JSON carries them)."""

    json_type = None

    def __init__(self, enum_class: type[enum.Enum] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.enum_class = enum_class
        self.python_type = enum_class

    def coerce(self, value: Any) -> enum.Enum:
        assert self.enum_class is not None, "EnumField needs an enum class"
        if isinstance(value, self.enum_class):
            return value
        if value.__class__ is bool and not any(m.value.__class__ is bool for m in self.enum_class):
            # True == 1: without this an int-valued enum would take booleans
            raise FieldError(f"Value {value!r} is not one of {self._allowed()}", "enum")
        try:
            return self.enum_class(value)
        except (ValueError, TypeError):
            pass
        if isinstance(value, str):  # query strings carry "3" for an int-valued enum
            for member in self.enum_class:
                if str(member.value) == value:
                    return member
        raise FieldError(f"Value {value!r} is not one of {self._allowed()}", "enum") from None

    def _allowed(self) -> str:
        assert self.enum_class is not None
        return ", ".join(repr(m.value) for m in self.enum_class)

    primitive_template = "{}.value"

    def _schema_constraints(self, schema: dict[str, Any]) -> None:
        super()._schema_constraints(schema)
        if self.enum_class is not None:
            schema["enum"] = [m.value for m in self.enum_class]


class DBRefField(BaseField):
    """A reference to a document in another collection.

    Annotated ``bson.DBRef`` the value is a ``DBRef``; annotated ``Ref[Model]``
    it is a ``Ref`` that knows its model and can ``await ref.fetch(db)``. Both
    are stored as a DBRef; in JSON they are ``{"$ref": collection, "$id": id}``.
    """

    json_type = "object"

    def __init__(self, model: Any = None, **options: Any) -> None:
        super().__init__(**options)
        self.model = model
        self.python_type = Ref if model is not None else DBRef

    def _collection(self) -> str:
        return str(self.model.get_collection_name())

    def _pk(self, value: Any) -> Any:
        pk = self.model._meta.pk_field
        return pk.to_python(value) if pk is not None else value

    def _same_collection(self, collection: Any) -> str:
        """The model's collection, if ``collection`` (of a given reference) is it."""
        expected = self._collection()
        if collection != expected:
            raise FieldError(
                f"Value must refer to the collection {expected!r}, not {collection!r}", "dbref_collection"
            )
        return expected

    def coerce(self, value: Any) -> Any:
        if self.model is None:
            if isinstance(value, DBRef):
                return value
            if isinstance(value, Ref):
                return value.as_dbref()
            if isinstance(value, dict) and "$ref" in value and "$id" in value:
                doc_id = value["$id"]
                if doc_id.__class__ is int and not INT64_MIN <= doc_id <= INT64_MAX:
                    raise FieldError("'$id' must be a 64-bit integer, or not an integer", "int64_range")
                return DBRef(value["$ref"], doc_id, value.get("$db"))
            raise FieldError("Value must be a DBRef or {'$ref', '$id'}", "dbref_type")
        if isinstance(value, Ref):
            collection = self._same_collection(value.collection)
            return Ref(collection, self._pk(value.id), value.database, self.model)
        if isinstance(value, self.model):
            pk = value.pk
            if pk is None:
                raise FieldError("Referenced document has no primary key yet", "dbref_unsaved")
            return Ref(self._collection(), pk, None, self.model)
        if isinstance(value, DBRef):
            collection = self._same_collection(value.collection)
            return Ref(collection, self._pk(value.id), value.database, self.model)
        if isinstance(value, dict) and "$ref" in value and "$id" in value:
            collection = self._same_collection(value["$ref"])
            database = value.get("$db")
            if database is not None and not isinstance(database, str):
                raise FieldError("'$db' must be a string", "dbref_type")
            return Ref(collection, self._pk(value["$id"]), database, self.model)
        try:
            return Ref(self._collection(), self._pk(value), None, self.model)
        except ValueError:
            raise FieldError("Value must be a reference or a primary key", "dbref_type") from None

    def guard_extras(self, var: str, stored: bool = False) -> list[str]:
        # a Ref built in Python may point anywhere: only one into the model's
        # collection skips coercion (a stored DBRef is no Ref: coerced anyway)
        if self.model is None:
            return []
        return [f"{var}.collection == {self._collection()!r}"]

    def export_value(self, value: Any, mode: ExportMode) -> Any:
        ref = value if isinstance(value, DBRef) else value.as_dbref()
        return ref if mode == "native" else dbref_primitive(ref)

    def inline_export(self, var: str, ns: Namespace, mode: ExportMode, depth: int) -> str | None:
        # natively a Ref is stored as the DBRef BSON knows, so never the identity
        return None

    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = {
            "type": "object",
            "properties": {"$ref": {"type": "string"}, "$id": {}, "$db": {"type": "string"}},
            "required": ["$ref", "$id"],
        }
        return {"anyOf": [schema, {"type": "null"}]} if self.nullable else schema
