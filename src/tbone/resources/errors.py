"""Exceptions a resource raises, and the table that maps them to statuses.

Exceptions are kept apart from responses: resource code raises
(``raise NotFound()``, or any ``ValueError``), and one place —
:func:`error_response` — turns the exception into a :class:`Response` through
a table of exception class → status. Adding a mapping (say, a driver's
duplicate-key error → 409) is one entry in a resource's
``exception_statuses``, not a try/except in every handler.

Every exception here also subclasses a builtin, so a plain ``except
LookupError`` still catches :class:`NotFound`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from tbone.data.errors import ConfigurationError
from tbone.resources.http import Response

__all__ = [
    "DEFAULT_EXCEPTION_STATUSES",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "HTTPError",
    "MethodNotAllowed",
    "MethodNotImplemented",
    "NotFound",
    "Unauthorized",
    "error_response",
    "status_for",
]

logger = logging.getLogger("tbone.resources")


class HTTPError(Exception):
    """Base of the exceptions that carry their own status.

    ``errors`` is a list of field errors (``{"loc", "msg", "type"}``) and
    ``headers`` extra response headers (``Allow``, ``WWW-Authenticate``...).
    """

    status: int = 500

    def __init__(
        self,
        message: str | None = None,
        *,
        errors: Iterable[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or HTTPStatus(self.status).phrase
        self.errors: list[Mapping[str, Any]] = list(errors)
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)


class BadRequest(HTTPError, ValueError):
    """400: the request's input is wrong (body, args, ids)."""

    status = 400


class Unauthorized(HTTPError, PermissionError):
    """401: the resource's authentication refused the request."""

    status = 401


class NotFound(HTTPError, LookupError):
    """404: no object (or no route) for this request."""

    status = 404


class MethodNotAllowed(HTTPError):
    """405: the verb is excluded by ``Meta.incoming_list`` / ``incoming_detail``."""

    status = 405

    def __init__(self, message: str | None = None, *, allowed: Iterable[str] = ()) -> None:
        self.allowed = tuple(verb.upper() for verb in allowed)
        super().__init__(message, headers={"Allow": ", ".join(self.allowed)})


class Conflict(HTTPError):
    """409: the write collides with existing data (duplicate key)."""

    status = 409


class MethodNotImplemented(HTTPError, NotImplementedError):
    """501: the resource has no method for this verb.

    Not called ``NotImplemented``: that name is a builtin constant.
    """

    status = 501


#: Exceptions that are not :class:`HTTPError` but still mean a known status.
#: ``ValueError`` covers ``tbone.data.ValidationError`` and bad conversions in
#: resource code: bad input is a 400, never a 500.
DEFAULT_EXCEPTION_STATUSES: Mapping[type[BaseException], int] = {
    ValueError: 400,
    NotImplementedError: 501,
}


def status_for(exc: BaseException, table: Mapping[type[BaseException], int]) -> int | None:
    """The status for ``exc``: its own if it is an HTTPError, else the table's.

    The table is searched along the exception's MRO, so the most specific
    entry wins. ``None`` means unknown: an internal error.
    """
    if isinstance(exc, HTTPError):
        return exc.status
    for klass in type(exc).__mro__:
        if klass in table:
            return table[klass]
    return None


def _field_errors(exc: BaseException) -> list[dict[str, Any]]:
    # JSON-safe copies: ``loc`` tuples become lists, so a payload looks the same
    # whether it went through an HTTP body or a websocket message.
    errors = getattr(exc, "errors", None)
    if not isinstance(errors, list):
        return []
    cleaned = []
    for error in errors:
        if isinstance(error, Mapping):
            loc = error.get("loc", ())
            cleaned.append(
                {
                    "loc": list(loc) if isinstance(loc, list | tuple) else [loc],
                    "msg": str(error.get("msg", "")),
                    "type": str(error.get("type", "value_error")),
                }
            )
    return cleaned


def error_response(
    exc: BaseException, table: Mapping[type[BaseException], int] = DEFAULT_EXCEPTION_STATUSES
) -> Response:
    """Map ``exc`` to an error :class:`Response`.

    Body: ``{"error": message}`` plus ``"errors": [...]`` when there are field
    errors. An unknown exception is logged with its traceback and answered
    with a generic 500: the traceback never reaches the client.
    """
    status = status_for(exc, table)
    if status is None or status == 500:
        logger.error("unhandled error in resource", exc_info=exc)
        return Response(500, {"error": HTTPStatus(500).phrase})
    if isinstance(exc, HTTPError):
        message = exc.message
        headers = dict(exc.headers)
    else:
        # the headline only: a ValidationError's summary lists every error on its
        # own line, and those are already in "errors", located
        message = str(exc).strip().split("\n", 1)[0] or HTTPStatus(status).phrase
        headers = {}
    payload: dict[str, Any] = {"error": message}
    errors = _field_errors(exc)
    if errors:
        payload["errors"] = errors
    return Response(status, payload, headers)
