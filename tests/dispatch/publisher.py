"""Run as a separate OS process: publish events on a MongoChannel.

Usage: python publisher.py URI DB COUNT [GO_FILE]
Waits until GO_FILE exists (if given), publishes COUNT events ``{"n": i}``
on key "tick" of channel "xproc", prints "done" and exits.
"""

from __future__ import annotations

import asyncio
import os
import sys

from pymongo import AsyncMongoClient

from tbone.dispatch.channels.mongo import MongoChannel


async def main(uri: str, name: str, count: int, go: str | None) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        channel = MongoChannel(name="xproc", db=client[name])
        await channel.ensure_collection()
        while go is not None and not os.path.exists(go):
            await asyncio.sleep(0.01)
        for n in range(count):
            await channel.publish("tick", {"n": n})
        print("done", flush=True)
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else None))
