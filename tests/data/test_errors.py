"""ValidationError: every failing field, with its location, raised once."""

from __future__ import annotations

import traceback
from typing import Annotated, Any

import pytest

from tbone.data import Field, FieldError, Model, ValidationError
from tbone.data.fields import IntegerField, validator

from .helpers import errors_of


class Person(Model):
    name: str
    age: int = Field(default=0, min=0)


class Book(Model):
    title: str
    authors: list[Person] = Field(default_factory=list)
    editors: dict[str, Person] = Field(default_factory=dict)
    main: Person | None = None


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(ValidationError, ValueError)
    with pytest.raises(ValueError):
        Book.from_data({})


def test_every_failing_field_is_reported_in_field_order() -> None:
    errors = errors_of(
        Book,
        {
            "authors": [{"name": "a", "age": -1}, {"age": "x"}],
            "editors": {"chief": {"name": 3}},
            "main": {"name": "m", "age": 1.5},
        },
    )
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("title",), "missing"),
        (("authors", 0, "age"), "too_small"),
        (("authors", 1, "name"), "missing"),
        (("authors", 1, "age"), "int_parsing"),
        (("editors", "chief", "name"), "string_type"),
        (("main", "age"), "int_from_float"),
    ]
    assert all(isinstance(e["msg"], str) and e["msg"] for e in errors)


def test_message_lists_locations() -> None:
    with pytest.raises(ValidationError) as info:
        Book.from_data({"authors": [{"name": "a", "age": -1}]})
    text = str(info.value)
    assert text.startswith("2 validation errors for Book")
    assert "authors.0.age: Value must be at least 0 [type=too_small]" in text
    assert info.value.model == "Book"


def test_prefixed() -> None:
    error = ValidationError([{"loc": ("age",), "msg": "bad", "type": "value_error"}])
    expected = [{"loc": ("authors", 0, "age"), "msg": "bad", "type": "value_error"}]
    assert error.prefixed("authors", 0) == expected
    assert str(error) == "1 validation error\n  age: bad [type=value_error]"


def test_field_error_keeps_its_type_code() -> None:
    def check(value: str) -> str:
        raise FieldError("no vowels allowed", "vowels")

    class M(Model):
        word: str = Field(validators=[check])

    assert errors_of(M, {"word": "a"}) == [{"loc": ("word",), "msg": "no vowels allowed", "type": "vowels"}]


# -- a bug in a validator is a bug, not bad data (as in pydantic) -----------------------


class Flaky(IntegerField):
    @validator
    def buggy(self, value: int) -> int:
        if value == 13:
            return value.nonexistent  # type: ignore[attr-defined,no-any-return]  # the bug
        if value < 0:
            raise ValueError("must not be negative")
        if value == 7:  # an assert statement, which pytest would rewrite in this module
            raise AssertionError("seven is unlucky")
        return value


def explode(value: int) -> int:
    if value == 13:
        raise KeyError("boom")
    if value == 7:
        raise AssertionError
    if value < 0:
        raise FieldError("negative", "negative")
    return value


class Checked(Model):
    method: Annotated[int, Flaky()] = 0
    function: int = Field(default=0, validators=[explode])
    items: list[Annotated[int, Flaky()]] = Field(default_factory=list)
    nested: Checked | None = None


def test_value_and_assertion_errors_in_validators_are_field_errors() -> None:
    errors = errors_of(Checked, {"method": -1, "function": -1, "items": [7], "nested": {"function": 7}})
    assert errors == [
        {"loc": ("method",), "msg": "must not be negative", "type": "value_error"},
        {"loc": ("function",), "msg": "negative", "type": "negative"},
        {"loc": ("items", 0), "msg": "seven is unlucky", "type": "assertion_error"},
        {"loc": ("nested", "function"), "msg": "Assertion failed", "type": "assertion_error"},
    ]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"method": 13}, AttributeError),
        ({"function": 13}, KeyError),
        ({"items": [1, 13]}, AttributeError),
        ({"nested": {"nested": {"function": 13}}}, KeyError),
        ({"method": -1, "function": 13}, KeyError),  # a bug wins over bad data
    ],
)
def test_any_other_exception_in_a_validator_propagates_unchanged(data: dict[str, Any], error: type) -> None:
    for build in (
        lambda: Checked.from_data(data),
        lambda: Checked(**data),
        lambda: Checked._tbone_adopt(data),
    ):
        with pytest.raises(error) as info:
            build()
        assert not isinstance(info.value, ValueError)
    checked = Checked()
    with pytest.raises(error):
        checked.import_data(data)
    checked.__dict__.update(Checked.from_data({}).__dict__)
    with pytest.raises(error):
        for key, value in data.items():
            setattr(checked, key, value)
        checked.validate()


def test_the_propagated_exception_keeps_its_traceback() -> None:
    with pytest.raises(AttributeError) as info:
        Checked.from_data({"method": 13})
    assert "value.nonexistent" in "".join(traceback.format_exception(info.value))


def test_top_level_error_has_empty_location() -> None:
    assert errors_of(Book, [1, 2]) == [
        {"loc": (), "msg": "Input must be a mapping, got list", "type": "model_type"}
    ]
