"""``make demo``: serve the blog API (examples/blog), HTTP and websocket, until Ctrl-C.

Uses ``MONGODB_URI`` when set, else an embedded SecantusDB in a temporary
directory. Binds 127.0.0.1 on ``$PORT`` (default 8080), or on a free port when
that one is busy. The ODM tour is ``python -m examples.odm_tour``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import socket

from aiohttp import web

from examples.blog import seed
from examples.blog.websocket import create_live_app
from tbone.db import connect
from tbone.testing import embedded_mongo

__all__ = ["LIVE_QUERY", "bind", "main", "serve"]

HOST = "127.0.0.1"
#: The live query the demo suggests (docs/websocket.md, "Live queries").
LIVE_QUERY = {"type": "subscribe", "key": "howto", "href": "/api/posts/?tags=howto&fields=title,tags"}


def bind(port: int) -> socket.socket:
    """A listening socket on ``HOST:port``, or on a free port if ``port`` is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        sock.bind((HOST, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def serve(uri: str, port: int, stop: asyncio.Event | None = None, name: str = "tbone_demo") -> None:
    """Seed the blog, serve it, print how to try it; run until ``stop`` is set."""
    db = connect(uri, name)
    posts = await seed(db)
    runner = web.AppRunner(create_live_app(db), access_log=None)
    await runner.setup()
    sock = bind(port)
    try:
        await web.SockSite(runner, sock).start()
        url = f"http://{HOST}:{sock.getsockname()[1]}"
        print(f"TBone blog API on {url}/api/posts/  ({len(posts)} posts loaded; Ctrl-C stops it)")
        print(f"Try:  curl '{url}/api/posts/?tags=howto&order_by=title&fields=title,tags'")
        print(f'      curl -X POST {url}/api/posts/ -d \'{{"title": "Mine", "slug": "mine"}}\'')
        ws_url = url.replace("http", "ws", 1) + "/ws"
        print(f'Live: {ws_url}  send {{"type": "subscribe", "event": "resource_create"}}, then POST a post')
        print(
            f"      or send {json.dumps(LIVE_QUERY)}: the howto posts, then enter/update/leave as they change"
        )
        await (stop or asyncio.Event()).wait()
    finally:
        await runner.cleanup()
        sock.close()
        await db.client.close()


def main() -> None:
    port = int(os.environ.get("PORT") or 8080)
    with embedded_mongo() as uri, contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(uri, port))


if __name__ == "__main__":
    main()
