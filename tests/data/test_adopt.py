"""The adopting builder (``Model._tbone_adopt``): what ``tbone.db`` builds
documents read from the database with, since it owns the decoded dict.

It may convert the dict in place and keep it as the instance's storage, but
must be indistinguishable from ``from_data`` in everything observable: the
values, the errors, and the order of exported keys, for any document a read
can return. It skips the checks of what BSON cannot hold (integers beyond 64
bits, instants beyond year 9999, keys MongoDB cannot query): a read never
meets such values, so they would only cost time.
"""

from __future__ import annotations

import copy
import random
from decimal import Decimal
from typing import Any

import pytest
from bson import Decimal128
from hypothesis import given
from hypothesis import strategies as st

from tbone.data import Field, Model, ValidationError
from tests.data.test_properties import SETTINGS, VALID, Doc, Person, keyed_stored_junk, valid_docs


def shuffled(data: Any, rng: random.Random) -> Any:
    """A deep copy with the keys of every dict (at any depth) in another order."""
    if isinstance(data, dict):
        items = [(k, shuffled(v, rng)) for k, v in data.items()]
        rng.shuffle(items)
        return dict(items)
    if isinstance(data, list):
        return [shuffled(v, rng) for v in data]
    return copy.deepcopy(data)


@SETTINGS
@given(valid_docs, st.randoms(use_true_random=False))
def test_adopting_equals_from_data_whatever_the_key_order(data: dict[str, Any], rng: random.Random) -> None:
    expected = Doc.from_data(data)
    for given_data in (copy.deepcopy(data), shuffled(data, rng)):
        adopted = Doc._tbone_adopt(given_data)
        assert adopted == expected
        for native in (True, False):
            assert list(adopted.export_data(native=native)) == list(expected.export_data(native=native))
            assert adopted.export_data(native=native) == expected.export_data(native=native)
        assert [list(p.export_data()) for p in adopted.people] == [["name", "age"]] * len(adopted.people)


@SETTINGS
@given(keyed_stored_junk | st.builds(lambda junk: {**VALID, **junk}, keyed_stored_junk))
def test_adopting_junk_fails_exactly_like_from_data(junk: dict[str, Any]) -> None:
    try:
        expected = Doc.from_data(copy.deepcopy(junk))
    except ValidationError as exc:
        with pytest.raises(ValidationError) as info:
            Doc._tbone_adopt(copy.deepcopy(junk))
        assert info.value.errors == exc.errors
    else:
        assert Doc._tbone_adopt(copy.deepcopy(junk)) == expected


def test_a_dict_with_exactly_the_fields_becomes_the_storage() -> None:
    data = {"name": "Ann", "age": 3}
    person = Person._tbone_adopt(data)
    assert person.__dict__ is data
    person.age = 4
    assert person.export_data() == {"name": "Ann", "age": 4}


def test_extra_keys_are_dropped_not_adopted() -> None:
    person = Person._tbone_adopt({"name": "Ann", "age": 3, "_id": "x"})
    assert person.export_data() == {"name": "Ann", "age": 3}
    assert "_id" not in vars(person)
    with pytest.raises(AttributeError):
        person.__getattribute__("_id")


def test_missing_keys_take_their_defaults_and_factories_are_not_shared() -> None:
    first = Doc._tbone_adopt({**VALID})
    second = Doc._tbone_adopt({**VALID})
    assert first.tags == [] and first.people == [] and first.lead is None
    first.tags.append("x")
    assert second.tags == []


def test_converted_values_are_written_back() -> None:
    class Line(Model):
        amount: Decimal
        parts: list[Decimal] = Field(default_factory=list)
        nested: list[list[Decimal]] = Field(default_factory=list)

    line = Line._tbone_adopt(
        {"amount": Decimal128("1.5"), "parts": [Decimal128("2"), "3"], "nested": [[Decimal128("4")]]}
    )
    assert line.amount == Decimal("1.5") and line.amount.__class__ is Decimal
    assert line.parts == [Decimal("2"), Decimal("3")]
    assert line.nested == [[Decimal("4")]] and line.nested[0][0].__class__ is Decimal


def test_aliased_models_read_their_aliases() -> None:
    class Aliased(Model):
        id: str = Field(alias="_id")
        kids: list[Person] = Field(default_factory=list)

    found = Aliased._tbone_adopt({"_id": "a", "kids": [{"name": "Bo"}]})
    assert found.id == "a" and found.kids == [Person(name="Bo")]
    assert found.export_data() == {"_id": "a", "kids": [{"name": "Bo", "age": None}]}


def test_a_bad_item_deep_in_a_list_is_reported_at_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        Doc._tbone_adopt({**VALID, "people": [{"name": "a"}, {"name": "b", "age": -1}]})
    assert [e["loc"] for e in info.value.errors] == [("people", 1, "age")]


def test_a_missing_key_and_an_extra_one_do_not_pass_for_a_complete_dict() -> None:
    data = {"name": "Ann", "extra": 1}  # as many keys as Person has fields
    person = Person._tbone_adopt(data)
    assert person.export_data() == {"name": "Ann", "age": None}
    full = {**VALID, "clock": None, "tags": ["a"], "counters": {}, "people": [], "lead": None, "target": None}
    assert len(full) == len(Doc._meta.fields)
    del full["tags"]
    full["x"] = 0  # the count is right again, the keys are not
    doc = Doc._tbone_adopt(full)
    assert doc.tags == [] and "x" not in vars(doc)
    assert list(doc.export_data()) == list(Doc._meta.fields)
