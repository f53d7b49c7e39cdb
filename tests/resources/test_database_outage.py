"""The database goes away, and comes back (issue 11, item 15).

While the database is down, a request answers 503 with ``Retry-After`` and a
JSON error within the client's server-selection bound (not the driver's
30 s default), and the body names no host, port or driver message. The same
over the websocket. When the database returns, on the same port and storage,
requests succeed again within a few seconds without restarting the app.

On aiohttp and Sanic, with pymongo and motor. These tests start, stop and
restart their own SecantusDB server, so they cannot run against
``MONGODB_URI``.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import os
import socket
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.data import Field, Model
from tbone.db import connect, create_collection
from tbone.db.connection import TIMEOUT_OPTIONS
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import WebSocketTestClient
from tbone.testing.servers import run_aiohttp, run_sanic

# The driver's sockets to a server that was stopped under it are dropped, not
# closed; collected later, each is a ResourceWarning, an error under the suite's
# filterwarnings, in whatever test runs then. They are expected here: collect
# them here, where they are made, and only here.


@pytest.fixture(autouse=True)
def _collect_dropped_sockets() -> Any:
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


pytestmark = [
    pytest.mark.skipif(
        bool(os.environ.get("MONGODB_URI")),
        reason="stops and restarts its own server; cannot control the one MONGODB_URI points at",
    ),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

SERVERS = ("aiohttp", "sanic")
DRIVERS = ("pymongo", "motor")

#: The test client's server-selection bound: short, so the outage is quick to see.
BOUND_MS = 250
#: Slack over the bound for a request to answer (a retried operation selects a
#: server once more; a loaded CI machine is slow).
SLACK = 2.0
#: Words of the driver's error messages that must not reach a client.
DRIVER_WORDS = (
    "127.0.0.1",
    "localhost",
    "Topology",
    "topology",
    "ServerSelection",
    "Timeout",
    "timed out",
    "refused",
    "Errno",
    "AutoReconnect",
    "pymongo",
    "motor",
    "server_type",
)

_names = itertools.count()


class Part(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    name: str = Field(min_length=1)
    stock: int = 0

    class Meta:
        name = "parts"


class Parts(MongoResource[Part]):
    class Meta:
        object_class = Part
        incoming_detail = ["get", "put", "patch", "delete"]


class AioParts(Parts, aiohttp_adapter.AioHttpResource):
    pass


class SanicParts(Parts, sanic_adapter.SanicResource):
    pass


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A SecantusDB server that can be stopped and restarted on the same address and data."""

    def __init__(self, storage: Path) -> None:
        self.storage = storage
        self.port = _free_port()
        self.uri = f"mongodb://127.0.0.1:{self.port}/"
        self._server: Any = None

    async def start(self) -> None:
        from secantus import SecantusDBServer

        assert self._server is None
        server = SecantusDBServer(host="127.0.0.1", port=self.port, storage_path=str(self.storage))
        await asyncio.to_thread(server.start)
        self._server = server

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            # stop() joins the server's threads: keep the event loop running meanwhile
            await asyncio.to_thread(server.stop)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    server = Server(tmp_path / "data")
    server.storage.mkdir()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@asynccontextmanager
async def open_db(driver: str, uri: str, **options: Any) -> AsyncIterator[Any]:
    """A database on ``uri``: tbone's ``connect()`` for pymongo, a motor client
    with the same timeouts for motor."""
    name = f"tbone_outage_{next(_names)}"
    if driver == "pymongo":
        db = connect(uri, name, **options)
        try:
            yield db
        finally:
            await db.client.close()
    else:
        from motor.motor_asyncio import AsyncIOMotorClient

        client: Any = AsyncIOMotorClient(uri, tz_aware=True, **{**TIMEOUT_OPTIONS, **options})
        try:
            yield client[name]
        finally:
            client.close()


