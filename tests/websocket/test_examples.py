"""The blog (aiohttp), movies and chatrooms (Sanic) examples with their websocket endpoint."""

from __future__ import annotations

from typing import Any

import aiohttp
from examples.blog import seed
from examples.blog.websocket import create_live_app as live_blog
from examples.chatrooms import create_app as chatrooms_app
from examples.chatrooms import seed as seed_chatrooms
from examples.movies.websocket import create_live_app as live_movies
from sanic import Sanic

from tbone.testing import WebSocketTestClient
from tbone.testing.servers import run_aiohttp, run_sanic


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with http.get(url) as resp:
        return resp.status, await resp.json()


async def test_blog_over_the_websocket(db: Any) -> None:
    await seed(db)
    async with (
        run_aiohttp(live_blog(db)) as url,
        aiohttp.ClientSession() as http,
        await WebSocketTestClient.connect(f"{url}/ws") as client,
    ):
        href = "/api/posts/?order_by=title&limit=2"
        assert await client.request("GET", href) == await get(http, url + href)
        await client.subscribe("resource_create")
        body = {"title": "Live", "slug": "live", "body": "over HTTP, heard on the websocket"}
        async with http.post(f"{url}/api/posts/", json=body) as resp:
            assert resp.status == 201
        assert (await client.next_event("resource_create"))["slug"] == "live"


async def test_movies_over_the_websocket(db: Any) -> None:
    app = live_movies(db)
    try:
        async with (
            run_sanic(app) as url,
            aiohttp.ClientSession() as http,
            await WebSocketTestClient.connect(f"{url}/ws") as client,
        ):
            href = "/api/movies/?genre=scifi&order_by=-rating,title&fields=title,rating"
            status, payload = await client.request("GET", href)
            assert (status, payload) == await get(http, url + href)
            assert payload["meta"]["total_count"] > 0
    finally:
        Sanic.unregister_app(app)


async def http_call(url: str, user: str | None, method: str, href: str, body: Any = None) -> tuple[int, Any]:
    headers = {"X-User": user} if user else {}
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url + href, json=body, headers=headers) as resp,
    ):
        return resp.status, (await resp.json() if resp.status != 204 else None)


async def test_chatrooms_live_queries_and_private_rooms(db: Any) -> None:
    """The chatrooms' protocol without a browser (tests/e2e drives the page):
    a live query per room, enter/update/leave, and a private room that
    neither lists, serves, accepts posts from nor streams to a non-member."""
    await seed_chatrooms(db)
    app = chatrooms_app(db)
    alice, bob = {"X-User": "alice"}, {"X-User": "bob"}
    try:
        async with (
            run_sanic(app) as url,
            await WebSocketTestClient.connect(f"{url}/ws") as ws_alice,
            await WebSocketTestClient.connect(f"{url}/ws") as ws_bob,
        ):
            names = {
                user: [r["name"] for r in (await http_call(url, user, "GET", "/api/rooms/"))[1]["objects"]]
                for user in ("alice", "bob", None)
            }
            assert names == {
                "alice": ["lobby", "python", "random", "staff"],
                "bob": ["lobby", "python", "random"],
                None: ["lobby", "python", "random"],
            }
            _, listing = await http_call(url, "alice", "GET", "/api/rooms/")
            rooms = {room["name"]: room["_id"] for room in listing["objects"]}
            staff, lobby = rooms["staff"], rooms["lobby"]
            assert (await http_call(url, "bob", "GET", f"/api/rooms/{staff}/"))[0] == 404

            # bob follows the lobby and (trying) the private room; alice the private room
            key_lobby, status, page = await ws_bob.live(f"/api/messages/?room={lobby}", headers=bob)
            assert (status, page["objects"]) == (200, [])
            spy, status, page = await ws_bob.live(f"/api/messages/?room={staff}", headers=bob)
            assert (status, page["objects"]) == (200, [])
            key_staff, status, _ = await ws_alice.live(f"/api/messages/?room={staff}", headers=alice)
            assert status == 200

            # writes need a name, a readable room, and only the author edits or deletes
            hello = {"room": lobby, "text": "hello"}
            assert (await http_call(url, None, "POST", "/api/messages/", hello))[0] == 401
            private = {"room": staff, "text": "secret"}
            assert (await http_call(url, "bob", "POST", "/api/messages/", private))[0] == 403
            status, secret = await http_call(url, "alice", "POST", "/api/messages/", private)
            assert status == 201 and secret["private_to"] == ["alice"] and secret["author"] == "alice"
            assert (await ws_alice.next_change(key_staff))["data"]["text"] == "secret"
            assert (await http_call(url, "bob", "GET", f"/api/messages/{secret['_id']}/"))[0] == 404

            # over the websocket too, headers in the message (as the page sends them)
            posted = {**hello, "author": "bob"}  # the server sets the author
            status, message = await ws_alice.request("POST", "/api/messages/", posted, headers=alice)
            assert (status, message["author"], message["private_to"]) == (201, "alice", None)
            entered = await ws_bob.next_change(key_lobby)
            assert (entered["op"], entered["pk"]) == ("enter", message["_id"])
            assert entered["data"]["text"] == "hello"
            href = f"/api/messages/{message['_id']}/"
            assert (await http_call(url, "bob", "PATCH", href, {"text": "mine now"}))[0] == 403
            assert (await http_call(url, "alice", "PATCH", href, {"room": staff}))[0] == 403
            assert (await http_call(url, "alice", "PATCH", href, {"text": "hello!"}))[0] == 202
            updated = await ws_bob.next_change(key_lobby)
            assert (updated["op"], updated["data"]["text"]) == ("update", "hello!")
            assert (await http_call(url, "bob", "DELETE", href))[0] == 403
            assert (await http_call(url, "alice", "DELETE", href))[0] == 204
            left = await ws_bob.next_change(key_lobby)
            assert (left["op"], left["pk"], left["data"]) == ("leave", message["_id"], None)
            await ws_bob.ping()  # anything for bob's private-room query would have come by now
            assert ws_bob.pending_changes(spy) == 0
            assert await ws_bob.unsubscribe_live(key_lobby) == 204
    finally:
        Sanic.unregister_app(app)
