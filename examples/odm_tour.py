"""A runnable walkthrough of TBone's typed ODM (``python -m examples.odm_tour``).

Declares two models, builds them from JSON-like data, shows validation errors
with their locations, exports and serializes.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Literal

import orjson

from tbone.data import Email, Field, Model, ValidationError, serialize


class Author(Model):
    name: str = Field(min_length=1)
    email: Email | None = None


class Post(Model):
    title: str = Field(min_length=1, max_length=200)
    body: str = ""
    author: Author
    tags: list[str] = Field(default_factory=list, max_size=10)
    status: Literal["draft", "published"] = "draft"
    rating: Annotated[int, Field(min=1, max=5)] = 3
    published_at: datetime | None = None
    views: int = Field(default=0, projection=None)  # stored, never sent to clients

    @serialize
    async def summary(self) -> str:
        return self.body[:40]


async def tour() -> None:
    post = Post.from_data(
        {
            "title": "Hello, TBone",
            "body": "Full-duplex REST on asyncio, typed end to end.",
            "author": {"name": "Ada", "email": "ada@example.org"},
            "tags": ["intro", "asyncio"],
            "published_at": "2026-11-21T09:30:00Z",
        }
    )
    print("model:      ", post)
    print("native:     ", post.export_data(native=True))
    print("JSON:       ", orjson.dumps(post.export_data(native=False)).decode())
    print("serialized: ", await post.serialize())
    try:
        Post.from_data({"title": "", "author": {"email": "not-an-email"}, "rating": "9"})
    except ValidationError as exc:
        print("errors:")
        for error in exc.errors:
            print(f"   {'.'.join(map(str, error['loc'])):<14} {error['type']:<12} {error['msg']}")


def main() -> None:
    asyncio.run(tour())


if __name__ == "__main__":
    main()
