"""str, int, float, bool and Decimal: what each accepts and what it rejects."""

from __future__ import annotations

from decimal import Decimal, DecimalException
from typing import Any

import pytest
from bson import Decimal128
from hypothesis import given
from hypothesis import strategies as st

from tbone.data import Field, FieldError, Model, ValidationError
from tbone.data.fields import BooleanField, DecimalField, FloatField, IntegerField, StringField
from tbone.data.fields.scalars import _decimal128_to_decimal_portable, decimal128_to_decimal

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
        ("i", 2**63 - 1, 2**63 - 1),  # the int64 range, what BSON holds
        ("i", -(2**63), -(2**63)),
        ("i", "9223372036854775807", 2**63 - 1),
        ("i", Decimal("-9223372036854775808"), -(2**63)),
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
        ("d", Decimal128("34.770"), Decimal("34.770")),  # what MongoDB returns
        ("d", Decimal128("-0E-3"), Decimal("-0E-3")),
        ("d", "9" * 34, Decimal("9" * 34)),  # Decimal128's 34 digits
        ("d", "1E-6176", Decimal("1E-6176")),
        (
            "d",
            "9.999999999999999999999999999999999E+6144",
            Decimal("9.999999999999999999999999999999999E+6144"),
        ),
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
        ("d", Decimal128("NaN"), "finite_number"),
        ("d", Decimal128("-Infinity"), "finite_number"),
        ("d", [], "decimal_type"),
        # what BSON cannot hold
        ("i", 2**63, "int64_range"),
        ("i", -(2**63) - 1, "int64_range"),
        ("i", 2**70, "int64_range"),
        ("i", "9223372036854775808", "int64_range"),
        ("i", "-9223372036854775809", "int64_range"),
        ("i", "1" * 5000, "int64_range"),  # beyond int()'s own digit limit
        ("i", Decimal("1e30"), "int64_range"),
        ("d", "1e7000", "decimal128_range"),
        ("d", "-1e6145", "decimal128_range"),
        ("d", "1" * 35, "decimal128_range"),
        ("d", "0." + "1" * 35, "decimal128_range"),
        ("d", Decimal("1" * 35), "decimal128_range"),
        ("d", 10**40 + 1, "decimal128_range"),
        ("d", "1E-6177", "decimal128_range"),
        ("d", "1.5E-6176", "decimal128_range"),
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


# -- Decimal128 (MongoDB's decimal) ------------------------------------------------

SPECIAL = ["0", "-0", "0E-10", "-1.5E+300", "1E-6143", "9999999999999999999999999999999999E6111"]
SPECIAL += ["Infinity", "-Infinity", "NaN", "123456789.0000", "-0.00", "1E+6144"]
CONVERTERS = [decimal128_to_decimal, _decimal128_to_decimal_portable]


@pytest.mark.parametrize("convert", CONVERTERS)
@pytest.mark.parametrize("text", SPECIAL)
def test_decimal128_conversion_matches_the_driver(text: str, convert: Any) -> None:
    value = Decimal128(text)
    assert str(convert(value)) == str(value.to_decimal())


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_decimal128_conversion_round_trips(number: Decimal) -> None:
    try:
        stored = Decimal128(number)
    except Exception:  # beyond Decimal128's 34 digits: the driver refuses it
        return
    for convert in CONVERTERS:
        assert str(convert(stored)) == str(stored.to_decimal())


class Priced(Model):
    price: Decimal
    discount: Decimal | None = Field(default=None, min=0, max=1)
    history: list[Decimal] = Field(default_factory=list)
    rates: dict[str, Decimal] = Field(default_factory=dict)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_decimal128_coerces_exactly_everywhere(number: Decimal) -> None:
    try:
        stored = Decimal128(number)
    except Exception:
        return
    expected = stored.to_decimal()
    built = Priced.from_data({"price": stored, "history": [stored], "rates": {"x": stored}})
    for value in (built.price, built.history[0], built.rates["x"], DecimalField().to_python(stored)):
        assert type(value) is Decimal and str(value) == str(expected)  # precision and exponent kept


