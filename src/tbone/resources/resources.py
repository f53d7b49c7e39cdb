"""``Resource``: verbs to methods, statuses, errors, hypermedia, CORS.

A resource works on the neutral ``Request``/``Response`` only. An HTTP adapter
(``AioHttpResource``, ``SanicResource``) overrides :meth:`Resource.adapt` to
wrap the neutral view in a server handler, and :meth:`Resource.find_db` to find
the database on its server's app; nothing else is server-specific, which is
why the websocket gets the same answers as HTTP.

Subclasses implement the verb methods they support (``list``, ``detail``,
``create``, ...), each an ``async def`` taking the route parameters as keyword
arguments (``pk`` for detail) and reading the decoded body from ``self.data``.
A verb whose method is missing answers 501; a verb method that is not a
coroutine function is a ``ConfigurationError`` when the class is defined (a
nested endpoint's, when its route is built).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar
from urllib.parse import quote

from tbone.data.errors import ConfigurationError
from tbone.resources.authentication import NoAuthentication
from tbone.resources.errors import (
    DEFAULT_EXCEPTION_STATUSES,
    ExceptionTable,
    MethodNotAllowed,
    MethodNotImplemented,
    NotFound,
    Unauthorized,
    error_response,
)
from tbone.resources.http import ALL_VERBS, Request, Response
from tbone.resources.options import VERBS, ResourceOptions, collect_meta
from tbone.resources.protocols import View
from tbone.resources.routing import Route

__all__ = ["DETAIL_METHODS", "LIST_METHODS", "STATUSES", "Resource"]

logger = logging.getLogger("tbone.resources")

#: Verb → method name on the list endpoint (``/api/books/``).
LIST_METHODS: Mapping[str, str] = {
    "get": "list",
    "post": "create",
    "put": "update_list",
    "patch": "modify_list",
    "delete": "delete_list",
}
#: Verb → method name on the detail endpoint (``/api/books/{pk}/``).
DETAIL_METHODS: Mapping[str, str] = {
    "get": "detail",
    "post": "create_detail",
    "put": "update",
    "patch": "modify",
    "delete": "delete",
}
#: Verb → success status.
STATUSES: Mapping[str, int] = {"get": 200, "post": 201, "put": 202, "patch": 202, "delete": 204}

_ENDPOINT_METHODS = {"list": LIST_METHODS, "detail": DETAIL_METHODS}
_VERB_METHOD_NAMES = sorted({*LIST_METHODS.values(), *DETAIL_METHODS.values()})
#: HTTP method → verb (HEAD is served by the GET method).
_VERBS_BY_METHOD = {m: m.lower() for m in ("GET", "POST", "PUT", "PATCH", "DELETE")} | {"HEAD": "get"}


def _check_verb_method(cls: type, name: str) -> None:
    # a plain ``def`` would return its result where ``handle`` awaits a coroutine:
    # a 500 at every request, found only at run time
    method = getattr(cls, name, None)
    if callable(method) and not inspect.iscoroutinefunction(method):
        raise ConfigurationError(
            f"{cls.__name__}.{name} must be a coroutine function (`async def {name}(...)`): "
            "the resource awaits it"
        )


class Resource:
    """Base class of every resource.

    Extension points for subclasses (model resources override these):

    - the verb methods (``list``, ``detail``, ``create``, ``update``, ...);
    - :meth:`to_pk` (route ``pk`` string → key), :meth:`object_pk`,
      :meth:`add_hypermedia`, :meth:`prepare_payload`;
    - :meth:`get_db` / :meth:`find_db`; ``options_class`` for extra ``Meta``
      options; ``exception_statuses`` for more exception → status (or
      handler) entries (see ``tbone.resources.errors``).
    """

    options_class: ClassVar[type[ResourceOptions]] = ResourceOptions
    exception_statuses: ClassVar[ExceptionTable] = DEFAULT_EXCEPTION_STATUSES
    #: The ``methods`` value of routes, in the form the server's add_route takes.
    route_methods: ClassVar[Any] = ALL_VERBS
    #: How a route parameter is written in a path, and how to find one.
    route_param_format: ClassVar[str] = "{{{}}}"
    route_param_regex: ClassVar[str] = r"\{(\w+)\}"
    _meta: ClassVar[ResourceOptions]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._meta = cls.options_class.from_meta(cls.meta_values(), owner=cls.__name__)
        for name in _VERB_METHOD_NAMES:
            _check_verb_method(cls, name)

    @classmethod
    def meta_values(cls) -> dict[str, Any]:
        """The ``Meta`` attributes the options are built from: the ``Meta``
        classes along the MRO, merged (subclasses may add inferred values)."""
        return collect_meta(cls.__mro__)

    def __init__(
        self,
        request: Request,
        *,
        endpoint: str = "detail",
        base_url: str | None = None,
        verbs: tuple[str, ...] | None = None,
    ) -> None:
        self.request = request
        self.endpoint = endpoint
        self.base_url = base_url or f"/{self._meta.name}/"
        self.verbs = verbs
        #: The decoded request body (``None`` when there is none).
        self.data: Any = None
        self._db: Any = None

    # -- views and routes ---------------------------------------------------

    @classmethod
    def neutral_view(
        cls, endpoint: str, *, base_url: str | None = None, verbs: tuple[str, ...] | None = None
    ) -> View:
        """A server-independent view: ``await view(request) -> Response``.

        ``endpoint`` is ``"list"``, ``"detail"`` or the name of a nested
        endpoint, whose verbs map to methods ``<verb>_<endpoint>``
        (``get_reviews``); ``verbs`` lists what a nested endpoint allows.
        """
        if endpoint not in _ENDPOINT_METHODS:
            verbs = tuple(v.lower() for v in (verbs or ("get",)))
            if not re.fullmatch(r"[A-Za-z_]\w*", endpoint):
                raise ConfigurationError(f"nested endpoint must be an identifier: {endpoint!r}")
            for verb in verbs:
                _check_verb_method(cls, f"{verb}_{endpoint}")

        # A plain function returning dispatch()'s coroutine: one coroutine less per request.
        def view(request: Request) -> Awaitable[Response]:
            resource = cls(request, endpoint=endpoint, base_url=base_url, verbs=verbs)
            return resource.dispatch(**request.params)

        return view

    @classmethod
    def adapt(cls, view: View) -> Any:
        """Wrap a neutral view in a server handler; adapters override this."""
        return view

    @classmethod
    def as_view(
        cls, endpoint: str, *, base_url: str | None = None, verbs: tuple[str, ...] | None = None
    ) -> Any:
        """A server handler for ``endpoint`` (see :meth:`neutral_view`)."""
        return cls.adapt(cls.neutral_view(endpoint, base_url=base_url, verbs=verbs))

    @classmethod
    def as_list(cls, *, base_url: str | None = None) -> Any:
        return cls.as_view("list", base_url=base_url)

    @classmethod
    def as_detail(cls, *, base_url: str | None = None) -> Any:
        return cls.as_view("detail", base_url=base_url)

    @classmethod
    def route(
        cls,
        path: str,
        endpoint: str,
        *,
        name: str,
        base_url: str,
        verbs: tuple[str, ...] = ("get",),
    ) -> Route:
        """A complete :class:`Route`: server handler, methods and neutral view.

        ``endpoint`` is ``"list"``, ``"detail"`` or a nested endpoint (use it
        in :meth:`nested_routes`); ``verbs`` applies to nested endpoints only.
        """
        view = cls.neutral_view(endpoint, base_url=base_url, verbs=verbs)
        return Route(path, cls.adapt(view), cls.route_methods, name, view=view)

    @classmethod
    def nested_routes(cls, base_url: str) -> list[Route]:
        """Extra routes under ``base_url`` (``/api/books/``); none by default."""
        return []

    @classmethod
    def route_param(cls, name: str) -> str:
        """``name`` as a path parameter in the server's syntax (``{pk}``, ``<pk>``)."""
        return cls.route_param_format.format(name)

    @classmethod
    def route_pattern(cls, path: str) -> re.Pattern[str]:
        """Compile a route path (server syntax) into a regex with named groups."""
        parts, last = [], 0
        for match in re.finditer(cls.route_param_regex, path):
            parts.append(re.escape(path[last : match.start()]))
            parts.append(f"(?P<{match.group(1)}>[^/]+)")
            last = match.end()
        parts.append(re.escape(path[last:]))
        return re.compile("".join(parts))

    # -- database -----------------------------------------------------------

    @classmethod
    def find_db(cls, app: Any) -> Any:
        """The database stored on ``app``, or ``None``.

        Looks at ``app.db``, then ``app["db"]`` for mapping-like apps, then
        ``app.ctx.db``; adapters add their server's typed places first.
        """
        db = getattr(app, "db", None)
        if db is None and isinstance(app, Mapping):
            db = app.get("db")
        if db is None:
            db = getattr(getattr(app, "ctx", None), "db", None)
        return db

    def get_db(self) -> Any:
        """The database of the app this request belongs to (looked up by
        :meth:`find_db` once per request, then kept on the resource)."""
        db = self._db
        if db is not None:
            return db
        db = self._db = self.find_db(self.request.app)
        if db is None:
            raise ConfigurationError(
                f"{type(self).__name__}: no database on the app "
                "(set app.db, app[DB_KEY] / app['db'] for aiohttp, or app.ctx.db for Sanic)"
            )
        return db

    # -- dispatching --------------------------------------------------------

    async def dispatch(self, **params: str) -> Response:
        """Run the request through checks and the verb's method; never raises."""
        try:
            response = await self.handle(params)
        except Exception as exc:
            response = error_response(
                exc, self.exception_statuses, request=self.request, resource=type(self).__name__
            )
        if self._meta.cors is not None:  # add_cors_headers() adds nothing without it
            self.add_cors_headers(response)
        return response

    async def handle(self, params: Mapping[str, str]) -> Response:
        request, meta = self.request, self._meta
        method = request.method
        verb = _VERBS_BY_METHOD.get(method) or method.lower()
        allowed = self.allowed_verbs()
        if method == "OPTIONS":
            return self.options_response(allowed)
        if verb not in allowed:
            raise MethodNotAllowed(
                f"Method {method} is not allowed on this endpoint", allowed=self.allow(allowed)
            )
        handler = self.method_for(verb)
        if handler is None:
            raise MethodNotImplemented(f"Method {method} is not implemented on this endpoint")
        auth = meta.authentication
        # NoAuthentication always says yes: skip creating and awaiting its coroutine.
        if type(auth) is not NoAuthentication and not await auth.is_authenticated(request):
            raise Unauthorized()
        self.data = request.decode(meta.formatter.parse)
        if len(params) == 1 and "pk" in params:  # the detail route: convert_params() in short
            result = await handler(pk=self.to_pk(params["pk"]))
        else:
            result = await handler(**self.convert_params(params))
        return self.success_response(verb, result)

    def allowed_verbs(self) -> tuple[str, ...]:
        if self.endpoint == "list":
            return self._meta.incoming_list
        if self.endpoint == "detail":
            return self._meta.incoming_detail
        return self.verbs or ("get",)

    def method_for(self, verb: str) -> Callable[..., Awaitable[Any]] | None:
        """The bound method serving ``verb`` on this endpoint, or ``None``."""
        table = _ENDPOINT_METHODS.get(self.endpoint)
        name = table.get(verb) if table is not None else f"{verb}_{self.endpoint}"
        handler = getattr(self, name, None) if name else None
        return handler if callable(handler) else None

    def allow(self, allowed: tuple[str, ...]) -> list[str]:
        """The ``Allow`` header's verbs: allowed and implemented, plus HEAD/OPTIONS."""
        verbs = [v.upper() for v in VERBS if v in allowed and self.method_for(v)]
        if "GET" in verbs:
            verbs.insert(1, "HEAD")
        return [*verbs, "OPTIONS"]

    def convert_params(self, params: Mapping[str, str]) -> dict[str, Any]:
        return {k: self.to_pk(v) if k == "pk" else v for k, v in params.items()}

    def to_pk(self, value: str) -> Any:
        """Convert the route's ``pk`` string to the key type; raise ValueError if invalid."""
        return value

    def success_response(self, verb: str, result: Any) -> Response:
        status = STATUSES[verb]
        endpoint = self.endpoint
        if verb == "get" and endpoint == "detail" and result is None:
            raise NotFound()
        if endpoint == "detail":
            outgoing = self._meta.outgoing_detail
        elif endpoint == "list":
            outgoing = self._meta.outgoing_list
        else:
            outgoing = VERBS
        if status == 204 or verb not in outgoing:
            return Response(status)
        return Response(status, self.prepare_payload(verb, result))

    def prepare_payload(self, verb: str, result: Any) -> Any:
        """Shape a method's result: list envelope, hypermedia links.

        A ``list`` method may return a plain list; it becomes
        ``{"meta": {"total_count": n}, "objects": [...]}``.
        """
        if self.endpoint == "list" and verb == "get" and isinstance(result, list | tuple):
            result = {"meta": {"total_count": len(result)}, "objects": list(result)}
        if not self._meta.hypermedia:
            return result
        if isinstance(result, dict):
            objects = result.get("objects")
            if isinstance(objects, list) and "meta" in result:
                return {**result, "objects": [self._linked(obj) for obj in objects]}
            return self.add_hypermedia(result)
        if isinstance(result, list):
            return [self._linked(obj) for obj in result]
        return result

    def _linked(self, obj: Any) -> Any:
        return self.add_hypermedia(obj) if isinstance(obj, dict) else obj

    # -- hypermedia ---------------------------------------------------------

    def object_pk(self, obj: Mapping[str, Any]) -> Any:
        """The primary key of a serialized object (``_id``, ``id`` or ``pk``)."""
        for key in ("_id", "id", "pk"):
            if obj.get(key) is not None:
                return obj[key]
        return None

    def href(self, pk: Any) -> str:
        text = str(pk)
        if not (text.isascii() and text.isalnum()):  # ints and ObjectIds need no quoting
            text = quote(text, safe="")
        return f"{self.base_url}{text}/"

    def add_hypermedia(self, obj: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``obj`` with ``_links.self.href``; unchanged without a pk."""
        pk = self.object_pk(obj)
        if pk is None:
            return obj
        link = {"href": self.href(pk)}
        links = {**obj["_links"], "self": link} if "_links" in obj else {"self": link}
        return {**obj, "_links": links}

    # -- CORS ---------------------------------------------------------------

    def options_response(self, allowed: tuple[str, ...]) -> Response:
        """Answer OPTIONS: ``Allow``, plus the preflight headers when CORS is on."""
        verbs = self.allow(allowed)
        headers = {"Allow": ", ".join(verbs)}
        cors, origin = self._meta.cors, self.request.headers.get("Origin")
        if cors is not None and origin and cors.allows(origin):
            headers["Access-Control-Allow-Methods"] = ", ".join(cors.allow_methods or verbs)
            asked = self.request.headers.get("Access-Control-Request-Headers", "")
            names = asked if "*" in cors.allow_headers else ", ".join(cors.allow_headers)
            if names:
                headers["Access-Control-Allow-Headers"] = names
            headers["Access-Control-Max-Age"] = str(cors.max_age)
        return Response(HTTPStatus.NO_CONTENT, None, headers)

    def add_cors_headers(self, response: Response) -> None:
        cors = self._meta.cors
        if cors is None:
            return
        origin = self.request.headers.get("Origin")
        if "*" in cors.allow_origins and not cors.allow_credentials:
            response.headers["Access-Control-Allow-Origin"] = "*"
        elif origin and cors.allows(origin):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
            if cors.allow_credentials:
                response.headers["Access-Control-Allow-Credentials"] = "true"
        else:
            return
        if cors.expose_headers:
            response.headers["Access-Control-Expose-Headers"] = ", ".join(cors.expose_headers)

    # -- HTTP rendering (shared by the adapters) ----------------------------

    @classmethod
    def render(cls, response: Response) -> tuple[int, bytes, str | None]:
        """Status, body bytes and content type for an HTTP response.

        A payload the formatter cannot encode is a server bug: it is logged
        and answered with the generic 500 body.
        """
        status = response.status
        if response.payload is None or status == 204:  # not HTTPStatus.NO_CONTENT: enum lookups are slow
            return status, b"", None
        formatter = cls._meta.formatter
        try:
            return status, formatter.format(response.payload), formatter.content_type
        except Exception:
            logger.exception("%s: cannot format the response payload", cls.__name__)
            body = formatter.format({"error": HTTPStatus(500).phrase})
            return 500, body, formatter.content_type


Resource._meta = ResourceOptions.from_meta({}, owner="Resource")
