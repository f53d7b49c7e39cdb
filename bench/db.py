"""Persistence benchmark: tbone.db vs raw pymongo, side by side, on SecantusDB.

SecantusDB runs as a separate process (``secantusd-py``) on 127.0.0.1, so the
server does not share the client's interpreter. Three operations, each through
tbone (``MongoCollectionMixin`` on a ``connect()`` database) and through raw
pymongo (``AsyncMongoClient``, plain dicts):

  insert    1,000 ``insert_one`` of a Book (tbone: validate, export, encode)
  find_one  1,000 ``find_one`` by ``_id`` (tbone: build the model)
  find      one ``find`` of all 1,000 documents (tbone: build 1,000 models)

Each round runs both sides on fresh collections, interleaving single
operations (and alternating which side goes first) so that drift and load
from other processes hit both alike; the whole-collection find runs as five
alternating pairs per round (the median of each side counts). The table shows
the median over rounds of each side's time and, as the ratio, the median of
the rounds' own tbone / pymongo ratios (target: at most 1.15): the server's
speed drifts a lot between rounds (its inserts slow down as its files grow),
so a ratio of two medians taken from different rounds would mostly measure
that drift. Before each side's whole-collection find the garbage collector
runs, so neither side pays for collecting the other's (or the set-up's)
garbage.

Run: ``.venv/bin/python bench/db.py [--rounds 7] [--count 1000]``, or with
``--uri mongodb://...`` to use a running server instead of starting one.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bson import Decimal128, ObjectId
from pymongo import AsyncMongoClient

from tbone.data import Field, Model
from tbone.db import connect
from tbone.db.models import MongoCollectionMixin

# -- the document ----------------------------------------------------------------


class Person(Model):
    first_name: str
    last_name: str
    age: int | None = Field(default=None, min=0)


class Review(Model):
    user: str
    rating: int = Field(min=1, max=5)
    text: str = ""


class Book(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    title: str
    isbn: str | None = None
    pages: int = Field(min=1)
    price: Decimal
    published: datetime
    tags: list[str] = Field(default_factory=list)
    author: Person
    reviews: list[Review] = Field(default_factory=list)

    class Meta:
        name = "tbone_books"


def raw_document(i: int) -> dict[str, Any]:
    """What a raw pymongo user stores: the same fields, BSON types made by hand."""
    return {
        "title": f"War and Peace, volume {i}",
        "isbn": f"978-0-19-{i:06d}",
        "pages": 1225,
        "price": Decimal128("34.77"),
        "published": datetime(1869, 1, 1, 12, 30, tzinfo=UTC) + timedelta(days=i),
        "tags": ["novel", "history", "russia", "classic"],
        "author": {"first_name": "Leo", "last_name": "Tolstoy", "age": 82},
        "reviews": [
            {"user": f"reader{r}", "rating": 1 + r % 5, "text": "A long but rewarding read. " * 3}
            for r in range(3)
        ],
    }


def model(i: int) -> Book:
    doc = raw_document(i)
    doc["price"] = Decimal("34.77")
    return Book.from_data(doc)


# -- the two sides ---------------------------------------------------------------
#
# Single operations are interleaved one by one (tbone, pymongo, pymongo, tbone...)
# so both sides meet the same server state and the same load from other
# processes; the whole-collection find alternates per round.

Timings = dict[str, float]
FINDS = 5


class Clock:
    """Wall time and this process's CPU time of awaited operations, per side.

    The CPU time is the client's own work (tbone, the driver, the event loop),
    which the server's speed and the machine's other load disturb much less
    than the wall time.
    """

    def __init__(self) -> None:
        self.spent = {"tbone": 0.0, "pymongo": 0.0}
        self.cpu = {"tbone": 0.0, "pymongo": 0.0}
        self.each: dict[str, list[float]] = {"tbone": [], "pymongo": []}

    async def time(self, side: str, operation: Awaitable[Any]) -> Any:
        cpu = time.process_time()
        start = time.perf_counter()
        result = await operation
        took = time.perf_counter() - start
        self.spent[side] += took
        self.each[side].append(took)
        self.cpu[side] += time.process_time() - cpu
        return result

    def typical(self, side: str) -> float:
        """The median single operation times their count: what the total would be
        without the server's occasional stalls (a checkpoint holding one insert
        for a few hundred ms lands on whichever side's operation is in flight)."""
        return statistics.median(self.each[side]) * len(self.each[side])


