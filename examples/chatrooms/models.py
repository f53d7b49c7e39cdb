"""The chatrooms' models: users, rooms, and messages that point at their room."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin


def now() -> datetime:
    return datetime.now(UTC)


class User(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str = Field(min_length=1, max_length=40)
    joined: datetime = Field(default_factory=now, readonly=True)

    class Meta:
        name = "users"
        indices = [{"fields": ["name"], "unique": True}]


class Room(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    topic: str = ""

    class Meta:
        name = "rooms"
        indices = [{"fields": ["name"], "unique": True}]


class Message(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    room: ObjectId
    author: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=2000)
    created: datetime = Field(default_factory=now, readonly=True)

    class Meta:
        name = "messages"
        indices = [{"fields": ["room", "created"]}]
