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
- ``OpenSockets``: the websockets one ``mount_websocket`` serves, closed with
  1001 ("going away") within ``SHUTDOWN_TIMEOUT`` seconds when the server stops.
- ``check_health``: the answer of ``mount_health``'s endpoint, ``200
  {"status": "ok"}`` when the database answers a ping in time, else ``503
  {"status": "unavailable"}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any, Generic, TypeVar

__all__ = [
    "BODY_TOO_LARGE",
    "GOING_AWAY",
    "HEALTH_TIMEOUT",
    "MAX_BODY_SIZE",
    "SHUTDOWN_TIMEOUT",
    "OpenSockets",
    "Prefixes",
    "check_health",
    "error_payload",
    "one_line_log",
]

logger = logging.getLogger("tbone.servers")

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


# -- graceful shutdown -------------------------------------------------------

#: RFC 6455 close code sent to every open websocket when the server stops.
GOING_AWAY = 1001

#: Seconds the open websockets of one ``mount_websocket`` get to finish their
#: closing handshake when the server stops; those still open are then dropped.
SHUTDOWN_TIMEOUT = 3.0

_S = TypeVar("_S")


class OpenSockets(Generic[_S]):
    """The websockets one ``mount_websocket`` serves (one set per mount, per app).

    The endpoint ``add``s each connection when it starts serving it and
    ``discard``s it when it stops. On shutdown, :meth:`close_all` starts the
    closing handshake with ``GOING_AWAY`` (1001) on every one at once, waits
    until the peers answer and the endpoint has let go of them, and drops
    (``abort``) those still open after ``timeout`` seconds: stopping takes at
    most ``timeout`` seconds, however many sockets are open and whatever
    their clients do. A socket that opens while closing is going on is closed
    at once (``add`` returns ``False``).

    ``len()`` is the number of open websockets (worth monitoring).
    """

    def __init__(
        self,
        close: Callable[[_S], Awaitable[Any]],
        abort: Callable[[_S], Any],
        *,
        timeout: float = SHUTDOWN_TIMEOUT,
    ) -> None:
        self._close = close
        self._abort = abort
        self.timeout = timeout
        self.closing = False
        self._open: set[_S] = set()
        self._emptied: asyncio.Event | None = None

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[_S]:
        return iter(list(self._open))

    def __repr__(self) -> str:
        return f"<OpenSockets {len(self._open)} open{' closing' if self.closing else ''}>"

    def add(self, sock: _S) -> bool:
        """Track ``sock``; ``False`` if the server is stopping (close it now)."""
        if self.closing:
            return False
        self._open.add(sock)
        return True

    def discard(self, sock: _S) -> None:
        self._open.discard(sock)
        if not self._open and self._emptied is not None:
            self._emptied.set()

    async def close_all(self) -> None:
        """Close every open socket with 1001 within ``timeout`` seconds."""
        self.closing = True
        if not self._open:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        self._emptied = asyncio.Event()
        socks = list(self._open)
        tasks = [asyncio.ensure_future(self._close(sock)) for sock in socks]
        _, pending = await asyncio.wait(tasks, timeout=self.timeout)
        if self._open:
            # the handshakes are done; the endpoint lets go of each socket
            # once its reading loop has seen the end
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._emptied.wait(), max(deadline - loop.time(), 0))
        for task in pending:
            task.cancel()
        for sock in list(self._open):
            try:
                self._abort(sock)
            except Exception:  # a broken socket must not stop the shutdown
                logger.debug("aborting %r failed", sock, exc_info=True)
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                logger.debug("closing a websocket failed: %r", result)
        if len(pending) or self._open:
            logger.info(
                "shutdown: %d websocket(s) closed, %d dropped after %.1f s",
                len(socks) - len(pending),
                len(pending),
                self.timeout,
            )


# -- health ------------------------------------------------------------------

#: Seconds the health endpoint waits for the database's answer to a ping.
HEALTH_TIMEOUT = 2.0

HEALTHY: dict[str, str] = {"status": "ok"}
UNAVAILABLE: dict[str, str] = {"status": "unavailable"}


async def check_health(db: Any, timeout: float = HEALTH_TIMEOUT) -> tuple[int, dict[str, str]]:
    """``(200, {"status": "ok"})`` if ``db`` answers ``ping`` within ``timeout``
    seconds, else ``(503, {"status": "unavailable"})``.

    The body never says why (no host names, no driver messages); the reason
    is logged on ``tbone.servers`` at warning level.
    """
    if db is None:
        logger.warning("health check: no database on the app")
        return 503, dict(UNAVAILABLE)
    try:
        async with asyncio.timeout(timeout):
            await db.command("ping")
    except TimeoutError:
        logger.warning("health check: the database did not answer a ping within %.1f s", timeout)
        return 503, dict(UNAVAILABLE)
    except Exception as exc:
        logger.warning("health check: the database ping failed: %s", type(exc).__name__)
        return 503, dict(UNAVAILABLE)
    return 200, dict(HEALTHY)
