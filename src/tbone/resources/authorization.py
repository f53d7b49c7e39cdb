"""Ready-made ``Authorization``: ``AllowAll``, the default.

Authorization sees the neutral ``Request`` after authentication has passed
(``request.state`` holds what the authentication learnt about the caller), so
one object decides reads and writes over HTTP, websocket requests, event
subscriptions and live queries. Writing your own is two async methods;
docs/resources.md shows a per-user example.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tbone.resources.http import Request

__all__ = ["AllowAll"]


class AllowAll:
    """Every caller may read everything and write anything (the default)."""

    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        return None

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        return True
