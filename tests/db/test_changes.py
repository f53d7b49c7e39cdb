"""Changes: every write of the persistence layer records what it did, on both drivers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId

import tbone.db.models
from tbone.data import ValidationError
from tbone.db import Change, DuplicateKeyError, changed, collect_changes, create_collection, is_listening
from tbone.db.models import post_save

from .models import Author, Book, Note


def ops(changes: list[Change]) -> list[tuple[str, Any]]:
    return [(c.op, c.pk) for c in changes]


async def test_every_write_records_a_change(db: Any) -> None:
    with collect_changes() as changes:
        book = Book(title="a")
        await book.insert(db)
        await book.save(db)
        await book.update(db, data={"title": "b"})
        modified = await Book.modify(db, key=book._id, data={"pages": 2})
        await book.delete(db)
        new = Book(_id=ObjectId(), title="upserted")
        await new.save(db)
        many = [Book(title="m1"), Book(title="m2")]
        await Book.insert_many(db, many)
        assert await Book.delete_entries(db, {"title": {"$in": ["m1", "upserted"]}}) == 2
    pk = book._id
    assert ops(changes) == [
        ("insert", pk),
        ("update", pk),
        ("update", pk),
        ("update", pk),
        ("delete", pk),
        ("insert", new._id),
        ("insert", many[0]._id),
        ("insert", many[1]._id),
        ("delete", new._id),
        ("delete", many[0]._id),
    ]
    assert all(c.model is Book and c.collection == "store.books" and c.db is db for c in changes)
    assert changes[0].instance is book and changes[3].instance == modified
    assert changes[4].instance is None and changes[4].previous is book
    # delete_entries reads what it deletes: the change carries the deleted model
    assert changes[8].instance is None and changes[8].previous.title == "upserted"
    assert changes[9].previous.title == "m1"


async def test_nothing_is_recorded_when_nothing_was_written(db: Any) -> None:
    with collect_changes() as changes:
        assert await Book(title="never saved", _id=ObjectId()).delete(db) is False
        assert await Book.modify(db, key=ObjectId(), data={"pages": 3}) is None
        assert await Book.delete_entries(db, {}) == 0
        await Book.insert_many(db, [])
    assert changes == []


async def test_the_changed_signal_hears_writes_outside_any_collector(db: Any) -> None:
    heard: list[tuple[type, Change]] = []

    async def receiver(sender: type, change: Change) -> None:
        heard.append((sender, change))

    assert not is_listening(Author)
    changed.connect(receiver, sender=Author)
    try:
        assert is_listening(Author) and not is_listening(Book)
        author = Author(handle="ann", name="Ann")
        await author.insert(db)
        await Book(title="not heard").insert(db)
        await Author.delete_entries(db, {})
    finally:
        changed.disconnect(receiver, sender=Author)
    assert [(sender, c.op, c.pk) for sender, c in heard] == [
        (Author, "insert", "ann"),
        (Author, "delete", "ann"),
    ]


async def test_a_model_without_a_primary_key_field_reports_its_id(db: Any) -> None:
    with collect_changes() as changes:
        await Note(text="x").insert(db)
    (change,) = changes
    stored = await Note.get_collection(db).find_one({})
    assert change.pk == stored["_id"]


async def test_collectors_are_per_context_and_nest(db: Any) -> None:
    async def writer(title: str) -> list[Change]:
        with collect_changes() as mine:
            await asyncio.sleep(0)
            await Book(title=title).insert(db)
            await asyncio.sleep(0)
        return mine

    with collect_changes() as outer:
        first, second = await asyncio.gather(writer("one"), writer("two"))
    assert [c.instance.title for c in first] == ["one"]
    assert [c.instance.title for c in second] == ["two"]
    # tasks started inside a collector report to it as well
    assert sorted(c.instance.title for c in outer) == ["one", "two"]
    with collect_changes() as after:
        pass
    assert after == []


async def test_post_save_and_post_delete_come_from_the_same_place(db: Any) -> None:
    seen: list[tuple[str, bool]] = []

    def saved(sender: type, db: Any, instance: Any, created: bool) -> None:
        seen.append((instance.title, created))

    post_save.connect(saved, sender=Book)
    try:
        await Book.insert_many(db, [Book(title="x"), Book(title="y")])
    finally:
        post_save.disconnect(saved, sender=Book)
    assert seen == [("x", True), ("y", True)]


async def test_insert_many_stops_at_a_duplicate_and_says_where(db: Any) -> None:
    await create_collection(db, Book)
    await Book(title="taken", isbn="1").insert(db)
    books = [Book(title="a", isbn="2"), Book(title="b", isbn="1"), Book(title="c", isbn="3")]
    with collect_changes() as changes, pytest.raises(DuplicateKeyError) as caught:
        await Book.insert_many(db, books)
    assert (caught.value.item, caught.value.stored) == (1, 1)
    assert caught.value.key_value == {"isbn": "1"}
    assert isinstance(books[0]._id, ObjectId) and books[1]._id is None and books[2]._id is None
    assert sorted(b.title for b in await Book.find(Book.get_cursor(db))) == ["a", "taken"]
    assert ops(changes) == [("insert", books[0]._id)]


async def test_insert_many_validates_everything_before_writing(db: Any) -> None:
    bad = Book(title="bad")
    bad.pages = 0  # below min=1, assigned after construction
    with pytest.raises(ValidationError):
        await Book.insert_many(db, [Book(title="fine"), bad])
    assert await Book.count(db) == 0


async def test_validate_false_trusts_a_freshly_built_instance(db: Any) -> None:
    # validate=False is for an instance just built by from_data: the write does
    # not validate it again, so a value changed afterwards is not checked
    built = Book.from_data({"title": "t", "pages": 3})
    await built.insert(db, validate=False)
    assert (await Book.get(db, {"_id": built._id})).pages == 3
    built.pages = 0
    with pytest.raises(ValidationError):
        await built.save(db)
    with pytest.raises(ValidationError):
        await built.update(db)
    await built.update(db, validate=False)
    assert (await Book.get_collection(db).find_one({"_id": built._id}))["pages"] == 0
    # update(data=...) builds the result with from_data: validated exactly once
    with pytest.raises(ValidationError):
        await built.update(db, data={"pages": -1}, validate=False)
    await built.update(db, data={"pages": 5})
    assert (await Book.get(db, {"_id": built._id})).pages == 5


async def test_delete_entries_deletes_by_keys_in_batches_and_tolerates_misfits(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tbone.db.models, "DELETE_BATCH_SIZE", 2)
    await Book.insert_many(db, [Book(title=f"b{n}", pages=n + 1) for n in range(5)])
    await Book.get_collection(db).insert_one({"title": "misfit", "pages": "not a number"})
    with collect_changes() as changes:
        assert await Book.delete_entries(db, {"pages": {"$ne": 5}}) == 5
    assert [c.previous.title if c.previous else None for c in changes] == ["b0", "b1", "b2", "b3", None]
    assert [b.title for b in await Book.find(Book.get_cursor(db))] == ["b4"]


async def test_delete_entries_reports_only_what_it_deleted(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Another writer acts between delete_entries' read and its delete of the
    # second batch (it runs in a ``changed`` receiver of the first batch's
    # changes, which delete_entries awaits): it changes r2 out of the query and
    # deletes r3 itself. r2 is neither deleted nor reported; r3, gone either way,
    # is reported by delete_entries too (documented: deleted by both writers).
    monkeypatch.setattr(tbone.db.models, "DELETE_BATCH_SIZE", 2)
    await Book.insert_many(db, [Book(title=f"r{n}", pages=1) for n in range(4)])
    collection = Book.get_collection(db)

    async def meddle(sender: type, change: Change) -> None:
        if change.previous is not None and change.previous.title == "r0":
            await collection.update_one({"title": "r2"}, {"$set": {"pages": 2}})
            await collection.delete_one({"title": "r3"})

    changed.connect(meddle, sender=Book)
    try:
        with collect_changes() as changes:
            deleted = await Book.delete_entries(db, {"pages": 1})
    finally:
        changed.disconnect(meddle, sender=Book)
    assert deleted == 2  # r0 and r1; r3 was deleted by the other writer
    assert [c.previous.title for c in changes] == ["r0", "r1", "r3"]
    assert [b.title for b in await Book.find(Book.get_cursor(db))] == ["r2"]
