"""The chatrooms backend on Sanic: ``create_app(db)``.

- ``/api/users/``, ``/api/rooms/``, ``/api/messages/`` are MongoResources.
- ``/ws`` is the websocket (``mount_websocket``): the same API as requests,
  and **live queries**. The page subscribes to ``/api/rooms/`` and to the
  messages of the open room, ``/api/messages/?room=<room id>``, and renders
  each ``enter`` (append), ``update`` (replace in place) and ``leave``
  (remove); switching rooms unsubscribes the old one (docs/websocket.md).
- ``/`` is the chat page (``static/index.html``, plain HTML and JS).

**Identity (a demo, not real authentication).** A caller says who they are
with an ``X-User: <name>`` header, believed as sent: over HTTP as a request
header; over the websocket in the ``headers`` of each ``request`` and live
``subscribe`` message (a browser cannot set headers on the handshake; those
headers are merged over the handshake's). ``UserHeader`` puts the name in
``request.state["user"]``; without it a caller is anonymous and may only read
public rooms. A real application checks a session or a token here instead
(docs/resources.md, "Authentication"), and the rest stays as it is.

**Authorization** (``Meta.authorization``, docs/resources.md):

- rooms: a room is public, or ``private`` to its ``members``. The read scope
  is ``{"$or": [{"private": False}, {"members": user}]}``: a private room is
  absent from other users' lists and a 404 for them. Anyone identified may
  create a room (a private one must count its creator among its members) and
  change the topic of a room they can read; ``private`` and ``members`` are
  fixed at creation.
- messages: a message carries its room's id and ``private_to``, the room's
  members when the room is private (``None`` otherwise), set by the server
  when it is posted. Who may read a message is thus a filter on the message
  itself, ``{"$or": [{"private_to": None}, {"private_to": user}]}``, which
  live queries match on every change: a live subscriber never receives a
  message of a private room it is not a member of. Posting into a room one
  may not read is a 403 (``can_write`` looks the room up); a message's author
  may edit (PATCH ``text``) and delete it, nobody else.

Every write also publishes ``resource_create``/``_update``/``_delete`` on the
``pubsub`` channel (a ``MemoryChannel`` by default; pass
``channel_class=MongoChannel`` to share events and live changes between
processes); event-name subscribers hear a resource only when its read scope
does not restrict them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from sanic import Request as SanicRequest
from sanic import Sanic
from sanic.response import HTTPResponse, html

from examples.chatrooms.models import USER_NAME, Message, Room, User
from tbone.db import create_collection
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.resources import BadRequest, Request, Router, Unauthorized
from tbone.resources.mongo import MongoResource
from tbone.resources.sanic import SanicResource, mount, mount_websocket

__all__ = [
    "MessageAccess",
    "MessageResource",
    "RoomAccess",
    "RoomResource",
    "UserHeader",
    "UserResource",
    "create_app",
    "seed",
]

PAGE = Path(__file__).with_name("static") / "index.html"
_apps = itertools.count()
_user_name = re.compile(USER_NAME)


# -- identity and authorization -------------------------------------------------


def user_of(request: Request) -> str | None:
    """The caller's name, as ``UserHeader`` found it (``None``: anonymous)."""
    user = request.state.get("user")
    return user if isinstance(user, str) else None


class UserHeader:
    """The demo's identity: the ``X-User`` header, believed as sent (not real auth).

    Anonymous callers may read; writing needs a name (401 otherwise)."""

    async def is_authenticated(self, request: Request) -> bool:
        user = request.headers.get("X-User", "").strip()
        if user and not _user_name.match(user):
            raise Unauthorized("X-User must be 1-40 letters, digits, '_', '.' or '-'")
        request.state["user"] = user or None
        if not user and request.method not in ("GET", "HEAD", "OPTIONS"):
            raise Unauthorized("Say who you are: send an X-User header")
        return True


def room_scope(user: str | None) -> dict[str, Any]:
    if user is None:
        return {"private": False}
    return {"$or": [{"private": False}, {"members": user}]}


class UserAccess:
    """Everyone sees the users; each one registers only their own name."""

    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        return None

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        payload = request.payload
        return verb == "post" and isinstance(payload, dict) and payload.get("name") == user_of(request)


class RoomAccess:
    """Public rooms, and private rooms for their members (see module doc)."""

    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        return room_scope(user_of(request))

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        user = user_of(request)
        payload = request.payload
        if user is None or not isinstance(payload, dict):
            return False
        if verb == "post":  # a private room counts its creator among its members
            members = payload.get("members") or []
            return not payload.get("private") or (isinstance(members, list) and user in members)
        # obj is within the read scope already; only the topic may change
        return verb == "patch" and set(payload) <= {"topic"}


