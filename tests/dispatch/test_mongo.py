"""MongoChannel against the session's SecantusDB (or MONGODB_URI), both drivers."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId

from tbone.dispatch.channels import MongoChannel

from .carriers import BatchListCarrier, ListCarrier, StreamListCarrier

PUBLISHER = Path(__file__).with_name("publisher.py")


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_singleton_per_name_and_database(db: Any) -> None:
    channel = MongoChannel(name="pubsub", db=db)
    assert MongoChannel(name="pubsub", db=db) is channel
    assert MongoChannel(name="other", db=db) is not channel


async def test_collection_is_capped_with_configured_size(db: Any) -> None:
    channel = MongoChannel(name="capped", db=db, size=64 * 1024)
    await channel.publish("e", 1)
    options = await db[channel.collection_name].options()
    assert options["capped"] is True
    assert options["size"] >= 64 * 1024


async def test_publish_reaches_subscribers_in_order(db: Any) -> None:
    channel = MongoChannel(name="inproc", db=db)
    plain, stream = ListCarrier(), StreamListCarrier()
    channel.subscribe("e", plain)
    channel.subscribe("e", stream)
    channel.subscribe("other", ListCarrier())
    await channel.wait_ready()
    for n in range(30):
        await channel.publish("e", {"n": n})
    await plain.wait_for(30)
    assert [d["n"] for d in plain.data()] == list(range(30))
    assert plain.messages[0] == {"type": "event", "payload": {"name": "e", "data": {"n": 0}}}
    assert len(stream.encoded) == 30


async def test_documents_arriving_together_are_fanned_out_together(db: Any) -> None:
    channel = MongoChannel(name="together", db=db)
    carrier, other = BatchListCarrier(), BatchListCarrier()
    channel.subscribe("e", carrier)
    channel.subscribe("e", other)
    channel.subscribe("skip", BatchListCarrier())
    await channel.wait_ready()
    # what several publishers inserting at once look like: one insert of 60 events,
    # one of which cannot be encoded as JSON (it is skipped, not the others)
    docs = [
        {"_id": ObjectId(), "key": "e", "data": {"n": n} if n != 30 else b"\x00", "at": datetime.now(UTC)}
        for n in range(60)
    ]
    await channel.collection.insert_many(docs)
    async with asyncio.timeout(5):
        while len(carrier.encoded) < 59:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # nothing more comes
    assert carrier.data() == [{"n": n} for n in range(60) if n != 30]
    assert other.data() == carrier.data()
    assert len(carrier.batches) < 10, "one write per cursor batch, not one per event"
    assert carrier.batches[0] is other.batches[0]  # encoded once for both
    await channel.publish("e", {"n": 60})  # still tailing
    async with asyncio.timeout(5):
        while len(carrier.encoded) < 60:
            await asyncio.sleep(0.01)
    assert carrier.data()[-1] == {"n": 60}


async def test_starts_from_now_old_messages_are_not_replayed(db: Any) -> None:
    early = MongoChannel(name="history", db=db)
    await early.publish("e", "old-1")
    await early.publish("e", "old-2")
    await early.close()
    channel = MongoChannel(name="history", db=db)
    assert channel is not early
    carrier = ListCarrier()
    channel.subscribe("e", carrier)
    await channel.wait_ready()
    await channel.publish("e", "new")
    await carrier.wait_for(1)
    await asyncio.sleep(0.2)  # give a replay, if there were one, the chance to show
    assert carrier.data() == ["new"]


async def test_cursor_killed_mid_stream_loses_and_duplicates_nothing(db: Any) -> None:
    channel = MongoChannel(name="killed", db=db, retry_delay=0.05)
    carrier = ListCarrier()
    channel.subscribe("e", carrier)
    await channel.wait_ready()
    killed = 0
    for n in range(300):
        await channel.publish("e", n)
        if n in (100, 200):
            # wait until the tail holds a server cursor, then kill it from the server side
            async with asyncio.timeout(5):
                while channel.cursor_id is None:
                    await asyncio.sleep(0.01)
            reply = await db.command({"killCursors": channel.collection_name, "cursors": [channel.cursor_id]})
            killed += len(reply["cursorsKilled"])
    await carrier.wait_for(300, timeout=10)
    await asyncio.sleep(0.3)  # a duplicate would arrive now
    assert killed == 2
    assert channel.cursors_opened >= 3
    assert carrier.data() == list(range(300))


# One driver is enough here (about 12 s: SecantusDB serves each insert and
# each tail getMore from this very process); motor is covered above.
@pytest.mark.parametrize("driver", ["pymongo"])
async def test_two_processes_1000_events_in_order_exactly_once(
    db: Any, mongo_uri: str, tmp_path: Path
) -> None:
    channel = MongoChannel(name="xproc", db=db, retry_delay=0.05)
    carriers = [ListCarrier(), StreamListCarrier()]
    for carrier in carriers:
        channel.subscribe("tick", carrier)
    await channel.wait_ready()
    go = tmp_path / "go"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PUBLISHER),
        mongo_uri,
        db.name,
        "1000",
        str(go),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        go.touch()
        plain = carriers[0]
        assert isinstance(plain, ListCarrier)
        await plain.wait_for(400, timeout=30)
        # kill our cursor mid-stream, from the inside
        assert channel.cursor_id is not None
        await channel._cursor.close()
        out, _ = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0
        assert out.strip() == b"done"
        await plain.wait_for(1000, timeout=30)
        await asyncio.sleep(0.3)  # a duplicate would arrive now
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert [d["n"] for d in plain.data()] == list(range(1000))
    stream = carriers[1]
    assert isinstance(stream, StreamListCarrier)
    assert len(stream.encoded) == 1000
    assert channel.cursors_opened >= 2
