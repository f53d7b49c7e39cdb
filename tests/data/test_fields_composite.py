"""list[T], dict[str, T] and nested models: coercion per item and error locations."""

from __future__ import annotations

from typing import Annotated

import pytest

from tbone.data import Field, Model, ValidationError
from tbone.data.fields import DictField, IntegerField, ListField, ModelField

from .helpers import errors_of, locs


class Person(Model):
    name: str
    age: int | None = Field(default=None, min=0)


class Shelf(Model):
    tags: list[str] = Field(default_factory=list)
    counters: dict[str, int] = Field(default_factory=dict)
    owner: Person | None = None
    people: list[Person] = Field(default_factory=list)
    by_role: dict[str, Person] = Field(default_factory=dict)
    grid: list[list[int]] = Field(default_factory=list)
    maybe: list[int | None] = Field(default_factory=list)


def test_field_classes() -> None:
    assert isinstance(Shelf.tags, ListField)
    assert isinstance(Shelf.counters, DictField) and isinstance(Shelf.counters.value, IntegerField)
    assert isinstance(Shelf.owner, ModelField) and Shelf.owner.model is Person
    assert isinstance(Shelf.grid, ListField) and isinstance(Shelf.grid.item, ListField)


def test_lists_coerce_each_item() -> None:
    shelf = Shelf.from_data({"tags": ["a", "b"], "grid": [[1, "2"], []], "maybe": [1, None]})
    assert shelf.tags == ["a", "b"]
    assert shelf.grid == [[1, 2], []]
    assert shelf.maybe == [1, None]


def test_tuple_is_accepted_as_a_list() -> None:
    assert Shelf.from_data({"tags": ("a", "b")}).tags == ["a", "b"]


def test_list_is_copied_not_shared() -> None:
    tags = ["a"]
    shelf = Shelf.from_data({"tags": tags})
    tags.append("b")
    assert shelf.tags == ["a"]
    exported = shelf.export_data()
    exported["tags"].append("c")
    assert shelf.tags == ["a"]


def test_dicts_coerce_each_value() -> None:
    assert Shelf.from_data({"counters": {"a": "3", "b": 4}}).counters == {"a": 3, "b": 4}


def test_nested_models_from_mappings_and_instances() -> None:
    leo = Person(name="Leo")
    shelf = Shelf.from_data({"owner": {"name": "Ada", "age": "36"}, "people": [leo, {"name": "Bo"}]})
    assert shelf.owner == Person(name="Ada", age=36)
    assert shelf.people[0] is leo
    assert shelf.people[1] == Person(name="Bo")
    assert Shelf.from_data({"by_role": {"chair": {"name": "X"}}}).by_role == {"chair": Person(name="X")}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"tags": "abc"}, [("tags",)]),
        ({"tags": ["a", 1, "b", 2]}, [("tags", 1), ("tags", 3)]),
        ({"counters": {"a": "x", "b": 1, "c": 2.5}}, [("counters", "a"), ("counters", "c")]),
        ({"counters": [1]}, [("counters",)]),
        ({"owner": {"age": -1}}, [("owner", "name"), ("owner", "age")]),
        ({"owner": "Ada"}, [("owner",)]),
        ({"people": [{"name": "ok"}, {"name": 1}, 7]}, [("people", 1, "name"), ("people", 2)]),
        ({"by_role": {"chair": {"age": "old"}}}, [("by_role", "chair", "name"), ("by_role", "chair", "age")]),
        ({"grid": [[1], [2, "x"]]}, [("grid", 1, 1)]),
        ({"maybe": [None, "y"]}, [("maybe", 1)]),
    ],
)
def test_error_locations(data: dict[str, object], expected: list[tuple[str | int, ...]]) -> None:
    assert locs(Shelf, data) == expected


def test_non_string_dict_keys_are_reported() -> None:
    (err,) = errors_of(Shelf, {"counters": {1: 2}})
    assert err["type"] == "dict_key_type" and err["loc"] == ("counters", "1")


