"""``mount_health`` (issue 13): the same health endpoint on both servers.

``200 {"status": "ok"}`` when the database answers a ping in time, ``503
{"status": "unavailable"}`` otherwise, with no detail in the body; served on
real sockets on 127.0.0.1, the database being the session's SecantusDB.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from tbone.db import connect
from tbone.servers import aiohttp as aiohttp_server
from tbone.servers import sanic as sanic_server
from tbone.testing.servers import run_aiohttp, run_sanic

from .processes import free_port
from .support import SERVERS

pytestmark = pytest.mark.parametrize("kind", SERVERS)

OK = {"status": "ok"}
UNAVAILABLE = {"status": "unavailable"}
_names = itertools.count()


@asynccontextmanager
async def serve_health(kind: str, app_db: Any, **options: Any) -> AsyncIterator[str]:
    """An app whose database is ``app_db``, with ``mount_health(app, **options)``."""
    if kind == "aiohttp":
        from aiohttp import web

        app = web.Application()
        if app_db is not None:
            app[aiohttp_server.DB_KEY] = app_db
        aiohttp_server.mount_health(app, **options)
        async with run_aiohttp(app) as url:
            yield url
    else:
        from sanic import Sanic

        sanic_app: Sanic[Any, Any] = Sanic(f"tbone_health_test_{next(_names)}", configure_logging=False)
        if app_db is not None:
            sanic_app.ctx.db = app_db
        sanic_server.mount_health(sanic_app, **options)
        try:
            async with run_sanic(sanic_app) as url:
                yield url
        finally:
            Sanic.unregister_app(sanic_app)


async def _get(url: str, method: str = "GET") -> tuple[int, Any, aiohttp.ClientResponse]:
    async with aiohttp.ClientSession() as http, http.request(method, url) as response:
        body = await response.json() if method == "GET" else await response.read()
        return response.status, body, response


class Hanging:
    """A database whose ping never answers."""

    async def command(self, name: str) -> Any:
        await asyncio.sleep(3600)


async def test_healthy_when_the_database_answers(kind: str, db: Any) -> None:
    async with serve_health(kind, db) as url:
        status, body, response = await _get(f"{url}/healthz")
        assert (status, body) == (200, OK)
        assert response.content_type == "application/json"
        assert response.headers["Cache-Control"] == "no-store"
        status, body, _ = await _get(f"{url}/healthz", "HEAD")
        assert (status, body) == (200, b"")


async def test_unavailable_when_the_database_is_unreachable(kind: str) -> None:
    # nothing listens on that port: the driver cannot reach a server
    unreachable = connect(f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=200", "nowhere")
    try:
        async with serve_health(kind, unreachable, timeout=5.0) as url:
            status, body, _ = await _get(f"{url}/healthz")
            assert (status, body) == (503, UNAVAILABLE)  # no host, port or driver message
    finally:
        await unreachable.client.close()


async def test_unavailable_when_the_ping_times_out(kind: str) -> None:
    async with serve_health(kind, Hanging(), path="/ready", timeout=0.3) as url:
        started = time.monotonic()
        status, body, _ = await _get(f"{url}/ready")
        assert (status, body) == (503, UNAVAILABLE)
        assert time.monotonic() - started < 2


async def test_unavailable_without_a_database(kind: str) -> None:
    async with serve_health(kind, None) as url:
        status, body, _ = await _get(f"{url}/healthz")
        assert (status, body) == (503, UNAVAILABLE)


async def test_an_explicit_database_wins_over_the_apps(kind: str, db: Any) -> None:
    async with serve_health(kind, Hanging(), db=db, timeout=0.3) as url:
        status, body, _ = await _get(f"{url}/healthz")
        assert (status, body) == (200, OK)
