"""Type-checked, never run: every shipped channel is a ``Channel``."""

from __future__ import annotations

from tbone.dispatch.channels import Channel, MemoryChannel, RedisChannel
from tbone.dispatch.channels.redis import PublishError


def channels(url: str) -> list[Channel]:
    redis_channel = RedisChannel(name="typed", url=url, maxlen=None, publish_timeout=0.5)
    assert isinstance(redis_channel.publish_errors, int)
    assert issubclass(PublishError, Exception)
    return [MemoryChannel(name="typed"), redis_channel, RedisChannel(name="typed", db=object())]
