"""The Sanic adapter: ``SanicResource`` and ``mount``;
the websocket endpoint, ``mount_websocket``, is in ``tbone.servers.sanic.endpoint``.

With the endpoint and the carrier beside it, the only modules of tbone that import Sanic; the same shape as
the aiohttp adapter. Routes use Sanic's ``<pk>`` syntax and list every verb,
so the resource (not Sanic) answers 405/501 with its JSON body. Sanic passes
route parameters undecoded by default; the adapter unquotes them, as aiohttp
does.

Sanic's own answers are made to match aiohttp's for TBone's paths:

- Sanic's router ignores empty path segments (``/api/books//`` would reach
  the list): a path with ``//`` is a 404, as on aiohttp.
- Errors Sanic raises itself for a path under a mounted router's prefix
  (404, 405 for verbs such as ``TRACE``, 413, 400 for a bad request line or
  header...) are answered as JSON ``{"error": ...}`` by one ``SanicException``
  handler per app, however many routers are mounted; a 405 is answered by the
  resource itself, as aiohttp does, with its ``Allow`` header.
- The body limit is the resource's ``max_body_size`` (``MAX_BODY_SIZE`` by
  default); ``mount`` sets the app's ``REQUEST_MAX_SIZE`` to the largest one
  mounted, so Sanic refuses a bigger body before reading it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from inspect import isawaitable
from typing import Any, ClassVar, cast
from urllib.parse import unquote

from sanic import Request as SanicRequest
from sanic import Sanic
from sanic.exceptions import MethodNotAllowed, NotFound, PayloadTooLarge, SanicException
from sanic.response import HTTPResponse

from tbone.resources.http import ALL_VERBS, Headers, Request, Response, parse_query
from tbone.resources.protocols import View
from tbone.resources.resources import Resource
from tbone.resources.routing import Router
from tbone.servers.common import (
    BODY_TOO_LARGE,
    HEALTH_TIMEOUT,
    MAX_BODY_SIZE,
    Prefixes,
    check_health,
    error_payload,
)

__all__ = [
    "MAX_BODY_SIZE",
    "SanicHandler",
    "SanicResource",
    "mount",
    "mount_health",
]

SanicHandler = Callable[..., Coroutine[Any, Any, HTTPResponse]]

_NOT_FOUND = Response(404, {"error": "Not Found"})


class SanicResource(Resource):
    """A resource served by Sanic."""

    route_methods: ClassVar[Any] = ALL_VERBS
    route_param_format: ClassVar[str] = "<{}>"
    route_param_regex: ClassVar[str] = r"<(\w+)(?::[^>]*)?>"
    #: Largest request body this resource reads, in bytes; a bigger one is a 413.
    max_body_size: ClassVar[int] = MAX_BODY_SIZE

    @classmethod
    def adapt(cls, view: View) -> SanicHandler:
        async def handler(request: SanicRequest, **params: str) -> HTTPResponse:
            if "//" in request.path:
                # Sanic's router skips empty segments: /api/books//  would be the list.
                return cls.build_response(_NOT_FOUND)
            body = request.body or b""
            if len(body) > cls.max_body_size:
                return cls.build_response(Response(413, {"error": BODY_TOO_LARGE}))
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
                body,
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


class ApiErrors:
    """The one ``SanicException`` handler ``mount`` gives an app.

    Under the prefix of any router mounted on the app, Sanic's own errors are
    answered as JSON: a 405 by the resource whose route matches the path (as
    aiohttp does: its ``Allow`` header, its message), a 413 with the body-limit
    message, a path with ``//`` or an unknown one with ``{"error": "Not
    Found"}``, any other with ``{"error": <Sanic's message>}`` (a 5xx with its
    status phrase only). Elsewhere, the handler that was registered before
    (if any) or Sanic's default page answers.
    """

    def __init__(self, app: Sanic[Any, Any], fallback: Any = None) -> None:
        self.app = app
        self.fallback = fallback
        self.prefixes = Prefixes()
        self.routes: list[tuple[re.Pattern[str], Any]] = []
        self.max_body_size = 0

    def add(self, router: Router) -> None:
        self.prefixes.add(router.name)
        for route in router.urls():
            self.routes.append((SanicResource.route_pattern(route.path), route.handler))
        for resource in router.endpoints.values():
            limit = getattr(resource, "max_body_size", MAX_BODY_SIZE)
            self.max_body_size = max(self.max_body_size, limit)

    async def __call__(self, request: SanicRequest, exception: Exception) -> HTTPResponse:
        path = request.path
        if not self.prefixes.owns(path):
            answer: Any = None if self.fallback is None else self.fallback(request, exception)
            if isawaitable(answer):
                answer = await answer
            if answer is None:  # as Sanic does when a handler returns nothing
                answer = self.app.error_handler.default(request, exception)
            return cast(HTTPResponse, answer)
        if "//" in path or isinstance(exception, NotFound):
            return SanicResource.build_response(_NOT_FOUND)
        if isinstance(exception, MethodNotAllowed):
            for pattern, handler in self.routes:
                match = pattern.fullmatch(path)
                if match is not None:  # the resource answers, as on aiohttp
                    return cast(HTTPResponse, await handler(request, **match.groupdict()))
        status = getattr(exception, "status_code", 500)
        if isinstance(exception, PayloadTooLarge) and not str(exception).startswith("Request header"):
            payload = {"error": BODY_TOO_LARGE}
        else:
            payload = error_payload(status, str(exception))
        headers = {k: str(v) for k, v in (getattr(exception, "headers", None) or {}).items()}
        return SanicResource.build_response(Response(status, payload, headers))


def mount(app: Sanic[Any, Any], router: Router) -> None:
    """Add every route of ``router`` to ``app``, and answer Sanic's own errors
    under ``/<router name>/`` as JSON (see :class:`ApiErrors`): an unknown path
    is the JSON 404 that ``Router.dispatch`` (the websocket) gives.

    Sanic would let a catch-all route shadow the resources' own routes, so
    this is a ``SanicException`` handler instead, one per app however many
    routers are mounted; a more specific handler the app registers (for
    ``NotFound``, say) takes precedence. ``REQUEST_MAX_SIZE`` becomes the
    largest ``max_body_size`` of the mounted resources (set it again after
    ``mount`` if other routes of the app need more: TBone's routes still
    refuse a body over their own limit)."""
    for route in router.urls():
        app.add_route(route.handler, route.path, methods=route.methods, name=route.name)
    key = (SanicException, None)
    handlers = app.error_handler.cached_handlers
    errors = handlers.get(key)
    if not isinstance(errors, ApiErrors):
        # Replacing (not adding) keeps an app's own SanicException handler as
        # the fallback for other paths, and lets ``mount`` run more than once.
        errors = ApiErrors(app, fallback=errors)
        handlers[key] = errors
    errors.add(router)
    app.config.REQUEST_MAX_SIZE = errors.max_body_size


def mount_health(
    app: Sanic[Any, Any],
    path: str = "/healthz",
    *,
    db: Any = None,
    timeout: float = HEALTH_TIMEOUT,
    name: str = "tbone_health",
) -> None:
    """Answer ``GET path`` (and ``HEAD``) with ``200 {"status": "ok"}`` when the
    database answers a ping within ``timeout`` seconds, else ``503 {"status":
    "unavailable"}``. ``db`` defaults to the app's (``app.ctx.db``, ``app.db``),
    looked up on each request."""

    async def health(request: SanicRequest) -> HTTPResponse:
        database = db if db is not None else SanicResource.find_db(request.app)
        status, payload = await check_health(database, timeout)
        return SanicResource.build_response(Response(status, payload, {"Cache-Control": "no-store"}))

    app.add_route(health, path, methods=["GET", "HEAD"], name=name)
