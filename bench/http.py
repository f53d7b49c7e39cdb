"""HTTP benchmark: a raw handler vs a tbone resource, on aiohttp and on Sanic.

Each server runs in its own subprocess on 127.0.0.1 with one worker and serves
one Book (a ``tbone.data`` model) at ``/api/books/1/``:

- ``raw``: the naive raw handler of issue 5: ``await book.serialize()`` passed
  to the server's own JSON response helper (``web.json_response``, stdlib
  ``json``; ``sanic.response.json``, ujson when installed, as here);
- ``tbone``: a ``ModelResource`` whose ``detail`` serializes the same book the
  same way (``await self.serialize(book)``), plus what tbone adds: pk
  coercion, authentication, ``_links``, the orjson formatter.

``wrk`` (Debian package ``wrk``) drives each for a few seconds; the pairs are
measured side by side in alternating order, twice. Prints req/s, p99 latency,
the tbone/raw ratio per server (best run against best run) and the load
average around the run. Run: ``.venv/bin/python bench/http.py``.
"""

from __future__ import annotations

import os
import sys

# This file is named like the stdlib's ``http`` package: running it puts bench/
# first on sys.path, where it would shadow ``http`` for everything imported.
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]

import argparse
import contextlib
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from tbone.data import Field, Model
from tbone.resources import ModelResource, Router

PATH = "/api/books/1/"
KINDS = ("raw-aiohttp", "tbone-aiohttp", "raw-sanic", "tbone-sanic")


class Book(Model):
    id: int = Field(primary_key=True)
    title: str
    author: str
    isbn: str
    pages: int
    price: float
    published: datetime
    tags: list[str] = []


BOOKS = {
    1: Book(
        id=1,
        title="War and Peace",
        author="Leo Tolstoy",
        isbn="978-0-19-923276-5",
        pages=1225,
        price=34.77,
        published=datetime(1869, 1, 1, 12, 30, tzinfo=UTC),
        tags=["novel", "history", "russia", "classic"],
    )
}


class Books(ModelResource[Book]):
    class Meta:
        name = "books"
        object_class = Book
        incoming_list = ["get"]
        incoming_detail = ["get"]

    async def detail(self, pk: int) -> dict[str, Any] | None:
        book = BOOKS.get(pk)
        return None if book is None else await self.serialize(book)


# -- the servers (run in subprocesses) ----------------------------------------------


def serve_aiohttp(kind: str, port: int) -> None:
    from aiohttp import web

    from tbone.resources.aiohttp import AioHttpResource, mount

    app = web.Application()
    if kind == "raw":

        async def raw(request: web.Request) -> web.Response:
            book = BOOKS.get(int(request.match_info["pk"]))
            if book is None:
                raise web.HTTPNotFound()
            return web.json_response(await book.serialize())

        app.router.add_get("/api/books/{pk}/", raw)
    else:

        class AioBooks(AioHttpResource, Books):
            pass

        router = Router("api")
        router.register(AioBooks, "books")
        mount(app, router)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


def serve_sanic(kind: str, port: int) -> None:
    from sanic import Request, Sanic
    from sanic.exceptions import NotFound
    from sanic.response import HTTPResponse, json

    from tbone.resources.sanic import SanicResource, mount

    app: Sanic[Any, Any] = Sanic(f"bench_{kind}")
    if kind == "raw":

        async def raw(request: Request, pk: str) -> HTTPResponse:
            book = BOOKS.get(int(pk))
            if book is None:
                raise NotFound()
            return json(await book.serialize())

        app.add_route(raw, "/api/books/<pk>/")
    else:

        class SanicBooks(SanicResource, Books):
            pass

        router = Router("api")
        router.register(SanicBooks, "books")
        mount(app, router)
    app.config.MOTD = False
    app.run(host="127.0.0.1", port=port, single_process=True, access_log=False)


# -- the driver ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(kind: str) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}{PATH}"
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(url, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"{kind} did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def run_wrk(url: str, duration: int, connections: int) -> tuple[float, float]:
    """(requests/s, p99 latency in ms) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if rps is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return float(rps.group(1)), float(p99.group(1)) * scale


def loadavg() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def bench(duration: int, rounds: int, connections: int) -> None:
    print(f"load average before: {loadavg()}", flush=True)
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in KINDS}
    for round_ in range(rounds):
        for srv in ("aiohttp", "sanic"):
            pair = [f"raw-{srv}", f"tbone-{srv}"]
            for kind in pair if round_ % 2 == 0 else reversed(pair):
                with server(kind) as url:
                    run_wrk(url, 1, connections)  # warm-up
                    results[kind].append(run_wrk(url, duration, connections))
                rps, p99 = results[kind][-1]
                print(f"  round {round_ + 1}  {kind:<14} {rps:9.0f} req/s   p99 {p99:6.2f} ms", flush=True)
    print(f"load average after: {loadavg()}")
    print()
    header = f"{'server':<8} {'handler':<8} {'req/s (best)':>12} {'all runs':>15} {'p99 ms':>8} {'vs raw':>7}"
    print(header)
    for srv in ("aiohttp", "sanic"):
        raw_best = max(r for r, _ in results[f"raw-{srv}"])
        for handler in ("raw", "tbone"):
            runs = results[f"{handler}-{srv}"]
            best = max(r for r, _ in runs)
            spread = "/".join(f"{r:.0f}" for r, _ in runs)
            p99 = min(p for _, p in runs)
            print(f"{srv:<8} {handler:<8} {best:12.0f} {spread:>15} {p99:8.2f} {best / raw_best:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, srv = args.serve.split("-")
        (serve_aiohttp if srv == "aiohttp" else serve_sanic)(kind, args.port)
        return
    if shutil.which("wrk") is None:
        sys.exit("bench/http.py needs wrk: apt-get install -y wrk (Debian/Ubuntu) or brew install wrk")
    bench(args.duration, args.rounds, args.connections)


if __name__ == "__main__":
    main()
