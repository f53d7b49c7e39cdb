"""Run as a separate OS process: the items app on aiohttp, events on a MongoChannel.

Usage: python -m tests.websocket.peer URI DB
Prints the app's base URL once its channel is tailing, then serves until
its stdin closes.
"""

from __future__ import annotations

import asyncio
import sys

from pymongo import AsyncMongoClient

from tbone.dispatch.channels.mongo import MongoChannel

from .support import Store, serve_app


async def main(uri: str, name: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        channel = MongoChannel(name="pubsub", db=client[name])
        await channel.wait_ready()
        async with serve_app("aiohttp", Store(channel)) as served:
            print(served.url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await channel.close()
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