@asynccontextmanager
async def serve(kind: str, db: Any) -> AsyncIterator[str]:
    router = Router(name="api")
    router.register(AioParts if kind == "aiohttp" else SanicParts, "parts")
    multiplexer = WebsocketMultiplexer(channel=MemoryChannel(name="pubsub"))
    multiplexer.add_router("api", router)
    if kind == "aiohttp":
        from aiohttp import web

        app = web.Application()
        app[aiohttp_adapter.DB_KEY] = db
        aiohttp_adapter.mount(app, router)
        aiohttp_adapter.mount_websocket(app, multiplexer)
        async with run_aiohttp(app) as url:
            yield url
    else:
        from sanic import Sanic

        sanic_app: Sanic[Any, Any] = Sanic(f"tbone_outage_{next(_names)}", configure_logging=False)
        sanic_app.ctx.db = db
        sanic_adapter.mount(sanic_app, router)
        sanic_adapter.mount_websocket(sanic_app, multiplexer)
        try:
            async with run_sanic(sanic_app) as url:
                yield url
        finally:
            Sanic.unregister_app(sanic_app)


async def call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[int, Any, dict[str, str], float]:
    """``(status, payload, headers, seconds)`` of one request."""
    data = orjson.dumps(body) if body is not None else None
    start = time.monotonic()
    async with session.request(method, url, data=data) as response:
        raw = await response.read()
        elapsed = time.monotonic() - start
        return response.status, orjson.loads(raw) if raw else None, dict(response.headers), elapsed


def assert_unavailable(status: int, payload: Any, headers: dict[str, str] | None, port: int) -> None:
    """A 503 with ``Retry-After`` (over HTTP) and a JSON error that names no host,
    port or driver message."""
    assert status == 503, payload
    if headers is not None:
        assert int(headers["Retry-After"]) > 0
        assert headers["Content-Type"].startswith("application/json")
    assert set(payload) == {"error"}
    assert isinstance(payload["error"], str) and payload["error"]
    text = orjson.dumps(payload).decode()
    assert str(port) not in text
    for word in DRIVER_WORDS:
        assert word not in text, (word, text)


async def recovered(session: aiohttp.ClientSession, url: str, within: float = 5.0) -> int:
    """GET ``url`` until it answers other than 503, for at most ``within`` seconds;
    its last status."""
    deadline = time.monotonic() + within
    while True:
        status, payload, headers, _ = await call(session, "GET", url)
        if status != 503 or time.monotonic() > deadline:
            return status
        assert "Retry-After" in headers, payload
        await asyncio.sleep(0.05)


#: A request of each kind during the outage: reads, and every write.
OUTAGE_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/parts/", None),
    ("GET", "/api/parts/p1/", None),
    ("POST", "/api/parts/", {"code": "p2", "name": "nut"}),
    ("POST", "/api/parts/", [{"code": "p3", "name": "bolt"}, {"code": "p4", "name": "washer"}]),
    ("PUT", "/api/parts/p1/", {"code": "p1", "name": "screw", "stock": 9}),
    ("PATCH", "/api/parts/p1/", {"stock": 3}),
    ("DELETE", "/api/parts/p1/", None),
]


@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("kind", SERVERS)
async def test_outage_answers_503_and_the_app_recovers(kind: str, driver: str, server: Server) -> None:
    bound = BOUND_MS / 1000
    async with open_db(driver, server.uri, serverSelectionTimeoutMS=BOUND_MS) as db:
        await create_collection(db, Part)
        async with serve(kind, db) as url, aiohttp.ClientSession() as session:
            status, payload, _, _ = await call(
                session, "POST", f"{url}/api/parts/", {"code": "p1", "name": "screw"}
            )
            assert status == 201, payload
            async with await WebSocketTestClient.connect(f"{url}/ws") as client:
                assert (await client.request("GET", "/api/parts/p1/"))[0] == 200

                await server.stop()

                for method, path, body in OUTAGE_REQUESTS:
                    status, payload, headers, elapsed = await call(session, method, url + path, body)
                    assert_unavailable(status, payload, headers, server.port)
                    assert elapsed < bound + SLACK, (method, path, elapsed)
                for method, path, body in OUTAGE_REQUESTS:
                    start = time.monotonic()
                    status, payload = await client.request(method, path, body)
                    assert_unavailable(status, payload, None, server.port)
                    assert time.monotonic() - start < bound + SLACK

                await server.start()

                # back without restarting the app: within a few seconds
                status = await recovered(session, f"{url}/api/parts/p1/")
                assert status == 200
                payload = (await call(session, "GET", f"{url}/api/parts/p1/"))[1]
                assert payload["code"] == "p1"  # the same storage
                status, payload, _, _ = await call(
                    session, "POST", f"{url}/api/parts/", {"code": "p9", "name": "pin"}
                )
                assert status == 201, payload
                status, payload = await client.request("PATCH", "/api/parts/p9/", {"stock": 4})
                assert status in (200, 202) and payload["stock"] == 4, payload
                status, payload, _, _ = await call(session, "GET", f"{url}/api/parts/")
                assert status == 200 and payload["meta"]["total_count"] >= 2, payload


