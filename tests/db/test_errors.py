"""Errors users can act on: duplicates name their key, bad documents their _id,
failed validations write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import DuplicateKeyError as DriverDuplicateKeyError

from tbone.data import Model, ValidationError
from tbone.db import DocumentValidationError, DuplicateKeyError, create_collection
from tbone.db.models import MongoCollectionMixin

from .models import Author, Book, Person, Review, Ticket


async def test_duplicate_primary_key_names_index_and_key(db: Any) -> None:
    await create_collection(db, Author)
    await Author(handle="leo", name="Leo").insert(db)
    with pytest.raises(DuplicateKeyError) as info:
        await Author(handle="leo", name="Other").insert(db)
    error = info.value
    assert isinstance(error, DriverDuplicateKeyError)
    assert error.code == 11000
    assert error.index == "handle_1"
    assert error.collection == "store.authors"
    assert "handle_1" in str(error) and "Author" in str(error)
    if error.key_value is not None:  # mongod reports the key; not every server does
        assert error.key_value == {"handle": "leo"}
    assert await Author.count(db) == 1


async def test_duplicate_id_on_insert(db: Any) -> None:
    book = Book(title="a")
    await book.insert(db)
    with pytest.raises(DuplicateKeyError) as info:
        await Book(_id=book._id, title="b").insert(db)
    assert info.value.index == "_id_"


async def test_duplicate_on_save_update_and_modify(db: Any) -> None:
    await create_collection(db, Book)
    await Book(title="a", isbn="1").insert(db)
    other = Book(title="b", isbn="2")
    await other.insert(db)
    other.isbn = "1"
    with pytest.raises(DuplicateKeyError, match="isbn"):
        await other.save(db)
    with pytest.raises(DuplicateKeyError, match="isbn"):
        await other.update(db, data={"isbn": "1"})
    with pytest.raises(DuplicateKeyError, match="isbn"):
        await Book.modify(db, key=other._id, data={"isbn": "1"})
    assert (await Book.get(db, {"_id": other._id})).isbn == "2"


async def test_failed_validation_writes_nothing(db: Any) -> None:
    book = Book(title="ok")
    book.pages = -3  # assignment is not validated; writes are
    for write in (book.insert(db), book.save(db)):
        with pytest.raises(ValidationError) as info:
            await write
        assert info.value.errors[0]["loc"] == ("pages",)
    assert await Book.count(db) == 0
    book.pages = "7"  # type: ignore[assignment]
    await book.insert(db)  # validate() normalizes what it can coerce
    assert book.pages == 7
    assert (await Book.get(db, {"_id": book._id})).pages == 7


async def test_a_document_that_no_longer_fits_names_its_id(db: Any) -> None:
    good = Book(title="good")
    await good.insert(db)
    bad_id = ObjectId()
    await db["store.books"].insert_one({"_id": bad_id, "title": "bad", "pages": "many"})
    with pytest.raises(DocumentValidationError) as info:
        await Book.find_one(db, {"_id": bad_id})
    error = info.value
    assert isinstance(error, ValidationError)
    assert error.document_id == bad_id and error.collection == "store.books"
    assert str(bad_id) in str(error)
    assert error.errors[0]["loc"] == ("pages",)
    with pytest.raises(DocumentValidationError, match=str(bad_id)):
        await Book.find(Book.get_cursor(db, sort=[("title", -1)]))
    with pytest.raises(DocumentValidationError, match=str(bad_id)):
        await Book.modify(db, key=bad_id, data={"title": "still bad"})


async def test_a_document_missing_a_required_field(db: Any) -> None:
    await db["tickets"].insert_one({"n": 5})
    assert (await Ticket.get(db, {"n": 5})).label == ""  # a default fills it
    doc_id = (await db["store.books"].insert_one({"pages": 3})).inserted_id
    with pytest.raises(DocumentValidationError, match=str(doc_id)) as info:
        await Book.get(db, {})
    assert info.value.errors == [{"loc": ("title",), "msg": "Field required", "type": "missing"}]


async def test_nested_values_are_validated_and_normalized_before_writing(db: Any) -> None:
    book = Book(title="t", reviews=[Review(user="ann", rating=3)])
    book.reviews[0].rating = 9
    with pytest.raises(ValidationError) as info:
        await book.insert(db)
    assert info.value.errors[0]["loc"] == ("reviews", 0, "rating")
    assert await Book.count(db) == 0
    book.reviews[0].rating = 4
    book.author = {"first_name": "Leo", "last_name": "Tolstoy"}  # type: ignore[assignment]
    await book.insert(db)
    assert book.author == Person(first_name="Leo", last_name="Tolstoy")
    review = book.reviews[0]
    await book.save(db)
    assert book.reviews[0] is review  # valid instances are kept, not rebuilt


class Period(Model, MongoCollectionMixin):
    start: int
    end: int

    class Meta:
        name = "periods"

    def clean(self) -> None:
        if self.end < self.start:
            raise ValueError("end before start")


async def test_model_level_clean_runs_before_writing(db: Any) -> None:
    period = Period(start=1, end=2)
    period.end = 0
    with pytest.raises(ValidationError, match="end before start"):
        await period.insert(db)
    assert await Period.count(db) == 0
