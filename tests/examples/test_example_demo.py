"""``make demo``: seeds the blog, serves it, prints the URL and a curl line."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid

import aiohttp
import pytest
from examples.demo import bind, serve
from pymongo import AsyncMongoClient

from tbone.testing import WebSocketTestClient


def test_bind_falls_back_to_a_free_port() -> None:
    with contextlib.closing(bind(0)) as taken:
        port = taken.getsockname()[1]
        with contextlib.closing(bind(port)) as other:
            assert other.getsockname()[1] not in (0, port)


async def test_demo_serves_the_blog(mongo_uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"tbone_demo_{uuid.uuid4().hex[:8]}"
    stop = asyncio.Event()
    task = asyncio.create_task(serve(mongo_uri, 0, stop, name=name))
    try:
        out = ""
        for _ in range(200):
            out += capsys.readouterr().out
            match = re.search(r"on (http://127\.0\.0\.1:\d+)/api/posts/", out)
            if match or task.done():
                break
            await asyncio.sleep(0.05)
        assert match, "the demo printed no URL"
        async with aiohttp.ClientSession() as http, http.get(f"{match.group(1)}/api/posts/") as resp:
            assert resp.status == 200
            assert (await resp.json())["meta"]["total_count"] == 3
        ws_url = match.group(1).replace("http", "ws", 1) + "/ws"
        async with await WebSocketTestClient.connect(ws_url) as ws:
            status, listing = await ws.request("GET", "/api/posts/?fields=title")
            assert status == 200 and listing["meta"]["total_count"] == 3
            # the live query it prints, as printed
            printed = re.search(r"or send (\{.*\}): ", out)
            assert printed, "the demo printed no live query"
            query = json.loads(printed.group(1))
            assert query["type"] == "subscribe"
            key, status, page = await ws.live(query["href"], key=query["key"])
            assert status == 200
            assert all("howto" in post["tags"] for post in page["objects"])
            body = {"title": "Live", "slug": "live", "tags": ["howto"]}
            async with (
                aiohttp.ClientSession() as http,
                http.post(f"{match.group(1)}/api/posts/", json=body) as resp,
            ):
                assert resp.status == 201
            change = await ws.next_change(key)
            assert (change["op"], change["data"]["title"]) == ("enter", "Live")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_uri)
        await client.drop_database(name)
        await client.close()
