"""Run as a separate OS process: the tracks app on aiohttp, events on a RedisChannel.

Usage: python -m tests.websocket.redis_peer MONGO_URI DB REDIS_URL
Prints the app's base URL once its channel reads the stream, then serves
until its stdin closes.
"""

from __future__ import annotations

import asyncio
import os
import sys

from pymongo import AsyncMongoClient

from tbone.dispatch.channels import registry
from tbone.dispatch.channels.redis import URL_ENV

from .redis_support import serve


async def main(uri: str, name: str, redis_url: str) -> None:
    os.environ[URL_ENV] = redis_url  # what the resource's RedisChannel(name=..., db=db) reads
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        async with serve("aiohttp", client[name], redis_url) as url:
            print(url, flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        for channel in registry.registered():
            await getattr(channel, "close")()  # noqa: B009
    finally:
        await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
