"""Events pending together are fanned out together: order and exactly-once per subscriber."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from tbone.dispatch import StreamCarrier
from tbone.dispatch.carriers import Outbox
from tbone.dispatch.carriers.base import BatchCarrier
from tbone.dispatch.channels import Fanout, MemoryChannel
from tbone.dispatch.encoding import EncodedBatch, EncodedMessage, event_message

from .carriers import BatchListCarrier, ListCarrier, StreamListCarrier


def test_batch_frames_are_the_frames_back_to_back() -> None:
    messages = [event_message("e", n) for n in range(3)]
    batch = EncodedBatch(messages)
    assert batch.frames == b"".join(m.frame for m in messages)
    assert batch.frames is batch.frames  # joined once
    assert len(batch) == 3 and list(batch) == messages
    assert batch.nbytes == sum(len(m) for m in messages)
    assert "3 messages" in repr(batch)
    single = EncodedBatch(messages[:1])
    assert single.frames is messages[0].frame  # no copy for one message


def test_protocols_tell_batch_carriers_apart() -> None:
    assert isinstance(BatchListCarrier(), BatchCarrier)
    assert not isinstance(StreamListCarrier(), BatchCarrier)
    assert isinstance(StreamListCarrier(), StreamCarrier)


async def test_one_batch_per_subscriber_shared_by_all() -> None:
    fanout = Fanout()
    carriers = [BatchListCarrier() for _ in range(3)]
    for carrier in carriers:
        fanout.subscribe("e", carrier)
    assert fanout.publish_batch([("e", n) for n in range(50)]) == 150
    for carrier in carriers:
        assert len(carrier.batches) == 1  # one write for the 50 events
        assert carrier.data() == list(range(50))
    assert carriers[0].batches[0] is carriers[1].batches[0]  # built once, not per subscriber
    assert carriers[0].writes[0] is carriers[2].writes[0]


async def test_mixed_keys_each_subscriber_gets_its_events_in_order_exactly_once() -> None:
    fanout = Fanout()
    only_a, only_b, both, both_too, neither = (BatchListCarrier() for _ in range(5))
    fanout.subscribe("a", only_a)
    fanout.subscribe("b", only_b)
    for carrier in (both, both_too):
        fanout.subscribe("a", carrier)
        fanout.subscribe("b", carrier)
    fanout.subscribe("c", neither)
    events = [("a" if n % 3 else "b", n) for n in range(30)]
    sent = fanout.publish_batch([*events, ("nobody", 99)])
    assert sent == 20 + 10 + 30 + 30
    assert only_a.data() == [n for key, n in events if key == "a"]
    assert only_b.data() == [n for key, n in events if key == "b"]
    assert both.data() == list(range(30))
    assert both.names() == [key for key, _ in events]
    assert both.batches[0] is both_too.batches[0]  # same keys, same batch
    assert neither.batches == []
    for carrier in (only_a, only_b, both):
        assert len(carrier.batches) == 1


async def test_long_runs_are_cut_at_batch_bytes_keeping_order() -> None:
    fanout = Fanout(high_water_mark=1000)
    assert fanout.batch_bytes == 1000
    carrier = BatchListCarrier()
    fanout.subscribe("e", carrier)
    size = len(event_message("e", "x" * 100))
    fanout.publish_batch([("e", "x" * 100) for _ in range(20)])
    per_batch = 1000 // size
    assert [len(b) for b in carrier.batches] == [per_batch] * (20 // per_batch) + (
        [20 % per_batch] if 20 % per_batch else []
    )
    assert all(b.nbytes <= 1000 for b in carrier.batches)
    assert carrier.data() == ["x" * 100] * 20
    # one event bigger than the limit still goes, on its own
    fanout.publish_batch([("e", "small"), ("e", "y" * 5000), ("e", "small")])
    assert [len(b) for b in carrier.batches[-3:]] == [1, 1, 1]


async def test_stream_and_plain_carriers_get_batches_one_message_at_a_time() -> None:
    fanout = Fanout()
    stream, plain = StreamListCarrier(), ListCarrier()
    fanout.subscribe("e", stream)
    fanout.subscribe("e", plain)
    assert fanout.publish_batch([("e", n) for n in range(10)]) == 20
    assert [orjson.loads(p)["payload"]["data"] for p in stream.encoded] == list(range(10))
    await plain.wait_for(10)
    assert plain.data() == list(range(10))


async def test_unencodable_event_is_skipped_not_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    fanout = Fanout()
    carrier = BatchListCarrier()
    fanout.subscribe("e", carrier)
    with caplog.at_level(logging.ERROR, logger="tbone.dispatch.fanout"):
        assert fanout.publish_batch([("e", 1), ("e", object()), ("e", 3)]) == 2
    assert carrier.data() == [1, 3]
    assert "could not be encoded" in caplog.text
    with pytest.raises(TypeError):
        fanout.publish("e", object())  # a direct publish tells its caller


async def test_failing_batch_carrier_is_dropped_others_get_everything() -> None:
    fanout = Fanout()
    dead, alive = BatchListCarrier(), BatchListCarrier()
    dead.alive = False
    fanout.subscribe("e", dead)
    fanout.subscribe("e", alive)
    assert fanout.publish_batch([("e", n) for n in range(5)]) == 5
    assert dead.aborted and fanout.count() == 1
    assert alive.data() == list(range(5))


async def test_subscriber_over_the_mark_in_a_batch_is_dropped_after_the_stall_timeout() -> None:
    fanout = Fanout(high_water_mark=100, stall_timeout=0.1)
    slow, ok = BatchListCarrier(), BatchListCarrier()
    slow.buffered = 1000
    fanout.subscribe("e", slow)
    fanout.subscribe("e", ok)
    fanout.publish_batch([("e", n) for n in range(5)])
    assert fanout.count() == 2  # within its grace period
    async with asyncio.timeout(2):
        while fanout.count() != 1:
            await asyncio.sleep(0.02)
    assert slow.aborted
    fanout.publish_batch([("e", n) for n in range(5, 10)])
    assert ok.data() == list(range(10))


async def test_memory_channel_coalesces_a_burst() -> None:
    channel = MemoryChannel(name="burst")
    batch, stream, plain = BatchListCarrier(), StreamListCarrier(), ListCarrier()
    for carrier in (batch, stream, plain):
        channel.subscribe("e", carrier)
    for n in range(200):
        await channel.publish("e", {"n": n})  # no yield in between: all pending at once
    await plain.wait_for(200)
    assert len(batch.batches) == 1
    assert [d["n"] for d in batch.data()] == list(range(200))
    assert len(stream.encoded) == 200
    assert [d["n"] for d in plain.data()] == list(range(200))


async def test_memory_channel_interleaved_publishers_keep_order_exactly_once() -> None:
    channel = MemoryChannel(name="interleaved")
    carrier = BatchListCarrier()
    channel.subscribe("a", carrier)
    channel.subscribe("b", carrier)

    async def publisher(key: str) -> None:
        for n in range(300):
            await channel.publish(key, n)
            if n % 7 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(publisher("a"), publisher("b"))
    async with asyncio.timeout(5):
        while len(carrier.encoded) < 600:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    names, data = carrier.names(), carrier.data()
    assert len(data) == 600
    for key in ("a", "b"):
        assert [d for k, d in zip(names, data, strict=True) if k == key] == list(range(300))
    assert len(carrier.batches) < 600  # some events went together


async def test_memory_channel_survives_an_unencodable_event() -> None:
    channel = MemoryChannel(name="survives")
    carrier = BatchListCarrier()
    channel.subscribe("e", carrier)
    await channel.publish("e", 1)
    await channel.publish("e", object())
    await channel.publish("e", 3)
    await asyncio.sleep(0.05)
    await channel.publish("e", 4)
    async with asyncio.timeout(2):
        while len(carrier.encoded) < 3:
            await asyncio.sleep(0.01)
    assert carrier.data() == [1, 3, 4]


async def test_memory_channel_lets_the_loop_run_between_big_batches() -> None:
    from tbone.dispatch.channels.mem import MAX_BATCH

    channel = MemoryChannel(name="big-burst")
    carrier = BatchListCarrier()
    channel.subscribe("e", carrier)
    for n in range(MAX_BATCH * 2 + 1):
        await channel.publish("e", n)
    ticks = 0
    async with asyncio.timeout(5):
        while len(carrier.encoded) < MAX_BATCH * 2 + 1:
            ticks += 1
            await asyncio.sleep(0)
    assert ticks >= 2  # we ran between the channel's batches
    assert carrier.data() == list(range(MAX_BATCH * 2 + 1))


async def test_outbox_put_all_keeps_order() -> None:
    sent: list[int] = []

    async def send(message: EncodedMessage) -> bool:
        sent.append(message.data["payload"]["data"])
        return True

    outbox = Outbox(send)
    assert outbox.put_all([event_message("e", n) for n in range(5)])
    assert outbox.put(event_message("e", 5))
    async with asyncio.timeout(2):
        while len(sent) < 6:
            await asyncio.sleep(0.01)
    assert sent == list(range(6))
    assert outbox.pending_bytes == 0
    outbox.close()
    assert not outbox.put_all([event_message("e", 6)])