async def one_round(tbone_db: Any, raw_db: Any, count: int, tbone_first: bool) -> dict[str, Timings]:
    raw = raw_db["raw_books"]
    await tbone_db.drop_collection("tbone_books")
    await raw.drop()
    books = [model(i) for i in range(count)]
    docs = [raw_document(i) for i in range(count)]
    out: dict[str, Timings] = {"tbone": {}, "pymongo": {}}

    clock = Clock()
    for i, (book, doc) in enumerate(zip(books, docs, strict=True)):
        first = (i % 2 == 0) == tbone_first
        pair = [("tbone", book.insert(tbone_db)), ("pymongo", raw.insert_one(doc))]
        for side, operation in pair if first else pair[::-1]:
            await clock.time(side, operation)
    for side in out:
        out[side]["insert"] = clock.spent[side]
        out[side]["insert cpu"] = clock.cpu[side]
        out[side]["insert typical"] = clock.typical(side)

    clock = Clock()
    for i, (book, doc) in enumerate(zip(books, docs, strict=True)):
        first = (i % 2 == 0) == tbone_first
        pair = [
            ("tbone", Book.find_one(tbone_db, {"_id": book._id})),
            ("pymongo", raw.find_one({"_id": doc["_id"]})),
        ]
        for side, operation in pair if first else pair[::-1]:
            found = await clock.time(side, operation)
            assert found is not None
    for side in out:
        out[side]["find_one"] = clock.spent[side]
        out[side]["find_one cpu"] = clock.cpu[side]
        out[side]["find_one typical"] = clock.typical(side)

    # A find takes tens of ms, so one is at the mercy of a single hiccup: each
    # round takes the median of FINDS alternating pairs.
    finds: dict[str, list[tuple[float, float]]] = {"tbone": [], "pymongo": []}
    for repeat in range(FINDS):
        clock = Clock()
        pair = [("tbone", Book.find(Book.get_cursor(tbone_db))), ("pymongo", raw.find({}).to_list())]
        for side, operation in pair if (repeat % 2 == 0) == tbone_first else pair[::-1]:
            gc.collect()  # neither side pays for the garbage of the other (or of the set-up)
            everything = await clock.time(side, operation)
            assert len(everything) == count
            del everything
        for side in finds:
            finds[side].append((clock.spent[side], clock.cpu[side]))
    for side, times in finds.items():
        out[side]["find"] = statistics.median(spent for spent, _ in times)
        out[side]["find cpu"] = statistics.median(cpu for _, cpu in times)
    return out


# -- the server ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def secantus_process() -> Iterator[str]:
    """Start ``secantusd-py`` on 127.0.0.1 with on-disk storage in a temporary
    directory (WiredTiger, as the tests and a real server use); yield its URI.

    Not ``:memory:``: with in-memory storage the server answered inserts into
    one of the two collections ~20% slower than into the other, whichever
    client wrote them (tbone 1.20x raw there, 1.03x against on-disk storage).
    """
    exe = shutil.which("secantusd-py", path=os.path.dirname(sys.executable)) or shutil.which("secantusd-py")
    if exe is None:
        raise SystemExit("secantusd-py not found: install the dev extra (SecantusDB)")
    port = _free_port()
    storage = tempfile.mkdtemp(prefix="tbone-bench-secantus-")
    args = [exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", storage]
    proc = subprocess.Popen([*args, "--log-level", "ERROR"], stdout=subprocess.DEVNULL)
    try:
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(storage, ignore_errors=True)


async def _wait_for(client: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.admin.command("ping")
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


# -- main ------------------------------------------------------------------------


async def bench(uri: str, rounds: int, count: int) -> None:
    tbone_db = connect(uri=uri, name="tbone_bench", serverSelectionTimeoutMS=30000)
    raw_client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    raw_db = raw_client["tbone_bench"]
    await _wait_for(raw_client)
    await one_round(tbone_db, raw_db, 50, True)  # warm-up: connections, compiled model code
    results: dict[str, list[Timings]] = {"tbone": [], "pymongo": []}
    for round_no in range(rounds):
        timings = await one_round(tbone_db, raw_db, count, tbone_first=round_no % 2 == 0)
        for side, spent in timings.items():
            results[side].append(spent)
    await raw_client.drop_database("tbone_bench")
    await raw_client.close()
    await tbone_db.client.close()

    def med(side: str, key: str) -> float:
        return statistics.median(t[key] for t in results[side]) * 1e3

    def paired(key: str) -> list[float]:
        """tbone / pymongo per round: both sides of a round met the same server
        state, while the server's speed drifts a lot from round to round."""
        return [t[key] / p[key] for t, p in zip(results["tbone"], results["pymongo"], strict=True)]

    print(f"SecantusDB (separate process), {count:,} documents, {rounds} rounds")
    print("times: median over rounds; ratio: median of the rounds' tbone/pymongo ratios")
    print(
        f"{'operation':<10} {'tbone ms':>10} {'pymongo ms':>11} {'ratio':>7}   client CPU ms (ratio)"
        "   median op x count, ms (ratio)"
    )
    for op in ("insert", "find_one", "find"):
        ours, theirs = med("tbone", op), med("pymongo", op)
        cpu_ours, cpu_theirs = med("tbone", f"{op} cpu"), med("pymongo", f"{op} cpu")
        ratio = statistics.median(paired(op))
        line = (
            f"{op:<10} {ours:>10.1f} {theirs:>11.1f} {ratio:>6.2f}x"
            f"   {cpu_ours:.1f} vs {cpu_theirs:.1f} ({statistics.median(paired(f'{op} cpu')):.2f}x)"
        )
        if op != "find":
            typ_ours, typ_theirs = med("tbone", f"{op} typical"), med("pymongo", f"{op} typical")
            typ_ratio = statistics.median(paired(f"{op} typical"))
            line += f"   {typ_ours:.1f} vs {typ_theirs:.1f} ({typ_ratio:.2f}x)"
        print(line)
    for op in ("insert", "find_one", "find"):
        print(f"{op} ratio per round: " + " ".join(f"{r:.2f}" for r in paired(op)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--uri", default=None, help="use this server instead of starting SecantusDB")
    args = parser.parse_args()
    if args.uri:
        asyncio.run(bench(args.uri, args.rounds, args.count))
        return
    with secantus_process() as uri:
        asyncio.run(bench(uri, args.rounds, args.count))


if __name__ == "__main__":
    main()
