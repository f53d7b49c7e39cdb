"""Ref[Model] is stored as a DBRef and fetched back from the real server."""

from __future__ import annotations

from typing import Any

from bson import DBRef, ObjectId

from tbone.data import Field, Model, Ref
from tbone.db.models import MongoCollectionMixin

from .models import Author, Book, Token


class Loan(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    book: Ref[Book]
    token: Ref[Token] | None = None

    class Meta:
        name = "loans"


async def test_ref_to_a_string_primary_key(db: Any) -> None:
    author = Author(handle="leo", name="Leo")
    await author.insert(db)
    book = Book(title="WP", writer=Ref.to(author))
    await book.insert(db)
    raw = await db["store.books"].find_one({"_id": book._id})
    assert raw["writer"] == DBRef("store.authors", "leo")
    loaded = await Book.get(db, {"_id": book._id})
    assert loaded.writer is not None
    assert await loaded.writer.fetch(db) == author
    await author.delete(db)
    assert await loaded.writer.fetch(db) is None


async def test_ref_to_object_id_and_uuid_keys(db: Any) -> None:
    book = Book(title="WP")
    await book.insert(db)
    token = Token(owner="ann")
    await token.insert(db)
    loan = Loan(book=Ref.to(book), token=Ref.to(token))
    await loan.insert(db)
    raw = await db["loans"].find_one({"_id": loan._id})
    assert raw["book"] == DBRef("store.books", book._id)
    loaded = await Loan.get(db, {"_id": loan._id})
    assert await loaded.book.fetch(db) == book
    assert loaded.token is not None
    assert await loaded.token.fetch(db) == token