def test_size_limits() -> None:
    class Limited(Model):
        items: list[int] = Field(default_factory=list, min_size=1, max_size=2)
        names: dict[str, str] = Field(default_factory=dict, max_size=1)

    assert Limited.from_data({"items": [1, 2]}).items == [1, 2]
    assert [e["type"] for e in errors_of(Limited, {"items": []})] == ["too_short"]
    assert [e["type"] for e in errors_of(Limited, {"items": [1, 2, 3]})] == ["too_long"]
    too_many_names = {"items": [1], "names": {"a": "", "b": ""}}
    assert [e["type"] for e in errors_of(Limited, too_many_names)] == ["too_long"]
    # item errors are still reported when the list has checks
    assert locs(Limited, {"items": ["x"]}) == [("items", 0)]


def test_annotated_item_field() -> None:
    class Scores(Model):
        values: list[Annotated[int, Field(min=0, max=10)]] = Field(default_factory=list)

    assert Scores.from_data({"values": [0, "10"]}).values == [0, 10]
    assert locs(Scores, {"values": [1, 11, -1]}) == [("values", 1), ("values", 2)]


def test_export_nested_native_and_primitive() -> None:
    shelf = Shelf.from_data({"owner": {"name": "Ada"}, "people": [{"name": "Bo", "age": 3}]})
    native = shelf.export_data()
    assert native["owner"] == {"name": "Ada", "age": None}
    assert native["people"] == [{"name": "Bo", "age": 3}]
    assert shelf.export_data(native=False)["by_role"] == {}


def test_export_copies_plain_models() -> None:
    # a plain model exports by copying its values: the copy must be independent
    person = Person(name="Ada")
    out = person.export_data()
    out["name"] = "changed"
    assert person.name == "Ada"
    person.extra = "not a field"  # type: ignore[attr-defined]
    assert person.export_data() == {"name": "Ada", "age": None}


# -- keys MongoDB cannot take, integers BSON cannot hold, at any depth -------------------


class Checked(Model):
    counters: dict[str, int] = Field(default_factory=dict, max_size=10)  # the slow path


@pytest.mark.parametrize("key", ["a\x00b", "\x00", "$set", "$ref", "a.b", ".", "price.$"])
@pytest.mark.parametrize("model", [Shelf, Checked])
def test_dict_keys_with_nul_dollar_or_dot_are_refused(key: str, model: type[Model]) -> None:
    for build in (lambda: model.from_data({"counters": {"ok": 1, key: 2}}), lambda: model(counters={key: 2})):
        with pytest.raises(ValidationError) as info:
            build()
        assert [(e["loc"], e["type"]) for e in info.value.errors] == [(("counters", key), "dict_key")]


def test_dict_key_checks_hold_in_nested_dicts_and_models() -> None:
    class Deep(Model):
        maps: list[dict[str, dict[str, int]]] = Field(default_factory=list)
        by_role: dict[str, Person] = Field(default_factory=dict)

    assert locs(Deep, {"maps": [{"ok": {"x.y": 1}}], "by_role": {"$where": {"name": "a"}}}) == [
        ("maps", 0, "ok", "x.y"),
        ("by_role", "$where"),
    ]
    # "$" and "." inside a key are allowed where MongoDB queries them fine
    assert Deep.from_data({"maps": [{"a$b": {"c-d e": 1}}]}).maps == [{"a$b": {"c-d e": 1}}]


def test_integers_beyond_64_bits_in_nested_models_lists_and_dicts() -> None:
    big = 2**64
    data = {"counters": {"k": big}, "owner": {"name": "a", "age": big}, "people": [{"name": "b", "age": big}]}
    data |= {"grid": [[1, big]], "maybe": [None, big], "by_role": {"r": {"name": "c", "age": str(big)}}}
    assert locs(Shelf, data) == [
        ("counters", "k"),
        ("owner", "age"),
        ("people", 0, "age"),
        ("by_role", "r", "age"),
        ("grid", 0, 1),
        ("maybe", 1),
    ]
