"""The chatrooms' models: users, rooms (public, or private to their members),
and messages that point at their room."""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin

#: What a user name (the demo's identity, see ``examples.chatrooms.app``) may be.
USER_NAME = r"^[A-Za-z0-9_.-]{1,40}$"


def now() -> datetime:
    return datetime.now(UTC)


class User(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str = Field(pattern=USER_NAME)
    joined: datetime = Field(default_factory=now, readonly=True)

    class Meta:
        name = "users"
        indices = [{"fields": ["name"], "unique": True}]


class Room(Model, MongoCollectionMixin):
    """A room; a ``private`` one is seen, read and written by its ``members`` only."""

    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    name: str = Field(pattern=r"^[a-z0-9-]{1,40}$")
    topic: str = ""
    private: bool = False
    members: list[str] = []

    class Meta:
        name = "rooms"
        indices = [{"fields": ["name"], "unique": True}]

    def readable_by(self, user: str | None) -> bool:
        return not self.private or (user is not None and user in self.members)


class Message(Model, MongoCollectionMixin):
    """A message in ``room``. ``author`` and ``private_to`` are set by the server:
    ``private_to`` copies the members of a private room (``None`` in a public
    one), so that who may read a message is a filter on the message itself."""

    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    room: ObjectId
    author: str = Field(default="", readonly=True)
    text: str = Field(min_length=1, max_length=2000)
    created: datetime = Field(default_factory=now, readonly=True)
    private_to: list[str] | None = Field(default=None, readonly=True)

    class Meta:
        name = "messages"
        indices = [{"fields": ["room", "created"]}]
