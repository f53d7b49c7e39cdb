"""The Sanic adapter: ``SanicResource`` and ``mount``;
the websocket endpoint, ``mount_websocket``, is in ``tbone.servers.sanic.endpoint``.

With the endpoint and the carrier beside it, the only modules of tbone that import Sanic; the same shape as
the aiohttp adapter. Routes use Sanic's ``<pk>`` syntax and list every verb,
so the resource (not Sanic) answers 405/501 with its JSON body. Sanic passes
route parameters undecoded by default; the adapter unquotes them, as aiohttp
does.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, ClassVar
from urllib.parse import unquote

from sanic import Request as SanicRequest
from sanic import Sanic
from sanic.exceptions import NotFound
from sanic.response import HTTPResponse

from tbone.resources.http import ALL_VERBS, Headers, Request, Response, parse_query
from tbone.resources.protocols import View
from tbone.resources.resources import Resource
from tbone.resources.routing import Router

__all__ = [
    "SanicHandler",
    "SanicResource",
    "mount",
]

SanicHandler = Callable[..., Coroutine[Any, Any, HTTPResponse]]


class SanicResource(Resource):
    """A resource served by Sanic."""

    route_methods: ClassVar[Any] = ALL_VERBS
    route_param_format: ClassVar[str] = "<{}>"
    route_param_regex: ClassVar[str] = r"<(\w+)(?::[^>]*)?>"

    @classmethod
    def adapt(cls, view: View) -> SanicHandler:
        async def handler(request: SanicRequest, **params: str) -> HTTPResponse:
            for value in params.values():
                if "%" in value:  # else unquote() would change nothing
                    params = {k: unquote(v) for k, v in params.items()}
                    break
            query = request.query_string
            neutral = Request._from_server(
                request.app,
                request.method,
                request.path,
                params,
                parse_query(query) if query else {},
                Headers.view(request.headers),  # no copy per request
                request.body or b"",
                request,
            )
            return cls.build_response(await view(neutral))

        return handler

    @classmethod
    def build_response(cls, response: Response) -> HTTPResponse:
        status, body, content_type = cls.render(response)
        return HTTPResponse(body or None, status=status, headers=response.headers, content_type=content_type)

    @classmethod
    def find_db(cls, app: Any) -> Any:
        """``app.ctx.db``, else ``app.db``."""
        db = getattr(getattr(app, "ctx", None), "db", None)
        return db if db is not None else super().find_db(app)


def mount(app: Sanic[Any, Any], router: Router) -> None:
    """Add every route of ``router`` to ``app``, and answer an unknown path under
    ``/<router name>/`` with the JSON 404 that ``Router.dispatch`` (the
    websocket) gives. Sanic would let a catch-all route shadow the resources'
    own routes, so this is a ``NotFound`` handler instead, which hands any
    other path to Sanic's default error page (a ``NotFound`` handler the app
    registers after ``mount`` replaces it)."""
    for route in router.urls():
        app.add_route(route.handler, route.path, methods=route.methods, name=route.name)
    prefix = f"/{router.name}/"

    def unknown_path(request: SanicRequest, exception: Exception) -> HTTPResponse:
        if request.path.startswith(prefix):
            return SanicResource.build_response(Response(404, {"error": "Not Found"}))
        return app.error_handler.default(request, exception)

    app.error_handler.add(NotFound, unknown_path)
