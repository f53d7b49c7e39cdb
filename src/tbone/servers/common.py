"""What both server adapters share, importing neither server.

- ``MAX_BODY_SIZE``: the default request body limit of TBone's routes; a
  resource class changes it with its ``max_body_size`` class attribute. A
  bigger body is answered ``413 {"error": "Request body too large"}`` on both
  servers, before it is read whole where the server allows it.
- ``error_payload``: the JSON body that replaces a server's own error page
  (404, 405, 413, 400...) under a router's prefix.
- ``Prefixes``: which paths belong to the routers mounted on one app.
- ``one_line_log``: turns a log record carrying a client's protocol error
  into one line without a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

__all__ = [
    "BODY_TOO_LARGE",
    "MAX_BODY_SIZE",
    "Prefixes",
    "error_payload",
    "one_line_log",
]

#: Largest request body a TBone route reads, in bytes (1 MiB, aiohttp's own
#: default). JSON this size stays far below MongoDB's 16 MiB document limit
#: once encoded as BSON (a JSON body grows at most about 6x as BSON).
MAX_BODY_SIZE = 1 << 20

#: The message of the 413 answered for a body over the limit.
BODY_TOO_LARGE = "Request body too large"


def error_payload(status: int, message: str | None = None) -> dict[str, Any]:
    """``{"error": message}`` for an error the server itself raised.

    A server error (5xx) never shows its message; a client error shows the
    server's message (it describes the request, not the server), or the
    status phrase.
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    if status >= 500 or not message:
        return {"error": phrase}
    return {"error": " ".join(message.split())}


class Prefixes:
    """The URL prefixes (``/api/``) of the routers mounted on one app."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._prefixes: tuple[str, ...] = tuple(f"/{name}/" for name in names)

    def add(self, name: str) -> None:
        prefix = f"/{name}/"
        if prefix not in self._prefixes:
            self._prefixes += (prefix,)

    def owns(self, path: str) -> bool:
        """Whether ``path`` is under a mounted router's prefix (``/api/...``;
        not ``/api`` itself, as aiohttp's catch-all route ``/api/{tail}``)."""
        return path.startswith(self._prefixes)


def one_line_log(
    record: logging.LogRecord, errors: type[BaseException] | tuple[type[BaseException], ...]
) -> None:
    """If ``record`` carries one of ``errors`` (a client's malformed request),
    fold it into one line: the record's message, the error's status and its
    text with whitespace collapsed; drop the traceback."""
    exc_info = record.exc_info
    if not exc_info or not isinstance(exc_info[1], errors):
        return
    exc = exc_info[1]
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    code = getattr(exc, "code", None)
    detail = f"{code} {text}" if code else text
    record.msg = f"{record.getMessage()}: {detail}"
    record.args = ()
    record.exc_info = None
    record.exc_text = None
