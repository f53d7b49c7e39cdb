"""A bounded fuzz campaign (issue 11): hypothesis-generated requests against a MongoResource
on real aiohttp and Sanic servers with the real database, over HTTP and over the websocket.

Every answer must be below 500 (501, a verb not implemented, is the SPEC's answer) and
must leak nothing: no traceback, no host, no driver or
BSON wording. The examples are drawn once per run with a fixed seed (``derandomize``), then
sent in order; a failure lists the requests that broke the rule.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tbone.data import Field, Model
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing import WebSocketTestClient
from tbone.testing.servers import serve_api

EXAMPLES = 250  # per server and per transport: about 8 s in all
LEAKS = re.compile(r"Traceback|File \"|127\.0\.0\.1|localhost|pymongo|bson|OperationFailure|secantus", re.I)


class Maker(Model):
    name: str = ""
    country: str = ""


class Gadget(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True, min_length=1, max_length=20)
    name: str = Field(default="", max_length=50)
    count_in_stock: int = Field(default=0, min=0)
    price: Decimal | None = None
    made: datetime | None = None
    tags: list[str] = Field(default_factory=list, max_size=5)
    specs: dict[str, int] = Field(default_factory=dict)
    maker: Maker | None = None

    class Meta:
        name = "fuzz_gadgets"


class Gadgets(MongoResource[Gadget]):
    class Meta:
        object_class = Gadget
        channel_class = MemoryChannel


class AioGadgets(Gadgets, aiohttp_adapter.AioHttpResource):
    pass


class SanicGadgets(Gadgets, sanic_adapter.SanicResource):
    pass


KEYS = ["code", "name", "count_in_stock", "price", "made", "tags", "specs", "maker", "maker.country"]
OPS = ["", "__gt", "__lt", "__in", "__nin", "__ne", "__gte", "__bogus"]
ARGS = ["limit", "offset", "order_by", "fields", "q", "cursor", "count"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["2024-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "1e7000", "9" * 40, "$set"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from([*KEYS, "$set", "a.b", "\x00", "_id", "x"]), inner, max_size=4)
    ),
    max_leaves=10,
)
query_values = st.one_of(
    st.text(max_size=10),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "null", "true", "-price", "name,code", "1,2,3", "18446744073709551616"]),
)
query_keys = st.one_of(
    st.builds(lambda key, op: key + op, st.sampled_from(KEYS), st.sampled_from(OPS)),
    st.sampled_from(ARGS),
    st.text(min_size=1, max_size=8),
)
paths = st.one_of(
    st.just("/api/gadgets/"),
    st.sampled_from(["g1", "g2", "", "nope", "%00", "a b", "..", "g1/extra"]).map(
        lambda pk: f"/api/gadgets/{pk}/"
    ),
    st.text(max_size=10).map(lambda pk: f"/api/gadgets/{quote(pk, safe='')}/"),
    st.just("/api/nothing/"),
)
requests = st.tuples(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
    paths,
    st.dictionaries(query_keys, query_values, max_size=3),
    st.one_of(st.none(), json_values, st.just([{"code": "g9", "name": "bulk"}, {"code": ""}])),
)


def draw_requests() -> list[tuple[str, str, dict[str, str], Any]]:
    drawn: list[tuple[str, str, dict[str, str], Any]] = []

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
    @given(requests)
    def collect(request: tuple[str, str, dict[str, str], Any]) -> None:
        drawn.append(request)

    collect()
    return drawn[:EXAMPLES]


def href(path: str, args: dict[str, str]) -> str:
    if not args:
        return path
    return path + "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in args.items())


def broken(status: int, body: Any) -> str | None:
    """Why an answer breaks the rules, or None."""
    if status >= 500 and status != 501:  # 501: a verb the resource does not implement (SPEC §4)
        return f"status {status}"
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    if LEAKS.search(text):
        return f"leak: {text[:200]}"
    if status >= 400 and status != 405 and not (isinstance(body, dict) and "error" in body):
        return f"error without a JSON error body: {text[:200]}"
    return None


@asynccontextmanager
async def serve(kind: str, db: Any) -> AsyncIterator[str]:
    await create_collection(db, Gadget)
    await Gadget(code="g1", name="one", tags=["a"]).insert(db)
    await Gadget(code="g2", name="two", maker=Maker(country="DE")).insert(db)
    router = Router(name="api")
    router.register(AioGadgets if kind == "aiohttp" else SanicGadgets, "gadgets")
    multiplexer = WebsocketMultiplexer(channel=MemoryChannel(name=f"fuzz-{kind}"))
    multiplexer.add_router("api", router)
    async with serve_api(kind, db, [router], multiplexer) as url:
        yield url


@pytest.mark.parametrize("kind", ["aiohttp", "sanic"])
async def test_generated_requests_get_no_5xx_and_leak_nothing(kind: str, db: Any) -> None:
    drawn = draw_requests()
    assert len(drawn) == EXAMPLES
    failures: list[str] = []
    async with serve(kind, db) as url:
        async with aiohttp.ClientSession() as session:
            for method, path, args, body in drawn:
                data = None if body is None else json.dumps(body).encode()  # ints beyond 64 bits too
                async with session.request(method, url + href(path, args), data=data) as response:
                    raw = await response.read()
                    try:
                        payload: Any = orjson.loads(raw) if raw else None
                    except orjson.JSONDecodeError:
                        payload = raw.decode(errors="replace")
                    why = broken(response.status, payload)
                    if why:
                        failures.append(f"HTTP {method} {href(path, args)} {body!r}: {why}")
        ws_url = url.replace("http", "ws", 1) + "/ws"
        async with await WebSocketTestClient.connect(ws_url) as client:
            for method, path, args, body in drawn:
                try:
                    orjson.dumps(body)
                except TypeError:  # the test client cannot send ints beyond 64 bits: HTTP covered them
                    continue
                status, payload = await client.request(method, href(path, args), body)
                why = broken(status, payload)
                if why:
                    failures.append(f"WS {method} {href(path, args)} {body!r}: {why}")
            await client.ping()
            assert not client.closed
    assert not failures, f"{len(failures)} of {2 * EXAMPLES} requests broke the rules:\n" + "\n".join(
        failures
    )
