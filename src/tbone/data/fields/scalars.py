"""Scalar fields: str, int, float, bool, Decimal.

Coercion accepts the primitive form of each type (what JSON or a query string
carries) and never truncates: ``"3.5"`` and ``"1e3"`` are not ints, and a bool
is never accepted as a number.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField, ExportMode, Namespace

__all__ = ["BooleanField", "DecimalField", "FloatField", "IntegerField", "StringField"]

_INT_RE = re.compile(r"[+-]?[0-9]+")  # ASCII digits only, as JSON writes them
_EXACT = 2.0**53
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class StringField(BaseField):
    python_type = str
    json_type = "string"
    primitive_identity = True

    def coerce(self, value: Any) -> str:
        if isinstance(value, str):
            return str(value)
        raise FieldError("Value must be a string", "string_type")


class IntegerField(BaseField):
    python_type = int
    json_type = "integer"
    primitive_identity = True
    ordered = True

    def coerce(self, value: Any) -> int:
        cls = value.__class__
        if cls is int:
            return int(value)
        if cls is bool:
            raise FieldError("Value must be an integer, not a boolean", "int_type")
        if isinstance(value, int):
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            if _INT_RE.fullmatch(text):
                return int(text)
            raise FieldError(f"Value {value!r} is not a valid integer", "int_parsing")
        if isinstance(value, float):
            if value.is_integer() and -_EXACT <= value <= _EXACT:
                return int(value)
            if value.is_integer():
                # beyond 2**53 a float is not an exact integer (orjson reads ints past 64 bits so)
                raise FieldError(f"Value {value!r} is too large to be an exact integer", "int_from_float")
            raise FieldError(f"Value {value!r} has a fractional part", "int_from_float")
        if isinstance(value, Decimal):
            if value.is_finite() and value == value.to_integral_value():
                return int(value)
            raise FieldError(f"Value {value!r} has a fractional part", "int_from_float")
        raise FieldError("Value must be an integer", "int_type")


class FloatField(BaseField):
    python_type = float
    json_type = "number"
    primitive_identity = True
    ordered = True

    def coerce(self, value: Any) -> float:
        cls = value.__class__
        if cls is bool:
            raise FieldError("Value must be a number, not a boolean", "float_type")
        if isinstance(value, int | float | Decimal):
            try:
                result = float(value)
            except OverflowError:
                raise FieldError("Value is too large for a float", "finite_number") from None
        elif isinstance(value, str):
            text = value.strip()
            try:
                if "_" in text:  # float() takes "1_000"; JSON and query strings don't
                    raise ValueError(text)
                result = float(text)
            except ValueError:
                raise FieldError(f"Value {value!r} is not a valid number", "float_parsing") from None
        else:
            raise FieldError("Value must be a number", "float_type")
        if not math.isfinite(result):
            raise FieldError("Value must be a finite number", "finite_number")
        return result

    def guard_extras(self, var: str) -> list[str]:
        # inf/nan are floats too: keep them out of the fast path
        return [f"-1.7976931348623157e308 <= {var} <= 1.7976931348623157e308"]


class BooleanField(BaseField):
    python_type = bool
    json_type = "boolean"
    primitive_identity = True

    def coerce(self, value: Any) -> bool:
        if value is True or value is False:
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
        elif value.__class__ is int and value in (0, 1):
            return bool(value)
        raise FieldError(f"Value {value!r} is not a valid boolean", "bool_parsing")


class DecimalField(BaseField):
    """Decimal values; stored in MongoDB as Decimal128, exported to JSON as strings
    so no precision is lost on the way."""

    python_type = Decimal
    json_type = "string"
    json_format = "decimal"
    ordered = True
    max_digits: ClassVar[int | None] = None

    def coerce(self, value: Any) -> Decimal:
        cls = value.__class__
        if cls is bool:
            raise FieldError("Value must be a decimal number, not a boolean", "decimal_type")
        if isinstance(value, Decimal):
            result = value
        elif isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, float):
            result = Decimal(repr(value))
        elif isinstance(value, str):
            try:
                text = value.strip()
                if "_" in text:
                    raise InvalidOperation(text)
                result = Decimal(text)
            except InvalidOperation:
                raise FieldError(f"Value {value!r} is not a valid decimal", "decimal_parsing") from None
        elif hasattr(value, "to_decimal"):  # bson.Decimal128
            result = value.to_decimal()
        else:
            raise FieldError("Value must be a decimal number", "decimal_type")
        if not result.is_finite():
            raise FieldError("Value must be a finite number", "finite_number")
        return result

    def guard_extras(self, var: str) -> list[str]:
        # Decimal("NaN") and Decimal("Infinity") are Decimals too
        return [f"{var}.is_finite()"]

    def export_value(self, value: Any, mode: ExportMode) -> Any:
        return value if mode == "native" else str(value)

    def inline_export(self, var: str, ns: Namespace, mode: ExportMode, depth: int) -> str | None:
        return var if mode == "native" else f"str({var})"

    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = super().json_schema(defs)
        # minimum/maximum are numbers in JSON Schema even though values are strings
        target = schema["anyOf"][0] if "anyOf" in schema else schema
        for key in ("minimum", "maximum"):
            if key in target:
                target[key] = float(target[key])
        return schema
