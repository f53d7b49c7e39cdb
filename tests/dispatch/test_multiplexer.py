from __future__ import annotations

from typing import Any

import orjson
import pytest

from tbone.dispatch import RequestRouter, WebsocketMultiplexer
from tbone.dispatch.channels import MemoryChannel

from .carriers import ListCarrier
from .routers import BooksRouter


def make(channel: MemoryChannel | None = None) -> tuple[WebsocketMultiplexer, BooksRouter]:
    router = BooksRouter()
    mux = WebsocketMultiplexer(app="the-app", channel=channel)
    mux.add_router("api", router)
    return mux, router


def request(key: str, method: str, href: str, **extra: Any) -> str:
    return orjson.dumps({"type": "request", "key": key, "method": method, "href": href, **extra}).decode()


def test_books_router_satisfies_the_protocol() -> None:
    router: RequestRouter = BooksRouter()
    assert callable(router.dispatch)


async def test_request_is_routed_with_app_args_headers_and_body() -> None:
    mux, router = make()
    carrier = ListCarrier()
    reply = await mux.dispatch(
        carrier,
        request("k1", "post", "/api/books/", args={"a": "1"}, headers={"X-Y": "z"}, body={"title": "T"}),
    )
    assert reply == {"type": "response", "key": "k1", "status": 201, "payload": {"id": "2", "title": "T"}}
    assert carrier.messages == [reply]
    assert router.calls == [("the-app", "POST", "/api/books/", {"a": "1"}, {"X-Y": "z"}, {"title": "T"})]


async def test_query_string_is_merged_into_args_and_explicit_args_win() -> None:
    mux, router = make()
    reply = await mux.dispatch(ListCarrier(), request("k", "GET", "/api/books/?limit=5&q=x", args={"q": "y"}))
    assert reply["status"] == 200
    assert router.calls[0][2] == "/api/books/"
    assert router.calls[0][3] == {"limit": "5", "q": "y"}


async def test_repeated_query_arguments_are_joined_as_over_http() -> None:
    mux, router = make()
    reply = await mux.dispatch(ListCarrier(), request("k", "GET", "/api/books/?tag=a&tag=b&q="))
    assert reply["status"] == 200
    assert router.calls[0][3] == {"tag": "a,b", "q": ""}


async def test_unknown_router_is_404() -> None:
    mux, _ = make()
    reply = await mux.dispatch(ListCarrier(), request("k", "GET", "/nope/books/"))
    assert reply == {"type": "response", "key": "k", "status": 404, "payload": {"error": "Not found"}}


async def test_remove_router() -> None:
    mux, _ = make()
    mux.remove_router("api")
    reply = await mux.dispatch(ListCarrier(), request("k", "GET", "/api/books/1/"))
    assert reply["status"] == 404
    assert mux.routers == {}


async def test_router_exception_is_a_generic_500() -> None:
    mux, _ = make()
    reply = await mux.dispatch(ListCarrier(), request("k", "GET", "/api/boom/"))
    assert reply == {
        "type": "response",
        "key": "k",
        "status": 500,
        "payload": {"error": "Internal server error"},
    }
    assert "secret" not in orjson.dumps(reply).decode()


async def test_ping_pong() -> None:
    mux, _ = make()
    carrier = ListCarrier()
    assert await mux.dispatch(carrier, '{"type": "ping"}') == {"type": "pong"}
    assert carrier.messages == [{"type": "pong"}]


@pytest.mark.parametrize(
    ("text", "fragment", "key"),
    [
        ("not json", "malformed", None),
        ("[1, 2]", "JSON object", None),
        ('{"key": "k"}', "type", "k"),
        ('{"type": "launch", "key": "k9"}', "unknown message type", "k9"),
        ('{"type": "request", "key": "k", "href": "/api/books/"}', "method", "k"),
        ('{"type": "request", "key": "k", "method": "GET"}', "href", "k"),
        ('{"type": "request", "key": "k", "method": "GET", "href": "/a/", "args": [1]}', "args", "k"),
        ('{"type": "request", "key": {"x": 1}, "method": "GET", "href": "/a/"}', "key", None),
        ('{"type": "subscribe", "key": "k"}', "event", "k"),
    ],
)
async def test_malformed_messages_get_an_error(text: str, fragment: str, key: Any) -> None:
    mux, _ = make(MemoryChannel(name="mux-errors"))
    carrier = ListCarrier()
    reply = await mux.dispatch(carrier, text)
    assert reply["type"] == "error"
    assert fragment in reply["error"]
    assert reply.get("key") == key
    assert carrier.messages == [reply]


async def test_subscribe_without_channel_is_an_error() -> None:
    mux, _ = make()
    reply = await mux.dispatch(ListCarrier(), '{"type": "subscribe", "event": "e"}')
    assert reply["type"] == "error"


async def test_subscribe_unsubscribe_and_disconnect() -> None:
    channel = MemoryChannel(name="mux-subs")
    mux, _ = make(channel)
    carrier = ListCarrier()
    reply = await mux.dispatch(carrier, '{"type": "subscribe", "event": "a", "key": 1}')
    assert reply == {"type": "ack", "action": "subscribe", "event": "a", "key": 1}
    await mux.dispatch(carrier, '{"type": "subscribe", "event": "b"}')
    assert channel.subscriber_count("a") == 1
    await channel.publish("a", "hello")
    await carrier.wait_for(3)
    assert carrier.messages[2] == {"type": "event", "payload": {"name": "a", "data": "hello"}}
    reply = await mux.dispatch(carrier, '{"type": "unsubscribe", "event": "a"}')
    assert reply == {"type": "ack", "action": "unsubscribe", "event": "a"}
    assert channel.subscriber_count("a") == 0
    assert channel.subscriber_count() == 1
    mux.disconnect(carrier)
    assert channel.subscriber_count() == 0


async def test_unencodable_payload_becomes_500() -> None:
    class Weird:
        async def dispatch(self, *args: Any) -> tuple[int, Any]:
            return 200, {"x": object()}

    mux = WebsocketMultiplexer()
    mux.add_router("w", Weird())
    carrier = ListCarrier()

    class Encoding(ListCarrier):
        async def deliver(self, data: dict[str, Any]) -> bool:
            orjson.dumps(data)
            return await super().deliver(data)

    carrier = Encoding()
    reply = await mux.dispatch(carrier, request("k", "GET", "/w/"))
    assert reply["status"] == 500
    assert carrier.messages == [reply]
