"""Two app instances in two OS processes, a MongoResource with
``Meta.channel_class = RedisChannel`` in each, one Redis: each instance's
websocket clients hear the other's writes, whichever server wrote them."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.dispatch.channels.redis import URL_ENV, RedisChannel
from tbone.testing import WebSocketTestClient

from .redis_support import serve

ROOT = Path(__file__).resolve().parents[2]


async def test_a_resource_on_redis_reaches_the_other_instance(
    mongo_uri: str, db: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, redis_url)
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.websocket.redis_peer",
        mongo_uri,
        db.name,
        redis_url,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert peer.stdin is not None and peer.stdout is not None
    try:
        async with asyncio.timeout(30):
            peer_url = (await peer.stdout.readline()).decode().strip()
        assert peer_url.startswith("http://"), peer_url
        async with (
            serve("sanic", db, redis_url) as here,
            await WebSocketTestClient.connect(f"{here}/ws") as local,
            await WebSocketTestClient.connect(f"{peer_url}/ws") as remote,
            aiohttp.ClientSession() as session,
        ):
            # the resource built its channel from the environment: the multiplexer's
            assert RedisChannel(name="pubsub", db=db) is RedisChannel(name="pubsub", url=redis_url)
            await local.subscribe("resource_create")
            await remote.subscribe("resource_create")
            # an HTTP write in the other process (aiohttp) reaches our websocket client (and its own)
            body = orjson.dumps({"code": "t1", "title": "So What"})
            async with session.post(f"{peer_url}/api/tracks/", data=body) as response:
                assert response.status == 201
            assert (await local.next_event("resource_create", timeout=10))["title"] == "So What"
            assert (await remote.next_event("resource_create", timeout=10))["title"] == "So What"
            # a websocket write here (Sanic) reaches the other process's client
            status, _ = await local.request("POST", "/api/tracks/", {"code": "t2", "title": "Freddie"})
            assert status == 201
            assert (await remote.next_event("resource_create", timeout=10))["code"] == "t2"
            assert (await local.next_event("resource_create", timeout=10))["code"] == "t2"
    finally:
        peer.stdin.close()
        try:
            async with asyncio.timeout(10):
                await peer.wait()
        except TimeoutError:
            peer.kill()
            await peer.wait()
