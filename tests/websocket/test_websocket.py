"""The ready-made websocket endpoints on real aiohttp and Sanic servers, real clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest

from tbone.dispatch.channels import MemoryChannel
from tbone.resources.connections import MAX_FRAME_SIZE
from tbone.testing import WebSocketTestClient

from .support import SERVERS, TOKEN, Served, Store, serve_app, wait_until

pytestmark = pytest.mark.parametrize("kind", SERVERS)

# (method, href, body): every verb on list and detail, and the error cases.
SCRIPT: list[tuple[str, str, Any]] = [
    ("POST", "/api/items/", {"title": "one"}),
    ("POST", "/api/items/", {"title": "two", "done": True}),
    ("GET", "/api/items/", None),
    ("GET", "/api/items/1/", None),
    ("PUT", "/api/items/1/", {"title": "uno"}),
    ("PATCH", "/api/items/2/", {"done": False}),
    ("DELETE", "/api/items/2/", None),
    ("GET", "/api/items/2/", None),
    ("GET", "/api/items/abc/", None),
    ("POST", "/api/items/1/", {"title": "x"}),
    ("PATCH", "/api/items/", {"title": "x"}),
    ("POST", "/api/items/", {"nope": 1}),
    ("GET", "/api/items/?title=uno", None),
]


@pytest.fixture
async def served(kind: str) -> AsyncIterator[Served]:
    store = Store(MemoryChannel(name=f"pubsub-{kind}"))
    async with serve_app(kind, store) as served:
        yield served


async def http(
    session: aiohttp.ClientSession, url: str, method: str, href: str, body: Any = None, **kw: Any
) -> Any:
    data = orjson.dumps(body) if body is not None else None
    async with session.request(method, url + href, data=data, **kw) as response:
        raw = await response.read()
        return response.status, orjson.loads(raw) if raw else None


async def test_every_verb_over_the_websocket_equals_http(served: Served) -> None:
    async with aiohttp.ClientSession() as session:
        over_http = [await http(session, served.url, *step) for step in SCRIPT]
    served.store.objects.clear()
    served.store.next_id = 1
    async with await WebSocketTestClient.connect(served.ws_url) as client:
        over_ws = [await client.request(method, href, body) for method, href, body in SCRIPT]
    assert over_ws == over_http
    assert [status for status, _ in over_http] == [
        201,
        201,
        200,
        200,
        202,
        202,
        204,
        404,
        400,
        405,
        501,
        400,
        200,
    ]


async def test_http_write_reaches_websocket_subscribers(served: Served) -> None:
    async with await WebSocketTestClient.connect(served.ws_url) as client, aiohttp.ClientSession() as session:
        await client.subscribe("resource_create")
        await client.subscribe("resource_delete")
        await http(session, served.url, "POST", "/api/items/", {"title": "hello"})
        assert await client.next_event("resource_create") == {
            "id": 1,
            "title": "hello",
            "done": False,
            "_links": {"self": {"href": "/api/items/1/"}},
        }
        await http(session, served.url, "DELETE", "/api/items/1/")
        assert (await client.next_event("resource_delete"))["id"] == 1


async def test_websocket_write_reaches_other_clients(served: Served) -> None:
    async with (
        await WebSocketTestClient.connect(served.ws_url) as writer,
        await WebSocketTestClient.connect(served.ws_url) as listener,
        await WebSocketTestClient.connect(served.ws_url) as deaf,
    ):
        await listener.subscribe("resource_update")
        await deaf.subscribe("resource_update")
        await deaf.unsubscribe("resource_update")
        assert (await writer.request("POST", "/api/items/", {"title": "a"}))[0] == 201
        assert (await writer.request("PATCH", "/api/items/1/", {"done": True}))[0] == 202
        event = await listener.next_event("resource_update")
        assert (event["id"], event["done"]) == (1, True)
        await deaf.ping()
        assert deaf.pending_events("resource_update") == 0
        assert listener.pending_events("resource_create") == 0  # not subscribed to creations


async def test_authentication_sees_handshake_and_message_headers(kind: str) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        serve_app(kind, Store(MemoryChannel(name=f"auth-{kind}")), secrets=True) as served,
        await WebSocketTestClient.connect(served.ws_url) as anonymous,
        await WebSocketTestClient.connect(served.ws_url, headers=bearer) as member,
    ):
        status, payload = await anonymous.request("GET", "/api/secrets/")
        assert (status, payload) == (401, {"error": "Invalid or missing token"})
        assert (await anonymous.request("GET", "/api/secrets/", headers=bearer))[0] == 200
        assert (await member.request("GET", "/api/secrets/"))[0] == 200
        # a message's own headers override the handshake's, whatever their case
        assert (await member.request("GET", "/api/secrets/", headers={"authorization": "Bearer x"}))[0] == 401

        # events are per resource: a private resource does not lock the anonymous
        # client out of the public one, and its events never reach that client
        await anonymous.subscribe("resource_create")
        await member.subscribe("resource_create")
        assert served.multiplexer.channel is not None
        assert served.multiplexer.channel.subscriber_count("resource_create@/api/secrets/") == 1
        assert served.multiplexer.channel.subscriber_count("resource_create@/api/items/") == 2
        await member.request("POST", "/api/secrets/", {"title": "classified"})
        event = await member.next_event("resource_create")
        assert event["title"] == "classified"
        await member.request("POST", "/api/items/", {"title": "public"})
        assert (await anonymous.next_event("resource_create"))["title"] == "public"
        assert (await member.next_event("resource_create"))["title"] == "public"
        await anonymous.ping()
        assert anonymous.pending_events("resource_create") == 0


async def test_malformed_messages_keep_the_socket_open(served: Served) -> None:
    async with await WebSocketTestClient.connect(served.ws_url) as client:
        for bad in ("{not json", "[]", '{"type": 3}', '{"type": "request", "key": "x", "href": "/api/"}'):
            await client.send_text(bad)
            assert (await client.next_error())["type"] == "error"
        await client.send_json({"type": "subscribe", "key": "s"})
        assert "needs an 'event'" in (await client.next_error())["error"]
        await client.ping()
        assert (await client.request("GET", "/api/items/"))[0] == 200


async def test_huge_frames_close_with_1009_and_the_server_keeps_serving(served: Served) -> None:
    channel = served.multiplexer.channel
    assert channel is not None
    async with await WebSocketTestClient.connect(served.ws_url) as bystander:
        client = await WebSocketTestClient.connect(served.ws_url)
        await client.subscribe("resource_create")
        # just under the limit is fine
        big = {"type": "request", "key": "b", "method": "POST", "href": "/api/items/", "body": {}}
        padding = MAX_FRAME_SIZE - len(orjson.dumps(big)) - len('"title":""')
        big["body"] = {"title": "x" * padding}
        assert len(orjson.dumps(big)) == MAX_FRAME_SIZE
        await client.send_json(big)
        assert (await client.next_event("resource_create"))["id"] == 1
        await client.send_text("x" * (MAX_FRAME_SIZE + 1))
        assert await client.wait_closed() == 1009
        await client.close()
        await wait_until(lambda: channel.subscriber_count() == 0)
        await bystander.ping()
        assert (await bystander.request("GET", "/api/items/1/"))[0] == 200


async def test_client_disconnecting_mid_request(served: Served) -> None:
    channel = served.multiplexer.channel
    assert channel is not None
    client = await WebSocketTestClient.connect(served.ws_url)
    await client.subscribe("resource_create")
    await client.send_json(
        {"type": "request", "key": "slow", "method": "GET", "href": "/api/items/?slow=0.2"}
    )
    await client.close()
    await wait_until(lambda: channel.subscriber_count() == 0)
    await asyncio.sleep(0.3)  # the slow request finishes and finds its socket gone
    async with await WebSocketTestClient.connect(served.ws_url) as other:
        assert (await other.request("GET", "/api/items/?slow=0"))[0] == 200


async def test_500_clients_connect_and_leave(served: Served) -> None:
    channel = served.multiplexer.channel
    assert channel is not None
    clients: list[WebSocketTestClient] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(5):
            batch = await asyncio.gather(
                *(WebSocketTestClient.connect(served.ws_url, session=session) for _ in range(100))
            )
            await asyncio.gather(*(client.subscribe("resource_create") for client in batch))
            clients.extend(batch)
        assert channel.subscriber_count("resource_create@/api/items/") == 500
        await clients[0].request("POST", "/api/items/", {"title": "for everyone"})
        received = await asyncio.gather(*(client.next_event("resource_create") for client in clients))
        assert {event["title"] for event in received} == {"for everyone"}
        # half leave politely, half just drop their connection
        await asyncio.gather(*(client.close() for client in clients[:250]))
        for client in clients[250:]:
            transport = client.ws._response.connection.transport  # type: ignore[union-attr]
            transport.abort()
        await wait_until(lambda: channel.subscriber_count() == 0, timeout=10)
        await asyncio.gather(*(client.close() for client in clients[250:]))
    async with await WebSocketTestClient.connect(served.ws_url) as late:
        assert (await late.request("GET", "/api/items/1/"))[0] == 200
