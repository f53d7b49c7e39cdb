"""A bug inside a validator is a logged 500 with a generic body, never a 400 that
shows its text; bad data is a 400 with field errors, including values BSON
cannot hold (they used to reach the driver and answer 500).

On a real aiohttp and Sanic server, against the test database, with pymongo
and motor.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from bson import ObjectId
from sanic import Sanic

from tbone.data import Field, Model
from tbone.data.fields import IntegerField, validator
from tbone.db.models import MongoCollectionMixin
from tbone.resources import Router
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource
from tbone.testing.servers import run_aiohttp, run_sanic

SECRET = "nonexistent_attribute_of_the_validator"


class Lucky(IntegerField):
    @validator
    def lucky(self, value: int) -> int:
        if value == 13:
            return getattr(value, SECRET)  # type: ignore[no-any-return]  # the bug: AttributeError
        if value < 0:
            raise ValueError("must not be negative")
        return value


class Widget(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str = ""
    number: Annotated[int, Lucky()] = 0
    price: Decimal | None = None
    at: datetime | None = None
    labels: dict[str, int] = Field(default_factory=dict)

    class Meta:
        name = "widgets"


class Widgets(MongoResource[Widget]):
    class Meta:
        object_class = Widget
        incoming_detail = ["get", "put", "patch", "delete"]


@dataclass
class Api:
    url: str
    session: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        async with self.session.request(method, self.url + path, data=body) as resp:
            return resp.status, await resp.read()


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["aiohttp", "sanic"])
async def api(request: pytest.FixtureRequest, db: Any) -> AsyncIterator[Api]:
    adapter: str = request.param
    base = aiohttp_adapter.AioHttpResource if adapter == "aiohttp" else sanic_adapter.SanicResource
    router = Router("api")
    router.register(type(f"{adapter}Widgets", (base, Widgets), {}), "widgets")
    async with aiohttp.ClientSession() as session:
        if adapter == "aiohttp":
            app = web.Application()
            app[aiohttp_adapter.DB_KEY] = db
            aiohttp_adapter.mount(app, router)
            async with run_aiohttp(app) as url:
                yield Api(url, session)
        else:
            sanic_app: Sanic[Any, Any] = Sanic(f"tbone_bugs_{uuid.uuid4().hex[:12]}")
            sanic_app.ctx.db = db
            sanic_adapter.mount(sanic_app, router)
            try:
                async with run_sanic(sanic_app) as url:
                    yield Api(url, session)
            finally:
                Sanic.unregister_app(sanic_app)


async def test_a_validator_bug_is_a_logged_generic_500(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    status, body = await api.call("POST", "/api/widgets/", orjson.dumps({"number": -1}))
    assert status == 400  # a ValueError: bad data, with its field error
    assert orjson.loads(body)["errors"] == [
        {"loc": ["number"], "msg": "must not be negative", "type": "value_error"}
    ]

    status, body = await api.call("POST", "/api/widgets/", orjson.dumps({"name": "w", "number": 2}))
    assert status == 201
    pk = orjson.loads(body)["_id"]
    for method, path, data in [
        ("POST", "/api/widgets/", {"number": 13}),
        ("POST", "/api/widgets/", [{"number": 1}, {"number": 13}]),
        ("PUT", f"/api/widgets/{pk}/", {"number": 13}),
        ("PATCH", f"/api/widgets/{pk}/", {"number": 13}),
    ]:
        caplog.clear()
        status, body = await api.call(method, path, orjson.dumps(data))
        assert (status, orjson.loads(body)) == (500, {"error": "Internal Server Error"}), (method, path)
        assert SECRET not in body.decode() and "AttributeError" not in body.decode()
        assert SECRET in caplog.text  # the operator sees the bug
    status, body = await api.call("GET", f"/api/widgets/{pk}/")
    assert (status, orjson.loads(body)["number"]) == (200, 2)  # nothing was written


@pytest.mark.parametrize(
    ("data", "loc", "kind"),
    [
        (b'{"number": 9223372036854775808}', ["number"], "int64_range"),
        (b'{"labels": {"k": 18446744073709551615}}', ["labels", "k"], "int64_range"),
        (b'{"price": "1e7000"}', ["price"], "decimal128_range"),
        (b'{"price": "1.00000000000000000000000000000000001"}', ["price"], "decimal128_range"),
        (b'{"at": "0001-01-01T00:00:00+14:00"}', ["at"], "datetime_range"),
        (b'{"labels": {"a\\u0000b": 1}}', ["labels", "a\x00b"], "dict_key"),
        (b'{"labels": {"$gt": 1}}', ["labels", "$gt"], "dict_key"),
        (b'{"labels": {"a.b": 1}}', ["labels", "a.b"], "dict_key"),
    ],
)
async def test_values_bson_cannot_hold_are_400s(api: Api, data: bytes, loc: list[Any], kind: str) -> None:
    status, body = await api.call("POST", "/api/widgets/", data)
    assert status == 400, body
    (error,) = orjson.loads(body)["errors"]
    assert (error["loc"], error["type"]) == (loc, kind)
