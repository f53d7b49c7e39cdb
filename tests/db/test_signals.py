"""post_save and post_delete: who is told what, and when."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bson import ObjectId

from tbone.db.models import post_delete, post_save
from tbone.dispatch import Signal

from .models import Author, Book

Event = tuple[str, type, Any, bool | None]


@pytest.fixture
def events() -> Iterator[list[Event]]:
    seen: list[Event] = []

    async def saved(sender: type, db: Any, instance: Any, created: bool) -> None:
        seen.append(("save", sender, instance, created))

    def deleted(sender: type, db: Any, instance: Any) -> None:
        seen.append(("delete", sender, instance, None))

    post_save.connect(saved)
    post_delete.connect(deleted)
    yield seen
    post_save.disconnect(saved)
    post_delete.disconnect(deleted)


def test_signals_are_dispatch_signals() -> None:
    assert type(post_save) is Signal
    assert (post_save.name, post_delete.name) == ("post_save", "post_delete")


async def test_every_write_is_announced(db: Any, events: list[Event]) -> None:
    book = Book(title="a")
    await book.insert(db)
    await book.save(db)
    await book.update(db, data={"title": "b"})
    modified = await Book.modify(db, key=book._id, data={"pages": 2})
    await book.delete(db)
    assert [(kind, created) for kind, _, _, created in events] == [
        ("save", True),
        ("save", False),
        ("save", False),
        ("save", False),
        ("delete", None),
    ]
    assert all(sender is Book for _, sender, _, _ in events)
    assert events[0][2] is book and events[3][2] == modified


async def test_save_of_a_new_object_is_a_creation(db: Any, events: list[Event]) -> None:
    await Book(title="new").save(db)
    await Book(_id=ObjectId(), title="new with id").save(db)
    await Author(handle="a", name="A").save(db)
    assert [created for _, _, _, created in events] == [True, True, True]


async def test_nothing_is_announced_when_nothing_happened(db: Any, events: list[Event]) -> None:
    assert await Book(title="never saved", _id=ObjectId()).delete(db) is False
    assert await Book.modify(db, key=ObjectId(), data={"pages": 3}) is None
    await Book.delete_entries(db, {})
    assert events == []


async def test_a_sender_filter_limits_delivery(db: Any) -> None:
    seen: list[type] = []

    def only_authors(sender: type, **kwargs: Any) -> None:
        seen.append(sender)

    post_save.connect(only_authors, sender=Author)
    try:
        await Book(title="b").insert(db)
        await Author(handle="x", name="X").insert(db)
    finally:
        post_save.disconnect(only_authors, sender=Author)
    assert seen == [Author]


async def test_a_failing_receiver_does_not_undo_the_write(db: Any) -> None:
    def broken(sender: type, **kwargs: Any) -> None:
        raise RuntimeError("receiver bug")

    post_save.connect(broken)
    try:
        await Book(title="kept").insert(db)
    finally:
        post_save.disconnect(broken)
    assert await Book.count(db) == 1
