"""Shared helpers for the data tests."""

from __future__ import annotations

from typing import Any

import pytest

from tbone.data import Model, ValidationError
from tbone.data.errors import ErrorDetail


def errors_of(model: type[Model], data: Any) -> list[ErrorDetail]:
    """The ``ValidationError.errors`` that ``model.from_data(data)`` raises."""
    with pytest.raises(ValidationError) as info:
        model.from_data(data)
    return info.value.errors


def locs(model: type[Model], data: Any) -> list[tuple[str | int, ...]]:
    return [err["loc"] for err in errors_of(model, data)]


def types(model: type[Model], data: Any) -> list[str]:
    return [err["type"] for err in errors_of(model, data)]
