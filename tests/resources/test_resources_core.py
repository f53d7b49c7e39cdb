"""Router, options, errors and exports, without a server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import tbone.resources
from tbone.data.errors import ValidationError
from tbone.resources import (
    CORS,
    BadRequest,
    ConfigurationError,
    Headers,
    JSONFormatter,
    MethodNotAllowed,
    NotFound,
    Resource,
    Response,
    Router,
    error_response,
    parse_query,
)
from tbone.resources.errors import DEFAULT_EXCEPTION_STATUSES, Conflict, ExceptionTable, HTTPError, status_for
from tbone.resources.mongo import MongoResource, MongoResourceOptions

from .resources_support import RESOURCES, AioNotes, MemoryStore, SanicBooks, make_router


class NotAResource:
    async def list(self) -> list[Any]:
        return []


def test_register_rejects_what_is_not_a_resource_class() -> None:
    router = Router("api")
    with pytest.raises(ConfigurationError, match="NotAResource is not a resource: it lacks"):
        router.register(NotAResource, "things")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="resource class"):
        router.register(SanicBooks(None), "things")  # type: ignore[arg-type]
    router.register(SanicBooks, "books")
    with pytest.raises(ConfigurationError, match="already registered"):
        router.register(SanicBooks, "books")
    with pytest.raises(ConfigurationError, match="URL-safe"):
        router.register(SanicBooks, "a/b")
    with pytest.raises(ConfigurationError, match="URL-safe"):
        Router("")


def test_unregister_and_endpoints() -> None:
    router = make_router("aiohttp")
    assert list(router.endpoints) == ["books", "notes", "secrets", "broken"]
    router.unregister("notes")
    assert "notes" not in router.endpoints
    assert all("/api/notes/" not in route.path for route in router.urls())
    with pytest.raises(KeyError):
        router.unregister("notes")


def test_urls_take_each_servers_form() -> None:
    aio = {r.name: r for r in make_router("aiohttp").urls()}
    assert aio["api_books_list"].path == "/api/books/"
    assert aio["api_books_detail"].path == "/api/books/{pk}/"
    assert aio["api_books_reviews"].path == "/api/books/{pk}/reviews/"
    assert {r.methods for r in aio.values()} == {"*"}
    sanic = {r.name: r for r in make_router("sanic").urls()}
    assert sanic["api_books_detail"].path == "/api/books/<pk>/"
    assert sanic["api_books_reviews"].path == "/api/books/<pk>/reviews/"
    assert sanic["api_books_list"].methods == ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    assert len(aio) == len(sanic) == 4 * 2 + 3  # list + detail each, reviews on 3 Books kinds


class _App:
    def __init__(self, db: Any) -> None:
        self.db = db


async def test_dispatch_without_a_server() -> None:
    router = make_router("sanic")
    app = _App(MemoryStore())  # plain ``app.db`` works too
    status, created = await router.dispatch(app, "post", "/api/books/", {}, {}, {"title": "X"})
    assert (status, created["_links"]) == (201, {"self": {"href": "/api/books/1/"}})
    status, payload = await router.dispatch(app, "GET", "/api/books/?title=X")
    assert (status, payload["meta"]) == (200, {"total_count": 1})
    status, payload = await router.dispatch(app, "PATCH", "/api/books/1/", body=b'{"rating": 4}')
    assert (status, payload["rating"]) == (202, 4)
    assert await router.dispatch(app, "GET", "/api/nowhere/") == (404, {"error": "Not Found"})
    assert await router.dispatch(app, "GET", "/api/books/1/extra/") == (404, {"error": "Not Found"})


async def test_missing_database_is_a_logged_500(caplog: pytest.LogCaptureFixture) -> None:
    router = make_router("aiohttp")
    status, payload = await router.dispatch(object(), "GET", "/api/books/")
    assert (status, payload) == (500, {"error": "Internal Server Error"})
    assert "no database on the app" in caplog.text


def test_meta_is_inherited_and_overridden() -> None:
    options = AioNotes._meta
    assert options.name == "notes"
    assert options.hypermedia is False
    assert options.incoming_detail == ("get", "put", "patch", "delete")  # from Books.Meta
    assert isinstance(options.cors, CORS)
    assert type(options.formatter) is JSONFormatter
    # list paging and full text are Mongo options (MongoResourceOptions), not the core's
    assert not hasattr(options, "fts_operator")
    assert not hasattr(options, "limit")

    class PlainResource(Resource):
        pass

    assert PlainResource._meta.name == "plain"
    assert PlainResource._meta.incoming_list == ("get", "post", "put", "patch", "delete")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"incomming_list": ["get"]}, "unknown option"),
        ({"incoming_list": "get"}, "must be a list of verbs"),
        ({"incoming_detail": ["get", "fetch"]}, "unknown verb"),
        ({"authentication": object()}, "no is_authenticated"),
        ({"formatter": 42}, "no format"),
        ({"hypermedia": "yes"}, "True or False"),
        ({"name": "a b"}, "URL-safe"),
        ({"limit": 20}, "unknown option"),  # paging is a Mongo resource's option
        ({"cors": "*"}, "CORS"),
    ],
)
def test_misconfiguration_fails_at_class_definition(meta: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        type("Bad", (Resource,), {"Meta": type("Meta", (), meta)})


def test_mongo_options_are_checked_at_class_definition() -> None:
    assert MongoResource.options_class is MongoResourceOptions
    with pytest.raises(ConfigurationError, match="exceeds max_limit"):
        type("Bad", (MongoResource,), {"Meta": type("Meta", (), {"limit": 500})})


def test_component_classes_are_instantiated() -> None:
    meta = type("Meta", (), {"formatter": JSONFormatter, "cors": True})
    resource: type[Resource] = type("Formatted", (Resource,), {"Meta": meta})
    assert isinstance(resource._meta.formatter, JSONFormatter)
    assert resource._meta.cors == CORS()


def test_error_table_maps_exceptions() -> None:
    invalid = ValidationError([{"loc": ("a", 0), "msg": "bad", "type": "t"}])
    response = error_response(invalid)
    assert response.status == 400
    assert response.payload["errors"] == [{"loc": ["a", 0], "msg": "bad", "type": "t"}]
    assert error_response(NotImplementedError()).status == 501
    assert error_response(KeyError("internal")).payload == {"error": "Internal Server Error"}
    not_allowed = error_response(MethodNotAllowed(allowed=["get"]))
    assert (not_allowed.status, not_allowed.headers) == (405, {"Allow": "GET"})
    assert error_response(BadRequest("nope")).payload == {"error": "nope"}
    assert isinstance(NotFound(), LookupError)  # a plain ``except LookupError`` still works
    assert isinstance(BadRequest(), ValueError)


class Taken(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is taken")
        self.name = name


class TakenTwice(Taken):
    pass


class Teapot(BadRequest):
    status = 418


def taken(exc: Taken) -> Conflict:
    return Conflict(f"{exc.name} exists", errors=[{"loc": ("name",), "msg": "taken", "type": "duplicate"}])


def test_error_table_entries_may_be_handlers_found_along_the_mro() -> None:
    table: ExceptionTable = {
        **DEFAULT_EXCEPTION_STATUSES,
        Taken: taken,
        TakenTwice: lambda exc: Response(418, {"teapot": exc.name}, {"X-Why": "twice"}),
        KeyError: lambda exc: 422,
        NotFound: 410,  # an HTTPError subclass with an entry: the entry wins
    }
    conflict = error_response(Taken("ann"), table)
    assert (conflict.status, conflict.payload) == (
        409,
        {"error": "ann exists", "errors": [{"loc": ["name"], "msg": "taken", "type": "duplicate"}]},
    )
    twice = error_response(TakenTwice("bob"), table)  # the most specific entry wins
    assert (twice.status, twice.payload, twice.headers) == (418, {"teapot": "bob"}, {"X-Why": "twice"})
    assert error_response(KeyError("k"), table).payload == {"error": "'k'"}
    assert error_response(KeyError("k"), table).status == 422
    assert error_response(NotFound("gone"), table).status == 410
    # an HTTPError keeps its own status over the builtins it subclasses (BadRequest is a ValueError)
    assert error_response(Teapot("short and stout"), table).status == 418
    assert [status_for(e, table) for e in (Taken("a"), TakenTwice("b"), ValueError(), Teapot())] == [
        409,
        418,
        400,
        418,
    ]
    assert status_for(RuntimeError()) is None and status_for(HTTPError()) == 500


def test_a_failing_or_500_handler_is_a_logged_generic_500(caplog: pytest.LogCaptureFixture) -> None:
    def broken(exc: Exception) -> int:
        raise RuntimeError("handler bug")

    table: ExceptionTable = {KeyError: broken, IndexError: lambda exc: HTTPError("secret detail")}
    for exc in (KeyError("k"), IndexError("i")):
        response = error_response(exc, table)
        assert (response.status, response.payload) == (500, {"error": "Internal Server Error"})
    assert "handler bug" in caplog.text


def test_headers_and_query_parsing() -> None:
    headers = Headers([("Accept", "a"), ("ACCEPT", "b"), ("X-One", "1")])
    assert headers["accept"] == "a, b"
    assert "x-one" in headers and "X-ONE" in headers
    assert dict(headers) == {"accept": "a, b", "x-one": "1"}
    assert parse_query("a=1&b=&a=2&c=%20x") == {"a": "1,2", "b": "", "c": " x"}


def test_public_api_is_sorted_and_complete() -> None:
    names = tbone.resources.__all__

    def isort_key(name: str) -> tuple[int, str]:  # ruff RUF022: CONSTANTS, Classes, functions
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert names == sorted(names, key=isort_key)
    public = {
        name
        for name, value in vars(tbone.resources).items()
        if not name.startswith("_") and type(value).__name__ != "module"
    }
    assert set(names) == public


def test_core_imports_no_web_server() -> None:
    code = "import sys, tbone.resources; print(sorted({'aiohttp', 'sanic'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_adapter_has_the_same_resources() -> None:
    assert RESOURCES["aiohttp"].keys() == RESOURCES["sanic"].keys()
