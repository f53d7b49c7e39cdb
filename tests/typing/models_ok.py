"""Typed usage that must pass mypy --strict (checked by tests/data/test_typing.py)."""

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, assert_type
from uuid import UUID

from bson import DBRef, ObjectId

from tbone.data import URL, Email, Field, Model, Ref, ValidationError, serialize
from tbone.data.fields import IntegerField, StringField, validator


class PositiveIntegerField(IntegerField):
    @validator
    def positive(self, value: int) -> int:
        if value < 0:
            raise ValueError("Value should be positive")
        return value


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Person(Model):
    first_name: str
    last_name: str
    age: int | None = Field(default=None, min=0)
    email: Email | None = None
    homepage: URL | None = None


class Book(Model):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    title: str
    publication_date: date | None = None
    published: datetime | None = None
    price: Decimal = Decimal("0")
    uid: UUID | None = None
    authors: list[Person] = Field(default_factory=list, max_size=10)
    counters: dict[str, int] = Field(default_factory=dict)
    format: Literal["Paperback", "Hardcover"] = "Paperback"
    color: Color = Color.RED
    rating: Annotated[int, Field(min=1, max=5)] = 3
    visits: Annotated[int, PositiveIntegerField()] = 0
    editor: Ref[Person] | None = None
    legacy: DBRef | None = None
    main_author: Person | None = None
    isbn_code: str = Field(default="", alias="isbnCode")

    @serialize
    async def full_title(self) -> str:
        return f"{self.title} ({self.format})"


book = Book(
    title="War and Peace",
    authors=[Person(first_name="Leo", last_name="Tolstoy")],
    format="Hardcover",
    color=Color.BLUE,
    isbnCode="978",  # the alias is the constructor keyword (PEP 681)
)
assert_type(book.title, str)
assert_type(book.authors, list[Person])
assert_type(book.authors[0].age, int | None)
assert_type(book.authors[0].email, str | None)
assert_type(book.rating, int)
assert_type(book.visits, int)
assert_type(book.price, Decimal)
assert_type(book.uid, UUID | None)
assert_type(book.publication_date, date | None)
assert_type(book.published, datetime | None)
assert_type(book._id, ObjectId | None)
assert_type(book.format, Literal["Paperback", "Hardcover"])
assert_type(book.color, Color)
assert_type(book.editor, Ref[Person] | None)
assert_type(book.legacy, DBRef | None)
assert_type(book.main_author, Person | None)
assert_type(book.counters, dict[str, int])
assert_type(book.isbn_code, str)
assert_type(Book.from_data({"title": "x"}), Book)
assert_type(Book.from_json(b'{"title": "x"}'), Book)
assert_type(book.to_json(), bytes)
assert_type(book.export_data(native=False), dict[str, Any])
assert_type(book.pk, Any)
assert_type(Book.schema(), dict[str, Any])
assert_type(Book.get_collection_name(), str)
assert_type(StringField(min_length=1).name, str)


async def use() -> None:
    data = await book.serialize()
    assert_type(data, dict[str, Any])
    await book.deserialize({"title": "y"})
    if book.editor is not None:
        editor = await book.editor.fetch(object())
        assert_type(editor, Person | None)
    try:
        book.validate()
    except ValidationError as exc:
        assert_type(exc.errors[0]["loc"], tuple[str | int, ...])
