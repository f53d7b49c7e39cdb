"""The aiohttp adapter: ``AioHttpResource`` and ``mount``;
the websocket endpoint, ``mount_websocket``, is in ``tbone.servers.aiohttp.endpoint``.

With the endpoint and the carrier beside it, the only modules of tbone that import aiohttp. It turns an
``aiohttp.web.Request`` into the neutral ``Request``, runs the resource, and
turns the neutral ``Response`` into an ``aiohttp.web.Response``. Routes use
aiohttp's ``{pk}`` syntax and method ``"*"``: the resource itself answers
405/501 with its JSON body rather than aiohttp's plain-text one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aiohttp import web

from tbone.resources.http import Headers, Request, Response, parse_query
from tbone.resources.protocols import View
from tbone.resources.resources import Resource
from tbone.resources.routing import Router

__all__ = [
    "DB_KEY",
    "AioHttpHandler",
    "AioHttpResource",
    "mount",
]

#: The typed place for the database on an aiohttp app: ``app[DB_KEY] = db``.
DB_KEY: web.AppKey[Any] = web.AppKey("tbone_db")

AioHttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AioHttpResource(Resource):
    """A resource served by aiohttp."""

    route_methods: ClassVar[Any] = "*"
    route_param_format: ClassVar[str] = "{{{}}}"
    route_param_regex: ClassVar[str] = r"\{(\w+)(?::[^}]*)?\}"

    @classmethod
    def adapt(cls, view: View) -> AioHttpHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            query = request.query_string
            neutral = Request._from_server(
                request.app,
                request.method,
                request.path,
                dict(request.match_info),
                parse_query(query) if query else {},
                Headers.view(request.headers),  # no copy per request
                await request.read() if request.body_exists else b"",
                request,
            )
            return cls.build_response(await view(neutral))

        return handler

    @classmethod
    def build_response(cls, response: Response) -> web.Response:
        status, body, content_type = cls.render(response)
        return web.Response(
            status=status,
            body=body or None,
            headers=response.headers or None,
            content_type=content_type,
        )

    @classmethod
    def find_db(cls, app: Any) -> Any:
        """``app[DB_KEY]``, else ``app["db"]``, else ``app.db``."""
        if isinstance(app, web.Application):
            db = app.get(DB_KEY)
            if db is not None:
                return db
        return super().find_db(app)


def mount(app: web.Application, router: Router) -> None:
    """Add every route of ``router`` to ``app`` (one call per route, method ``"*"``),
    then a catch-all under ``/<router name>/`` that answers an unknown path with
    the JSON 404 that ``Router.dispatch`` (the websocket) gives, instead of
    aiohttp's plain-text one. aiohttp tries routes with a longer fixed prefix
    first, so routes the app adds under the same prefix later still win."""
    for route in router.urls():
        app.router.add_route(route.methods, route.path, route.handler, name=route.name)

    async def unknown_path(request: web.Request) -> web.StreamResponse:
        return AioHttpResource.build_response(Response(404, {"error": "Not Found"}))

    app.router.add_route("*", f"/{router.name}/{{tail:.*}}", unknown_path, name=f"{router.name}_not_found")
