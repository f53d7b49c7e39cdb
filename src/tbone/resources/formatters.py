"""Formatters: request bodies in, response payloads out.

``JSONFormatter`` uses orjson: it measured several times faster than the
standard ``json`` module on API payloads, and it encodes ``datetime``,
``date``, ``UUID`` and dataclasses natively, so resources can return them.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["JSONFormatter"]


class JSONFormatter:
    """The default formatter: UTF-8 JSON, ``application/json``."""

    content_type = "application/json"

    def parse(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:  # a ValueError: the resource answers 400
            raise ValueError(f"Malformed JSON body: {exc}") from None

    def format(self, payload: Any) -> bytes:
        # Non-str dict keys (ints, ObjectIds as keys) are common in Python data.
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)
