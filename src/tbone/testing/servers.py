"""Run an aiohttp or Sanic app on a real socket for the length of a test.

``run_aiohttp(app)`` and ``run_sanic(app)`` are async context managers that
bind 127.0.0.1 on a free port, serve ``app`` in the running event loop and
yield its base URL (``http://127.0.0.1:<port>``); leaving the block stops the
server and closes its connections. The socket is bound before the server
starts, so there is no window in which another process can take the port.

Sanic runs in-process through its low-level ``create_server`` API, without
the worker manager (no subprocesses, no signal handlers). A Sanic app can be
started once, and app names are process-wide: create one app, with a unique
name, per test. ``run_sanic`` turns Sanic's "touchup" off for the app: touchup
rewrites methods of the ``Sanic`` class itself on startup and fails when a
second app starts in the same process.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["free_socket", "run_aiohttp", "run_sanic", "serve_api"]


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port on ``host``, ready to listen."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@asynccontextmanager
async def run_aiohttp(app: Any, *, shutdown_timeout: float = 1.0) -> AsyncIterator[str]:
    """Serve an ``aiohttp.web.Application``; yield its base URL."""
    from aiohttp import web  # on use, not a cycle: a test may have only one server installed

    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    sock = free_socket()
    url = _url(sock)
    try:
        await web.SockSite(runner, sock).start()
        yield url
    finally:
        await runner.cleanup()
        sock.close()


@asynccontextmanager
async def run_sanic(app: Any, *, shutdown_timeout: float = 1.0) -> AsyncIterator[str]:
    """Serve a ``sanic.Sanic`` app; yield its base URL.

    Runs the app's startup and ``before/after_server_start`` listeners, and on
    exit the stop listeners, after closing idle connections and aborting
    (websockets: failing with 1001) those still busy after ``shutdown_timeout``.
    """
    app.config.TOUCHUP = False
    sock = free_socket()
    url = _url(sock)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    if server is None:  # pragma: no cover - only without return_asyncio_server
        raise RuntimeError("Sanic did not return a server")
    try:
        await server.startup()
        await server.before_start()
        await server.after_start()
        yield url
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        for conn in list(server.connections):
            conn.close_if_idle()
        deadline = asyncio.get_running_loop().time() + shutdown_timeout
        while server.connections and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(server.connections):
            websocket = getattr(conn, "websocket", None)
            if websocket is not None:
                websocket.fail_connection(code=1001)
            else:
                conn.abort()
        await server.after_stop()
        sock.close()


_sanic_apps = itertools.count()


@asynccontextmanager
async def serve_api(
    kind: str, db: Any, routers: Sequence[Any], multiplexer: Any = None
) -> AsyncIterator[str]:
    """Serve ``routers`` (and ``multiplexer`` at ``/ws``) on a new app of ``kind``
    (``"aiohttp"`` or ``"sanic"``) whose database is ``db``; yield its base URL.

    The app every resource test builds, in one place: ``mount`` for each
    router, ``mount_websocket`` when a multiplexer is given, a unique Sanic app
    name, unregistered at the end.
    """
    if kind == "aiohttp":
        from aiohttp import web  # on use, not a cycle: a test may have only one server installed

        from tbone.servers import aiohttp as adapter  # on use, not a cycle: the server asked for

        app = web.Application()
        app[adapter.DB_KEY] = db
        for router in routers:
            adapter.mount(app, router)
        if multiplexer is not None:
            adapter.mount_websocket(app, multiplexer)
        async with run_aiohttp(app) as url:
            yield url
        return
    from sanic import Sanic  # on use, not a cycle: a test may have only one server installed

    from tbone.servers import sanic as sanic_adapter  # on use, not a cycle: the server asked for

    sanic_app: Any = Sanic(f"tbone_test_api_{next(_sanic_apps)}", configure_logging=False)
    sanic_app.ctx.db = db
    for router in routers:
        sanic_adapter.mount(sanic_app, router)
    if multiplexer is not None:
        sanic_adapter.mount_websocket(sanic_app, multiplexer)
    try:
        async with run_sanic(sanic_app) as url:
            yield url
    finally:
        Sanic.unregister_app(sanic_app)
