"""Insert, save, update, modify, delete and the finders, on both drivers."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from bson import ObjectId

from tbone.data import ConfigurationError, ValidationError
from tbone.db import DoesNotExist, create_collection

from .models import Author, Book, Draft, Note, Person, Review, Ticket, Token


def make_book(title: str = "War and Peace", **values: Any) -> Book:
    return Book(
        title=title,
        pages=values.pop("pages", 1225),
        price=values.pop("price", Decimal("34.77")),
        author=Person(first_name="Leo", last_name="Tolstoy"),
        reviews=[Review(user="ann", rating=5)],
        **values,
    )


async def test_insert_sets_id_and_reads_back_equal(db: Any) -> None:
    book = make_book()
    assert book.pk is None
    await book.insert(db)
    assert isinstance(book._id, ObjectId)
    found = await Book.find_one(db, {"_id": book._id})
    assert found == book
    assert await Book.count(db) == 1


async def test_finders_on_missing_documents(db: Any) -> None:
    assert await Book.find_one(db, {"title": "nope"}) is None
    with pytest.raises(DoesNotExist) as info:
        await Book.get(db, {"title": "nope"})
    assert isinstance(info.value, LookupError)
    assert "nope" in str(info.value)


async def test_get_returns_the_model(db: Any) -> None:
    book = make_book()
    await book.insert(db)
    assert await Book.get(db, Book.pk_filter(str(book._id))) == book


async def test_save_inserts_then_updates(db: Any) -> None:
    book = make_book()
    await book.save(db)
    first_id = book._id
    assert first_id is not None
    book.title = "Voyna i mir"
    await book.save(db)
    assert book._id == first_id
    assert await Book.count(db) == 1
    found = await Book.get(db, {"_id": first_id})
    assert found.title == "Voyna i mir"


async def test_save_with_a_client_chosen_id_upserts(db: Any) -> None:
    token = Token(owner="ann")
    await token.save(db)
    await token.save(db)
    assert await Token.count(db) == 1
    assert await Token.get(db, {"_id": token._id}) == token


async def test_string_primary_key_is_stored_under_its_key(db: Any) -> None:
    await create_collection(db, Author)
    author = Author(handle="leo", name="Leo Tolstoy")
    await author.insert(db)
    raw = await db["store.authors"].find_one({"handle": "leo"})
    assert isinstance(raw["_id"], ObjectId)  # _id is left to MongoDB
    author.name = "Lev Tolstoy"
    await author.save(db)
    assert await Author.count(db) == 1
    assert (await Author.get(db, {"handle": "leo"})).name == "Lev Tolstoy"
    fresh = Author(handle="fyodor", name="Dostoevsky")
    await fresh.save(db)  # upsert of a new key
    assert await Author.count(db) == 2
    modified = await Author.modify(db, key="fyodor", data={"name": "F. M. Dostoevsky"})
    assert modified == Author(handle="fyodor", name="F. M. Dostoevsky")
    assert await fresh.delete(db)
    assert await Author.count(db) == 1


async def test_int_primary_key_with_an_alias(db: Any) -> None:
    await create_collection(db, Ticket)
    ticket = Ticket(n=7, label="seven")
    await ticket.insert(db)
    raw = await db["tickets"].find_one({"n": 7})
    assert raw["n"] == 7 and "number" not in raw
    assert await Ticket.modify(db, key="7", data={"label": "sept"}) == Ticket(n=7, label="sept")
    ticket.label = "siete"
    await ticket.save(db)
    assert await Ticket.get(db, Ticket.pk_filter(7)) == ticket
    await ticket.update(db, data={"label": "sieben"})
    assert ticket.label == "sieben"
    assert (await Ticket.get(db, {"n": 7})).label == "sieben"


async def test_non_id_primary_key_must_be_set(db: Any) -> None:
    with pytest.raises(ValidationError) as info:
        await Draft().insert(db)
    assert info.value.errors[0]["loc"] == ("code",)
    assert await Draft.count(db) == 0


async def test_update_replaces_the_document(db: Any) -> None:
    book = make_book(tags=["novel"])
    await book.insert(db)
    await db["store.books"].update_one({"_id": book._id}, {"$set": {"legacy": True}})
    await book.update(db, data={"title": "WP", "tags": ["epic"]})
    assert (book.title, book.tags) == ("WP", ["epic"])
    raw = await db["store.books"].find_one({"_id": book._id})
    assert raw["title"] == "WP" and raw["tags"] == ["epic"]
    assert "legacy" not in raw  # a replacement: keys the model does not declare are gone
    assert await Book.get(db, {"_id": book._id}) == book


async def test_update_of_a_missing_document_raises(db: Any) -> None:
    book = make_book(_id=ObjectId())
    with pytest.raises(DoesNotExist):
        await book.update(db)
    assert await Book.count(db) == 0


async def test_update_with_bad_data_changes_nothing(db: Any) -> None:
    book = make_book()
    await book.insert(db)
    with pytest.raises(ValidationError) as info:
        await book.update(db, data={"pages": "many", "title": "X"})
    assert [e["loc"] for e in info.value.errors] == [("pages",)]
    assert book.title == "War and Peace"
    assert (await Book.get(db, {"_id": book._id})).title == "War and Peace"


async def test_modify_sets_only_the_given_fields(db: Any) -> None:
    book = make_book()
    await book.insert(db)
    changed = await Book.modify(
        db, key=str(book._id), data={"pages": "1300", "author": {"first_name": "Lev", "last_name": "T"}}
    )
    assert changed is not None
    assert changed.pages == 1300
    assert changed.author == Person(first_name="Lev", last_name="T")
    assert changed.title == book.title
    assert await Book.get(db, {"_id": book._id}) == changed


async def test_modify_of_a_missing_document_returns_none(db: Any) -> None:
    assert await Book.modify(db, key=ObjectId(), data={"pages": 3}) is None
    assert await Book.count(db) == 0  # no upsert


async def test_modify_with_no_changes_returns_the_document(db: Any) -> None:
    book = make_book()
    await book.insert(db)
    assert await Book.modify(db, key=book._id, data={}) == book


async def test_modify_rejects_bad_values_and_unknown_keys_and_writes_nothing(db: Any) -> None:
    book = make_book()
    await book.insert(db)
    with pytest.raises(ValidationError) as info:
        await Book.modify(db, key=book._id, data={"pages": 0, "title": "ok", "nope": 1, "price": "x"})
    assert sorted(e["loc"] for e in info.value.errors) == [("nope",), ("pages",), ("price",)]
    assert await Book.get(db, {"_id": book._id}) == book
    with pytest.raises(ValidationError):
        await Book.modify(db, key="not-an-object-id", data={"pages": 2})


async def test_delete_and_delete_entries(db: Any) -> None:
    books = [make_book(f"book {i}", pages=i + 1) for i in range(5)]
    for book in books:
        await book.insert(db)
    assert await books[0].delete(db) is True
    assert await books[0].delete(db) is False
    assert await make_book().delete(db) is False  # never saved
    assert await Book.delete_entries(db, {"pages": {"$gte": 4}}) == 2
    assert await Book.count(db) == 2
    assert await Book.delete_entries(db, {}) == 2
    assert await Book.count(db) == 0


async def test_count_with_filters(db: Any) -> None:
    for i in range(4):
        await make_book(f"b{i}", tags=["odd" if i % 2 else "even"]).insert(db)
    assert await Book.count(db) == 4
    assert await Book.count(db, filters={"tags": "odd"}) == 2
    assert await Book.count(db, filters={"price": Decimal("34.77")}) == 4  # natives in queries


async def test_cursor_query_sort_skip_limit(db: Any) -> None:
    for i in range(6):
        await make_book(f"b{i}", pages=10 + i, tags=["even" if i % 2 == 0 else "odd"]).insert(db)
    cursor = Book.get_cursor(db, query={"tags": "even"}, sort=[("pages", -1)])
    assert [b.title for b in await Book.find(cursor)] == ["b4", "b2", "b0"]
    cursor = Book.get_cursor(db, sort=[("pages", 1)], skip=1, limit=2)
    assert [b.pages for b in await Book.find(cursor)] == [11, 12]
    assert await Book.find(Book.get_cursor(db, query={"title": "none"})) == []


async def test_projection_without_optional_fields_gives_their_defaults(db: Any) -> None:
    await make_book(tags=["x"]).insert(db)
    cursor = Book.get_cursor(db, projection={"tags": False, "reviews": False})
    (book,) = await Book.find(cursor)
    assert (book.tags, book.reviews, book.title) == ([], [], "War and Peace")


async def test_datetimes_come_back_aware(db: Any) -> None:
    when = datetime(2024, 5, 17, 8, 30, 15, 123000, tzinfo=UTC)
    await Ticket(n=1, seen=when).insert(db)
    found = await Ticket.get(db, {"n": 1})
    assert found.seen is not None
    assert found.seen == when and found.seen.utcoffset() is not None


async def test_a_model_without_primary_key(db: Any) -> None:
    note = Note(text="hello")
    await note.insert(db)  # inserting works; MongoDB's _id is not kept
    assert await Note.get(db, {"text": "hello"}) == note
    for write in (note.save(db), note.update(db), note.delete(db)):
        with pytest.raises(ConfigurationError, match="no primary key"):
            await write
    with pytest.raises(ConfigurationError):
        await Note.modify(db, key=1, data={})


def test_collection_name() -> None:
    assert Book.get_collection_name() == "store.books"
    assert Ticket.get_collection_name() == "tickets"
