"""The RequestRouter Protocol: what the multiplexer needs from a router.

A leaf module. ``tbone.resources.Router`` satisfies it, and so does any object
with this ``dispatch`` method; the multiplexer never imports the resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["RequestRouter"]


class RequestRouter(Protocol):
    """Serve one request that arrived over a websocket.

    ``path`` is the full path of the request's href (``"/api/books/1/"``,
    query string removed and merged into ``args``). Returns the HTTP status
    and a JSON-able payload, exactly as the same request over HTTP would.
    """

    async def dispatch(
        self,
        app: Any,
        method: str,
        path: str,
        args: Mapping[str, str],
        headers: Mapping[str, str],
        body: Any,
    ) -> tuple[int, Any]: ...
