"""str, int, float, bool and Decimal: what each accepts and what it rejects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tbone.data import Model
from tbone.data.fields import BooleanField, DecimalField, FloatField, IntegerField, StringField

from .helpers import types


class Scalars(Model):
    s: str | None = None
    i: int | None = None
    f: float | None = None
    b: bool | None = None
    d: Decimal | None = None


def test_annotations_map_to_field_classes() -> None:
    assert isinstance(Scalars.s, StringField)
    assert isinstance(Scalars.i, IntegerField)
    assert isinstance(Scalars.f, FloatField)
    assert isinstance(Scalars.b, BooleanField)
    assert isinstance(Scalars.d, DecimalField)


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("s", "hello", "hello"),
        ("s", "", ""),
        ("i", 34, 34),
        ("i", "34", 34),
        ("i", " -7 ", -7),
        ("i", "+12", 12),
        ("i", 3.0, 3),
        ("i", Decimal("4"), 4),
        ("i", 10**30, 10**30),
        ("f", "34.77", 34.77),
        ("f", 34.77, 34.77),
        ("f", 3, 3.0),
        ("f", "1e3", 1000.0),
        ("f", Decimal("2.5"), 2.5),
        ("b", True, True),
        ("b", False, False),
        ("b", "true", True),
        ("b", "No", False),
        ("b", 1, True),
        ("b", 0, False),
        ("d", "12.50", Decimal("12.50")),
        ("d", 3, Decimal(3)),
        ("d", 0.1, Decimal("0.1")),
        ("d", Decimal("1.1"), Decimal("1.1")),
    ],
)
def test_accepts_primitive_forms(name: str, raw: Any, expected: Any) -> None:
    value = getattr(Scalars.from_data({name: raw}), name)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("name", "raw", "code"),
    [
        ("s", 3, "string_type"),
        ("s", b"bytes", "string_type"),
        ("s", ["a"], "string_type"),
        ("i", "3.5", "int_parsing"),
        ("i", "1e3", "int_parsing"),
        ("i", "", "int_parsing"),
        ("i", "1_000", "int_parsing"),
        ("i", "\u0663", "int_parsing"),  # an Arabic-Indic digit: int() takes it, JSON never has it
        ("i", 3.5, "int_from_float"),
        ("i", 2.0**60, "int_from_float"),  # not exact: orjson reads huge JSON ints as floats
        ("i", Decimal("3.5"), "int_from_float"),
        ("i", True, "int_type"),
        ("i", False, "int_type"),
        ("i", None, "none_not_allowed"),
        ("i", [1], "int_type"),
        ("f", True, "float_type"),
        ("f", "abc", "float_parsing"),
        ("f", "1_000.5", "float_parsing"),
        ("f", "nan", "finite_number"),
        ("f", float("inf"), "finite_number"),
        ("f", float("nan"), "finite_number"),
        ("f", 10**400, "finite_number"),
        ("f", {}, "float_type"),
        ("b", "maybe", "bool_parsing"),
        ("b", 2, "bool_parsing"),
        ("b", 1.0, "bool_parsing"),
        ("d", True, "decimal_type"),
        ("d", "twelve", "decimal_parsing"),
        ("d", Decimal("NaN"), "finite_number"),
        ("d", Decimal("Infinity"), "finite_number"),
        ("d", "Infinity", "finite_number"),
        ("d", [], "decimal_type"),
    ],
)
def test_rejects(name: str, raw: Any, code: str) -> None:
    if raw is None:

        class Strict(Model):
            i: int

        assert types(Strict, {"i": None}) == [code]
        return
    assert types(Scalars, {name: raw}) == [code]


def test_no_silent_truncation_in_lists_either() -> None:
    class Counts(Model):
        values: list[int]

    assert types(Counts, {"values": [1, "2", 2.5, True]}) == ["int_from_float", "int_type"]
    assert Counts.from_data({"values": [1, "2", 3.0]}).values == [1, 2, 3]


def test_string_subclass_is_normalized_to_str() -> None:
    class Name(str):
        pass

    value = Scalars.from_data({"s": Name("x")}).s
    assert type(value) is str and value == "x"


def test_int_subclass_is_normalized_to_int() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    value = Scalars.from_data({"i": Level.HIGH}).i
    assert type(value) is int and value == 3


def test_export_of_scalars() -> None:
    m = Scalars.from_data({"s": "a", "i": 1, "f": 1.5, "b": True, "d": "1.10"})
    assert m.export_data(native=True) == {"s": "a", "i": 1, "f": 1.5, "b": True, "d": Decimal("1.10")}
    # Decimal exports as a string so no precision is lost in JSON
    assert m.export_data(native=False) == {"s": "a", "i": 1, "f": 1.5, "b": True, "d": "1.10"}
