"""Models declared with ``from __future__ import annotations``: every annotation
is a string, some name classes defined further down, and one model refers to
itself."""

from __future__ import annotations

from datetime import datetime

from tbone.data import Field, Model, Ref


class Library(Model):
    name: str
    shelves: list[Shelf] = Field(default_factory=list)  # defined below
    head: Librarian | None = None  # defined below
    opened: datetime | None = None


class Shelf(Model):
    label: str
    books: dict[str, int] = Field(default_factory=dict)


class Librarian(Model):
    _id: int | None = Field(default=None, primary_key=True)
    name: str
    mentor: Ref[Librarian] | None = None


class Node(Model):
    name: str
    children: list[Node] = Field(default_factory=list)
    parent: Node | None = None
