"""Test resources kept in memory, and the ``Api`` client the ``api`` fixture yields.

The same resource mixins are served by aiohttp and by Sanic (on real sockets,
through ``tbone.testing.servers``); the ``api`` fixture is parametrized over
both, so every HTTP test runs on each server. The in-memory "database" is put
on the app where each adapter looks for it (``app[DB_KEY]`` / ``app.ctx.db``),
so ``get_db()`` is exercised too.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import aiohttp
import orjson

from tbone.data.errors import ValidationError
from tbone.resources import (
    CORS,
    NotFound,
    ReadOnlyAuthentication,
    Request,
    Resource,
    Route,
    Router,
    Unauthorized,
)
from tbone.resources import aiohttp as aiohttp_adapter
from tbone.resources import sanic as sanic_adapter

ADAPTERS = ("aiohttp", "sanic")
ALLOWED_ORIGIN = "https://app.example"


@dataclass
class MemoryStore:
    """The "database": objects by integer id, reviews by book id."""

    objects: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    next_id: int = 1

    def add(self, data: Mapping[str, Any]) -> dict[str, Any]:
        obj = {**data, "id": self.next_id}
        self.objects[self.next_id] = obj
        self.next_id += 1
        return obj


def check_book(data: Any) -> dict[str, Any]:
    """Validate a book body like the ODM would: every failing field at once."""
    if not isinstance(data, dict):
        raise ValidationError([{"loc": (), "msg": "expected an object", "type": "type_error"}])
    errors: builtins.list[Any] = []
    if not (isinstance(data.get("title"), str) and data["title"]):
        errors.append({"loc": ("title",), "msg": "a non-empty string", "type": "missing"})
    rating = data.get("rating", 3)
    if not (isinstance(rating, int) and 1 <= rating <= 5):
        errors.append({"loc": ("rating",), "msg": "between 1 and 5", "type": "range"})
    if errors:
        raise ValidationError(errors)
    return {k: v for k, v in data.items() if k not in ("id", "_links")}


class TokenAuthentication:
    """The token example of docs/resources.md: ``Authorization: Bearer <token>``."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self.tokens = dict(tokens)

    async def is_authenticated(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        user = self.tokens.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            raise Unauthorized("Invalid or missing token", headers={"WWW-Authenticate": "Bearer"})
        request.state["user"] = user
        return True


class Books(Resource):
    """Every verb except PATCH on the list (501); POST on a detail is excluded (405)."""

    class Meta:
        name = "books"
        incoming_detail = ["get", "put", "patch", "delete"]
        cors = CORS(allow_origins=(ALLOWED_ORIGIN,), allow_headers=("*",))

    def store(self) -> MemoryStore:
        return cast(MemoryStore, self.get_db())

    def to_pk(self, value: str) -> int:
        return int(value)  # "abc" raises ValueError: a 400, never a 500

    def found(self, pk: int) -> dict[str, Any]:
        obj = self.store().objects.get(pk)
        if obj is None:
            raise NotFound(f"No book {pk}")
        return obj

    async def list(self) -> builtins.list[dict[str, Any]]:
        args = self.request.args
        return [o for o in self.store().objects.values() if all(str(o.get(k)) == v for k, v in args.items())]

    async def create(self) -> Any:
        if isinstance(self.data, builtins.list):
            return [self.store().add(check_book(item)) for item in self.data]
        return self.store().add(check_book(self.data))

    async def update_list(self) -> builtins.list[dict[str, Any]]:
        if not isinstance(self.data, builtins.list):
            raise ValueError("PUT on the list takes an array of books")
        books = [check_book(item) for item in self.data]
        self.store().objects.clear()
        return [self.store().add(book) for book in books]

    async def delete_list(self) -> None:
        self.store().objects.clear()

    async def detail(self, pk: int) -> dict[str, Any] | None:
        return self.store().objects.get(pk)

    async def update(self, pk: int) -> dict[str, Any]:
        self.found(pk)
        obj = {**check_book(self.data), "id": pk}
        self.store().objects[pk] = obj
        return obj

    async def modify(self, pk: int) -> dict[str, Any]:
        obj = self.found(pk)
        changed = check_book({**obj, **(self.data or {})})
        obj.update(changed)
        return obj

    async def delete(self, pk: int) -> None:
        self.found(pk)
        del self.store().objects[pk]

    @classmethod
    def nested_routes(cls, base_url: str) -> builtins.list[Route]:
        path = f"{base_url}{cls.route_param('pk')}/reviews/"
        return [cls.route(path, "reviews", name="reviews", base_url=base_url, verbs=("get", "post"))]

    async def get_reviews(self, pk: int) -> builtins.list[dict[str, Any]]:
        self.found(pk)
        return self.store().reviews.get(pk, [])

    async def post_reviews(self, pk: int) -> dict[str, Any]:
        self.found(pk)
        if not isinstance(self.data, dict) or not isinstance(self.data.get("text"), str):
            raise ValidationError([{"loc": ("text",), "msg": "required", "type": "missing"}])
        review = {"text": self.data["text"], "book": pk}
        self.store().reviews.setdefault(pk, []).append(review)
        return review


class Notes(Books):
    """Inherits Books' Meta except what it sets: read-only, no hypermedia."""

    class Meta:
        name = "notes"
        authentication = ReadOnlyAuthentication()
        hypermedia = False


class Secrets(Books):
    class Meta:
        name = "secrets"
        authentication = TokenAuthentication({"s3cret": "alice"})

    async def list(self) -> builtins.list[dict[str, Any]]:
        return [{"id": 1, "user": self.request.state["user"]}]


class Broken(Resource):
    class Meta:
        name = "broken"

    async def list(self) -> Any:
        raise RuntimeError("secret internals")

    async def detail(self, pk: str) -> Any:
        return {"id": pk, "unencodable": object()}


class AioBooks(Books, aiohttp_adapter.AioHttpResource):
    pass


class AioNotes(Notes, aiohttp_adapter.AioHttpResource):
    pass


class AioSecrets(Secrets, aiohttp_adapter.AioHttpResource):
    pass


class AioBroken(Broken, aiohttp_adapter.AioHttpResource):
    pass


class SanicBooks(Books, sanic_adapter.SanicResource):
    pass


class SanicNotes(Notes, sanic_adapter.SanicResource):
    pass


class SanicSecrets(Secrets, sanic_adapter.SanicResource):
    pass


class SanicBroken(Broken, sanic_adapter.SanicResource):
    pass


RESOURCES: dict[str, dict[str, type[Resource]]] = {
    "aiohttp": {"books": AioBooks, "notes": AioNotes, "secrets": AioSecrets, "broken": AioBroken},
    "sanic": {
        "books": SanicBooks,
        "notes": SanicNotes,
        "secrets": SanicSecrets,
        "broken": SanicBroken,
    },
}


def make_router(adapter: str) -> Router:
    router = Router("api")
    for endpoint, resource in RESOURCES[adapter].items():
        router.register(resource, endpoint)
    return router


@dataclass
class Reply:
    status: int
    payload: Any
    headers: Mapping[str, str]


@dataclass
class Api:
    """A running server with the test resources, and a client for it."""

    adapter: str
    url: str
    app: Any
    router: Router
    store: MemoryStore
    session: aiohttp.ClientSession

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        body = orjson.dumps(json) if json is not None else data
        send = {"Content-Type": "application/json", **(headers or {})} if body else headers
        async with self.session.request(method, self.url + path, data=body, headers=send) as resp:
            raw = await resp.read()
            payload = orjson.loads(raw) if raw else None
            return Reply(resp.status, payload, resp.headers)

    async def call_raw(self, method: str, path: str) -> tuple[int, bytes]:
        """Status and body bytes, for answers that are not JSON."""
        async with self.session.request(method, self.url + path) as resp:
            return resp.status, await resp.read()
