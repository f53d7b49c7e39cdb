"""Property tests: round trips, error locations and robustness against junk."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, DecimalException
from typing import Any, Literal

import bson
import orjson
import pytest
from bson import Decimal128, ObjectId
from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tbone.data import Field, Model, Ref, ValidationError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Target(Model):
    _id: ObjectId | None = Field(default=None, primary_key=True)


class Person(Model):
    name: str
    age: int | None = Field(default=None, min=0)


class Doc(Model):
    text: str
    count: int
    ratio: float
    flag: bool
    price: Decimal
    at: datetime
    day: date
    clock: time | None = None
    uid: uuid.UUID
    oid: ObjectId
    mood: Mood
    size: Literal["S", "M", "L"]
    tags: list[str] = Field(default_factory=list)
    counters: dict[str, int] = Field(default_factory=dict)
    people: list[Person] = Field(default_factory=list)
    lead: Person | None = None
    target: Ref[Target] | None = None


offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))])
# JSON integers as orjson (and BSON) take them: 64 bits; bigger ones are tested below
int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
people = st.builds(dict, name=st.text(), age=st.none() | st.integers(min_value=0, max_value=2**63 - 1))
oids = st.binary(min_size=12, max_size=12).map(ObjectId)


def _fits_decimal128(value: Decimal) -> bool:
    """Decimal128 holds ``value`` as it is (neither refused nor normalized)."""
    try:
        return Decimal128(value).to_decimal().as_tuple() == value.as_tuple()
    except DecimalException:
        return False


def _in_utc_range(value: datetime) -> bool:
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


# what BSON holds: Decimal128's decimals, instants in years 1-9999 (UTC), keys
# MongoDB can query (no NUL, no leading "$", no ".")
decimal128s = st.decimals(allow_nan=False, allow_infinity=False).filter(_fits_decimal128)
aware = st.datetimes(timezones=offsets).filter(lambda d: _in_utc_range(d))
keys = st.text().filter(lambda k: "\x00" not in k and "." not in k and not k.startswith("$"))

valid_docs = st.fixed_dictionaries(
    {
        "text": st.text(),
        "count": int64,
        "ratio": st.floats(allow_nan=False, allow_infinity=False),
        "flag": st.booleans(),
        "price": decimal128s,
        "at": aware | st.datetimes(),
        "day": st.dates(),
        "uid": st.uuids(),
        "oid": oids,
        "mood": st.sampled_from(Mood),
        "size": st.sampled_from(["S", "M", "L"]),
    },
    optional={
        "clock": st.none() | st.times(),
        "tags": st.lists(st.text(), max_size=4),
        "counters": st.dictionaries(keys, int64, max_size=4),
        "people": st.lists(people, max_size=3),
        "lead": st.none() | people,
        "target": st.none() | oids.map(lambda oid: Target(_id=oid)),
    },
)


@SETTINGS
@given(valid_docs)
def test_round_trips(data: dict[str, Any]) -> None:
    doc = Doc.from_data(data)
    primitive = doc.export_data(native=False)
    assert Doc.from_data(primitive) == doc
    assert Doc.from_data(doc.export_data(native=True)) == doc
    # the JSON helpers agree with the primitive export and round-trip too
    assert orjson.loads(doc.to_json()) == primitive
    assert Doc.from_json(doc.to_json()) == doc
    assert doc.at.tzinfo is not None


@SETTINGS
@given(st.integers(min_value=2**63) | st.integers(max_value=-(2**63) - 1))
def test_integers_beyond_64_bits_are_refused_everywhere(count: int) -> None:
    # BSON has no larger integer: refused as given, as text, nested, in lists and dicts
    for value in (count, str(count)):
        data = {**VALID, "count": value, "people": [{"name": "a", "age": abs(count)}]}
        data |= {
            "counters": {"k": value},
            "lead": {"name": "b", "age": abs(value) if value == count else value},
        }
        with pytest.raises(ValidationError) as info:
            Doc.from_data(data)
        errors = info.value.errors
        assert [e["loc"] for e in errors] == [
            ("count",),
            ("counters", "k"),
            ("people", 0, "age"),
            ("lead", "age"),
        ]
        assert {e["type"] for e in errors} == {"int64_range"}
    # the JSON text: orjson reads integers past 64 bits as floats, refused too
    with pytest.raises(ValidationError):
        Doc.from_json(json.dumps({**VALID, "count": count}))


# -- invalid values name their location ----------------------------------------------

not_int_text = st.text().filter(lambda s: not s.strip().lstrip("+-").isdigit() or not s.strip().isascii())
fractional = st.floats().filter(lambda f: not f.is_integer())
bad_ints = st.booleans() | not_int_text | fractional | st.lists(st.integers())
bad_values: dict[str, st.SearchStrategy[Any]] = {
    "text": st.integers() | st.floats() | st.booleans() | st.lists(st.text()),
    "count": bad_ints,
    "ratio": st.booleans() | st.text().filter(lambda s: _not_float(s)) | st.just(float("nan")),
    "flag": st.integers(min_value=2) | st.text().filter(lambda s: s.strip().lower() not in _BOOL_WORDS),
    "price": st.booleans() | st.text().filter(lambda s: _not_decimal(s)),
    "at": st.integers() | st.text().filter(lambda s: _not_datetime(s)),
    "uid": st.integers() | st.text().filter(lambda s: _not_uuid(s)),
    "oid": st.integers() | st.text().filter(lambda s: not ObjectId.is_valid(s)),
    "mood": st.text().filter(lambda s: s not in ("happy", "sad")) | st.integers(),
    "size": st.text().filter(lambda s: s not in ("S", "M", "L")),
}
_BOOL_WORDS = {"true", "false", "1", "0", "yes", "no", "on", "off"}


def _not_float(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return True
    return "_" in text


def _not_decimal(text: str) -> bool:
    try:
        return not Decimal(text.strip()).is_finite() or "_" in text
    except ArithmeticError:
        return True


def _not_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        return True
    return False


def _not_uuid(text: str) -> bool:
    try:
        uuid.UUID(text.strip())
    except ValueError:
        return True
    return False


VALID: dict[str, Any] = {
    "text": "t",
    "count": 1,
    "ratio": 0.5,
    "flag": True,
    "price": "1.5",
    "at": "2024-01-01T00:00:00Z",
    "day": "2024-01-01",
    "uid": str(uuid.UUID(int=1)),
    "oid": str(ObjectId(b"\x00" * 12)),
    "mood": "happy",
    "size": "M",
}


@SETTINGS
@given(st.sampled_from(sorted(bad_values)).flatmap(lambda name: st.tuples(st.just(name), bad_values[name])))
def test_invalid_top_level_value_is_reported_at_its_key(case: tuple[str, Any]) -> None:
    name, value = case
    with pytest.raises(ValidationError) as info:
        Doc.from_data({**VALID, name: value})
    assert [e["loc"] for e in info.value.errors] == [(name,)]


@SETTINGS
@given(
    st.lists(people, min_size=1, max_size=4),
    st.data(),
    st.sampled_from(["name", "age"]),
)
def test_invalid_nested_value_is_reported_at_its_path(
    persons: list[dict[str, Any]], data: st.DataObject, attr: str
) -> None:
    index = data.draw(st.integers(min_value=0, max_value=len(persons) - 1))
    bad = st.integers() if attr == "name" else st.integers(max_value=-1) | bad_ints
    persons[index] = {**persons[index], attr: data.draw(bad)}
    with pytest.raises(ValidationError) as info:
        Doc.from_data({**VALID, "people": persons, "counters": {"k": "x"}})
    assert [e["loc"] for e in info.value.errors] == [("counters", "k"), ("people", index, attr)]


# -- nothing but ValidationError ------------------------------------------------------


def _junk(
    ints: st.SearchStrategy[int], decimals: st.SearchStrategy[Decimal], keys: st.SearchStrategy[str]
) -> st.SearchStrategy[Any]:
    return st.recursive(
        st.none()
        | st.booleans()
        | ints
        | st.floats()
        | st.text()
        | decimals
        | st.datetimes()
        | st.binary(max_size=12),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(keys | st.integers(), children, max_size=4)
            | st.tuples(children)
        ),
        max_leaves=20,
    )


def _keyed(values: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from([*Doc._meta.fields, *Person._meta.fields, "extra"]), values, max_size=12
    )


json_like = _junk(st.integers(), st.decimals(), st.text(max_size=8))
keyed_junk = _keyed(json_like)
#: junk made only of values BSON can hold and tbone writes (what a read may find)
keyed_stored_junk = _keyed(_junk(int64, decimal128s, keys.filter(lambda k: len(k) <= 8)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like | keyed_junk | st.builds(lambda junk: {**VALID, **junk}, keyed_junk))
def test_from_data_raises_nothing_but_validation_error(junk: Any) -> None:
    try:
        doc = Doc.from_data(junk)
    except ValidationError as exc:
        assert exc.errors
        for err in exc.errors:
            assert isinstance(err["loc"], tuple) and isinstance(err["msg"], str) and err["type"]
    else:
        assert isinstance(doc, Doc)
        orjson.dumps(doc.export_data(native=False))  # whatever got in exports as JSON
        _bson_encode(doc)  # and as BSON: no value MongoDB cannot take gets in


def _bson_encode(doc: Doc) -> bytes:
    """The BSON of ``doc``'s types that BSON holds as they are (``tbone.db`` adapts
    the others: dates, times, enums, decimals)."""
    native = doc.export_data()
    native["price"] = Decimal128(native["price"])
    for name in ("day", "clock", "mood"):
        native.pop(name)
    return bson.encode(native, codec_options=CodecOptions(uuid_representation=UuidRepresentation.STANDARD))


@SETTINGS
@given(valid_docs)
def test_whatever_is_accepted_encodes_as_bson(data: dict[str, Any]) -> None:
    _bson_encode(Doc.from_data(data))