@pytest.mark.parametrize("kind", SERVERS)
async def test_requests_racing_the_stop_answer_200_or_503(kind: str, server: Server) -> None:
    """Requests in flight while the database stops: answered or 503, never a 500."""
    async with open_db("pymongo", server.uri, serverSelectionTimeoutMS=BOUND_MS) as db:
        await create_collection(db, Part)
        async with serve(kind, db) as url, aiohttp.ClientSession() as session:
            statuses: list[int] = []
            stopped = asyncio.Event()

            async def traffic(n: int) -> None:
                i = 0
                while not stopped.is_set():
                    i += 1
                    status, payload, headers, elapsed = await call(
                        session, "POST", f"{url}/api/parts/", {"code": f"r{n}-{i}", "name": "x"}
                    )
                    statuses.append(status)
                    if status != 201:
                        assert_unavailable(status, payload, headers, server.port)
                    assert elapsed < BOUND_MS / 1000 + SLACK
                    status, payload, headers, _ = await call(session, "GET", f"{url}/api/parts/?limit=5")
                    statuses.append(status)
                    if status != 200:
                        assert_unavailable(status, payload, headers, server.port)

            workers = [asyncio.create_task(traffic(n)) for n in range(4)]
            await asyncio.sleep(0.2)
            await server.stop()
            await asyncio.sleep(0.5)
            stopped.set()
            await asyncio.gather(*workers)
            assert 503 in statuses
            assert set(statuses) <= {200, 201, 503}


async def test_default_bound_of_connect(server: Server) -> None:
    """With connect()'s defaults, a request during an outage answers 503 within
    about serverSelectionTimeoutMS (5 s), not the driver's 30 s; and the app
    serves again soon after the database returns."""
    async with open_db("pymongo", server.uri) as db:
        await create_collection(db, Part)
        async with serve("aiohttp", db) as url, aiohttp.ClientSession() as session:
            assert (await call(session, "GET", f"{url}/api/parts/"))[0] == 200
            await server.stop()
            status, payload, headers, elapsed = await call(session, "GET", f"{url}/api/parts/")
            assert_unavailable(status, payload, headers, server.port)
            assert elapsed < TIMEOUT_OPTIONS["serverSelectionTimeoutMS"] / 1000 + SLACK
            await server.start()  # (closing a client whose server is gone waits for it)
            assert await recovered(session, f"{url}/api/parts/") == 200


async def test_connect_sets_timeouts_and_takes_overrides() -> None:
    db = connect("mongodb://127.0.0.1:1/", "x")
    try:
        options = db.client.options
        assert options.server_selection_timeout == 5
        assert options.pool_options.connect_timeout == TIMEOUT_OPTIONS["connectTimeoutMS"] / 1000
        assert options.pool_options.socket_timeout is None  # costs every read (see TIMEOUT_OPTIONS)
    finally:
        await db.client.close()
    db = connect("mongodb://127.0.0.1:1/", "x", serverSelectionTimeoutMS=250, socketTimeoutMS=20000)
    try:
        assert db.client.options.server_selection_timeout == 0.25
        assert db.client.options.pool_options.socket_timeout == 20
    finally:
        await db.client.close()
    # options in the URI win over tbone's defaults, as they would without them
    db = connect("mongodb://127.0.0.1:1/x?serverSelectionTimeoutMS=750&connecttimeoutms=1500")
    try:
        assert db.name == "x"
        assert db.client.options.server_selection_timeout == 0.75
        assert db.client.options.pool_options.connect_timeout == 1.5
        assert db.client.options.pool_options.socket_timeout is None
    finally:
        await db.client.close()
