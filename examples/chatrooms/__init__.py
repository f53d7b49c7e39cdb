"""The chatrooms example: rooms, messages and users over Sanic, live in the browser."""

from examples.chatrooms.app import create_app, seed
from examples.chatrooms.models import Message, Room, User

__all__ = ["Message", "Room", "User", "create_app", "seed"]
