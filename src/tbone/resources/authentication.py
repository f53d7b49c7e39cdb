"""Ready-made ``Authentication`` implementations.

Authentication sees the neutral ``Request`` (its headers, its ``state``), so
the same object guards a resource over HTTP and over the websocket. Writing
your own is one async method; docs/resources.md shows a token example.
"""

from __future__ import annotations

from tbone.resources.http import Request

__all__ = ["SAFE_METHODS", "NoAuthentication", "ReadOnlyAuthentication"]

#: Verbs that read without changing anything.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NoAuthentication:
    """Lets every request through (the default)."""

    async def is_authenticated(self, request: Request) -> bool:
        return True


class ReadOnlyAuthentication:
    """Lets reads through and refuses every write with 401."""

    async def is_authenticated(self, request: Request) -> bool:
        return request.method in SAFE_METHODS
