"""Issue 11 hardening of MongoResource: list DELETE, PATCH/PUT refusals, 64-bit
query values, full text only where declared, ``Meta`` checked at definition,
the model type bound, nested filters and repeated arguments.

The HTTP tests run on both servers (aiohttp, Sanic) and both drivers
(pymongo, motor), against the real database; repeated arguments are also
checked over each server's websocket.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from bson import ObjectId
from sanic import Sanic

from tbone.data import Field, Model
from tbone.data.errors import ConfigurationError
from tbone.data.fields.base import BaseField
from tbone.db import create_collection
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch import WebsocketMultiplexer, messages
from tbone.resources import BadRequest, ModelResource, QueryArgs, Router, parse_query
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter
from tbone.resources.mongo import MongoResource, parse_list_query
from tbone.testing import WebSocketTestClient
from tbone.testing.servers import run_aiohttp, run_sanic

_names = itertools.count()


class Supplier(Model):
    name: str = ""
    country: str = ""
    rating: int = 3


class Variant(Model):
    size: str
    stock: int = 0


class Part(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)
    name: str = ""
    stock: int = 0
    price: float = 0.0
    tags: list[str] = []
    supplier: Supplier | None = None
    variants: list[Variant] = []


class Gear(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str


class Parts(MongoResource[Part]):
    """``Meta.object_class`` inferred from ``MongoResource[Part]``."""

    class Meta:
        incoming_detail = ["get", "put", "patch", "delete"]
        sort = [("price", "desc")]
        limit = 5
        max_limit = 10


class Searchable(Parts):
    class Meta:
        fts_operator = "q"


class Wipeable(Parts):
    class Meta:
        allow_delete_all = True


class Gears(MongoResource[Gear]):
    class Meta:
        object_class = Gear


RESOURCES: dict[str, type[MongoResource[Any]]] = {
    "parts": Parts,
    "search": Searchable,
    "wipe": Wipeable,
    "gears": Gears,
}

STOCK = [
    {
        "code": "p1",
        "name": "bolt",
        "stock": 10,
        "price": 0.5,
        "tags": ["steel", "m6"],
        "supplier": {"name": "Acme", "country": "DE", "rating": 5},
        "variants": [{"size": "M", "stock": 4}, {"size": "L"}],
    },
    {
        "code": "p2",
        "name": "nut",
        "stock": 0,
        "price": 0.2,
        "tags": ["steel"],
        "supplier": {"name": "Bolt & Co", "country": "FR", "rating": 2},
    },
    {"code": "p3", "name": "washer", "stock": 7, "price": 0.1, "variants": [{"size": "S"}]},
    {"code": "p4", "name": "gear", "stock": 3, "price": 9.0, "supplier": {"country": "DE", "rating": 3}},
]


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class Reply:
    status: int
    payload: Any


@dataclass
class Api:
    kind: str
    url: str
    db: Any
    session: aiohttp.ClientSession

    async def call(self, method: str, path: str, json: Any = None) -> Reply:
        data = orjson.dumps(json) if json is not None else None
        async with self.session.request(method, self.url + path, data=data) as resp:
            raw = await resp.read()
            return Reply(resp.status, orjson.loads(raw) if raw else None)

    async def stored(self) -> list[str]:
        return sorted(p.code for p in await Part.find(Part.get_cursor(self.db)))


def make_router(kind: str) -> Router:
    base = aiohttp_adapter.AioHttpResource if kind == "aiohttp" else sanic_adapter.SanicResource
    router = Router("api")
    for endpoint, resource in RESOURCES.items():
        router.register(type(f"{kind}{resource.__name__}", (base, resource), {}), endpoint)
    return router


@pytest.fixture(params=["aiohttp", "sanic"])
async def api(request: pytest.FixtureRequest, db: Any) -> AsyncIterator[Api]:
    kind: str = request.param
    await create_collection(db, Part)
    router = make_router(kind)
    multiplexer = WebsocketMultiplexer()
    multiplexer.add_router("api", router)
    async with aiohttp.ClientSession() as session:
        if kind == "aiohttp":
            app = web.Application()
            app[aiohttp_adapter.DB_KEY] = db
            aiohttp_adapter.mount(app, router)
            aiohttp_adapter.mount_websocket(app, multiplexer)
            async with run_aiohttp(app) as url:
                yield Api(kind, url, db, session)
        else:
            sanic_app: Sanic[Any, Any] = Sanic(f"tbone_queries_{next(_names)}", configure_logging=False)
            sanic_app.ctx.db = db
            sanic_adapter.mount(sanic_app, router)
            sanic_adapter.mount_websocket(sanic_app, multiplexer)
            try:
                async with run_sanic(sanic_app) as url:
                    yield Api(kind, url, db, session)
            finally:
                Sanic.unregister_app(sanic_app)


async def stock(api: Api) -> None:
    reply = await api.call("POST", "/api/parts/", json=STOCK)
    assert reply.status == 201, reply.payload


def codes(reply: Reply) -> list[str]:
    assert reply.status == 200, reply.payload
    return [o["code"] for o in reply.payload["objects"]]


def locs(reply: Reply) -> list[list[Any]]:
    return [e["loc"] for e in reply.payload["errors"]]


# -- item 2: DELETE on a list --------------------------------------------------


@pytest.mark.parametrize("arg", ["limit=1", "offset=1", "order_by=name", "fields=name"])
async def test_list_delete_refuses_arguments_that_are_not_filters(api: Api, arg: str) -> None:
    await stock(api)
    reply = await api.call("DELETE", f"/api/parts/?stock__gt=0&{arg}")
    assert reply.status == 400
    (error,) = reply.payload["errors"]
    assert (error["loc"], error["type"]) == ([arg.split("=")[0]], "unexpected_argument")
    assert await api.stored() == ["p1", "p2", "p3", "p4"]


async def test_list_delete_needs_a_filter_unless_the_resource_opts_in(api: Api) -> None:
    await stock(api)
    for path in ("/api/parts/", "/api/parts/?offset=18446744073709551616"):
        reply = await api.call("DELETE", path)
        assert reply.status == 400, path
        assert await api.stored() == ["p1", "p2", "p3", "p4"]
    refused = await api.call("DELETE", "/api/parts/")
    assert refused.payload["error"].startswith("DELETE on the list needs a filter")
    assert refused.payload["errors"][0]["type"] == "filter_required"
    assert (await api.call("DELETE", "/api/parts/?stock=0")).status == 204
    assert await api.stored() == ["p1", "p3", "p4"]
    assert (await api.call("DELETE", "/api/wipe/")).status == 204  # Meta.allow_delete_all = True
    assert await api.stored() == []


async def test_huge_offsets_and_limits_are_400s(api: Api) -> None:
    await stock(api)
    for arg in ("offset=18446744073709551616", "offset=9223372036854775808", "limit=18446744073709551616"):
        reply = await api.call("GET", f"/api/parts/?{arg}")
        assert reply.status == 400, arg
        assert locs(reply) == [[arg.split("=")[0]]]
    assert codes(await api.call("GET", "/api/parts/?offset=9223372036854775807")) == []
    long = await api.call("GET", "/api/parts/?offset=" + "9" * 5000)
    assert long.status == 400 and len(long.payload["errors"][0]["msg"]) < 100


# -- item 5: PATCH and PUT refusals ------------------------------------------------


async def test_patch_refuses_unknown_keys(api: Api) -> None:
    await stock(api)
    reply = await api.call("PATCH", "/api/parts/p1/", json={"stok": 5, "stock": 6, "_links": {}})
    assert reply.status == 400
    assert reply.payload["errors"] == [
        {"loc": ["stok"], "msg": "Unknown field", "type": "unknown_field"},
        {"loc": ["_links"], "msg": "Unknown field", "type": "unknown_field"},
    ]
    assert (await api.call("GET", "/api/parts/p1/")).payload["stock"] == 10  # nothing written


async def test_patch_and_put_never_change_the_primary_key(api: Api) -> None:
    await stock(api)
    frozen = [{"loc": ["code"], "msg": "The primary key cannot be changed", "type": "frozen_field"}]
    renamed = await api.call("PATCH", "/api/parts/p1/", json={"code": "p9"})
    assert (renamed.status, renamed.payload["errors"]) == (400, frozen)
    replaced = await api.call("PUT", "/api/parts/p1/", json={"code": "p9", "name": "bolt"})
    assert (replaced.status, replaced.payload["errors"]) == (400, frozen)
    assert await api.stored() == ["p1", "p2", "p3", "p4"]
    same = await api.call("PATCH", "/api/parts/p1/", json={"code": "p1", "stock": 1})
    assert (same.status, same.payload["stock"]) == (202, 1)
    put = await api.call("PUT", "/api/parts/p1/", json={"code": "p1", "name": "bolt M6"})
    assert (put.status, put.payload["name"]) == (202, "bolt M6")
    gear = (await api.call("POST", "/api/gears/", json={"name": "cog"})).payload
    other = str(ObjectId())
    for method in ("PATCH", "PUT"):
        reply = await api.call(method, f"/api/gears/{gear['_id']}/", json={"_id": other, "name": "x"})
        assert reply.status == 400 and locs(reply) == [["_id"]], method
    assert (await api.call("PUT", f"/api/gears/{gear['_id']}/", json=gear)).status == 202  # as read


# -- item 7, query side: 64-bit integers -----------------------------------------------


@pytest.mark.parametrize(
    "arg",
    [
        "stock=9223372036854775808",
        "stock__gt=-9223372036854775809",
        "stock__in=1,18446744073709551616",
        "supplier.rating=99999999999999999999",
        "variants.stock__lte=9223372036854775808",
    ],
)
async def test_integers_beyond_64_bits_in_filters_are_400s(api: Api, arg: str) -> None:
    await stock(api)
    for method in ("GET", "DELETE"):
        reply = await api.call(method, f"/api/parts/?{arg}")
        assert reply.status == 400, (method, reply.payload)
        assert locs(reply) == [[arg.split("=")[0]]]
    assert codes(await api.call("GET", "/api/parts/?stock__lt=9223372036854775807")) == [
        "p4",
        "p1",
        "p2",
        "p3",
    ]


class LooseInt(BaseField):
    """A field whose coercion has no 64-bit bound (a custom field, say)."""

    def coerce(self, value: Any) -> Any:
        return int(value)


def test_values_bson_cannot_store_are_400s_whatever_the_field() -> None:
    field = LooseInt()
    field.bind("n", "Thing")
    with pytest.raises(BadRequest) as caught:
        parse_list_query({"n": field}, {"n": "9" * 30, "n__in": f"1,-{'9' * 30}"})
    assert [(e["loc"], e["type"]) for e in caught.value.errors] == [
        (["n"], "int64_range"),
        (["n__in"], "int64_range"),
    ]
    assert parse_list_query({"n": field}, {"n": "9223372036854775807"}).filters == {"n": 2**63 - 1}


# -- item 11: full text only where declared --------------------------------------


async def test_full_text_is_off_unless_declared_and_a_400_without_a_text_index(api: Api) -> None:
    await stock(api)
    undeclared = await api.call("GET", "/api/parts/?q=bolt")
    assert undeclared.status == 400
    assert undeclared.payload["errors"] == [
        {"loc": ["q"], "msg": "Unknown filter field 'q'", "type": "unknown_field"}
    ]
    for method in ("GET", "DELETE"):
        reply = await api.call(method, "/api/search/?q=bolt")  # no text index on the collection
        assert reply.status == 400, reply.payload
        assert reply.payload == {
            "error": "Full-text search is not available on this resource",
            "errors": [{"loc": ["q"], "msg": "Full-text search is not available", "type": "full_text"}],
        }
    assert await api.stored() == ["p1", "p2", "p3", "p4"]


def test_full_text_options_are_checked() -> None:
    for bad in ("limit", "name", ""):
        with pytest.raises(ConfigurationError, match="fts_operator"):
            type("Bad", (Parts,), {"Meta": type("Meta", (), {"fts_operator": bad})})


# -- item 17: Meta checked when the class is defined --------------------------------


def test_meta_sort_accepts_asc_desc_and_strings() -> None:
    class Sorted(MongoResource[Part]):
        class Meta:
            sort = [("price", "desc"), ("name", "ASC"), "-stock", ("code", 1), "supplier.rating"]

    assert Sorted._meta.sort == (
        ("price", -1),
        ("name", 1),
        ("stock", -1),
        ("code", 1),
        ("supplier.rating", 1),
    )


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"sort": [("price", "down")]}, r'direction 1, -1, "asc" or "desc"'),
        ({"sort": ("price", -1)}, "cannot read -1"),
        ({"sort": "price"}, "must be a list"),
        ({"sort": [("prise", -1)]}, "'prise' is not a field of Part"),
        ({"sort": ["supplier.colour"]}, "'supplier.colour' is not a field of Part"),
        ({"query": {"stok": {"$gt": 0}}}, "Meta.query: 'stok' is not a field of Part"),
        ({"query": {"$or": [{"stock": 0}, {"nme": "x"}]}}, "'nme' is not a field of Part"),
        ({"query": {"$and": {"stock": 0}}}, r"\$and takes a list"),
        ({"query": [("stock", 0)]}, "must be a filter document"),
    ],
)
def test_meta_sort_and_query_are_checked_at_definition(meta: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        types.new_class(
            "Wrong", (MongoResource[Part],), {}, lambda ns: ns.update(Meta=type("Meta", (), meta))
        )


def test_meta_query_on_nested_and_declared_fields_is_fine() -> None:
    class Scoped(MongoResource[Part]):
        class Meta:
            query = {"$or": [{"supplier.country": "DE"}, {"stock": {"$gt": 0}}], "$comment": "scope"}

    assert Scoped._meta.query is not None


def test_a_synchronous_verb_method_is_refused_at_definition() -> None:
    with pytest.raises(ConfigurationError, match=r"Sync\.detail must be a coroutine function"):

        class Sync(MongoResource[Part]):
            def detail(self, pk: Any) -> Any:
                return {}

    class Nested(MongoResource[Part]):
        def get_similar(self, pk: Any) -> Any:
            return {}

    with pytest.raises(ConfigurationError, match=r"Nested\.get_similar must be a coroutine function"):
        Nested.route("/api/parts/{pk}/similar/", "similar", name="similar", base_url="/api/parts/")


# -- item 18: the model type of MongoResource[M] ----------------------------------------


class Plain(Model):
    _id: ObjectId | None = Field(default=None, primary_key=True)


class OtherPart(Model, MongoCollectionMixin):
    code: str = Field(primary_key=True)


class SpecialPart(Part):
    pass


def test_a_model_without_the_mixin_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="Plain has no MongoCollectionMixin"):

        class NoMixin(MongoResource[Plain]):  # type: ignore[type-var]
            pass

    with pytest.raises(ConfigurationError, match="Plain has no MongoCollectionMixin"):

        class Untyped(MongoResource[Any]):
            class Meta:
                object_class = Plain


def test_object_class_is_inferred_or_must_match_the_type_argument() -> None:
    assert Parts.model() is Part and Parts.pk_field().name == "code"
    with pytest.raises(
        ConfigurationError, match="object_class is OtherPart, but the resource is declared over Part"
    ):

        class Mismatch(MongoResource[Part]):
            class Meta:
                object_class = OtherPart

    with pytest.raises(ConfigurationError, match="declared over Part"):

        class Inherited(Parts):  # Parts is a MongoResource[Part]
            class Meta:
                object_class = OtherPart

    class Special(Parts):  # a subclass of Part is a Part: mypy's types stay right
        class Meta:
            object_class = SpecialPart

    assert Special.model() is SpecialPart

    class Counted(ModelResource[Part]):
        pass

    assert Counted.model() is Part


# -- item 25: nested fields and repeated arguments -------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("supplier.country=DE", ["p4", "p1"]),
        ("supplier.rating__gte=3", ["p4", "p1"]),
        ("supplier.rating__in=2,5", ["p1", "p2"]),
        ("supplier.country__ne=DE", ["p2", "p3"]),
        ("variants.size=M", ["p1"]),
        ("variants.size__in=S,L", ["p1", "p3"]),
        ("supplier=null", ["p3"]),
        ("supplier.country=DE&order_by=supplier.rating", ["p4", "p1"]),
        ("supplier.country=DE&order_by=-supplier.rating", ["p1", "p4"]),
        ("tags=steel&tags__in=m6,m8", ["p1"]),
        ("tags__in=steel&tags__in=m8", ["p1", "p2"]),
        ("order_by=-stock&order_by=code", ["p1", "p3", "p4", "p2"]),
    ],
)
async def test_filters_on_nested_fields(api: Api, query: str, expected: list[str]) -> None:
    await stock(api)
    assert codes(await api.call("GET", f"/api/parts/?{query}")) == expected


async def test_nested_filters_are_checked_like_any_filter(api: Api) -> None:
    await stock(api)
    reply = await api.call(
        "GET", "/api/parts/?supplier.colour=red&supplier.rating__gt=high&variants.size__near=M&name.x=1"
    )
    assert reply.status == 400
    assert reply.payload["errors"] == [
        {
            "loc": ["supplier.colour"],
            "msg": "Unknown filter field 'supplier.colour'",
            "type": "unknown_field",
        },
        {"loc": ["supplier.rating__gt"], "msg": "Value 'high' is not a valid integer", "type": "int_parsing"},
        {"loc": ["variants.size__near"], "msg": "Unknown filter operator 'near'", "type": "unknown_operator"},
        {"loc": ["name.x"], "msg": "Unknown filter field 'name.x'", "type": "unknown_field"},
    ]
    deleted = await api.call("DELETE", "/api/parts/?supplier.country=DE")
    assert deleted.status == 204
    assert await api.stored() == ["p2", "p3"]


REPEATED = [
    ("/api/parts/?tags=steel&tags=m6", ["tags"]),
    ("/api/parts/?name=bolt&name=nut", ["name"]),
    ("/api/parts/?limit=1&limit=2", ["limit"]),
    ("/api/parts/?supplier.country=DE&supplier.country=FR", ["supplier.country"]),
]


async def test_a_repeated_argument_is_a_400_unless_it_lists_values(api: Api) -> None:
    await stock(api)
    for path, loc in REPEATED:
        for method in ("GET", "DELETE"):
            reply = await api.call(method, path)
            assert reply.status == 400, (method, path)
            assert reply.payload["errors"][0]["loc"] == loc
            assert reply.payload["errors"][0]["type"] == "repeated"
    hint = (await api.call("GET", "/api/parts/?name=a&name=b")).payload["errors"][0]["msg"]
    assert hint == "Argument 'name' is repeated: give it once, or use name__in=a,b"
    assert await api.stored() == ["p1", "p2", "p3", "p4"]
    async with await WebSocketTestClient.connect(f"{api.url}/ws") as client:
        for path, loc in REPEATED:
            status, payload = await client.request("GET", path)
            assert (status, payload["errors"][0]["loc"]) == (400, loc), path
        status, payload = await client.request("GET", "/api/parts/?tags__in=steel&tags__in=m8")
        assert (status, [o["code"] for o in payload["objects"]]) == (200, ["p1", "p2"])
        # "args" set one value per name over the href's
        status, payload = await client.request("GET", "/api/parts/?name=a&name=b", args={"name": "nut"})
        assert (status, [o["code"] for o in payload["objects"]]) == (200, ["p2"])


def test_parse_query_remembers_repeated_names() -> None:
    args = parse_query("a=1&b=2&a=3&c=&a=4")
    assert isinstance(args, QueryArgs)
    assert (dict(args), args.repeated) == ({"a": "1,3,4", "b": "2", "c": ""}, frozenset({"a"}))
    merged = args.merged({"a": "9", "b": "1,2"}, repeated={"b"})
    assert (merged["a"], merged.repeated) == ("9", frozenset({"b"}))
    request = messages.parse_request(
        {"method": "get", "href": "/api/parts/?a=1&a=2&c=1&c=2", "args": {"b": 3, "c": "3"}}
    )
    assert (request.path, request.args) == ("/api/parts/", {"a": "1,2", "b": "3", "c": "3"})
    assert getattr(request.args, "repeated", None) == frozenset({"a"})
