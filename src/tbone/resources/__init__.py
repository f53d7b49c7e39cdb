"""Resources: the same REST endpoints over HTTP (aiohttp or Sanic) and WebSocket.

Server-independent: nothing imported here pulls in aiohttp or Sanic. The
adapters live in ``tbone.resources.aiohttp`` and ``tbone.resources.sanic``.
"""

from tbone.resources.authentication import SAFE_METHODS, NoAuthentication, ReadOnlyAuthentication
from tbone.resources.errors import (
    BadRequest,
    ConfigurationError,
    Conflict,
    HTTPError,
    MethodNotAllowed,
    MethodNotImplemented,
    NotFound,
    Unauthorized,
    error_response,
)
from tbone.resources.formatters import JSONFormatter
from tbone.resources.http import MISSING, Headers, Request, Response, parse_query
from tbone.resources.interfaces import Authentication, Formatter, ResourceProtocol, View
from tbone.resources.models import ModelResource, ModelResourceOptions
from tbone.resources.options import CORS, ResourceOptions
from tbone.resources.query import OPERATORS, ListQuery, parse_list_query
from tbone.resources.resources import DETAIL_METHODS, LIST_METHODS, STATUSES, Resource
from tbone.resources.routers import Route, Router

__all__ = [
    "CORS",
    "DETAIL_METHODS",
    "LIST_METHODS",
    "MISSING",
    "OPERATORS",
    "SAFE_METHODS",
    "STATUSES",
    "Authentication",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "Formatter",
    "HTTPError",
    "Headers",
    "JSONFormatter",
    "ListQuery",
    "MethodNotAllowed",
    "MethodNotImplemented",
    "ModelResource",
    "ModelResourceOptions",
    "NoAuthentication",
    "NotFound",
    "ReadOnlyAuthentication",
    "Request",
    "Resource",
    "ResourceOptions",
    "ResourceProtocol",
    "Response",
    "Route",
    "Router",
    "Unauthorized",
    "View",
    "error_response",
    "parse_list_query",
    "parse_query",
]
