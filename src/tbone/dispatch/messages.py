"""The websocket message protocol: parsing client messages, building replies.

Client to server::

    {"type": "request", "key": "k1", "method": "POST", "href": "/api/books/",
     "args": {}, "headers": {}, "body": {...}}
    {"type": "ping", "key": "k0"}
    {"type": "subscribe", "event": "resource_create", "key": "k2"}
    {"type": "unsubscribe", "event": "resource_create", "key": "k3"}

Server to client::

    {"type": "response", "key": "k1", "status": 201, "payload": {...}}
    {"type": "pong", "key": "k0"}
    {"type": "ack", "action": "subscribe", "event": "resource_create", "key": "k2"}
    {"type": "event", "payload": {"name": "resource_create", "data": {...}}}
    {"type": "error", "error": "...", "key": "k1"}

Everything a client can get wrong raises ``ProtocolError``, which the
multiplexer turns into an error message; it never closes the socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

__all__ = [
    "ProtocolError",
    "RequestMessage",
    "ack",
    "error",
    "parse",
    "parse_request",
    "pong",
    "response",
]

KEY_TYPES = (str, int)


class ProtocolError(ValueError):
    """A client message that does not follow the protocol."""

    def __init__(self, message: str, key: Any = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class RequestMessage:
    """A validated ``{"type": "request"}`` message."""

    key: Any
    method: str
    path: str
    args: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def parse(text: str | bytes) -> dict[str, Any]:
    """Decode a client message: a JSON object with a string ``type``."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"malformed message: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("malformed message: expected a JSON object")
    key = message.get("key")
    if key is not None and not isinstance(key, KEY_TYPES):
        raise ProtocolError("'key' must be a string or an integer")
    if not isinstance(message.get("type"), str):
        raise ProtocolError("missing message 'type'", key)
    return message


def _str_mapping(value: Any, name: str, key: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ProtocolError(f"'{name}' must be an object", key)
    return {k: v if isinstance(v, str) else str(v) for k, v in value.items()}


class _Args(dict[str, str]):
    """A request's args, remembering which names the href repeated
    (``repeated``): ``Router.dispatch`` keeps that, so a resource treats
    ``?tag=a&tag=b`` over the websocket as over HTTP (``QueryArgs``)."""

    __slots__ = ("repeated",)

    def __init__(self) -> None:
        super().__init__()
        self.repeated: frozenset[str] = frozenset()


def parse_request(message: Mapping[str, Any]) -> RequestMessage:
    """Validate a request message; the href's query string is merged into args.

    A repeated argument is joined with commas, as over HTTP (``?t=a&t=b`` is
    ``t=a,b``), and its name is kept in ``args.repeated`` (the resource
    decides what repetition means). The message's ``args`` (one value per
    name) are set over the href's.
    """
    key = message.get("key")
    method = message.get("method")
    href = message.get("href")
    if not isinstance(method, str) or not method:
        raise ProtocolError("request needs a 'method'", key)
    if not isinstance(href, str) or not href.startswith("/"):
        raise ProtocolError("request needs an absolute 'href'", key)
    split = urlsplit(href)
    args = _Args()
    repeated: set[str] = set()
    for name, value in parse_qsl(split.query, keep_blank_values=True):
        if name in args:
            repeated.add(name)
            args[name] = f"{args[name]},{value}"
        else:
            args[name] = value
    explicit = _str_mapping(message.get("args"), "args", key)
    args.update(explicit)
    args.repeated = frozenset(repeated - explicit.keys())
    headers = _str_mapping(message.get("headers"), "headers", key)
    return RequestMessage(key, method.upper(), split.path, args, headers, message.get("body"))


def response(key: Any, status: int, payload: Any) -> dict[str, Any]:
    return {"type": "response", "key": key, "status": status, "payload": payload}


def pong(key: Any = None) -> dict[str, Any]:
    """The answer to a ping: ``{"type": "pong"}``, with the ping's ``key`` if it had one."""
    return {"type": "pong"} if key is None else {"type": "pong", "key": key}


def ack(action: str, event: str, key: Any = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "ack", "action": action, "event": event}
    if key is not None:
        reply["key"] = key
    return reply


def error(message: str, key: Any = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"type": "error", "error": message}
    if key is not None:
        reply["key"] = key
    return reply
