"""Concurrent writers: partial updates never lose each other's changes, and the
documented semantics of saving an object loaded before someone else wrote."""

from __future__ import annotations

import asyncio
from typing import Any

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin, post_save

from .models import Book

WIDTH = 50


def _wide_model() -> type[Any]:
    namespace: dict[str, Any] = {
        "__annotations__": {"_id": ObjectId | None, **{f"f{i}": int for i in range(WIDTH)}},
        "_id": Field(default=None, primary_key=True),
        **{f"f{i}": 0 for i in range(WIDTH)},
        "Meta": type("Meta", (), {"name": "wide"}),
    }
    return type("Wide", (Model, MongoCollectionMixin), namespace)


Wide = _wide_model()


async def test_concurrent_modifies_of_different_fields_all_land(db: Any) -> None:
    doc = Wide()
    await doc.insert(db)
    results = await asyncio.gather(
        *(Wide.modify(db, key=doc._id, data={f"f{i}": i + 1}) for i in range(WIDTH))
    )
    assert all(r is not None for r in results)
    stored = await Wide.get(db, {"_id": doc._id})
    assert [getattr(stored, f"f{i}") for i in range(WIDTH)] == list(range(1, WIDTH + 1))


async def test_stale_save_overwrites_declared_fields_and_keeps_the_rest(db: Any) -> None:
    book = Book(title="War and Peace", pages=1225, tags=["novel"])
    await book.insert(db)
    raw = db["store.books"]
    await raw.update_one({"_id": book._id}, {"$set": {"legacy": "from v1", "shelf": 3}})
    stale = await Book.get(db, {"_id": book._id})
    # another writer changes a declared field, removes an undeclared key, adds another
    await raw.update_one(
        {"_id": book._id}, {"$set": {"pages": 1300, "note": "new"}, "$unset": {"legacy": ""}}
    )
    stale.title = "Voyna i mir"
    await stale.save(db)
    stored = await raw.find_one({"_id": book._id})
    assert stored["title"] == "Voyna i mir"
    assert stored["pages"] == 1225  # last writer wins on every declared field
    assert "legacy" not in stored  # never resurrected: the model never carried it
    assert (stored["shelf"], stored["note"]) == (3, "new")  # undeclared keys are left alone


async def test_stale_save_of_a_deleted_document_recreates_it_and_says_so(db: Any) -> None:
    book = Book(title="gone")
    await book.insert(db)
    stale = await Book.get(db, {"_id": book._id})
    await book.delete(db)
    flags: list[bool] = []

    def record(sender: type, created: bool, **kwargs: Any) -> None:
        flags.append(created)

    post_save.connect(record, sender=Book)
    try:
        await stale.save(db)
    finally:
        post_save.disconnect(record, sender=Book)
    assert flags == [True]
    assert await Book.get(db, {"_id": book._id}) == stale


async def test_modify_does_not_undo_a_concurrent_save_of_other_fields(db: Any) -> None:
    book = Book(title="t", pages=10)
    await book.insert(db)
    loaded = await Book.get(db, {"_id": book._id})
    await Book.modify(db, key=book._id, data={"pages": 11})
    await Book.modify(db, key=book._id, data={"tags": ["a"]})
    assert loaded.pages == 10
    stored = await Book.get(db, {"_id": book._id})
    assert (stored.pages, stored.tags, stored.title) == (11, ["a"], "t")
