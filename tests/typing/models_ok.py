"""Typed usage that must pass mypy --strict (checked by tests/data/test_typing.py)."""

from datetime import date
from typing import Annotated, Any, Literal, assert_type

from bson import ObjectId

from tbone.data import Email, Field, Model, Ref, serialize
from tbone.data.fields import IntegerField, validator


class PositiveIntegerField(IntegerField):
    @validator
    def positive(self, value: int) -> int:
        if value < 0:
            raise ValueError("Value should be positive")
        return value


class Person(Model):
    first_name: str
    last_name: str
    age: int | None = Field(default=None, min=0)
    email: Email | None = None


class Book(Model):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    title: str
    publication_date: date | None = None
    authors: list[Person] = Field(default_factory=list, max_size=10)
    counters: dict[str, int] = Field(default_factory=dict)
    format: Literal["Paperback", "Hardcover"] = "Paperback"
    rating: Annotated[int, Field(min=1, max=5)] = 3
    visits: Annotated[int, PositiveIntegerField()] = 0
    editor: Ref[Person] | None = None

    @serialize
    async def full_title(self) -> str:
        return f"{self.title} ({self.format})"


book = Book(title="War and Peace", authors=[Person(first_name="Leo", last_name="Tolstoy")])
assert_type(book.title, str)
assert_type(book.authors, list[Person])
assert_type(book.rating, int)
assert_type(book.publication_date, date | None)
assert_type(book._id, ObjectId | None)
assert_type(Book.from_data({"title": "x"}), Book)
assert_type(book.export_data(native=False), dict[str, Any])


async def use() -> None:
    data = await book.serialize()
    assert_type(data, dict[str, Any])
    await book.deserialize({"title": "y"})
