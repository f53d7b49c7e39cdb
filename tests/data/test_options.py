"""Every ``Field(...)`` option."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import pytest

from tbone.data import ConfigurationError, Field, Model, ModelMeta, ValidationError

from .helpers import errors_of, types


def test_default_and_required() -> None:
    class M(Model):
        needed: str
        opt: int = 5
        forced: int = Field(default=1, required=True)
        loose: int = Field(required=False)

    assert M.needed.required and not M.opt.required and M.forced.required and not M.loose.required
    m = M.from_data({"needed": "x", "forced": 2})
    assert (m.opt, m.loose) == (5, None)
    errors = errors_of(M, {})
    assert [(e["loc"], e["type"]) for e in errors] == [(("needed",), "missing"), (("forced",), "missing")]


def test_default_factory_gives_each_instance_its_own_value() -> None:
    class M(Model):
        tags: list[str] = Field(default_factory=list)
        also: list[str] = Field(default=["a"])  # a mutable default is copied per instance

    a, b = M(), M()
    a.tags.append("x")
    a.also.append("y")
    assert b.tags == [] and b.also == ["a"]


def test_default_and_default_factory_exclusive() -> None:
    with pytest.raises(TypeError, match="not both"):
        Field(default=1, default_factory=list)
    with pytest.raises(TypeError, match="unexpected options"):
        Field(minimum=1)  # type: ignore[call-overload]


def test_choices() -> None:
    class M(Model):
        size: str = Field(default="M", choices=["S", "M", "L"])

    assert M.from_data({"size": "L"}).size == "L"
    assert types(M, {"size": "XL"}) == ["choice"]


def test_validators_run_in_order_and_may_normalize() -> None:
    calls: list[str] = []

    def strip(value: str) -> str:
        calls.append("strip")
        return value.strip()

    def not_empty(value: str) -> None:
        calls.append("not_empty")
        if not value:
            raise ValueError("must not be empty")

    class M(Model):
        name: str = Field(validators=[strip, not_empty])

    assert M.from_data({"name": "  Ada "}).name == "Ada"
    assert calls == ["strip", "not_empty"]
    (err,) = errors_of(M, {"name": "   "})
    assert err == {"loc": ("name",), "msg": "must not be empty", "type": "value_error"}


def test_projection_ternary() -> None:
    class M(Model):
        always: str | None = None
        when_set: str | None = Field(default=None, projection=False)
        never: str = Field(default="secret", projection=None)

    empty = asyncio.run(M().serialize())
    assert empty == {"always": None}
    full = asyncio.run(M(always="a", when_set="b").serialize())
    assert full == {"always": "a", "when_set": "b"}
    # projection only shapes API output: export_data keeps every field
    assert M().export_data() == {"always": None, "when_set": None, "never": "secret"}


async def test_readonly_is_ignored_by_deserialize_only() -> None:
    class M(Model):
        name: str = ""
        password: str | None = Field(default=None, readonly=True)

    m = M()
    await m.deserialize({"name": "a", "password": "hacked"})
    assert (m.name, m.password) == ("a", None)
    m.import_data({"password": "set by the server"})
    assert m.password == "set by the server"
    assert M.from_data({"password": "p"}).password == "p"
    assert M._meta.readonly_keys() == frozenset({"password"})


def test_primary_key() -> None:
    class WithPk(Model):
        code: str = Field(primary_key=True)

    class Default(Model):
        _id: int | None = None

    class NoPk(Model):
        name: str = ""

    assert WithPk._meta.pk_field is WithPk.code and WithPk(code="x").pk == "x"
    assert Default._meta.pk_field is Default._id and Default(_id=4).pk == 4
    assert NoPk._meta.pk_field is None and NoPk().pk is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [(0, "too_small"), (11, "too_large"), (1, None), (10, None), ("11", "too_large")],
)
def test_min_max(raw: Any, code: str | None) -> None:
    class M(Model):
        n: int = Field(min=1, max=10)
        f: float = Field(default=0.5, min=0.0, max=1.0)

    if code is None:
        assert M.from_data({"n": raw}).n == int(raw)
    else:
        assert types(M, {"n": raw}) == [code]
    assert types(M, {"n": 5, "f": 1.5}) == ["too_large"]


def test_string_length_and_pattern() -> None:
    class M(Model):
        code: str = Field(min_length=2, max_length=4, pattern=r"^[A-Z]+$")

    assert M.from_data({"code": "ABC"}).code == "ABC"
    assert types(M, {"code": "A"}) == ["too_short"]
    assert types(M, {"code": "ABCDE"}) == ["too_long"]
    assert types(M, {"code": "abc"}) == ["pattern_mismatch"]


def test_sizes() -> None:
    class M(Model):
        items: list[int] = Field(default_factory=list, min_size=1, max_size=3)

    assert types(M, {"items": []}) == ["too_short"]
    assert types(M, {"items": [1, 2, 3, 4]}) == ["too_long"]
    assert M.from_data({"items": [1]}).items == [1]


def test_alias_is_the_data_key_and_the_constructor_keyword() -> None:
    class M(Model):
        first_name: str = Field(alias="firstName")

    m = M(firstName="Ada")  # PEP 681: the alias is the keyword (see tests/typing)
    assert m.first_name == "Ada"
    assert M.first_name.data_key == "firstName" and M.first_name.name == "first_name"
    assert M.from_data({"firstName": "Bo"}).first_name == "Bo"
    assert errors_of(M, {"first_name": "Bo"})[0]["loc"] == ("firstName",)
    assert m.export_data() == {"firstName": "Ada"}
    assert "firstName" in M.schema()["properties"]
    with pytest.raises(TypeError, match="unexpected keyword"):
        M(first_name="Ada")


def test_options_in_annotated() -> None:
    class M(Model):
        rating: Annotated[int, Field(min=1, max=5)] = 3

    assert M().rating == 3
    assert types(M, {"rating": 6}) == ["too_large"]


def test_description_goes_to_schema() -> None:
    class M(Model):
        name: str = Field(default="", description="what we call it")

    assert M.schema()["properties"]["name"]["description"] == "what we call it"


def test_validation_error_is_raised_by_construction_too() -> None:
    class M(Model):
        n: int = Field(min=0)

    with pytest.raises(ValidationError):
        M(n=-1)


# -- options that do not fit the field's type: ConfigurationError on first use --------


@pytest.mark.parametrize(
    ("annotation", "options", "option"),
    [
        (str, {"min": 1}, "min"),
        (str, {"max": "z"}, "max"),
        (bool, {"min": 0}, "min"),
        (list[int], {"min": 1}, "min"),
        (int, {"min_length": 1}, "min_length"),
        (float, {"max_length": 3}, "max_length"),
        (list[str], {"pattern": "^a"}, "pattern"),
        (dict[str, int], {"min_length": 1}, "min_length"),
        (str, {"min_size": 1}, "min_size"),
        (int, {"max_size": 3}, "max_size"),
        (int, {"min": "a"}, "min"),  # a bound the field cannot take
        (int, {"max": 1.5}, "max"),
        (str, {"max_length": -1}, "max_length"),
        (list[int], {"max_size": 2.0}, "max_size"),
    ],
)
def test_an_option_that_does_not_fit_the_type_is_a_configuration_error(
    annotation: Any, options: dict[str, Any], option: str
) -> None:
    Wrong = ModelMeta("Wrong", (Model,), {"__annotations__": {"x": annotation}, "x": Field(**options)})
    with pytest.raises(ConfigurationError) as info:
        Wrong.from_data({})
    assert str(info.value).startswith("Wrong.x: option ") and repr(option) in str(info.value)


def test_options_of_list_items_and_dict_values_are_checked_too() -> None:
    class Items(Model):
        tags: list[Annotated[str, Field(min=1)]] = Field(default_factory=list)

    class Values(Model):
        scores: dict[str, Annotated[int, Field(pattern="x")]] = Field(default_factory=dict)

    with pytest.raises(ConfigurationError, match=r"Items\.tags\[\]: option 'min'"):
        Items.from_data({})
    with pytest.raises(ConfigurationError, match=r"Values\.scores\{\}: option 'pattern'"):
        Values.schema()


def test_bounds_are_coerced_by_their_field() -> None:
    class Bounded(Model):
        n: int = Field(default=5, min="1", max=10.0)
        price: Decimal = Field(default=Decimal(1), min=0)
        at: datetime | None = Field(default=None, min="2024-01-01T00:00:00")

    assert Bounded.n.min == 1 and Bounded.n.max == 10 and type(Bounded.n.max) is int
    assert Bounded.price.min == Decimal(0) and Bounded.at.min == datetime(2024, 1, 1, tzinfo=UTC)
    assert types(Bounded, {"n": 0, "price": "-1", "at": "2023-01-01"}) == ["too_small"] * 3
    assert Bounded.schema()["properties"]["n"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
        "default": 5,
    }


def test_no_string_schema_has_a_minimum() -> None:
    class Text(Model):
        code: str = Field(min_length=1, max_length=3, pattern="^[A-Z]+$")

    assert Text.schema()["properties"]["code"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 3,
        "pattern": "^[A-Z]+$",
    }
