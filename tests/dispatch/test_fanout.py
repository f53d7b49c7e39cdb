from __future__ import annotations

import asyncio

import orjson

from tbone.dispatch.channels import Fanout
from tbone.dispatch.encoding import EncodedMessage, event_message, text_frame

from .carriers import FailingCarrier, HangingCarrier, ListCarrier, StreamListCarrier


def test_event_message_shape_and_single_encoding() -> None:
    message = event_message("resource_create", {"id": 1})
    assert message.data == {"type": "event", "payload": {"name": "resource_create", "data": {"id": 1}}}
    assert orjson.loads(message.payload) == message.data
    assert message.text == message.payload.decode()
    assert message.frame is message.frame  # built once, then shared


def test_text_frame_headers_for_each_length_class() -> None:
    for size, header in ((5, b"\x81\x05"), (300, b"\x81\x7e\x01\x2c"), (70000, None)):
        frame = text_frame(b"x" * size)
        assert frame.endswith(b"x" * size)
        if header is not None:
            assert frame[: len(header)] == header
        else:
            assert frame[:2] == b"\x81\x7f"
            assert int.from_bytes(frame[2:10], "big") == size


async def test_stream_carriers_get_the_same_encoded_bytes() -> None:
    fanout = Fanout()
    first, second = StreamListCarrier(), StreamListCarrier()
    fanout.subscribe("e", first)
    fanout.subscribe("e", second)
    assert fanout.publish("e", {"n": 1}) == 2
    assert first.encoded == second.encoded
    assert first.encoded[0] is second.encoded[0]  # encoded once, not per subscriber
    assert orjson.loads(first.encoded[0])["payload"] == {"name": "e", "data": {"n": 1}}


async def test_plain_carriers_receive_in_order_through_their_outbox() -> None:
    fanout = Fanout()
    carrier = ListCarrier()
    fanout.subscribe("e", carrier)
    for n in range(50):
        fanout.publish("e", n)
    await carrier.wait_for(50)
    assert carrier.data() == list(range(50))
    assert carrier.messages[0] == {"type": "event", "payload": {"name": "e", "data": 0}}


async def test_only_subscribers_of_the_key_receive() -> None:
    fanout = Fanout()
    a, b = StreamListCarrier(), StreamListCarrier()
    fanout.subscribe("a", a)
    fanout.subscribe("b", b)
    assert fanout.publish("a", 1) == 1
    assert fanout.publish("nobody", 1) == 0
    assert len(a.encoded) == 1
    assert b.encoded == []


async def test_counts_and_unsubscribe() -> None:
    fanout = Fanout()
    carrier = StreamListCarrier()
    fanout.subscribe("a", carrier)
    fanout.subscribe("b", carrier)
    assert (fanout.count(), fanout.count("a"), fanout.count("b")) == (1, 1, 1)
    fanout.unsubscribe("a", carrier)
    assert (fanout.count(), fanout.count("a")) == (1, 0)
    fanout.unsubscribe("b", carrier)
    fanout.unsubscribe("b", carrier)  # twice is harmless
    assert fanout.count() == 0


async def test_failing_stream_carrier_is_dropped_and_others_still_receive() -> None:
    fanout = Fanout()
    dead, alive = StreamListCarrier(), StreamListCarrier()
    dead.alive = False
    fanout.subscribe("e", dead)
    fanout.subscribe("e", alive)
    fanout.subscribe("other", dead)
    assert fanout.publish("e", 1) == 1
    assert fanout.count() == 1
    assert fanout.count("other") == 0
    assert dead.aborted
    assert fanout.dropped == 1
    assert len(alive.encoded) == 1


async def test_failing_plain_carrier_is_dropped() -> None:
    fanout = Fanout()
    failing, ok = FailingCarrier(), ListCarrier()
    fanout.subscribe("e", failing)
    fanout.subscribe("e", ok)
    fanout.publish("e", 1)
    await ok.wait_for(1)
    async with asyncio.timeout(2):
        while fanout.count("e") != 1:
            await asyncio.sleep(0.01)
    assert failing.calls == 1
    fanout.publish("e", 2)
    await ok.wait_for(2)
    assert failing.calls == 1


async def test_hanging_deliver_times_out_and_is_dropped_without_delaying_others() -> None:
    fanout = Fanout(deliver_timeout=0.2)
    hanging, ok = HangingCarrier(), ListCarrier()
    fanout.subscribe("e", hanging)
    fanout.subscribe("e", ok)
    for n in range(3):
        fanout.publish("e", n)
    await ok.wait_for(3, timeout=0.15)  # well before the hanging one times out
    async with asyncio.timeout(2):
        while fanout.count() != 1:
            await asyncio.sleep(0.02)
    assert fanout.dropped == 1


async def test_carrier_over_high_water_mark_is_dropped_after_stall_timeout() -> None:
    fanout = Fanout(high_water_mark=100, stall_timeout=0.1)
    slow, ok = StreamListCarrier(), StreamListCarrier()
    slow.buffered = 1000
    fanout.subscribe("e", slow)
    fanout.subscribe("e", ok)
    assert fanout.publish("e", 1) == 2  # over the mark but within the grace period
    assert fanout.count() == 2
    async with asyncio.timeout(2):
        while fanout.count() != 1:
            await asyncio.sleep(0.02)
    assert slow.aborted
    assert fanout.publish("e", 2) == 1
    assert len(ok.encoded) == 2


async def test_carrier_that_drains_in_time_is_kept() -> None:
    fanout = Fanout(high_water_mark=100, stall_timeout=0.1)
    carrier = StreamListCarrier()
    carrier.buffered = 1000
    fanout.subscribe("e", carrier)
    fanout.publish("e", 1)
    carrier.buffered = 0
    await asyncio.sleep(0.2)  # past the stall timeout: the check found it drained
    assert fanout.count() == 1
    assert not carrier.aborted


async def test_zero_stall_timeout_drops_at_once() -> None:
    fanout = Fanout(high_water_mark=10, stall_timeout=0)
    carrier = StreamListCarrier()
    carrier.buffered = 11
    fanout.subscribe("e", carrier)
    fanout.publish("e", 1)
    assert fanout.count() == 0


def test_encoded_message_reuses_given_payload() -> None:
    message = EncodedMessage({"a": 1}, payload=b'{"a":1}')
    assert len(message) == 7
    assert "a" in repr(message)
