"""``find`` over results of several batches: it builds one batch while the next
is fetched, and must still return every document, in order, exactly once, and
fail cleanly (no fetch left running) when a document does not fit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId

from tbone.db import FIND_BATCH_SIZE, DocumentValidationError

from .models import Book, Review


async def _fill(db: Any, count: int) -> list[ObjectId]:
    docs = [
        {"title": f"book {n:05d}", "pages": n + 1, "reviews": [{"user": f"u{n}", "rating": 1 + n % 5}]}
        for n in range(count)
    ]
    result = await db["store.books"].insert_many(docs)
    return list(result.inserted_ids)


def _fetches_running() -> list[asyncio.Task[Any]]:
    """The batch fetches ``find`` started that have not finished."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and "_next_batch" in task.get_coro().__qualname__  # type: ignore[union-attr]
    ]


def _fetches_left_behind() -> list[asyncio.Task[Any]]:
    """Unfinished fetches nobody asked to stop (a cancelled one ends at the loop's next turn)."""
    return [task for task in _fetches_running() if not task.cancelling()]


async def test_every_document_of_several_batches_in_order_exactly_once(db: Any) -> None:
    count = FIND_BATCH_SIZE * 2 + 17
    ids = await _fill(db, count)
    found = await Book.find(Book.get_cursor(db, sort=[("title", 1)]))
    assert [book._id for book in found] == ids
    assert [book.pages for book in found] == list(range(1, count + 1))
    assert found[-1].reviews == [Review(user=f"u{count - 1}", rating=1 + (count - 1) % 5)]


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
async def test_a_batch_size_given_to_get_cursor_is_used(db: Any, batch_size: int) -> None:
    ids = await _fill(db, 40)
    cursor = Book.get_cursor(db, sort=[("_id", 1)], batch_size=batch_size)
    assert [book._id for book in await Book.find(cursor)] == ids


async def test_skip_and_limit_across_batches(db: Any) -> None:
    ids = await _fill(db, FIND_BATCH_SIZE + 50)
    cursor = Book.get_cursor(db, sort=[("_id", 1)], skip=10, limit=FIND_BATCH_SIZE + 5, batch_size=100)
    assert [book._id for book in await Book.find(cursor)] == ids[10 : 10 + FIND_BATCH_SIZE + 5]


async def test_a_bad_document_in_a_later_batch_names_its_id_and_leaves_no_fetch_running(db: Any) -> None:
    ids = await _fill(db, 250)
    bad_id = ids[120]
    await db["store.books"].update_one({"_id": bad_id}, {"$set": {"pages": "many"}})
    with pytest.raises(DocumentValidationError) as info:
        await Book.find(Book.get_cursor(db, sort=[("_id", 1)], batch_size=50))
    assert not _fetches_left_behind()
    assert info.value.document_id == bad_id
    assert info.value.errors[0]["loc"] == ("pages",)
    await asyncio.sleep(0.05)
    assert not _fetches_running()
    # the database is untouched and still usable
    assert await Book.count(db) == 250
    assert len(await Book.find(Book.get_cursor(db, {"_id": {"$ne": bad_id}}))) == 249


async def test_cancelling_find_leaves_no_fetch_running(db: Any, driver: str) -> None:
    await _fill(db, 600)
    job = asyncio.ensure_future(Book.find(Book.get_cursor(db, batch_size=20)))
    in_flight = False
    for _ in range(200):  # until a fetch is in flight (pymongo), or at most 1 s
        await asyncio.sleep(0.005)
        if _fetches_running():
            in_flight = True
            break
    job.cancel()
    try:
        await job
    except asyncio.CancelledError:
        assert not _fetches_left_behind()
    if driver == "pymongo":  # motor's cursor fetches in a thread, not in a task of ours
        assert in_flight and job.cancelled()
    await asyncio.sleep(0.05)
    assert not _fetches_running()
    assert await Book.count(db) == 600
