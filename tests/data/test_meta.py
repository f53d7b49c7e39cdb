"""Meta options, inheritance, the model-level clean() hook and custom field classes."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pytest

from tbone.data import ConfigurationError, Field, Model, ValidationError, serialize
from tbone.data.fields import IntegerField, StringField, validator

from .helpers import errors_of


class Base(Model):
    name: str = ""
    secret: str = ""
    counter: ClassVar[int] = 0  # not a field

    @serialize
    async def upper(self) -> str:
        return self.name.upper()

    @serialize
    async def hidden(self) -> str:
        return "hidden"

    class Meta:
        namespace = "app"
        creation_args: ClassVar = {"capped": True, "size": 1024}
        indices: ClassVar = [{"name": "by_name", "fields": [("name", 1)], "unique": True}]
        concrete = False


class Child(Base):
    extra: int = 0

    @serialize
    async def shout(self) -> str:
        return self.name + "!"

    class Meta:
        name = "kids"
        exclude_fields = ("secret",)
        exclude_serialize = ("hidden",)


class GrandChild(Child):
    pass


def test_name_and_namespace() -> None:
    assert Base._meta.name == "base" and Base.get_collection_name() == "app.base"
    assert Child._meta.name == "kids" and Child.get_collection_name() == "app.kids"  # namespace inherited
    assert GrandChild._meta.name == "grandchild"

    class Plain(Model):
        x: int = 0

    assert Plain.get_collection_name() == "plain" and Plain._meta.namespace is None


def test_creation_args_indices_and_concrete() -> None:
    assert Base._meta.creation_args == {"capped": True, "size": 1024}
    assert Child._meta.creation_args == {"capped": True, "size": 1024}  # inherited
    assert Child._meta.creation_args is not Base._meta.creation_args
    assert Base._meta.indices[0]["name"] == "by_name" and Child._meta.indices == Base._meta.indices
    assert Base._meta.concrete is False and Child._meta.concrete is True  # not inherited


def test_classvar_is_not_a_field() -> None:
    assert "counter" not in Base._meta.fields and Base.counter == 0


def test_fields_are_inherited_in_order_and_exclude_fields_drops_them() -> None:
    assert list(Base._meta.fields) == ["name", "secret"]
    assert list(Child._meta.fields) == ["name", "extra"]
    assert list(GrandChild._meta.fields) == ["name", "extra"]
    assert Child(name="x").export_data() == {"name": "x", "extra": 0}
    with pytest.raises(TypeError):
        Child(secret="s")  # type: ignore[call-arg]


def test_subclass_fields_are_their_own_objects() -> None:
    # a subclass compiles its own code; the parent keeps working
    assert Base.from_data({"name": "b", "secret": "s"}).secret == "s"
    assert type(Child.from_data({"name": "c"})) is Child
    assert type(GrandChild.from_data({"name": "g"})) is GrandChild


async def test_serialize_methods_are_inherited_and_excludable() -> None:
    assert await Base(name="a").serialize() == {"name": "a", "secret": "", "upper": "A", "hidden": "hidden"}
    assert await Child(name="a").serialize() == {"name": "a", "extra": 0, "upper": "A", "shout": "a!"}
    assert list(GrandChild._meta.serialize_methods) == ["upper", "shout"]


def test_subclass_overrides_a_field() -> None:
    class Strict(Base):
        name: str = Field(min_length=2)

    assert errors_of(Strict, {"name": "a"})[0]["type"] == "too_short"
    assert Base.from_data({"name": "a"}).name == "a"


class Range(Model):
    low: int = 0
    high: int = 0

    def clean(self) -> None:
        if self.low > self.high:
            raise ValueError("low must not exceed high")


class Located(Model):
    start: int = 0
    end: int = 0

    def clean(self) -> None:
        if self.end < self.start:
            raise ValidationError([{"loc": ("end",), "msg": "before start", "type": "order"}])


class Holder(Model):
    ranges: list[Range] = Field(default_factory=list)


def test_clean_checks_across_fields() -> None:
    assert Range.from_data({"low": 1, "high": 2}).high == 2
    assert errors_of(Range, {"low": 3, "high": 2}) == [
        {"loc": (), "msg": "low must not exceed high", "type": "value_error"}
    ]
    assert errors_of(Located, {"start": 3}) == [{"loc": ("end",), "msg": "before start", "type": "order"}]
    assert errors_of(Holder, {"ranges": [{}, {"low": 5}]}) == [
        {"loc": ("ranges", 1), "msg": "low must not exceed high", "type": "value_error"}
    ]


def test_clean_runs_on_construction_and_validate_not_after_field_errors() -> None:
    with pytest.raises(ValidationError):
        Range(low=2, high=1)
    r = Range(low=1, high=2)
    r.low = 5
    with pytest.raises(ValidationError) as info:
        r.validate()
    assert info.value.errors[0]["msg"] == "low must not exceed high"
    # a field error stops before clean(): clean may rely on valid fields
    assert [e["loc"] for e in errors_of(Range, {"low": "x", "high": 1})] == [("low",)]


class PositiveIntegerField(IntegerField):
    @validator
    def positive(self, value: int) -> int:
        if value < 0:
            raise ValueError("Value should be positive")
        return value


class EvenPositiveField(PositiveIntegerField):
    @validator
    def even(self, value: int) -> int:
        if value % 2:
            raise ValueError("Value should be even")
        return value


class Trainee(Model):
    visits: Annotated[int, PositiveIntegerField()] = 0
    pairs: Annotated[int | None, EvenPositiveField()] = None
    nick: Annotated[str, StringField(max_length=3)] = ""


def test_custom_field_with_validator_via_annotated() -> None:
    assert isinstance(Trainee.visits, PositiveIntegerField)
    assert Trainee.from_data({"visits": "3"}).visits == 3
    assert errors_of(Trainee, {"visits": -1}) == [
        {"loc": ("visits",), "msg": "Value should be positive", "type": "value_error"}
    ]
    # validators are inherited, base class first
    assert [e["msg"] for e in errors_of(Trainee, {"pairs": 3})] == ["Value should be even"]
    assert [e["msg"] for e in errors_of(Trainee, {"pairs": -1})] == ["Value should be positive"]
    assert Trainee.from_data({"pairs": None}).pairs is None
    assert errors_of(Trainee, {"nick": "long"})[0]["type"] == "too_long"


def test_configuration_errors() -> None:
    class TwoKeys(Model):
        a: int = Field(default=0, primary_key=True)
        b: int = Field(default=0, primary_key=True)

    class SameKey(Model):
        a: int = Field(default=0, alias="k")
        b: int = Field(default=0, alias="k")

    class TwoFields(Model):
        a: Annotated[int, IntegerField(), IntegerField()] = 0

    for model in (TwoKeys, SameKey, TwoFields):
        with pytest.raises(ConfigurationError):
            model.from_data({})


def test_an_unknown_meta_option_is_a_configuration_error_at_definition() -> None:
    with pytest.raises(ConfigurationError) as info:

        class Typo(Model):
            sku: str

            class Meta:
                indexes = [{"fields": ["sku"], "unique": True}]  # for "indices"

    message = str(info.value)
    assert message.startswith("Typo.Meta: unknown option(s) ['indexes']")
    assert "known options are ['concrete', 'creation_args', 'exclude_fields'" in message
    assert "'indices'" in message and "'name'" in message and "'namespace'" in message


def test_every_known_meta_option_is_taken() -> None:
    class Full(Model):
        a: int = 0

        class Meta:
            name = "full"
            namespace = "ns"
            exclude_fields = ()
            exclude_serialize = ()
            creation_args = {"capped": False}
            indices = [{"fields": ["a"]}]
            concrete = True
            __doc__ = "dunder names are Python's, not options"

    assert Full.get_collection_name() == "ns.full"