class MessageAccess:
    """Read the messages of the rooms you can read; write your own (see module doc)."""

    async def read_scope(self, request: Request) -> Mapping[str, Any] | None:
        user = user_of(request)
        if user is None:
            return {"private_to": None}
        # a plain filter on the message itself, so that live queries can match it
        return {"$or": [{"private_to": None}, {"private_to": user}]}

    async def can_write(self, request: Request, verb: str, obj: Any) -> bool:
        user = user_of(request)
        if user is None:
            return False
        if obj is None:  # a post: into a room the caller may read
            room = await room_of(request)
            return room is not None and room.readable_by(user)
        if obj.author != user:
            return False
        payload = request.payload
        return verb == "delete" or (isinstance(payload, dict) and set(payload) <= {"text"})


async def room_of(request: Request) -> Room | None:
    """The room a posted message names (``request.payload["room"]``), or ``None``
    when there is none; looked up once per request."""
    if "room" in request.state:
        room: Room | None = request.state["room"]
        return room
    payload = request.payload
    room = None
    if isinstance(payload, dict) and isinstance(payload.get("room"), str):
        try:
            room_id = ObjectId(payload["room"])
        except InvalidId:
            room_id = None
        if room_id is not None:
            room = await Room.find_one(request.app.ctx.db, {"_id": room_id})
    request.state["room"] = room
    return room


# -- resources ----------------------------------------------------------------------


class UserResource(SanicResource, MongoResource[User]):
    class Meta:
        object_class = User
        incoming_list = ["get", "post"]
        incoming_detail = ["get"]
        authentication = UserHeader()
        authorization = UserAccess()


class RoomResource(SanicResource, MongoResource[Room]):
    class Meta:
        object_class = Room
        sort = [("name", 1)]
        incoming_list = ["get", "post"]
        incoming_detail = ["get", "patch"]
        authentication = UserHeader()
        authorization = RoomAccess()


class MessageResource(SanicResource, MongoResource[Message]):
    class Meta:
        object_class = Message
        sort = [("created", 1)]
        incoming_list = ["get", "post"]
        incoming_detail = ["get", "patch", "delete"]
        max_limit = 200
        authentication = UserHeader()
        authorization = MessageAccess()

    async def create(self) -> Any:
        """POST one message: the server sets its ``author`` (the caller) and
        ``private_to`` (the members of a private room)."""
        if not isinstance(self.data, dict):
            raise BadRequest("Post one message (a JSON object) at a time")
        await self.check_write("post", None)  # 403 unless the room exists and is readable
        room = await room_of(self.request)
        assert room is not None
        stamped = {"author": user_of(self.request), "private_to": room.members if room.private else None}
        obj = self.build(self.data, keep=stamped)
        await obj.insert(self.get_db(), validate=False)
        return await self.serialize(obj)


# -- the app -------------------------------------------------------------------------

ROOMS: list[dict[str, Any]] = [
    {"name": "lobby", "topic": "Say hello"},
    {"name": "python", "topic": "asyncio, typing and friends"},
    {"name": "random", "topic": "Anything goes"},
    {"name": "staff", "topic": "Members only", "private": True, "members": ["alice"]},
]


async def seed(db: Any) -> None:
    """Create the collections and the example rooms (safe to run at every start)."""
    for model in (User, Room, Message):
        await create_collection(db, model)
    for data in ROOMS:
        if await Room.find_one(db, {"name": data["name"]}) is None:
            await Room.from_data(data).insert(db)


def make_router(channel_class: Any) -> Router:
    router = Router(name="api")
    resources = {"users": UserResource, "rooms": RoomResource, "messages": MessageResource}
    for endpoint, resource in resources.items():
        # Each app may use its own channel class: subclass rather than mutate Meta.
        meta = type("Meta", (), {"channel_class": channel_class})
        router.register(type(resource.__name__, (resource,), {"Meta": meta}), endpoint)
    return router


def create_app(db: Any, *, channel_class: Any = MemoryChannel, name: str | None = None) -> Sanic[Any, Any]:
    """The chat backend around ``db`` (an async pymongo or motor database)."""
    app: Sanic[Any, Any] = Sanic(name or f"chatrooms_{next(_apps)}", configure_logging=False)
    app.ctx.db = db
    router = make_router(channel_class)
    mount(app, router)
    channel = channel_class(name="pubsub", db=db) if channel_class is not MemoryChannel else MemoryChannel()
    multiplexer = WebsocketMultiplexer(app, channel=channel)
    multiplexer.add_router("api", router)
    mount_websocket(app, multiplexer, "/ws")

    async def index(request: SanicRequest) -> HTTPResponse:
        return html(PAGE.read_text(encoding="utf-8"))

    app.add_route(index, "/", name="index")
    return app
