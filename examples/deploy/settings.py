"""What both servers share: settings from the environment, the model, the
resource's behaviour and the channel or feed that makes the workers meet.

Environment (all optional):

================================  ===========================================
``MONGODB_URI``                   the database, named in the URI
                                  (``mongodb://127.0.0.1:27017/tbone``)
``TBONE_REDIS_URL``               events and live changes go through Redis
                                  (``RedisChannel``); unset: through MongoDB
                                  (``MongoChannel``, a capped collection)
``TBONE_FEED``                    ``changestream``: live queries follow MongoDB
                                  change streams (``ChangeStreamFeed``), so
                                  writes made outside the app count too
``TBONE_HOST``, ``TBONE_PORT``    where to listen (``127.0.0.1``, ``8000``)
``TBONE_WORKERS``                 worker processes (2)
``TBONE_INSTANCE``                this machine's name (the host name); with the
                                  feed, each worker stores its resume token as
                                  ``<instance>.<worker>``
``TBONE_WORKER_ID``               the worker's name, if the process manager
                                  gives one; else Sanic's worker name, else the pid
``TBONE_SHUTDOWN_TIMEOUT``        seconds open websockets get to close (3)
================================  ===========================================
"""

from __future__ import annotations

import gc
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db import connect
from tbone.db.models import MongoCollectionMixin
from tbone.dispatch.channels.base import Channel
from tbone.dispatch.channels.mongo import MongoChannel
from tbone.dispatch.feeds import ChangeStreamFeed
from tbone.resources.mongo import MongoResource

__all__ = ["Note", "NoteResourceBase", "Services", "Settings", "after_start", "app_channel"]


@dataclass(frozen=True)
class Settings:
    mongodb_uri: str = "mongodb://127.0.0.1:27017/tbone"
    redis_url: str | None = None
    feed: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    instance: str = "tbone"
    worker_id: str = "0"
    shutdown_timeout: float = 3.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        worker = environ.get("TBONE_WORKER_ID") or environ.get("SANIC_WORKER_NAME") or f"pid{os.getpid()}"
        return cls(
            mongodb_uri=environ.get("MONGODB_URI") or cls.mongodb_uri,
            redis_url=environ.get("TBONE_REDIS_URL") or None,
            feed=environ.get("TBONE_FEED", "").lower() == "changestream",
            host=environ.get("TBONE_HOST") or cls.host,
            port=int(environ.get("TBONE_PORT") or cls.port),
            workers=int(environ.get("TBONE_WORKERS") or cls.workers),
            instance=environ.get("TBONE_INSTANCE") or socket.gethostname(),
            worker_id=worker.replace(":", "-"),
            shutdown_timeout=float(environ.get("TBONE_SHUTDOWN_TIMEOUT") or cls.shutdown_timeout),
        )


class Note(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    text: str = Field(min_length=1, max_length=2000)

    class Meta:
        name = "notes"


def app_channel(name: str, db: Any) -> Channel:
    """The channel every worker publishes to and reads from: Redis when
    ``TBONE_REDIS_URL`` is set, else a capped collection in MongoDB. Both are
    singletons per name within a process: the resources (which call this as
    their ``Meta.channel_class``) and the multiplexer get the same one."""
    if os.environ.get("TBONE_REDIS_URL"):
        from tbone.dispatch.channels.redis import RedisChannel  # the extra ``tbone[redis]``

        return RedisChannel(name=name)  # the URL comes from TBONE_REDIS_URL
    return MongoChannel(name=name, db=db)


class NoteResourceBase(MongoResource[Note]):
    """``/api/notes/``; the server's base class is mixed in by each app module."""

    class Meta:
        object_class = Note
        incoming_detail = ["get", "put", "patch", "delete"]
        channel_class = app_channel


class Services:
    """The database, the channel and the feed of one worker process, closed
    together when the server stops."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = connect(settings.mongodb_uri)
        self.channel = app_channel("pubsub", self.db)
        self.feed: ChangeStreamFeed | None = None
        if settings.feed:
            instance = f"{settings.instance}.{settings.worker_id}"
            self.feed = ChangeStreamFeed(self.db, instance=instance)

    async def close(self) -> None:
        if self.feed is not None:
            await self.feed.close()  # stores the resume token
        await self.channel.close()
        await self.db.client.close()


def after_start() -> None:
    """Called once the app is up: move everything allocated at start-up (and
    the long-lived objects made so far) out of the garbage collector's way.
    ``gc.freeze()`` keeps the collector from rescanning them on every full
    collection, which matters with many long-lived live queries."""
    gc.collect()
    gc.freeze()
