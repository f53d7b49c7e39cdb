"""The blog's models: a post, and comments that point at their post."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin


def now() -> datetime:
    return datetime.now(UTC)


class Post(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    title: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    body: str = ""
    author: str = "anonymous"
    tags: list[str] = []
    published: bool = True
    created: datetime = Field(default_factory=now, readonly=True)

    class Meta:
        name = "posts"
        indices = [{"fields": ["slug"], "unique": True}, {"fields": ["-created"]}]


class Comment(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    post: ObjectId
    author: str = "anonymous"
    text: str = Field(min_length=1, max_length=2000)
    created: datetime = Field(default_factory=now, readonly=True)

    class Meta:
        name = "comments"
        indices = [{"fields": ["post", "created"]}]
