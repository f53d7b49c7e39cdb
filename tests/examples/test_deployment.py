"""docs/deployment.md runs as written: the documented commands start the app
factory of ``examples/deploy`` with 2 workers on 127.0.0.1, against the
session's database (``mongo_uri``), settings from the environment only.

Each test answers ``/healthz`` and the API, checks that an event published
through one worker reaches websockets whichever worker serves them (the
``MongoChannel``), and stops the server with SIGTERM within the bound; the
process group is killed at the end whatever happens.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from pymongo import AsyncMongoClient
from tests.servers.processes import (
    ROOT,
    ServerProcess,
    free_port,
    server_process,
    terminate,
    wait_until_up,
)
from websockets.asyncio.client import ClientConnection, connect

BOUND = 10.0  # seconds from SIGTERM to exit, workers included
PAGE = ROOT / "docs" / "deployment.md"


def documented_command(name: str) -> list[str]:
    """The command of docs/deployment.md's ```sh block tagged ``# run: <name>``,
    as arguments of ``python`` (``gunicorn ...`` becomes ``-m gunicorn ...``)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", PAGE.read_text(), flags=re.DOTALL | re.MULTILINE)
    for block in blocks:
        lines = [line.strip() for line in block.splitlines()]
        if f"# run: {name}" in lines:
            words = [
                word for line in lines if not line.startswith("#") for word in line.split() if word != "\\"
            ]
            if words[0] == "python":
                return words[1:]
            return ["-m", *words]
    raise AssertionError(f"docs/deployment.md has no ```sh block tagged '# run: {name}'")


@pytest.fixture
async def database(mongo_uri: str) -> AsyncIterator[str]:
    """``MONGODB_URI`` for the app: the session's server, a fresh database."""
    name = f"tbone_deploy_{uuid.uuid4().hex[:8]}"
    base, _, query = mongo_uri.partition("?")
    yield f"{base.rstrip('/')}/{name}" + (f"?{query}" if query else "")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    await client.drop_database(name)
    await client.close()


def environment(uri: str, port: int) -> dict[str, str]:
    return {
        "MONGODB_URI": uri,
        "TBONE_HOST": "127.0.0.1",
        "TBONE_PORT": str(port),
        "TBONE_WORKERS": "2",
        "TBONE_INSTANCE": "test",
        "TBONE_SHUTDOWN_TIMEOUT": "2",
        "TBONE_REDIS_URL": "",
        "TBONE_FEED": "",
    }


async def _subscriber(url: str) -> ClientConnection:
    ws = await connect(url, open_timeout=10, ping_interval=None)
    await ws.send(orjson.dumps({"type": "subscribe", "event": "resource_create", "key": "s"}))
    reply = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
    assert reply["type"] == "ack", reply
    return ws


async def _logged(proc: ServerProcess, line: str, times: int, timeout: float = 60) -> None:
    """Wait until the process printed ``line`` ``times`` times (once per worker)."""
    async with asyncio.timeout(timeout):
        while proc.output().count(line) < times:
            assert proc.poll() is None, proc.output()
            await asyncio.sleep(0.05)


async def _exercise(procs: list[ServerProcess], port: int, *, ready: str = "", workers: int = 2) -> None:
    base = f"http://127.0.0.1:{port}"
    for proc in procs:
        await wait_until_up(proc, f"{base}/healthz", timeout=60)
        if ready:  # every worker up, not only the one that answered
            await _logged(proc, ready, workers)
    subscribers = [await _subscriber(f"ws://127.0.0.1:{port}/ws") for _ in range(6)]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})
        async with http.post(f"{base}/api/notes/", json={"text": "deployed"}) as response:
            assert response.status == 201, await response.text()
        async with http.get(f"{base}/api/notes/") as response:
            assert response.status == 200
            assert [n["text"] for n in (await response.json())["objects"]] == ["deployed"]
    # every subscriber hears the creation, whichever worker serves it
    for ws in subscribers:
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
        assert event["type"] == "event" and event["payload"]["data"]["text"] == "deployed", event
    closed = [asyncio.ensure_future(ws.wait_closed()) for ws in subscribers]
    took = await asyncio.gather(*(terminate(proc, BOUND) for proc in procs))
    for proc, seconds in zip(procs, took, strict=True):
        assert seconds <= BOUND, f"not stopped within {BOUND} s of SIGTERM:\n{proc.output()}"
        assert proc.returncode == 0, proc.output()
        assert "Traceback" not in proc.output(), proc.output()
    await asyncio.wait_for(asyncio.gather(*closed), 5)
    assert {ws.close_code for ws in subscribers} == {1001}


async def test_sanic_workers(database: str) -> None:
    port = free_port()
    with server_process(documented_command("sanic"), env=environment(database, port)) as proc:
        await _exercise([proc], port, ready="Worker ready")


@pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None, reason="gunicorn is not installed")
async def test_aiohttp_under_gunicorn(database: str) -> None:
    port = free_port()
    with server_process(documented_command("gunicorn"), env=environment(database, port)) as proc:
        await _exercise([proc], port, ready="Booting worker")


async def test_aiohttp_processes_sharing_a_port(database: str) -> None:
    port = free_port()
    command = documented_command("aiohttp")
    env = environment(database, port)
    with (
        server_process(command, env={**env, "TBONE_WORKER_ID": "1"}) as first,
        server_process(command, env={**env, "TBONE_WORKER_ID": "2"}) as second,
    ):
        for proc in (first, second):  # both listening before the clients come
            await _logged(proc, "Running on", 1)
        await _exercise([first, second], port)
