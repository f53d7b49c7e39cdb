"""The blog (aiohttp) and movies (Sanic) examples with their websocket endpoint."""

from __future__ import annotations

from typing import Any

import aiohttp
from examples.blog import seed
from examples.blog.websocket import create_live_app as live_blog
from examples.movies.websocket import create_live_app as live_movies
from sanic import Sanic

from tbone.testing import WebSocketTestClient
from tbone.testing.servers import run_aiohttp, run_sanic


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_blog_over_the_websocket(db: Any) -> None:
    await seed(db)
    async with (
        run_aiohttp(live_blog(db)) as url,
        aiohttp.ClientSession() as http,
        await WebSocketTestClient.connect(f"{url}/ws") as client,
    ):
        href = "/api/posts/?order_by=title&limit=2"
        assert await client.request("GET", href) == await get(http, url + href)
        await client.subscribe("resource_create")
        body = {"title": "Live", "slug": "live", "body": "over HTTP, heard on the websocket"}
        async with http.post(f"{url}/api/posts/", json=body) as resp:
            assert resp.status == 201
        assert (await client.next_event("resource_create"))["slug"] == "live"


async def test_movies_over_the_websocket(db: Any) -> None:
    app = live_movies(db)
    try:
        async with (
            run_sanic(app) as url,
            aiohttp.ClientSession() as http,
            await WebSocketTestClient.connect(f"{url}/ws") as client,
        ):
            href = "/api/movies/?genre=scifi&order_by=-rating,title&fields=title,rating"
            status, payload = await client.request("GET", href)
            assert (status, payload) == await get(http, url + href)
            assert payload["meta"]["total_count"] > 0
    finally:
        Sanic.unregister_app(app)
