"""Resources: the same REST endpoints over HTTP (aiohttp or Sanic) and WebSocket.

This package is the server- and storage-independent core: the neutral
``Request``/``Response``, errors, options, ``Resource``, ``ModelResource``,
routing and the pluggable Protocols. MongoDB lives in
``tbone.resources.mongo``; the servers in ``tbone.servers.aiohttp`` and
``tbone.servers.sanic`` (also importable as ``tbone.resources.aiohttp`` and
``tbone.resources.sanic``). Nothing imported here pulls in a server or MongoDB.
"""

from tbone.resources.authentication import SAFE_METHODS, NoAuthentication, ReadOnlyAuthentication
from tbone.resources.authorization import AllowAll
from tbone.resources.errors import (
    BadRequest,
    ConfigurationError,
    Conflict,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    MethodNotImplemented,
    NotFound,
    Unauthorized,
    error_response,
)
from tbone.resources.formatters import JSONFormatter
from tbone.resources.http import MISSING, Headers, QueryArgs, Request, Response, parse_query
from tbone.resources.model_resources import ModelResource, ModelResourceOptions, ResourceModel
from tbone.resources.options import CORS, ResourceOptions
from tbone.resources.protocols import Authentication, Authorization, Formatter, ResourceProtocol, View
from tbone.resources.resources import DETAIL_METHODS, LIST_METHODS, STATUSES, Resource
from tbone.resources.routing import Route, Router

__all__ = [
    "CORS",
    "DETAIL_METHODS",
    "LIST_METHODS",
    "MISSING",
    "SAFE_METHODS",
    "STATUSES",
    "AllowAll",
    "Authentication",
    "Authorization",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "Formatter",
    "HTTPError",
    "Headers",
    "JSONFormatter",
    "MethodNotAllowed",
    "MethodNotImplemented",
    "ModelResource",
    "ModelResourceOptions",
    "NoAuthentication",
    "NotFound",
    "QueryArgs",
    "ReadOnlyAuthentication",
    "Request",
    "Resource",
    "ResourceModel",
    "ResourceOptions",
    "ResourceProtocol",
    "Response",
    "Route",
    "Router",
    "Unauthorized",
    "View",
    "error_response",
    "parse_query",
]
