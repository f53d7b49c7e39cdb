"""Models shared by the persistence tests."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from bson import ObjectId

from tbone.data import Field, Model, Ref
from tbone.db.models import MongoCollectionMixin


class Format(enum.Enum):
    PAPERBACK = "Paperback"
    HARDCOVER = "Hardcover"


class Person(Model):
    first_name: str
    last_name: str
    age: int | None = Field(default=None, min=0)


class Review(Model):
    user: str
    rating: int = Field(min=1, max=5)
    text: str = ""


class Author(Model, MongoCollectionMixin):
    """A string primary key other than ``_id``."""

    handle: str = Field(primary_key=True)
    name: str

    class Meta:
        name = "authors"
        namespace = "store"


class Book(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    title: str
    isbn: str | None = None
    pages: int = Field(default=1, min=1)
    price: Decimal = Decimal("0")
    published: datetime | None = None
    release: date | None = None
    tags: list[str] = Field(default_factory=list)
    author: Person | None = None
    reviews: list[Review] = Field(default_factory=list)
    uid: UUID = Field(default_factory=uuid4)
    format: Format = Format.PAPERBACK
    counters: dict[str, int] = Field(default_factory=dict)
    writer: Ref[Author] | None = None

    class Meta:
        name = "books"
        namespace = "store"
        indices = [
            {
                "name": "isbn",
                "fields": ["isbn"],
                "unique": True,
                "partialFilterExpression": {"isbn": {"$type": "string"}},
            },
            {"fields": [("title", 1), "-pages"]},
        ]


class Ticket(Model, MongoCollectionMixin):
    """An int primary key stored under an alias."""

    number: int = Field(primary_key=True, alias="n")
    label: str = ""
    seen: datetime | None = None

    class Meta:
        name = "tickets"


class Draft(Model, MongoCollectionMixin):
    """A nullable primary key other than ``_id``: it must still be set to store."""

    code: str | None = Field(default=None, primary_key=True)

    class Meta:
        name = "drafts"


class Note(Model, MongoCollectionMixin):
    """No primary key field at all: MongoDB's ``_id`` is not kept on the model."""

    text: str


class Token(Model, MongoCollectionMixin):
    """A client-chosen ``_id`` (a UUID) that is the primary key."""

    _id: UUID = Field(default_factory=uuid4, primary_key=True)
    owner: str
