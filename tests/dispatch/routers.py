"""A tiny but real RequestRouter: an in-memory "books" resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class BooksRouter:
    def __init__(self) -> None:
        self.books: dict[str, dict[str, Any]] = {"1": {"id": "1", "title": "War and Peace"}}
        self.calls: list[tuple[Any, str, str, dict[str, str], dict[str, str], Any]] = []

    async def dispatch(
        self,
        app: Any,
        method: str,
        path: str,
        args: Mapping[str, str],
        headers: Mapping[str, str],
        body: Any,
    ) -> tuple[int, Any]:
        self.calls.append((app, method, path, dict(args), dict(headers), body))
        parts = [p for p in path.split("/") if p]
        if parts[1:2] == ["boom"]:
            raise RuntimeError("secret internal detail")
        if parts[1:2] != ["books"]:
            return 404, {"error": "Not found"}
        if len(parts) == 2 and method == "GET":
            return 200, {"objects": list(self.books.values()), "args": dict(args)}
        if len(parts) == 2 and method == "POST":
            pk = str(len(self.books) + 1)
            self.books[pk] = {"id": pk, **body}
            return 201, self.books[pk]
        if len(parts) == 3 and method == "GET":
            book = self.books.get(parts[2])
            return (200, book) if book else (404, {"error": "Not found"})
        return 405, {"error": "Method not allowed"}
