from __future__ import annotations

from tbone.dispatch.channels import MemoryChannel, registry

from .carriers import ListCarrier, StreamListCarrier


async def test_singleton_per_name() -> None:
    first = MemoryChannel(name="pubsub")
    assert MemoryChannel(name="pubsub") is first
    assert MemoryChannel("pubsub") is first
    assert MemoryChannel(name="other") is not first
    assert first.name == "pubsub"


async def test_second_construction_keeps_subscribers_and_options() -> None:
    channel = MemoryChannel(name="keep", high_water_mark=123)
    channel.subscribe("e", ListCarrier())
    again = MemoryChannel(name="keep", high_water_mark=999)
    assert again.subscriber_count() == 1
    assert again.fanout.high_water_mark == 123


async def test_publish_reaches_subscribers_in_order() -> None:
    channel = MemoryChannel(name="ordered")
    a, b = ListCarrier(), StreamListCarrier()
    channel.subscribe("resource_create", a)
    channel.subscribe("resource_create", b)
    for n in range(100):
        await channel.publish("resource_create", {"n": n})
    await a.wait_for(100)
    assert [d["n"] for d in a.data()] == list(range(100))
    assert a.messages[0] == {
        "type": "event",
        "payload": {"name": "resource_create", "data": {"n": 0}},
    }
    assert len(b.encoded) == 100


async def test_publish_without_data_sends_null() -> None:
    channel = MemoryChannel(name="nulls")
    carrier = ListCarrier()
    channel.subscribe("ping", carrier)
    await channel.publish("ping")
    await carrier.wait_for(1)
    assert carrier.data() == [None]


async def test_unsubscribe_and_counts() -> None:
    channel = MemoryChannel(name="counts")
    a, b = ListCarrier(), ListCarrier()
    channel.subscribe("x", a)
    channel.subscribe("y", a)
    channel.subscribe("x", b)
    assert channel.subscriber_count() == 2
    assert channel.subscriber_count("x") == 2
    channel.unsubscribe("x", a)
    channel.unsubscribe("y", a)
    assert channel.subscriber_count() == 1
    assert channel.subscriber_count("y") == 0


async def test_close_frees_the_name_and_drops_subscribers() -> None:
    channel = MemoryChannel(name="closing")
    channel.subscribe("x", ListCarrier())
    channel.kickoff()
    await channel.close()
    assert channel.subscriber_count() == 0
    assert channel not in registry.registered()
    fresh = MemoryChannel(name="closing")
    assert fresh is not channel
