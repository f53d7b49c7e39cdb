"""``Route``: one mountable route, the unit that ``Router.urls()`` yields.

A leaf beside ``http``: the Protocols describe resources in terms of it and
the router builds it, so it belongs to neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tbone.resources.http import View

__all__ = ["Route"]


@dataclass(frozen=True, slots=True)
class Route:
    """One route: mount ``handler`` at ``path`` for ``methods`` under ``name``.

    ``methods`` is whatever the server's ``add_route`` takes (``"*"`` for
    aiohttp, a tuple of verbs for Sanic), hence ``Any``. ``view`` is the
    neutral view behind ``handler``; ``Router.dispatch`` calls it directly.
    """

    path: str
    handler: Any
    methods: Any
    name: str
    view: View | None = field(default=None, compare=False, repr=False)
