"""Date and time fields.

Timezones: a ``DateTimeField`` value is always timezone-aware. Naive input is
taken as UTC (MongoDB stores UTC instants and pymongo returns naive UTC unless
``tz_aware=True``), so a value read back from the database compares equal to
the value saved. Aware input keeps its offset; export to JSON is ISO-8601.
An aware value whose UTC time falls outside years 1-9999 (``0001-01-01T00:00+14:00``)
is refused: neither Python nor BSON can hold that instant.

A ``DateField`` holds a ``date``; since BSON has no date type it is stored as a
UTC midnight datetime, and such a datetime coerces back to the date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from tbone.data.errors import FieldError
from tbone.data.fields.base import BaseField, Namespace

__all__ = ["DateField", "DateTimeField", "TimeField"]


def _parse_iso_datetime(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise FieldError(f"Value {text!r} is not a valid ISO-8601 datetime", "datetime_parsing") from None


def _check_utc_range(value: datetime) -> None:
    """An aware datetime in year 1 or 9999 may fall outside years 1-9999 in UTC,
    which MongoDB stores and Python can represent."""
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise FieldError(
            f"Value {value.isoformat()} is outside years 1-9999 in UTC", "datetime_range"
        ) from None


class DateTimeField(BaseField):
    python_type = datetime
    json_type = "string"
    json_format = "date-time"
    ordered = True

    def coerce(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            result = value
        elif isinstance(value, str):
            result = _parse_iso_datetime(value)
        elif isinstance(value, date):
            result = datetime(value.year, value.month, value.day)
        else:
            raise FieldError("Value must be a datetime or an ISO-8601 string", "datetime_type")
        if result.tzinfo is None:
            return result.replace(tzinfo=UTC)
        if not 1 < result.year < 9999:
            _check_utc_range(result)
        return result

    def _refresh(self) -> None:
        # bounds follow the value policy: naive means UTC, so comparisons never mix
        for attr in ("min", "max"):
            bound = getattr(self, attr, None)
            if isinstance(bound, datetime) and bound.tzinfo is None:
                setattr(self, attr, bound.replace(tzinfo=UTC))
        super()._refresh()

    def guard_extras(self, var: str, stored: bool = False) -> list[str]:
        # years 1 and 9999 take the slow path: an offset may move them out of range
        return [f"{var}.tzinfo is not None"] + ([] if stored else [f"1 < {var}.year < 9999"])

    def _plain(self, ns: Namespace) -> bool:
        """No option checks: an ISO string can be parsed inline, skipping ``coerce``."""
        return not self.has_checks and self.fast_guard("v", {}) is not None

    def coerce_expr(self, var: str, ns: Namespace, depth: int = 0, stored: bool = False) -> str:
        if not self._plain(ns):
            return super().coerce_expr(var, ns, depth, stored)
        guard = str(self.fast_guard(var, ns, stored))
        to_python = self.to_python

        def from_iso(value: Any) -> Any:
            # JSON's usual form, parsed without the generic coerce() chain
            if value.__class__ is str:
                parsed = datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    return parsed.replace(tzinfo=UTC)
                if 1 < parsed.year < 9999:
                    return parsed
            return to_python(value)

        parse = self._register(ns, from_iso, "iso")
        if self.nullable:
            guard = f"{var} is None or {guard}"
        return f"({var} if {guard} else {parse}({var}))"

    def guard_lines(self, var: str, ns: Namespace, fallback: str, stored: bool) -> list[str]:
        if not self._plain(ns):
            return super().guard_lines(var, ns, fallback, stored)
        guard = str(self.fast_guard(var, ns, stored))
        if self.nullable:
            guard = f"{var} is None or {guard}"
        text = self._register(ns, str, "t")
        parse = self._register(ns, datetime.fromisoformat, "iso")
        utc = self._register(ns, UTC, "utc")
        return [
            f"if {var}.__class__ is {text}:",
            "    try:",
            f"        {var} = {parse}({var})",
            "    except Exception:",
            f"        {fallback}",
            "    else:",
            f"        if {var}.tzinfo is None: {var} = {var}.replace(tzinfo={utc})",
            f"        elif not 1 < {var}.year < 9999: {fallback}",
            f"elif not ({guard}):",
            f"    {fallback}",
        ]

    primitive_template = "{}.isoformat()"


class DateField(BaseField):
    python_type = date
    json_type = "string"
    json_format = "date"
    ordered = True

    def coerce(self, value: Any) -> date:
        if isinstance(value, datetime):
            if value.time() != time(0) or (value.tzinfo and value.utcoffset()):
                raise FieldError("Value must be a date, not a datetime with a time", "date_type")
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                raise FieldError(f"Value {value!r} is not a valid ISO-8601 date", "date_parsing") from None
        raise FieldError("Value must be a date or an ISO-8601 string", "date_type")

    primitive_template = "{}.isoformat()"


class TimeField(BaseField):
    python_type = time
    json_type = "string"
    json_format = "time"
    ordered = True

    def coerce(self, value: Any) -> time:
        if isinstance(value, time):
            return value
        if isinstance(value, str):
            try:
                return time.fromisoformat(value.strip())
            except ValueError:
                raise FieldError(f"Value {value!r} is not a valid ISO-8601 time", "time_parsing") from None
        raise FieldError("Value must be a time or an ISO-8601 string", "time_type")

    primitive_template = "{}.isoformat()"
