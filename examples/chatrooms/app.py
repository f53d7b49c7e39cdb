"""The chatrooms backend on Sanic: ``create_app(db)``.

- ``/api/users/``, ``/api/rooms/``, ``/api/messages/`` are MongoResources;
  every write publishes ``resource_create``/``_update``/``_delete`` on the
  ``pubsub`` channel (a ``MemoryChannel`` by default; pass
  ``channel_class=MongoChannel`` to share events between processes).
- ``/ws`` is the websocket: the same API as requests, and the events,
  mounted with ``mount_websocket``.
- ``/`` is the chat page (``static/index.html``, plain HTML and JS).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, html

from examples.chatrooms.models import Message, Room, User
from tbone.db import create_collection
from tbone.dispatch import WebsocketMultiplexer
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.resources import Router
from tbone.resources.mongo import MongoResource
from tbone.resources.sanic import SanicResource, mount, mount_websocket

__all__ = ["MessageResource", "RoomResource", "UserResource", "create_app", "seed"]

PAGE = Path(__file__).with_name("static") / "index.html"
_apps = itertools.count()


class UserResource(SanicResource, MongoResource[User]):
    class Meta:
        object_class = User
        incoming_list = ["get", "post"]
        incoming_detail = ["get"]


class RoomResource(SanicResource, MongoResource[Room]):
    class Meta:
        object_class = Room
        sort = [("name", 1)]
        incoming_list = ["get", "post"]
        incoming_detail = ["get", "patch"]


class MessageResource(SanicResource, MongoResource[Message]):
    class Meta:
        object_class = Message
        sort = [("created", 1)]
        incoming_list = ["get", "post"]
        incoming_detail = ["get", "delete"]
        max_limit = 200


ROOMS = [
    {"name": "lobby", "topic": "Say hello"},
    {"name": "python", "topic": "asyncio, typing and friends"},
    {"name": "random", "topic": "Anything goes"},
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

    async def index(request: Request) -> HTTPResponse:
        return html(PAGE.read_text(encoding="utf-8"))

    app.add_route(index, "/", name="index")
    return app
