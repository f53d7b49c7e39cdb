"""Run as a separate OS process: another app instance on the same RedisChannel.

Usage: python -m tests.dispatch.redis_peer URL COUNT GO_FILE
Subscribes to key "tick" of channel "xproc", prints "ready" once it reads
the stream, waits until GO_FILE exists, publishes COUNT events
``{"from": "peer", "n": i}``, waits (at most 30 s) until it has received
TOTAL events (argv[4], default COUNT) and prints them as one JSON line:
``[[from, n], ...]`` in the order it received them.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import orjson

from tbone.dispatch.channels.redis import RedisChannel


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, int]] = []
        self.changed = asyncio.Event()

    async def deliver(self, data: dict[str, Any]) -> bool:
        payload = data["payload"]["data"]
        self.events.append((payload["from"], payload["n"]))
        self.changed.set()
        return True


async def main(url: str, count: int, go: str, total: int) -> None:
    channel = RedisChannel(name="xproc", url=url, retry_delay=0.05, max_retry_delay=0.2)
    recorder = Recorder()
    channel.subscribe("tick", recorder)
    await channel.wait_ready()
    print("ready", flush=True)
    async with asyncio.timeout(30):
        while not os.path.exists(go):
            await asyncio.sleep(0.01)
        for n in range(count):
            await channel.publish("tick", {"from": "peer", "n": n})
        while len(recorder.events) < total:
            recorder.changed.clear()
            await recorder.changed.wait()
    print(orjson.dumps(recorder.events).decode(), flush=True)
    await channel.close()


if __name__ == "__main__":
    argv = sys.argv[1:]
    asyncio.run(main(argv[0], int(argv[1]), argv[2], int(argv[3]) if len(argv) > 3 else int(argv[1])))
