"""The blog example (aiohttp) on a real server against the test database."""

from __future__ import annotations

from typing import Any

import aiohttp
from examples.blog import create_app, seed

from tbone.testing.servers import run_aiohttp


async def test_blog_api(db: Any) -> None:
    posts = await seed(db)
    assert len(await seed(db)) == len(posts)  # seeding twice adds nothing
    async with run_aiohttp(create_app(db)) as url, aiohttp.ClientSession(url) as http:
        async with http.get("/api/posts/") as resp:
            listing = await resp.json()
        assert listing["meta"] == {"total_count": 3, "limit": 20, "offset": 0}  # the draft is hidden
        async with http.get("/api/posts/?tags=howto&order_by=title&fields=title") as resp:
            howto = await resp.json()
        assert [p["title"] for p in howto["objects"]] == ["Events", "Filters, sorting and paging"]
        assert set(howto["objects"][0]) == {"_id", "title", "_links"}

        async with http.post("/api/posts/", json={"title": "Mine", "slug": "mine", "created": "x"}) as resp:
            assert resp.status == 201
            mine = await resp.json()
        async with http.post("/api/posts/", json={"title": "Again", "slug": "mine"}) as resp:
            assert resp.status == 409
        async with http.post("/api/posts/", json={"title": "", "slug": "Bad Slug"}) as resp:
            assert resp.status == 400
            assert [e["loc"] for e in (await resp.json())["errors"]] == [["title"], ["slug"]]

        comments = f"/api/posts/{mine['_id']}/comments/"
        async with http.post(comments, json={"author": "bob", "text": "first"}) as resp:
            assert resp.status == 201
            comment = await resp.json()
        assert comment["_links"] == {"self": {"href": f"/api/comments/{comment['_id']}/"}}
        async with http.get(comments) as resp:
            assert [c["text"] for c in (await resp.json())["objects"]] == ["first"]
        async with http.get(comment["_links"]["self"]["href"]) as resp:
            assert (await resp.json())["post"] == mine["_id"]
        async with http.post("/api/comments/", json={"post": mine["_id"], "text": "x"}) as resp:
            assert resp.status == 405

        async with http.patch(mine["_links"]["self"]["href"], json={"tags": ["mine"]}) as resp:
            assert (resp.status, (await resp.json())["tags"]) == (202, ["mine"])
        async with http.delete(mine["_links"]["self"]["href"]) as resp:
            assert resp.status == 204
