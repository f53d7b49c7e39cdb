"""``Router``: groups resources under a name and produces their routes.

``urls()`` yields ``Route(path, handler, methods, name)`` in the form the
resources' server takes (``{pk}`` and ``"*"`` for aiohttp, ``<pk>`` and a
tuple of verbs for Sanic); ``dispatch()`` serves the very same routes without a
server, which is how websocket requests reach the resources that serve HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from tbone.data.errors import ConfigurationError
from tbone.resources.http import Headers, Request, View, parse_query
from tbone.resources.protocols import RESOURCE_MEMBERS, ResourceProtocol
from tbone.resources.routes import Route

__all__ = ["Route", "Router"]

_WORD = re.compile(r"[A-Za-z0-9_.~-]+")


class Router:
    """Resources registered under endpoints, mounted at ``/<name>/<endpoint>/``.

    Parameters:
        name: the URL prefix and route-name prefix, e.g. ``"api"``.
    """

    def __init__(self, name: str) -> None:
        if not _WORD.fullmatch(name):
            raise ConfigurationError(f"Router name must be a URL-safe word: {name!r}")
        self.name = name
        self._registry: dict[str, type[ResourceProtocol]] = {}
        self._table: list[tuple[re.Pattern[str], View]] | None = None

    def register(self, resource: type[ResourceProtocol], endpoint: str) -> None:
        """Serve ``resource`` at ``/<name>/<endpoint>/`` and ``.../{pk}/``."""
        if not isinstance(resource, type):
            raise ConfigurationError(f"register() takes a resource class, not {resource!r}")
        missing = [m for m in RESOURCE_MEMBERS if not callable(getattr(resource, m, None))]
        if missing:
            raise ConfigurationError(
                f"{resource.__name__} is not a resource: it lacks {', '.join(missing)}; "
                "subclass tbone.resources.Resource (or an adapter such as AioHttpResource)"
            )
        if not _WORD.fullmatch(endpoint):
            raise ConfigurationError(f"endpoint must be a URL-safe word: {endpoint!r}")
        if endpoint in self._registry:
            raise ConfigurationError(f"endpoint {endpoint!r} is already registered on {self.name}")
        self._registry[endpoint] = resource
        self._table = None

    def unregister(self, endpoint: str) -> None:
        """Remove the resource at ``endpoint``; ``KeyError`` if there is none."""
        del self._registry[endpoint]
        self._table = None

    @property
    def endpoints(self) -> Mapping[str, type[ResourceProtocol]]:
        """Endpoint → resource class (a copy)."""
        return dict(self._registry)

    def base_url(self, endpoint: str) -> str:
        return f"/{self.name}/{endpoint}/"

    def urls(self) -> list[Route]:
        """List, detail and nested routes of every registered resource."""
        return [route for endpoint in self._registry for route in self._routes_of(endpoint)]

    def _routes_of(self, endpoint: str) -> list[Route]:
        resource = self._registry[endpoint]
        base = self.base_url(endpoint)
        prefix = f"{self.name}_{endpoint}"
        routes = []
        for kind, path in (("list", base), ("detail", f"{base}{resource.route_param('pk')}/")):
            routes.append(resource.route(path, kind, name=f"{prefix}_{kind}", base_url=base))
        for nested in resource.nested_routes(base):
            routes.append(replace(nested, name=f"{prefix}_{nested.name}"))
        return routes

    def _routing_table(self) -> list[tuple[re.Pattern[str], View]]:
        if self._table is None:
            self._table = [
                (self._registry[endpoint].route_pattern(route.path), route.view)
                for endpoint in self._registry
                for route in self._routes_of(endpoint)
                if route.view is not None
            ]
        return self._table

    async def dispatch(
        self,
        app: Any,
        method: str,
        path: str,
        args: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, Any]:
        """Serve one request without a server: ``(status, payload)``.

        ``path`` may carry a query string (read by ``parse_query``, as the HTTP
        adapters read theirs), merged under ``args``; the names listed in
        ``args.repeated``, if it has that attribute, count as repeated. ``body`` is
        already-decoded data (``None`` for none) or raw ``bytes`` to parse.
        Statuses and payloads equal the HTTP ones for the same request.
        """
        path, _, query = path.partition("?")
        merged = parse_query(query)
        if args:
            # the websocket's args say which names its href repeated (``repeated``)
            repeated = getattr(args, "repeated", ())
            merged = merged.merged({k: str(v) for k, v in args.items()}, repeated)
        for pattern, view in self._routing_table():
            match = pattern.fullmatch(path)
            if match is None:
                continue
            request = Request(
                app=app,
                method=method,
                path=path,
                params={k: unquote(v) for k, v in match.groupdict().items()},
                args=merged,
                headers=Headers(headers or {}),
            )
            if isinstance(body, bytes | bytearray):
                request.body = bytes(body)
            elif body is not None:
                request.payload = body
            response = await view(request)
            return response.status, response.payload
        return 404, {"error": "Not Found"}
