"""The chatrooms example: rooms (public or private), messages and users over Sanic,
followed in the browser with live queries."""

from examples.chatrooms.app import create_app, seed
from examples.chatrooms.models import Message, Room, User

__all__ = ["Message", "Room", "User", "create_app", "seed"]
