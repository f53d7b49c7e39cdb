"""datetime, date and time: ISO strings, and the timezone policy (naive = UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from tbone.data import Field, Model, ValidationError
from tbone.data.fields import DateField, DateTimeField, TimeField

from .helpers import errors_of, types

PLUS2 = timezone(timedelta(hours=2))


class Event(Model):
    at: datetime | None = None
    day: date | None = None
    clock: time | None = None


class Window(Model):
    at: datetime = Field(min=datetime(2020, 1, 1), max=datetime(2030, 1, 1, tzinfo=UTC))
    day: date = Field(default=date(2024, 6, 1), min=date(2024, 1, 1))
    stamps: list[datetime] = Field(default_factory=list)


def test_field_classes() -> None:
    assert isinstance(Event.at, DateTimeField)
    assert isinstance(Event.day, DateField)
    assert isinstance(Event.clock, TimeField)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T12:30:00+00:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00Z", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        ("2024-05-01T12:30:00", datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),  # naive is UTC
        (" 2024-05-01 12:30:00.250000+02:00 ", datetime(2024, 5, 1, 12, 30, 0, 250000, tzinfo=PLUS2)),
        (datetime(2024, 5, 1, 12, 30), datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
        (datetime(2024, 5, 1, 12, 30, tzinfo=PLUS2), datetime(2024, 5, 1, 10, 30, tzinfo=UTC)),
        (date(2024, 5, 1), datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_datetime_accepts(raw: Any, expected: datetime) -> None:
    value = Event.from_data({"at": raw}).at
    assert value == expected
    assert value is not None and value.tzinfo is not None


def test_aware_input_keeps_its_offset() -> None:
    value = Event.from_data({"at": "2024-05-01T12:30:00+02:00"}).at
    assert value is not None and value.utcoffset() == timedelta(hours=2)


def test_naive_values_are_always_made_aware() -> None:
    # both the generated fast path and the general path (in a list) apply the policy
    event = Event(at=datetime(2024, 1, 1))
    assert event.at == datetime(2024, 1, 1, tzinfo=UTC)
    window = Window.from_data({"at": "2024-01-01T00:00:00", "stamps": ["2024-01-01T00:00:00"]})
    assert all(s.tzinfo is UTC for s in window.stamps)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("yesterday", "datetime_parsing"),
        ("2024-13-01T00:00:00", "datetime_parsing"),
        (1714566600, "datetime_type"),
        (True, "datetime_type"),
        ("", "datetime_parsing"),
    ],
)
def test_datetime_rejects(raw: Any, code: str) -> None:
    assert types(Event, {"at": raw}) == [code]


def test_datetime_bounds_apply_to_iso_strings_and_naive_bounds_are_utc() -> None:
    # min is naive in the declaration: it is taken as UTC, like values
    assert Window.from_data({"at": "2024-01-01T00:00:00Z"}).at.year == 2024
    assert types(Window, {"at": "2019-12-31T23:59:59Z"}) == ["too_small"]
    assert types(Window, {"at": datetime(2031, 1, 1)}) == ["too_large"]
    assert types(Window, {"at": "2020-01-01T01:00:00+02:00"}) == ["too_small"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01", date(2024, 5, 1)),
        (date(2024, 5, 1), date(2024, 5, 1)),
        (datetime(2024, 5, 1), date(2024, 5, 1)),  # how BSON stores a date
        (datetime(2024, 5, 1, tzinfo=UTC), date(2024, 5, 1)),
    ],
)
def test_date_accepts(raw: Any, expected: date) -> None:
    value = Event.from_data({"day": raw}).day
    assert value == expected and type(value) is date


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2024-05-01T10:00:00", "date_parsing"),
        (datetime(2024, 5, 1, 10, 0), "date_type"),
        (datetime(2024, 5, 1, tzinfo=PLUS2), "date_type"),
        (20240501, "date_type"),
    ],
)
def test_date_rejects(raw: Any, code: str) -> None:
    assert types(Event, {"day": raw}) == [code]


def test_date_min() -> None:
    assert types(Window, {"at": datetime(2024, 1, 1), "day": "2023-12-31"}) == ["too_small"]


def test_time() -> None:
    assert Event.from_data({"clock": "12:30:05"}).clock == time(12, 30, 5)
    assert Event.from_data({"clock": time(1, 2)}).clock == time(1, 2)
    assert types(Event, {"clock": "25:00"}) == ["time_parsing"]
    assert types(Event, {"clock": 1230}) == ["time_type"]


def test_export_is_iso_8601() -> None:
    event = Event.from_data({"at": "2024-05-01T12:30:00Z", "day": "2024-05-01", "clock": "12:30"})
    assert event.export_data(native=False) == {
        "at": "2024-05-01T12:30:00+00:00",
        "day": "2024-05-01",
        "clock": "12:30:00",
    }
    native = event.export_data(native=True)
    assert native["at"] == datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert native["day"] == date(2024, 5, 1)


def test_error_message_names_the_value() -> None:
    (err,) = errors_of(Event, {"at": "soon"})
    assert "soon" in err["msg"] and err["loc"] == ("at",)


# -- instants outside years 1-9999 in UTC: neither Python nor BSON holds them ----------


class Stamps(Model):
    at: datetime | None = None
    many: list[datetime] = Field(default_factory=list)
    by_key: dict[str, datetime] = Field(default_factory=dict)
    bounded: datetime | None = Field(default=None, min=datetime(1, 1, 1, tzinfo=UTC))


EAST = timezone(timedelta(hours=14))
WEST = timezone(timedelta(hours=-12))
OUT_OF_RANGE = [
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T13:59:59+14:00",
    "9999-12-31T23:59:59-12:00",
    datetime(1, 1, 1, tzinfo=EAST),
    datetime(9999, 12, 31, 12, 30, tzinfo=WEST),
]


@pytest.mark.parametrize("raw", OUT_OF_RANGE)
def test_aware_datetimes_beyond_utc_years_1_to_9999_are_refused(raw: Any) -> None:
    data = {"at": raw, "many": [raw], "by_key": {"k": raw}, "bounded": raw}
    for build in (lambda: Stamps(**data), lambda: Stamps.from_data(data)):
        with pytest.raises(ValidationError) as info:
            build()
        assert [(e["loc"], e["type"]) for e in info.value.errors] == [
            (("at",), "datetime_range"),
            (("many", 0), "datetime_range"),
            (("by_key", "k"), "datetime_range"),
            (("bounded",), "datetime_range"),
        ]
    stamps = Stamps()
    stamps.at = raw  # type: ignore[assignment]
    with pytest.raises(ValidationError):
        stamps.validate()


@pytest.mark.parametrize(
    "raw",
    [
        "0001-01-01T00:00:00",  # naive: UTC
        "0001-01-01T14:00:00+14:00",
        "0001-01-01T00:00:00-05:00",
        "9999-12-31T23:59:59+05:00",
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        datetime(1, 1, 1, 12, tzinfo=WEST),
    ],
)
def test_the_edges_of_the_range_are_accepted(raw: Any) -> None:
    stamps = Stamps.from_data({"at": raw, "many": [raw]})
    assert stamps.at is not None and stamps.at.tzinfo is not None
    assert stamps.at.astimezone(UTC).year in (1, 9999) and Stamps(at=stamps.at).at == stamps.at
