"""Exceptions a resource raises, and the table that maps them to statuses.

Exceptions are kept apart from responses: resource code raises
(``raise NotFound()``, or any ``ValueError``), and one place —
:func:`error_response` — turns the exception into a :class:`Response` through
a table of exception class → status or handler, looked up along the
exception's MRO as Starlette looks up its exception handlers. A handler takes
the exception and returns an :class:`HTTPError`, a status or a
:class:`Response`. Adding a mapping (say, a driver's duplicate-key error → a
409 naming the taken values) is one entry in a resource's
``exception_statuses``, not a try/except in every handler.

Every exception here also subclasses a builtin, so a plain ``except
LookupError`` still catches :class:`NotFound`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, TypeAlias

from tbone.data.errors import ConfigurationError
from tbone.resources.http import Request, Response

__all__ = [
    "DEFAULT_EXCEPTION_STATUSES",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "ExceptionHandler",
    "ExceptionTable",
    "Forbidden",
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


class Forbidden(HTTPError, PermissionError):
    """403: authenticated, but the resource's authorization refuses this write."""

    status = 403


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


ExceptionHandler: TypeAlias = Callable[[Any], "HTTPError | Response | int"]
"""A table entry that turns an exception into an answer: an :class:`HTTPError`
(its status, message, field errors and headers), a :class:`Response` (sent as
is) or a status (with the exception's first line as the message)."""

ExceptionTable: TypeAlias = Mapping[type[BaseException], "int | ExceptionHandler"]
"""Exception class → status or :data:`ExceptionHandler` (``exception_statuses``)."""

#: Exceptions that are not :class:`HTTPError` but still mean a known status.
#: ``ValueError`` covers ``tbone.data.ValidationError`` and bad conversions in
#: resource code: bad input is a 400, never a 500.
DEFAULT_EXCEPTION_STATUSES: ExceptionTable = {
    ValueError: 400,
    NotImplementedError: 501,
}


def _lookup(exc: BaseException, table: ExceptionTable) -> int | ExceptionHandler | None:
    # Walk the MRO: the most specific entry wins. An HTTPError answers with its
    # own status unless a subclass of it (more specific than HTTPError) has an
    # entry; builtins it also subclasses (BadRequest is a ValueError) come later.
    for klass in type(exc).__mro__:
        entry = table.get(klass)
        if entry is not None:
            return entry
        if klass is HTTPError:
            return None
    return None


def _resolve(exc: BaseException, table: ExceptionTable) -> BaseException | Response | int | None:
    """What the table makes of ``exc``: an HTTPError, a Response, a status, or None."""
    entry = _lookup(exc, table)
    if entry is None:
        return exc if isinstance(exc, HTTPError) else None
    if isinstance(entry, int):
        return entry
    return entry(exc)


def status_for(exc: BaseException, table: ExceptionTable = DEFAULT_EXCEPTION_STATUSES) -> int | None:
    """The status for ``exc``: the table's entry found along the exception's MRO
    (a handler is called for it), else its own if it is an HTTPError.

    ``None`` means unknown: an internal error.
    """
    answer = _resolve(exc, table)
    if isinstance(answer, HTTPError):
        return answer.status
    if isinstance(answer, Response):
        return answer.status
    return answer if isinstance(answer, int) else None


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
    exc: BaseException,
    table: ExceptionTable = DEFAULT_EXCEPTION_STATUSES,
    *,
    request: Request | None = None,
    resource: str | None = None,
) -> Response:
    """Map ``exc`` to an error :class:`Response` through ``table``.

    ``request`` and ``resource`` (the resource's name), when given, are named
    in the log line of a 500: method, path and resource.

    Body: ``{"error": message}`` plus ``"errors": [...]`` when there are field
    errors. An unknown exception (or one mapped to 500) is logged with its
    traceback and answered with a generic 500: the traceback never reaches
    the client. A handler that raises is treated the same way.
    """
    original = exc
    try:
        answer = _resolve(exc, table)
    except Exception:
        logger.exception("exception handler failed for %r", exc)
        answer = None
    if isinstance(answer, Response):
        return answer
    if isinstance(answer, HTTPError):
        if answer is not exc and answer.status != 500:
            logger.info("%s answered %d: %s", type(exc).__name__, answer.status, exc)
        exc, status = answer, answer.status
    else:
        status = answer if isinstance(answer, int) else 500
    if status == 500:
        where = f" {resource}" if resource else ""
        if request is not None:
            where += f" on {request.method} {request.path}"
        logger.error("unhandled error in resource%s", where, exc_info=original)
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
