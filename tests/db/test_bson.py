"""Models are stored as BSON natives: read back raw with the driver and check types."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from bson import DBRef, Decimal128, ObjectId, encode
from bson.binary import Binary, UuidRepresentation
from bson.codec_options import CodecOptions
from hypothesis import given
from hypothesis import strategies as st

from tbone.data import Field, Model, Ref
from tbone.data.fields.scalars import decimal128_to_decimal
from tbone.db import TYPE_REGISTRY, DocumentValidationError, bsonmap, codec_options_for
from tbone.db.models import MongoCollectionMixin

from .models import Author, Book, Format, Person, Review

# the driver's defaults: no tz-awareness, no UUID representation, no type registry
RAW: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True)


async def test_every_native_is_stored_as_its_bson_type(db: Any) -> None:
    author = Author(handle="leo", name="Leo")
    book = Book(
        title="War and Peace",
        price=Decimal("34.77"),
        published=datetime(1869, 1, 1, 12, 30, tzinfo=UTC),
        release=date(1869, 1, 1),
        author=Person(first_name="Leo", last_name="Tolstoy", age=82),
        reviews=[Review(user="ann", rating=5, text="long")],
        format=Format.HARDCOVER,
        counters={"views": 3},
        writer=Ref.to(author),
        tags=["novel"],
    )
    await book.insert(db)
    raw = await db.get_collection("store.books", codec_options=RAW).find_one({"_id": book._id})
    assert isinstance(raw["_id"], ObjectId)
    assert raw["price"] == Decimal128("34.77")
    assert raw["published"] == datetime(1869, 1, 1, 12, 30, tzinfo=UTC)
    assert raw["release"] == datetime(1869, 1, 1, tzinfo=UTC)  # a date is UTC midnight
    assert isinstance(raw["uid"], Binary) and raw["uid"].subtype == 4  # standard UUID
    assert Binary.from_uuid(book.uid) == raw["uid"]
    assert raw["author"] == {"first_name": "Leo", "last_name": "Tolstoy", "age": 82}  # a subdocument
    assert raw["reviews"] == [{"user": "ann", "rating": 5, "text": "long"}]
    assert raw["format"] == "Hardcover"
    assert raw["counters"] == {"views": 3}
    assert raw["writer"] == DBRef("store.authors", "leo")
    assert raw["tags"] == ["novel"]
    assert raw["isbn"] is None
    # read back through the model: every value equal to what was saved
    assert await Book.get(db, {"_id": book._id}) == book


async def test_datetimes_are_stored_as_utc_instants(db: Any) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2024, 6, 1, 14, 0, tzinfo=paris)
    naive = datetime(2024, 6, 1, 9, 0)
    a = Book(title="local", published=local)
    b = Book(title="naive", published=naive)  # naive input is taken as UTC
    await a.insert(db)
    await b.insert(db)
    raw = await db.get_collection("store.books", codec_options=RAW).find_one({"_id": a._id})
    assert raw["published"] == datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert raw["published"].utcoffset() == timedelta(0)
    found = await Book.get(db, {"_id": a._id})
    assert found.published == local  # the same instant, now expressed in UTC
    assert found.published is not None
    assert found.published.utcoffset() == timedelta(0)
    assert (await Book.get(db, {"_id": b._id})).published == naive.replace(tzinfo=UTC)


async def test_datetimes_keep_milliseconds_only(db: Any) -> None:
    when = datetime(2024, 6, 1, 9, 0, 0, 123456, tzinfo=UTC)
    book = Book(title="precise", published=when)
    await book.insert(db)
    found = await Book.get(db, {"_id": book._id})
    assert found.published == when.replace(microsecond=123000)


async def test_queries_take_natives(db: Any) -> None:
    book = Book(title="q", price=Decimal("1.10"), release=date(2020, 2, 29), format=Format.HARDCOVER)
    await book.insert(db)
    for query in (
        {"price": Decimal("1.10")},
        {"release": date(2020, 2, 29)},
        {"format": Format.HARDCOVER},
        {"uid": book.uid},
        {"price": {"$in": [Decimal("1.10"), Decimal("2")]}},
    ):
        assert await Book.find_one(db, query) == book, query


class Clock(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    at: time

    class Meta:
        name = "clocks"


async def test_times_of_day_are_iso_strings(db: Any) -> None:
    clock = Clock(at=time(8, 30, 5))
    await clock.insert(db)
    raw = await db["clocks"].find_one({"_id": clock._id})
    assert raw["at"] == "08:30:05"  # BSON has no time-of-day type
    assert (await Clock.get(db, {"_id": clock._id})).at == time(8, 30, 5)


def test_codec_options_keep_an_explicit_uuid_representation() -> None:
    options = codec_options_for(CodecOptions(uuid_representation=UuidRepresentation.PYTHON_LEGACY))
    assert options.uuid_representation == UuidRepresentation.PYTHON_LEGACY
    options = codec_options_for(CodecOptions())
    assert options.uuid_representation == UuidRepresentation.STANDARD
    assert options.tz_aware and options.type_registry is TYPE_REGISTRY


def test_unencodable_values_still_fail_loudly() -> None:
    from bson.errors import InvalidDocument

    with pytest.raises(InvalidDocument):
        encode({"x": object()}, codec_options=codec_options_for(CodecOptions()))


def test_decimal128_conversion_is_tbone_datas() -> None:
    # the conversion lives in tbone.data (DecimalField takes Decimal128 itself);
    # tbone.db re-exports it. Its tests: tests/data/test_fields_scalars.py
    assert bsonmap.decimal128_to_decimal is decimal128_to_decimal


def _encoded(convert: Any, value: Decimal) -> Any:
    try:
        return convert(value).bid
    except Exception as exc:  # the same refusal either way
        return type(exc)


ENCODE = ["34.77", "-0.00", "0", "0E-6176", "1E-6176", "1E-6177", "1E+5", "-1.5E-300", "1E+6111"]
ENCODE += ["1E+6112", "9" * 34, "9" * 35, "123456789012345678901234567890.1234", "1E+6145"]
ENCODE += ["NaN", "-Infinity", "sNaN", "-0E+3", "0.000001", "1.2E-7"]


@pytest.mark.parametrize("text", ENCODE)
def test_decimal_encoding_matches_the_driver(text: str) -> None:
    value = Decimal(text)
    assert _encoded(bsonmap.decimal_to_decimal128, value) == _encoded(Decimal128, value)


@given(st.decimals(places=None))
def test_decimal_encoding_matches_the_driver_everywhere(number: Decimal) -> None:
    assert _encoded(bsonmap.decimal_to_decimal128, number) == _encoded(Decimal128, number)


def test_uuid_is_a_uuid_after_decoding() -> None:
    from bson import decode

    value = UUID("12345678-1234-5678-1234-567812345678")
    options = codec_options_for(CodecOptions())
    assert decode(encode({"u": value}, codec_options=options), codec_options=options) == {"u": value}


class Line(Model):
    amount: Decimal
    note: str = ""


class Invoice(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    total: Decimal | None = None
    lines: list[Line] = Field(default_factory=list)
    rates: dict[str, Decimal] = Field(default_factory=dict)
    history: list[list[Decimal]] = Field(default_factory=list)
    parent: Invoice | None = None

    class Meta:
        name = "invoices"


async def test_decimals_at_any_depth_round_trip(db: Any) -> None:
    inner = Invoice(total=Decimal("1.00"), lines=[Line(amount=Decimal("0.10"))])
    invoice = Invoice(
        total=Decimal("-12.345"),
        lines=[Line(amount=Decimal("1E-8")), Line(amount=Decimal("99999999999999999999.5"))],
        rates={"vat": Decimal("0.21")},
        history=[[Decimal("1"), Decimal("2.50")], []],
        parent=inner,
    )
    await invoice.insert(db)
    raw = await db.get_collection("invoices", codec_options=RAW).find_one({"_id": invoice._id})
    assert raw["lines"][0]["amount"] == Decimal128("1E-8")
    assert raw["parent"]["lines"][0]["amount"] == Decimal128("0.10")
    assert raw["history"][0] == [Decimal128("1"), Decimal128("2.50")]
    for found in (
        await Invoice.get(db, {"_id": invoice._id}),
        (await Invoice.find(Invoice.get_cursor(db)))[0],
    ):
        assert found == invoice
        assert str(found.lines[1].amount) == "99999999999999999999.5"
        assert found.parent is not None and found.parent.lines[0].amount == Decimal("0.10")


@pytest.mark.parametrize("special", ["NaN", "-Infinity"])
async def test_a_stored_special_decimal_is_rejected_where_it_sits(db: Any, special: str) -> None:
    # written around tbone (another program): DecimalField refuses it on the way back
    raw = db.get_collection("invoices", codec_options=RAW)
    doc_id = (
        await raw.insert_one({"total": Decimal128("1"), "lines": [{"amount": Decimal128(special)}]})
    ).inserted_id
    for read in (Invoice.find_one(db, {"_id": doc_id}), Invoice.find(Invoice.get_cursor(db))):
        with pytest.raises(DocumentValidationError, match=str(doc_id)) as info:
            await read
        assert info.value.errors == [
            {"loc": ("lines", 0, "amount"), "msg": "Value must be a finite number", "type": "finite_number"}
        ]
