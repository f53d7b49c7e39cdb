"""The movies example (Sanic): seed data on start, filters, sorting, paging."""

from __future__ import annotations

from typing import Any

import aiohttp
from examples.movies import MOVIES, create_app
from sanic import Sanic

from tbone.testing.servers import run_sanic


async def test_movies_api(db: Any) -> None:
    app = create_app(db)
    try:
        async with run_sanic(app) as url, aiohttp.ClientSession(url) as http:

            async def get(path: str) -> Any:
                async with http.get(path) as resp:
                    assert resp.status == 200, await resp.text()
                    return await resp.json()

            everything = await get("/api/movies/")
            assert everything["meta"] == {"total_count": len(MOVIES), "limit": 10, "offset": 0}
            assert everything["objects"][0]["title"] == "The Godfather"  # Meta.sort: best first

            scifi = await get("/api/movies/?genre=scifi&rating__gte=8.5&order_by=-rating,title")
            assert [m["title"] for m in scifi["objects"]] == ["The Matrix", "Alien"]
            old = await get("/api/movies/?year__lt=1960&order_by=year&fields=title,year")
            assert [(m["title"], m["year"]) for m in old["objects"]] == [
                ("Casablanca", 1942),
                ("Vertigo", 1958),
                ("Some Like It Hot", 1959),
            ]
            picks = await get("/api/movies/?genre__in=comedy,animation&order_by=title&limit=2&offset=1")
            assert picks["meta"]["total_count"] == 5
            assert [m["title"] for m in picks["objects"]] == ["Some Like It Hot", "Spirited Away"]

            async with http.get("/api/movies/?limit=51") as resp:
                assert resp.status == 400
            async with http.post("/api/movies/", json={"title": "X", "genre": "opera", "year": 1}) as resp:
                assert resp.status == 400
                assert [e["loc"][0] for e in (await resp.json())["errors"]] == ["genre", "year", "rating"]
    finally:
        Sanic.unregister_app(app)
