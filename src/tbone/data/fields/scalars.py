"""Scalar fields: str, int, float, bool, Decimal.

Coercion accepts the primitive form of each type (what JSON or a query string
carries) and never truncates: ``"3.5"`` and ``"1e3"`` are not ints, and a bool
is never accepted as a number. What BSON cannot hold is refused too: integers
beyond 64 bits, decimals that ``bson.Decimal128`` would round or cannot hold.
``DecimalField`` also takes ``bson.Decimal128``
(what MongoDB returns), converted by ``decimal128_to_decimal`` right in the
compiled builder, so documents read back need no conversion pass of their own.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from decimal import Decimal, DecimalException, Inexact, InvalidOperation, Overflow
from typing import Any, ClassVar

from bson import Decimal128
from bson.decimal128 import create_decimal128_context

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField, Namespace

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "BooleanField",
    "DecimalField",
    "FloatField",
    "IntegerField",
    "StringField",
    "decimal128_to_decimal",
    "fit_decimal128",
]

_INT_RE = re.compile(r"[+-]?[0-9]+")  # ASCII digits only, as JSON writes them
#: the range of a BSON int64: MongoDB cannot store a larger integer
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_INT64_MESSAGE = f"Value must be between {INT64_MIN} and {INT64_MAX} (a 64-bit integer)"
_EXACT = 2.0**53
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class StringField(BaseField):
    python_type = str
    json_type = "string"
    primitive_identity = True
    textual = True

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
            result = int(value)
        elif cls is bool:
            raise FieldError("Value must be an integer, not a boolean", "int_type")
        elif isinstance(value, int):
            result = int(value)
        elif isinstance(value, str):
            text = value.strip()
            if not _INT_RE.fullmatch(text):
                raise FieldError(f"Value {value!r} is not a valid integer", "int_parsing")
            try:
                result = int(text)
            except ValueError:  # beyond int()'s 4,300 digits: far beyond 64 bits too
                raise FieldError(_INT64_MESSAGE, "int64_range") from None
        elif isinstance(value, float):
            if value.is_integer() and -_EXACT <= value <= _EXACT:
                return int(value)
            if value.is_integer():
                # beyond 2**53 a float is not an exact integer (orjson reads ints past 64 bits so)
                raise FieldError(f"Value {value!r} is too large to be an exact integer", "int_from_float")
            raise FieldError(f"Value {value!r} has a fractional part", "int_from_float")
        elif isinstance(value, Decimal):
            if not (value.is_finite() and value == value.to_integral_value()):
                raise FieldError(f"Value {value!r} has a fractional part", "int_from_float")
            result = int(value)
        else:
            raise FieldError("Value must be an integer", "int_type")
        if not INT64_MIN <= result <= INT64_MAX:
            raise FieldError(_INT64_MESSAGE, "int64_range")
        return result

    def guard_extras(self, var: str, stored: bool = False) -> list[str]:
        # A Python int has no bound, a BSON one has 64 bits; stored values fit. A
        # min or max (an int64 itself, see check_options) bounds that side already.
        low = "" if self.min is not None else f"{INT64_MIN} <= "
        high = "" if self.max is not None else f" <= {INT64_MAX}"
        return [] if stored or not (low or high) else [f"{low}{var}{high}"]


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

    def guard_extras(self, var: str, stored: bool = False) -> list[str]:
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

# The context bson.Decimal128 converts with (34 digits, exponents -6176..6111,
# clamped) trapping what it traps: a value it would round or cannot hold raises.
_DECIMAL128 = create_decimal128_context()
for _signal in (InvalidOperation, Overflow, Inexact):
    _DECIMAL128.traps[_signal] = True
_fit_or_raise = _DECIMAL128.create_decimal


def fit_decimal128(value: Decimal) -> Decimal:
    """``value`` as ``bson.Decimal128`` holds it (trailing zeros beyond 34 digits
    dropped; the value is unchanged), or a FieldError when Decimal128 would have
    to round it or cannot hold it: more than 34 significant digits, or too
    large or too close to zero."""
    try:
        return _fit_or_raise(value)
    except DecimalException:
        pass
    if value.adjusted() > _DECIMAL128.Emax:
        msg = f"Value must be less than 1E+{_DECIMAL128.Emax + 1} in magnitude"
    else:
        digits, tiny = _DECIMAL128.prec, _DECIMAL128.Etiny()
        msg = f"Value must have at most {digits} significant digits, none below 1E{tiny}"
    raise FieldError(f"{msg} (a 128-bit decimal)", "decimal128_range")


class DecimalField(BaseField):
    """Decimal values; stored in MongoDB as Decimal128, exported to JSON as strings
    so no precision is lost on the way.

    A value is accepted exactly when ``bson.Decimal128`` can hold it without
    rounding (at most 34 significant digits, exponent in range), and kept as
    Decimal128 stores it (``fit_decimal128``): no value is silently rounded.
    """

    python_type = Decimal
    json_type = "string"
    json_format = "decimal"
    ordered = True
    max_digits: ClassVar[int | None] = None

    def coerce(self, value: Any) -> Decimal:
        cls = value.__class__
        if cls is Decimal128:
            result = decimal128_to_decimal(value)
            if not result.is_finite():
                raise FieldError("Value must be a finite number", "finite_number")
            return result  # what MongoDB holds fits by definition
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
        elif isinstance(value, Decimal128):  # a subclass
            result = value.to_decimal()
        else:
            raise FieldError("Value must be a decimal number", "decimal_type")
        if not result.is_finite():
            raise FieldError("Value must be a finite number", "finite_number")
        return fit_decimal128(result)

    def guard_extras(self, var: str, stored: bool = False) -> list[str]:
        # Decimal("NaN") and Decimal("Infinity") are Decimals too
        return [f"{var}.is_finite()"]

    def coerce_expr(self, var: str, ns: Namespace, depth: int = 0, stored: bool = False) -> str:
        guard = self.fast_guard(var, ns, stored)
        if stored or guard is None:
            return super().coerce_expr(var, ns, depth, stored)
        # a Decimal that Decimal128 cannot hold makes _fit raise: the caller's
        # fallback then reports it at its location
        fit = self._register(ns, _fit_or_raise, "fit")
        slow = self._register(ns, self.to_python, "c")
        expr = f"({fit}({var}) if {guard} else {slow}({var}))"
        return f"(None if {var} is None else {expr})" if self.nullable else expr

    def guard_lines(self, var: str, ns: Namespace, fallback: str, stored: bool) -> list[str]:
        # A Decimal is fitted to Decimal128 (unless read from MongoDB, ``stored``); a
        # Decimal128 (a document read from MongoDB) is converted inline and then
        # meets the same guard as any Decimal; a value failing either (NaN,
        # out of range, too many digits...) takes the fallback, which reports it.
        guard = self.fast_guard(var, ns, stored)
        if guard is None:
            return [fallback]  # to_python converts a Decimal128 just as cheaply
        d128 = self._register(ns, Decimal128, "t")
        convert = self._register(ns, decimal128_to_decimal, "c")
        fit = "pass" if stored else f"{var} = {self._register(ns, _fit_or_raise, 'fit')}({var})"
        inner = [
            f"if {guard}:",
            f"    {fit}",
            f"elif {var}.__class__ is {d128}:",
            f"    {var} = {convert}({var})",
            f"    if not ({guard}):",
            f"        {fallback}",
            "else:",
            f"    {fallback}",
        ]
        if self.nullable:
            inner = [f"if {var} is not None:", *(f"    {line}" for line in inner)]
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
