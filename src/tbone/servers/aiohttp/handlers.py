"""The aiohttp adapter: ``AioHttpResource`` and ``mount``;
the websocket endpoint, ``mount_websocket``, is in ``tbone.servers.aiohttp.endpoint``.

With the endpoint and the carrier beside it, the only modules of tbone that import aiohttp. It turns an
``aiohttp.web.Request`` into the neutral ``Request``, runs the resource, and
turns the neutral ``Response`` into an ``aiohttp.web.Response``. Routes use
aiohttp's ``{pk}`` syntax and method ``"*"``: the resource itself answers
405/501 (``TRACE`` included) with its JSON body rather than aiohttp's
plain-text one.

The body is read by the adapter, up to the resource's ``max_body_size``
(``MAX_BODY_SIZE``, 1 MiB, by default; the app's ``client_max_size`` does
not apply to TBone's routes): a bigger body is answered ``413 {"error":
"Request body too large"}`` without being read whole.

Requests aiohttp cannot parse (a bad request line, header or
``Content-Length``) never reach the app: aiohttp answers them itself in
plain text, and offers no hook to change that body (aio-libs/aiohttp#3287).
``mount`` makes its log of them one line instead of a traceback.

``mount_health(app)`` adds ``GET /healthz``: ``200 {"status": "ok"}`` when
the app's database answers a ping in time, else ``503 {"status":
"unavailable"}`` (``tbone.servers.common.check_health``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from aiohttp import http_exceptions, web

from tbone.resources.http import Headers, Request, Response, parse_query
from tbone.resources.protocols import View
from tbone.resources.resources import Resource
from tbone.resources.routing import Router
from tbone.servers.common import BODY_TOO_LARGE, HEALTH_TIMEOUT, MAX_BODY_SIZE, check_health, one_line_log

__all__ = [
    "DB_KEY",
    "MAX_BODY_SIZE",
    "AioHttpHandler",
    "AioHttpResource",
    "mount",
    "mount_health",
]

#: The typed place for the database on an aiohttp app: ``app[DB_KEY] = db``.
DB_KEY: web.AppKey[Any] = web.AppKey("tbone_db")

AioHttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BodyTooLarge(Exception):
    """The request body exceeds the resource's ``max_body_size``."""


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes; ``BodyTooLarge`` beyond.

    A declared ``Content-Length`` over the limit is refused before reading;
    a chunked body is refused as soon as it passes the limit.
    """
    if not request.body_exists:
        return b""
    length = request.content_length
    if length is not None and length > limit:
        raise BodyTooLarge
    content = request.content
    body = bytearray()
    while chunk := await content.readany():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


class AioHttpResource(Resource):
    """A resource served by aiohttp."""

    route_methods: ClassVar[Any] = "*"
    route_param_format: ClassVar[str] = "{{{}}}"
    route_param_regex: ClassVar[str] = r"\{(\w+)(?::[^}]*)?\}"
    #: Largest request body this resource reads, in bytes; a bigger one is a 413.
    max_body_size: ClassVar[int] = MAX_BODY_SIZE

    @classmethod
    def adapt(cls, view: View) -> AioHttpHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            try:
                body = await read_body(request, cls.max_body_size)
            except BodyTooLarge:
                response = cls.build_response(Response(413, {"error": BODY_TOO_LARGE}))
                response.force_close()  # do not drain the rest of a huge body
                return response
            query = request.query_string
            neutral = Request._from_server(
                request.app,
                request.method,
                request.path,
                dict(request.match_info),
                parse_query(query) if query else {},
                Headers.view(request.headers),  # no copy per request
                body,
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


class OneLineParserErrors(logging.Filter):
    """A filter for the ``aiohttp.server`` logger: a request aiohttp could not
    parse (a client's fault) is logged as one line, not with a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        one_line_log(record, http_exceptions.HttpProcessingError)
        return True


def log_parser_errors_on_one_line() -> None:
    """Install :class:`OneLineParserErrors` on ``aiohttp.server`` (once per process)."""
    server_logger = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, OneLineParserErrors) for f in server_logger.filters):
        server_logger.addFilter(OneLineParserErrors())


def mount(app: web.Application, router: Router) -> None:
    """Add every route of ``router`` to ``app`` (one call per route, method ``"*"``),
    then a catch-all under ``/<router name>/`` that answers an unknown path with
    the JSON 404 that ``Router.dispatch`` (the websocket) gives, instead of
    aiohttp's plain-text one. aiohttp tries routes with a longer fixed prefix
    first, so routes the app adds under the same prefix later still win.

    Also makes aiohttp log requests it cannot parse on one line
    (:func:`log_parser_errors_on_one_line`)."""
    log_parser_errors_on_one_line()
    for route in router.urls():
        app.router.add_route(route.methods, route.path, route.handler, name=route.name)

    async def unknown_path(request: web.Request) -> web.StreamResponse:
        return AioHttpResource.build_response(Response(404, {"error": "Not Found"}))

    app.router.add_route("*", f"/{router.name}/{{tail:.*}}", unknown_path, name=f"{router.name}_not_found")


def mount_health(
    app: web.Application,
    path: str = "/healthz",
    *,
    db: Any = None,
    timeout: float = HEALTH_TIMEOUT,
    name: str | None = "tbone_health",
) -> None:
    """Answer ``GET path`` (and ``HEAD``) with ``200 {"status": "ok"}`` when the
    database answers a ping within ``timeout`` seconds, else ``503 {"status":
    "unavailable"}``. ``db`` defaults to the app's (``app[DB_KEY]``,
    ``app["db"]``...), looked up on each request."""

    async def health(request: web.Request) -> web.StreamResponse:
        database = db if db is not None else AioHttpResource.find_db(request.app)
        status, payload = await check_health(database, timeout)
        return AioHttpResource.build_response(Response(status, payload, {"Cache-Control": "no-store"}))

    app.router.add_get(path, health, name=name)
