"""ValidationError: every failing field, with its location, raised once."""

from __future__ import annotations

import pytest

from tbone.data import Field, FieldError, Model, ValidationError

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


def test_unexpected_exceptions_in_validators_become_errors() -> None:
    def explode(value: int) -> int:
        raise KeyError("boom")

    class M(Model):
        n: int = Field(validators=[explode])

    (err,) = errors_of(M, {"n": 1})
    assert err["loc"] == ("n",) and "KeyError" in err["msg"]


def test_top_level_error_has_empty_location() -> None:
    assert errors_of(Book, [1, 2]) == [
        {"loc": (), "msg": "Input must be a mapping, got list", "type": "model_type"}
    ]
