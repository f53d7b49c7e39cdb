"""The movies API on Sanic: ``/api/movies/`` with filters, sorting and paging.

Try ``/api/movies/?genre=scifi&rating__gte=8&order_by=-rating,title&limit=5``.
``create_app(db)`` loads the seed data when the server starts.
"""

from __future__ import annotations

import uuid
from typing import Any

from sanic import Sanic

from examples.movies.models import Movie
from tbone.db import create_collection
from tbone.resources import Router
from tbone.resources.mongo import MongoResource
from tbone.resources.sanic import SanicResource, mount

__all__ = ["MOVIES", "MovieResource", "create_app", "router", "seed"]


class MovieResource(SanicResource, MongoResource[Movie]):
    class Meta:
        object_class = Movie
        sort = [("rating", -1), ("title", 1)]
        limit = 10
        max_limit = 50


router = Router(name="api")
router.register(MovieResource, "movies")

_ROWS = """\
The Godfather|crime|1972|9.2|Francis Ford Coppola
Pulp Fiction|crime|1994|8.9|Quentin Tarantino
Goodfellas|crime|1990|8.7|Martin Scorsese
Blade Runner|scifi|1982|8.1|Ridley Scott
The Matrix|scifi|1999|8.7|Lana and Lilly Wachowski
Alien|scifi|1979|8.5|Ridley Scott
Arrival|scifi|2016|7.9|Denis Villeneuve
Some Like It Hot|comedy|1959|8.2|Billy Wilder
Groundhog Day|comedy|1993|8.0|Harold Ramis
The Grand Budapest Hotel|comedy|2014|8.1|Wes Anderson
Spirited Away|animation|2001|8.6|Hayao Miyazaki
Up|animation|2009|8.3|Pete Docter
Casablanca|drama|1942|8.5|Michael Curtiz
Parasite|thriller|2019|8.5|Bong Joon-ho
Vertigo|thriller|1958|8.3|Alfred Hitchcock"""

MOVIES: list[dict[str, Any]] = [
    {"title": t, "genre": g, "year": int(y), "rating": float(r), "director": d}
    for t, g, y, r, d in (row.split("|") for row in _ROWS.splitlines())
]


async def seed(db: Any) -> int:
    """Create the collection and load ``MOVIES`` if it is empty; returns the count."""
    await create_collection(db, Movie)
    if await Movie.count(db) == 0:
        for data in MOVIES:
            await Movie.from_data(data).insert(db)
    return await Movie.count(db)


def create_app(db: Any, name: str | None = None) -> Sanic[Any, Any]:
    """The movies API around ``db``; the seed data is loaded before serving."""
    app: Sanic[Any, Any] = Sanic(name or f"movies_{uuid.uuid4().hex[:8]}")
    app.ctx.db = db
    mount(app, router)

    @app.before_server_start
    async def load_seed(app: Sanic[Any, Any]) -> None:
        await seed(app.ctx.db)

    return app