def test_decimal128_meets_the_same_checks_as_a_decimal() -> None:
    assert Priced.from_data({"price": Decimal128("1"), "discount": Decimal128("0.25")}).discount == Decimal(
        "0.25"
    )
    assert types(Priced, {"price": Decimal128("1"), "discount": Decimal128("1.5")}) == ["too_large"]
    assert types(Priced, {"price": Decimal128("1"), "discount": Decimal128("NaN")}) == ["finite_number"]
    assert types(Priced, {"price": Decimal128("Infinity"), "history": [Decimal128("NaN")]}) == [
        "finite_number",
        "finite_number",
    ]
    assert types(Priced, {"price": Decimal128("1"), "rates": {"x": Decimal128("-Infinity")}}) == [
        "finite_number"
    ]


def test_decimal128_subclass_goes_through_to_decimal() -> None:
    class Mine(Decimal128):
        pass

    assert Priced.from_data({"price": Mine("2.50")}).price == Decimal("2.50")


# -- what BSON can hold: int64 and Decimal128 -------------------------------------


class Wide(Model):
    n: int = 0
    bounded: int = Field(default=0, min=0)
    counts: list[int] = Field(default_factory=list)
    by_key: dict[str, int] = Field(default_factory=dict)
    nested: list[list[int]] = Field(default_factory=list)
    maybe: int | None = None


BIG = [2**63, -(2**63) - 1, 2**70]


@pytest.mark.parametrize("big", BIG)
def test_python_ints_beyond_64_bits_are_refused_on_the_fast_path(big: int) -> None:
    # an exact int skips coercion in the generated code: the range is checked inline
    data = {
        "n": big,
        "bounded": big,
        "counts": [1, big],
        "by_key": {"k": big},
        "nested": [[big]],
        "maybe": big,
    }
    for build in (lambda: Wide(**data), lambda: Wide.from_data(data), lambda: Wide._tbone_from_data(data)):
        with pytest.raises(ValidationError) as info:
            build()
        assert [(e["loc"], e["type"]) for e in info.value.errors] == [
            (("n",), "int64_range"),
            (("bounded",), "int64_range"),
            (("counts", 1), "int64_range"),
            (("by_key", "k"), "int64_range"),
            (("nested", 0, 0), "int64_range"),
            (("maybe",), "int64_range"),
        ]
    assert Wide(n=2**63 - 1, bounded=2**63 - 1, counts=[-(2**63)]).counts == [-(2**63)]


@pytest.mark.parametrize("big", BIG)
def test_ints_beyond_64_bits_are_refused_by_validate_and_import(big: int) -> None:
    wide = Wide()
    wide.n = big
    with pytest.raises(ValidationError) as info:
        wide.validate()
    assert info.value.errors[0]["loc"] == ("n",) and info.value.errors[0]["type"] == "int64_range"
    with pytest.raises(ValidationError):
        Wide().import_data({"counts": [big]})
    with pytest.raises(FieldError):  # what Model.modify() and query values use
        Wide._meta.fields["n"].to_python(big)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None))
def test_a_decimal_is_accepted_exactly_when_decimal128_holds_it(number: Decimal) -> None:
    try:
        expected: Decimal | None = Decimal128(number).to_decimal()
    except DecimalException:
        expected = None
    builds = [
        lambda: Priced(price=number, history=[number], rates={"x": number}),  # the fast path
        lambda: Priced.from_data(
            {"price": str(number), "history": [str(number)], "rates": {"x": str(number)}}
        ),
    ]
    for build in builds:
        if expected is None:
            with pytest.raises(ValidationError) as info:
                build()
            assert {e["type"] for e in info.value.errors} == {"decimal128_range"}
            assert len(info.value.errors) == 3
        else:
            # kept as Decimal128 holds it (trailing zeros past 34 digits dropped): never rounded
            priced = build()
            for value in (priced.price, priced.history[0], priced.rates["x"]):
                assert value == number and str(value) == str(expected)


def test_decimal_fit_drops_only_trailing_zeros() -> None:
    text = "1." + "0" * 40
    assert str(Priced.from_data({"price": text}).price) == str(Decimal128(Decimal(text)).to_decimal())
    with pytest.raises(ValidationError) as info:
        Priced(price=Decimal("1." + "0" * 39 + "1"))
    assert info.value.errors[0]["msg"].startswith("Value must have at most 34 significant digits")
    with pytest.raises(ValidationError) as info:
        Priced.from_data({"price": "1e7000"})
    assert info.value.errors[0]["msg"].startswith("Value must be less than 1E+6145 in magnitude")
