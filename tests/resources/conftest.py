"""The ``api`` fixture: the test resources on a real aiohttp or Sanic server.

Parametrized over both adapters, so every HTTP test runs on each server.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sanic import Sanic

from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.testing.servers import run_aiohttp, run_sanic

from .resources_support import ADAPTERS, Api, MemoryStore, make_router


@pytest.fixture(params=ADAPTERS)
async def api(request: pytest.FixtureRequest) -> AsyncIterator[Api]:
    adapter: str = request.param
    store = MemoryStore()
    router = make_router(adapter)
    async with aiohttp.ClientSession() as session:
        if adapter == "aiohttp":
            app = web.Application()
            app[aiohttp_adapter.DB_KEY] = store
            aiohttp_adapter.mount(app, router)
            async with run_aiohttp(app) as url:
                yield Api(adapter, url, app, router, store, session)
        else:
            sanic_app: Sanic[Any, Any] = Sanic(f"tbone_test_{uuid.uuid4().hex[:12]}")
            sanic_app.ctx.db = store
            sanic_adapter.mount(sanic_app, router)
            try:
                async with run_sanic(sanic_app) as url:
                    yield Api(adapter, url, sanic_app, router, store, session)
            finally:
                Sanic.unregister_app(sanic_app)
