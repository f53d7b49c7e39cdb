"""Scalar fields: str, int, float, bool, Decimal.

Coercion accepts the primitive form of each type (what JSON or a query string
carries) and never truncates: ``"3.5"`` and ``"1e3"`` are not ints, and a bool
is never accepted as a number. ``DecimalField`` also takes ``bson.Decimal128``
(what MongoDB returns), converted by ``decimal128_to_decimal`` right in the
compiled builder, so documents read back need no conversion pass of their own.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from bson import Decimal128

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField, Namespace

__all__ = [
    "BooleanField",
    "DecimalField",
    "FloatField",
    "IntegerField",
    "StringField",
    "decimal128_to_decimal",
]

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


# -- Decimal128 → Decimal ---------------------------------------------------------
#
# ``Decimal128.to_decimal()`` costs about 4.5 µs (it goes through a decimal
# context and a tuple); building the Decimal from the coefficient and exponent
# read off the 128-bit BID value costs 0.6 µs. Special values (NaN, infinities)
# and the non-canonical "11" combination form go to ``to_decimal()``.

_UNPACK_BID = struct.Struct("<QQ").unpack
_SPECIAL = 0x6000000000000000  # the "11" combination bits: infinities, NaN, huge coefficients


def _decimal128_to_decimal_portable(value: Decimal128) -> Decimal:
    low, high = _UNPACK_BID(value.bid)
    if high & _SPECIAL == _SPECIAL:
        return value.to_decimal()
    coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | low
    exponent = ((high >> 49) & 0x3FFF) - 6176
    return Decimal(f"-{coefficient}E{exponent}" if high >> 63 else f"{coefficient}E{exponent}")


def _decimal128_to_decimal_slots(value: Decimal128) -> Decimal:
    # reads Decimal128's two 64-bit words directly: 40% faster than unpacking .bid
    high = value._Decimal128__high  # type: ignore[attr-defined]
    if high & _SPECIAL == _SPECIAL:
        return value.to_decimal()
    coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | value._Decimal128__low  # type: ignore[attr-defined]
    exponent = ((high >> 49) & 0x3FFF) - 6176
    return Decimal(f"-{coefficient}E{exponent}" if high >> 63 else f"{coefficient}E{exponent}")


def _pick_decimal128_to_decimal() -> Callable[[Decimal128], Decimal]:
    probe = Decimal128("-12.5")
    try:
        if _decimal128_to_decimal_slots(probe) == probe.to_decimal():
            return _decimal128_to_decimal_slots
    except AttributeError:  # pragma: no cover - a bson release without those slots
        pass
    return _decimal128_to_decimal_portable  # pragma: no cover


decimal128_to_decimal = _pick_decimal128_to_decimal()
"""``value.to_decimal()``, four to eight times faster for finite values in canonical
form (everything else goes to ``to_decimal``)."""


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
        if cls is Decimal128:
            result = decimal128_to_decimal(value)
        elif cls is bool:
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
        elif isinstance(value, Decimal128):  # a subclass
            result = value.to_decimal()
        else:
            raise FieldError("Value must be a decimal number", "decimal_type")
        if not result.is_finite():
            raise FieldError("Value must be a finite number", "finite_number")
        return result

    def guard_extras(self, var: str) -> list[str]:
        # Decimal("NaN") and Decimal("Infinity") are Decimals too
        return [f"{var}.is_finite()"]

    def coerce_lines(self, var: str, ns: Namespace, fallback: str) -> list[str]:
        # A Decimal128 (a document read from MongoDB) is converted inline and then
        # meets the same guard as any Decimal; a value failing either (NaN,
        # out of range...) takes the fallback, which reports it.
        guard = self.fast_guard(var, ns)
        if guard is None:
            return [fallback]  # to_python converts a Decimal128 just as cheaply
        if self.nullable:
            guard = f"{var} is None or {guard}"
        d128 = self._register(ns, Decimal128, "t")
        convert = self._register(ns, decimal128_to_decimal, "c")
        inner = [
            f"if not ({guard}):",
            f"    if {var}.__class__ is {d128}:",
            f"        {var} = {convert}({var})",
            f"        if not ({guard}):",
            f"            {fallback}",
            "    else:",
            f"        {fallback}",
        ]
        return ["try:", *(f"    {line}" for line in inner), "except Exception:", f"    {fallback}"]

    primitive_template = "str({})"

    def json_schema(self, defs: dict[str, Any]) -> dict[str, Any]:
        schema = super().json_schema(defs)
        # minimum/maximum are numbers in JSON Schema even though values are strings
        target = schema["anyOf"][0] if "anyOf" in schema else schema
        for key in ("minimum", "maximum"):
            if key in target:
                target[key] = float(target[key])
        return schema
