"""A small TBone app run as a process by ``test_shutdown.py``.

``python -m tests.servers.shutdown_app <aiohttp|sanic> <port> <mongodb uri> <database>
[<shutdown timeout>]`` serves ``Things`` under ``/api/``, the websocket at
``/ws`` and ``/healthz`` on 127.0.0.1:<port> with the server's own runner
(``web.run_app``, Sanic's ``app.run(single_process=True)``), with their
default shutdown settings, until SIGTERM.
"""

from __future__ import annotations

import sys
from typing import Any

from tbone.db import connect
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels.mem import MemoryChannel

from .support import things_router

HOST = "127.0.0.1"


def run_aiohttp(port: int, db: Any, shutdown_timeout: float) -> None:
    from aiohttp import web

    from tbone.servers import aiohttp as server

    app = web.Application()
    app[server.DB_KEY] = db
    router = things_router("aiohttp")
    server.mount(app, router)
    multiplexer = WebsocketMultiplexer(app, channel=MemoryChannel(name="shutdown_test"))
    multiplexer.add_router(router.name, router)
    server.mount_websocket(app, multiplexer, shutdown_timeout=shutdown_timeout)
    server.mount_health(app)
    web.run_app(app, host=HOST, port=port, print=None, access_log=None)


def run_sanic(port: int, db: Any, shutdown_timeout: float) -> None:
    from sanic import Sanic

    from tbone.servers import sanic as server

    app: Sanic[Any, Any] = Sanic("tbone_shutdown_test", configure_logging=False)
    app.ctx.db = db
    router = things_router("sanic")
    server.mount(app, router)
    multiplexer = WebsocketMultiplexer(app, channel=MemoryChannel(name="shutdown_test"))
    multiplexer.add_router(router.name, router)
    server.mount_websocket(app, multiplexer, shutdown_timeout=shutdown_timeout)
    server.mount_health(app)
    app.run(host=HOST, port=port, single_process=True, access_log=False, motd=False)


def main(argv: list[str]) -> None:
    kind, port, uri, name = argv[:4]
    shutdown_timeout = float(argv[4]) if len(argv) > 4 else 3.0
    db = connect(uri, name)
    (run_aiohttp if kind == "aiohttp" else run_sanic)(int(port), db, shutdown_timeout)


if __name__ == "__main__":
    main(sys.argv[1:])
