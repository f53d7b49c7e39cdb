"""The pluggable pieces of the resource layer, as Protocols.

A leaf module: implementations (``formatters``, ``authentication``, the
resources themselves) conform structurally and need not import it. Conformance
is checked by mypy; at run time only :data:`RESOURCE_MEMBERS` is used, by
``Router.register``, to give a clear error for a class that is not a resource.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from tbone.resources.http import Request, Response, View
from tbone.resources.routes import Route

__all__ = [
    "RESOURCE_MEMBERS",
    "Authentication",
    "Authorization",
    "Formatter",
    "ResourceProtocol",
    "View",
]


class Formatter(Protocol):
    """Turns request bodies into data and response payloads into bytes."""

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` of formatted payloads."""
        ...

    def parse(self, body: bytes) -> Any:
        """Decode a request body; raise ``ValueError`` when it is malformed."""
        ...

    def format(self, payload: Any) -> bytes:
        """Encode a response payload."""
        ...


class Authentication(Protocol):
    """Decides whether a request may reach the resource.

    It receives the neutral :class:`Request`, so the same object guards HTTP
    and websocket requests. Return ``False`` for a plain 401, or raise
    ``Unauthorized(...)`` for a custom message or a ``WWW-Authenticate``
    header. ``request.state`` is the place to remember who the caller is.
    """

    async def is_authenticated(self, request: Request) -> bool: ...


class Authorization(Protocol):
    """Decides what an authenticated caller may read and write (SPEC §7).

    Authentication answers "who are you" (401); authorization answers "may
    you" (403 for a refused write, 404 for a document outside the read
    scope, whose existence is not revealed). Both apply alike to HTTP,
    websocket requests, event-name subscriptions and live queries.
    """

    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        """A filter ANDed into every list and detail read, and matched against
        every live event, for this caller; ``None`` for no restriction."""
        ...

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        """Whether this caller may ``verb`` (``"post"``, ``"put"``, ``"patch"``,
        ``"delete"``) ``obj``, the stored object (``None`` for a create: the
        body is ``request.payload``). ``False`` answers 403."""
        ...


class ResourceProtocol(Protocol):
    """What ``Router`` needs from a resource class (all classmethods but two)."""

    @classmethod
    def as_list(cls, *, base_url: str | None = None) -> Any: ...

    @classmethod
    def as_detail(cls, *, base_url: str | None = None) -> Any: ...

    @classmethod
    def as_view(
        cls, endpoint: str, *, base_url: str | None = None, verbs: tuple[str, ...] | None = None
    ) -> Any: ...

    @classmethod
    def neutral_view(
        cls, endpoint: str, *, base_url: str | None = None, verbs: tuple[str, ...] | None = None
    ) -> View: ...

    @classmethod
    def adapt(cls, view: View) -> Any: ...

    @classmethod
    def nested_routes(cls, base_url: str) -> list[Route]: ...

    @classmethod
    def route_param(cls, name: str) -> str: ...

    @classmethod
    def route_pattern(cls, path: str) -> re.Pattern[str]: ...

    @classmethod
    def route(
        cls,
        path: str,
        endpoint: str,
        *,
        name: str,
        base_url: str,
        verbs: tuple[str, ...] = ("get",),
    ) -> Route: ...

    async def dispatch(self, **params: str) -> Response: ...

    def add_hypermedia(self, obj: dict[str, Any]) -> dict[str, Any]: ...


#: The names ``Router.register`` looks for on a class.
RESOURCE_MEMBERS: tuple[str, ...] = (
    "as_list",
    "as_detail",
    "as_view",
    "neutral_view",
    "adapt",
    "route",
    "nested_routes",
    "route_param",
    "route_pattern",
    "dispatch",
    "add_hypermedia",
)
