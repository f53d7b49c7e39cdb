"""Two app instances in two OS processes share a MongoChannel: each one's
websocket clients hear the other's writes."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tbone.dispatch.channels.mongo import MongoChannel
from tbone.testing import WebSocketTestClient

from .support import Store, serve_app

ROOT = Path(__file__).resolve().parents[2]


async def test_two_processes_deliver_each_others_events(mongo_uri: str, db: Any) -> None:
    channel = MongoChannel(name="pubsub", db=db)
    await channel.wait_ready()
    peer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.websocket.peer",
        mongo_uri,
        db.name,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert peer.stdin is not None and peer.stdout is not None
    try:
        async with asyncio.timeout(20):
            peer_url = (await peer.stdout.readline()).decode().strip()
        assert peer_url.startswith("http://"), peer_url
        async with (
            serve_app("sanic", Store(channel)) as here,
            await WebSocketTestClient.connect(here.ws_url) as local,
            await WebSocketTestClient.connect(f"{peer_url}/ws") as remote,
            aiohttp.ClientSession() as session,
        ):
            await local.subscribe("resource_create")
            await remote.subscribe("resource_create")
            # an HTTP write in the other process reaches our websocket client (and its own)
            async with session.post(f"{peer_url}/api/items/", data=orjson.dumps({"title": "there"})) as r:
                assert r.status == 201
            assert (await local.next_event("resource_create", timeout=10))["title"] == "there"
            assert (await remote.next_event("resource_create", timeout=10))["title"] == "there"
            # a websocket write here reaches the other process's client
            assert (await local.request("POST", "/api/items/", {"title": "here"}))[0] == 201
            assert (await remote.next_event("resource_create", timeout=10))["title"] == "here"
            assert (await local.next_event("resource_create", timeout=10))["title"] == "here"
    finally:
        peer.stdin.close()
        try:
            async with asyncio.timeout(10):
                await peer.wait()
        except TimeoutError:
            peer.kill()
            await peer.wait()
