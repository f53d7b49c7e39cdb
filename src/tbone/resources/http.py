"""The framework-neutral request and response that resources work on.

HTTP adapters (``tbone.resources.aiohttp``, ``tbone.resources.sanic``) and the
websocket multiplexer translate their own messages into a :class:`Request` and
turn the resource's :class:`Response` back into theirs. Keeping the resource
core on these two small types is what lets one resource answer HTTP and
websocket requests with the same statuses and payloads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload
from urllib.parse import parse_qsl

from tbone.data.fields.base import MISSING

__all__ = [
    "ALL_VERBS",
    "MISSING",
    "Headers",
    "QueryArgs",
    "Request",
    "Response",
    "View",
    "parse_query",
]

_T = TypeVar("_T")

#: Every verb a resource route answers; 405/501 are decided by the resource,
#: not by the server's router, so the error bodies are always ours.
ALL_VERBS: tuple[str, ...] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive header mapping.

    Built from a mapping or from ``(name, value)`` pairs; a repeated header is
    joined with ``", "`` as RFC 9110 allows for list-valued fields. The HTTP
    adapters use :meth:`view` instead, which copies nothing per request.
    """

    __slots__ = ("_items", "_source")

    def __init__(self, headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._source: Any = None
        self._items: dict[str, str] | None = _joined(
            headers.items() if isinstance(headers, Mapping) else headers
        )

    @classmethod
    def view(cls, source: Any) -> Headers:
        """A lazy view over a server's own multi-valued, case-insensitive headers.

        ``source`` is a ``multidict.CIMultiDict``-like object (aiohttp's
        ``request.headers``, Sanic's): lookups go to its ``getall`` and join
        repeated values like the constructor does; iterating builds the
        lower-cased copy once, on first use.
        """
        headers = cls.__new__(cls)
        headers._source = source
        headers._items = None
        return headers

    def _dict(self) -> dict[str, str]:
        if self._items is None:
            self._items = _joined(self._source.items())
        return self._items

    def _lookup(self, name: str) -> str | None:
        if self._items is not None:
            return self._items.get(name.lower())
        values: list[str] | None = self._source.getall(name, None)
        if not values:
            return None
        return values[0] if len(values) == 1 else ", ".join(values)

    def __getitem__(self, name: str) -> str:
        value = self._lookup(name)
        if value is None:
            raise KeyError(name)
        return value

    @overload
    def get(self, name: str, /) -> str | None: ...

    @overload
    def get(self, name: str, /, default: str | _T) -> str | _T: ...

    def get(self, name: str, /, default: Any = None) -> Any:
        # Mapping.get goes through a KeyError for every absent header.
        value = self._lookup(name)
        return default if value is None else value

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        if self._items is not None:
            return name.lower() in self._items
        return name in self._source

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return f"Headers({self._dict()!r})"


def _joined(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    items: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        items[key] = f"{items[key]}, {value}" if key in items else str(value)
    return items


class QueryArgs(dict[str, str]):
    """Query args as ``{name: value}``, remembering which names were repeated.

    A repeated argument's value is its values joined with commas, and its name
    is in :attr:`repeated`: a list query accepts repetition only where the
    argument lists values (``genre__in``, ``order_by``, ``fields``) and answers
    400 elsewhere, instead of reading ``?genre=a&genre=b`` as ``"a,b"``.
    """

    __slots__ = ("repeated",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__()
        repeated: set[str] = set()
        for name, value in pairs:
            if name in self:
                repeated.add(name)
                self[name] = f"{self[name]},{value}"
            else:
                self[name] = value
        #: The names given more than once.
        self.repeated: frozenset[str] = frozenset(repeated)

    def merged(self, args: Mapping[str, str], repeated: Iterable[str] = ()) -> QueryArgs:
        """A copy with ``args`` set over it; their names are repeated only if
        listed in ``repeated`` (the websocket's parsed href says so)."""
        copy = QueryArgs(self.items())
        copy.update(args)
        copy.repeated = (self.repeated - args.keys()) | frozenset(repeated)
        return copy


def parse_query(query_string: str) -> QueryArgs:
    """Parse a query string into a :class:`QueryArgs` (``{name: value}``).

    Blank values are kept (``?q=`` is an explicit empty search, not no search).
    A repeated argument is joined with commas and listed in
    ``QueryArgs.repeated``, so that the resource decides what repetition means
    (see ``tbone.resources.mongo.list_queries``). Both adapters and the
    websocket use this, so query args are read identically everywhere.
    """
    if not query_string:  # most requests: skip parse_qsl's setup
        return QueryArgs()
    return QueryArgs(parse_qsl(query_string, keep_blank_values=True))


@dataclass(slots=True, kw_only=True)
class Request:
    """One request to a resource, whatever carried it.

    ``body`` holds the raw bytes of an HTTP body; a transport that has already
    decoded its payload (the websocket) sets ``payload`` instead. ``native`` is
    the server's own request object (``None`` over the websocket), an escape
    hatch for code that really needs it. ``state`` is free per-request storage,
    e.g. for the user an :class:`~tbone.resources.Authentication` identified.
    """

    app: Any
    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    args: Mapping[str, str] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    payload: Any = MISSING
    native: Any = None
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.method = self.method.upper()

    @classmethod
    def _from_server(
        cls,
        app: Any,
        method: str,
        path: str,
        params: Mapping[str, str],
        args: Mapping[str, str],
        headers: Headers,
        body: bytes,
        native: Any,
    ) -> Request:
        """What the HTTP adapters build per request: equal to the keyword
        constructor's request, at less than half its cost (no keyword and default
        handling). Sets every field: keep it in step with the field list."""
        request = object.__new__(cls)
        request.app = app
        request.method = method.upper()
        request.path = path
        request.params = params
        request.args = args
        request.headers = headers
        request.body = body
        request.payload = MISSING
        request.native = native
        request.state = {}
        return request

    def decode(self, parse: Callable[[bytes], Any]) -> Any:
        """Return the request's data, parsing ``body`` once with ``parse``.

        An empty body decodes to ``None``. ``parse`` raises ``ValueError`` for
        bad input; the error propagates so the resource can answer 400.
        """
        if self.payload is MISSING:
            self.payload = parse(self.body) if self.body else None
        return self.payload


@dataclass(slots=True)
class Response:
    """What a resource answers: a status, a JSON-able payload and headers.

    Formatting the payload into bytes is the transport's job (the HTTP adapters
    use the resource's formatter; the websocket embeds it in its message).
    """

    status: int
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)


#: A neutral view: what every transport ultimately calls.
View = Callable[[Request], Awaitable[Response]]
