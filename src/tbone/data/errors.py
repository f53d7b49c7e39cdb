"""Exceptions of the data layer.

Two kinds are kept apart: ``ConfigurationError`` means the framework was used
wrongly (raised while a class is being defined or first used), while
``ValidationError`` means the data is bad. Both subclass builtins so a plain
``except ValueError`` / ``except TypeError`` keeps working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, TypeVar

__all__ = [
    "ConfigurationError",
    "ErrorDetail",
    "FieldError",
    "Loc",
    "ValidationError",
    "error_details",
    "propagate",
]

Loc = tuple[str | int, ...]


class ErrorDetail(TypedDict):
    """One failing value: where (``loc``), why (``msg``) and a stable ``type`` code."""

    loc: Loc
    msg: str
    type: str


class ConfigurationError(TypeError):
    """The framework was used wrongly, e.g. an annotation no field class handles."""


class FieldError(ValueError):
    """Raised by a field's coercion or checks for one value; becomes an ``ErrorDetail``."""

    def __init__(self, msg: str, type: str = "value_error") -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type


class ValidationError(ValueError):
    """Every failing field of one validation, each with its location.

    ``errors`` follows pydantic's shape: ``{"loc": ("authors", 0, "age"),
    "msg": "...", "type": "..."}``.
    """

    def __init__(self, errors: Sequence[ErrorDetail], model: str | None = None) -> None:
        self.errors: list[ErrorDetail] = list(errors)
        self.model = model
        super().__init__(self._summary())

    def _summary(self) -> str:
        head = f"{len(self.errors)} validation error{'s' if len(self.errors) != 1 else ''}"
        if self.model:
            head += f" for {self.model}"
        lines = [head]
        for err in self.errors:
            where = ".".join(str(part) for part in err["loc"]) or "<model>"
            lines.append(f"  {where}: {err['msg']} [type={err['type']}]")
        return "\n".join(lines)

    def prefixed(self, *prefix: str | int) -> list[ErrorDetail]:
        """The errors with ``prefix`` prepended to each location (for nesting)."""
        return [
            {"loc": (*prefix, *err["loc"]), "msg": err["msg"], "type": err["type"]}
            for err in self.errors
        ]


#: The attribute ``propagate`` sets on an exception that is a bug, not bad data.
_PROPAGATE = "_tbone_propagate"

E = TypeVar("E", bound=BaseException)


def propagate(exc: E) -> E:
    """Mark ``exc`` (raised by a validator, not a ``ValueError``) as a bug that must
    reach the caller unchanged: ``error_details`` re-raises it instead of turning
    it into a field error, wherever coercion errors are collected."""
    setattr(exc, _PROPAGATE, True)
    return exc


def error_details(exc: BaseException, loc: Loc) -> list[ErrorDetail]:
    """Turn any exception raised while coercing the value at ``loc`` into details;
    re-raise one marked by ``propagate`` (a bug in a validator)."""
    if getattr(exc, _PROPAGATE, False):
        raise exc
    if isinstance(exc, ValidationError):
        return exc.prefixed(*loc)
    if isinstance(exc, FieldError):
        return [{"loc": loc, "msg": exc.msg, "type": exc.type}]
    if isinstance(exc, ValueError | TypeError):
        return [{"loc": loc, "msg": str(exc) or type(exc).__name__, "type": "value_error"}]
    return [{"loc": loc, "msg": f"{type(exc).__name__}: {exc}", "type": "value_error"}]
