"""Answers the servers themselves give, made TBone's on both servers (issue 11).

Each test drives a real aiohttp and a real Sanic server on 127.0.0.1, with
aiohttp's client or, for requests a client library would refuse to send,
raw bytes on a socket; resources store into SecantusDB.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.resources import Resource, Router
from tbone.servers import aiohttp as aiohttp_server
from tbone.servers import sanic as sanic_server
from tbone.servers.common import MAX_BODY_SIZE

from .support import SERVERS, AioThings, SanicThings, raw_request, serve, things_router

pytestmark = pytest.mark.parametrize("kind", SERVERS)

NOT_FOUND = {"error": "Not Found"}
TOO_LARGE = {"error": "Request body too large"}
JSON = {"Content-Type": "application/json"}


async def _seed(session: aiohttp.ClientSession, url: str, *codes: str) -> None:
    for code in codes:
        async with session.post(f"{url}/api/things/", json={"code": code}) as response:
            assert response.status == 201, await response.text()


async def _codes(session: aiohttp.ClientSession, url: str) -> list[str]:
    async with session.get(f"{url}/api/things/") as response:
        assert response.status == 200
        return sorted(obj["code"] for obj in (await response.json())["objects"])


# -- item 1: an empty primary key --------------------------------------------


@pytest.mark.parametrize("path", ["/api/things//", "/api//things/", "/api/things///", "/api//things//"])
async def test_an_empty_path_segment_is_a_404_and_touches_nothing(kind: str, db: Any, path: str) -> None:
    async with serve(kind, db, things_router(kind)) as url, aiohttp.ClientSession() as session:
        await _seed(session, url, "a", "b")
        for method in ("GET", "HEAD", "PUT", "PATCH", "DELETE", "POST", "TRACE"):
            async with session.request(method, f"{url}{path}", json={"code": "a", "note": "x"}) as response:
                assert response.status == 404, (method, await response.text())
                if method != "HEAD":
                    assert await response.json() == NOT_FOUND
        assert await _codes(session, url) == ["a", "b"]
        assert await db.things.count_documents({}) == 2


# -- item 12: one body limit -----------------------------------------------------


def _body_of(size: int, code: str = "big") -> io.BytesIO:
    """A valid JSON object of exactly ``size`` bytes (a stream: aiohttp's client
    warns about big ``bytes`` bodies)."""
    frame = orjson.dumps({"code": code, "note": ""})
    return io.BytesIO(frame[:-2] + b"x" * (size - len(frame)) + b'"}')


async def test_a_body_over_the_limit_is_a_json_413(kind: str, db: Any) -> None:
    async with serve(kind, db, things_router(kind)) as url, aiohttp.ClientSession() as session:
        headers = JSON
        async with session.post(
            f"{url}/api/things/", data=_body_of(MAX_BODY_SIZE + 1), headers=headers
        ) as response:
            assert response.status == 413
            assert response.content_type == "application/json"
            assert await response.json() == TOO_LARGE
        # exactly the limit is accepted, and stored
        async with session.post(
            f"{url}/api/things/", data=_body_of(MAX_BODY_SIZE), headers=headers
        ) as response:
            assert response.status == 201, await response.text()


async def test_a_chunked_body_over_the_limit_is_a_json_413(kind: str, db: Any) -> None:
    async def chunks() -> Any:
        for _ in range(MAX_BODY_SIZE // 65536 + 2):
            yield b" " * 65536

    async with serve(kind, db, things_router(kind)) as url, aiohttp.ClientSession() as session:
        async with session.post(f"{url}/api/things/", data=chunks()) as response:
            assert response.status == 413
            assert await response.json() == TOO_LARGE
        assert await db.things.count_documents({}) == 0


class SmallAio(AioThings):
    max_body_size = 100


class SmallSanic(SanicThings):
    max_body_size = 100


async def test_the_limit_is_set_per_resource(kind: str, db: Any) -> None:
    small = things_router(kind, "small", resource=SmallAio if kind == "aiohttp" else SmallSanic)
    async with serve(kind, db, things_router(kind), small) as url, aiohttp.ClientSession() as session:
        headers = JSON
        async with session.post(f"{url}/small/things/", data=_body_of(101), headers=headers) as response:
            assert (response.status, await response.json()) == (413, TOO_LARGE)
        async with session.post(f"{url}/small/things/", data=_body_of(100), headers=headers) as response:
            assert response.status == 201, await response.text()
        async with session.post(
            f"{url}/api/things/", data=_body_of(101, "other"), headers=headers
        ) as response:
            assert response.status == 201  # the default limit applies here


class HugeAio(AioThings):
    max_body_size = 40 << 20


class HugeSanic(SanicThings):
    max_body_size = 40 << 20


async def test_a_document_over_mongodb_16_mib_is_a_413_not_a_500(kind: str, db: Any) -> None:
    router = things_router(kind, resource=HugeAio if kind == "aiohttp" else HugeSanic)
    async with serve(kind, db, router) as url, aiohttp.ClientSession() as session:
        note = "x" * (17 << 20)
        big = io.BytesIO(orjson.dumps({"code": "big", "note": note}))
        async with session.post(f"{url}/api/things/", data=big, headers=JSON) as response:
            assert response.status == 413, await response.text()
            assert set(await response.json()) == {"error"}
        await _seed(session, url, "small")
        big = io.BytesIO(orjson.dumps({"note": note}))
        async with session.patch(f"{url}/api/things/small/", data=big, headers=JSON) as response:
            assert response.status == 413, await response.text()
        assert await _codes(session, url) == ["small"]


# -- item 14: the servers' own errors, as JSON ------------------------------------


async def test_unknown_verbs_are_the_resources_json_405(kind: str, db: Any) -> None:
    async with serve(kind, db, things_router(kind)) as url, aiohttp.ClientSession() as session:
        async with session.request("TRACE", f"{url}/api/things/") as response:
            assert response.status == 405
            assert await response.json() == {"error": "Method TRACE is not allowed on this endpoint"}
            assert response.headers["Allow"] == "GET, HEAD, POST, DELETE, OPTIONS"
        async with session.request("TRACE", f"{url}/api/things/a/") as response:
            assert response.status == 405
            assert response.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
        async with session.request("TRACE", f"{url}/api/nothing/") as response:
            assert (response.status, await response.json()) == (404, NOT_FOUND)


async def test_an_unknown_path_under_every_mounted_prefix_is_a_json_404(kind: str, db: Any) -> None:
    # item 22: two routers mounted on one app, on both servers
    async with (
        serve(kind, db, things_router(kind), things_router(kind, "v2")) as url,
        aiohttp.ClientSession() as session,
    ):
        await _seed(session, url, "a")
        async with session.get(f"{url}/v2/things/a/") as response:
            assert response.status == 200
        for prefix in ("api", "v2"):
            async with session.get(f"{url}/{prefix}/nothing/") as response:
                assert (response.status, await response.json()) == (404, NOT_FOUND)
        async with session.get(f"{url}/elsewhere/") as response:
            assert response.status == 404
            assert response.content_type != "application/json"  # the server's own page


async def test_a_malformed_request_is_answered_and_logged_on_one_line(
    kind: str, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    bad = b"GET /api/things/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
    async with serve(kind, db, things_router(kind)) as url:
        status, headers, body = await raw_request(url, bad)
        assert status == 400
        if kind == "sanic":
            assert headers["content-type"] == "application/json"
            assert orjson.loads(body) == {"error": "Bad content-length"}
            status, headers, body = await raw_request(url, b"GET /api/things/ HTTP/7.0\r\nHost: x\r\n\r\n")
            assert (status, orjson.loads(body)) == (400, {"error": "Bad Request"})
        status, _, _ = await raw_request(url, b"GARBAGE\r\n\r\n")
        assert status == 400
    # aiohttp answers these in plain text (no hook: aio-libs/aiohttp#3287), but its
    # log of each is one line, without a traceback
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == (2 if kind == "aiohttp" else 0)
    for record in records:
        assert record.exc_info is None and record.exc_text is None
        assert "\n" not in record.getMessage()
        assert record.getMessage().startswith("Error handling request from 127.0.0.1: 400 ")


# -- item 26: a 500 names its request -----------------------------------------------


class Broken(Resource):
    async def list(self) -> list[Any]:
        raise RuntimeError("boom")


class AioBroken(Broken, aiohttp_server.AioHttpResource):
    pass


class SanicBroken(Broken, sanic_server.SanicResource):
    pass


async def test_a_500_is_logged_with_method_path_and_resource(
    kind: str, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router(name="api")
    resource = AioBroken if kind == "aiohttp" else SanicBroken
    router.register(resource, "broken")
    async with (
        serve(kind, db, router) as url,
        aiohttp.ClientSession() as session,
        session.get(f"{url}/api/broken/?x=1") as response,
    ):
        assert (response.status, await response.json()) == (500, {"error": "Internal Server Error"})
    [record] = [r for r in caplog.records if r.name == "tbone.resources" and r.levelno == logging.ERROR]
    message = record.getMessage()
    assert "GET /api/broken/" in message
    assert resource.__name__ in message
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
