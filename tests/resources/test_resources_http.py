"""The resource contract over real HTTP, on aiohttp and on Sanic alike."""

from __future__ import annotations

from typing import Any

import pytest

from .resources_support import ALLOWED_ORIGIN, Api

BOOK = {"title": "Dune", "rating": 5}


async def add_book(api: Api, **fields: Any) -> dict[str, Any]:
    reply = await api.call("POST", "/api/books/", json={**BOOK, **fields})
    assert reply.status == 201, reply.payload
    payload: dict[str, Any] = reply.payload
    return payload


async def test_every_verb_on_list_and_detail(api: Api) -> None:
    created = await add_book(api)
    assert created == {"title": "Dune", "rating": 5, "id": 1, "_links": {"self": {"href": "/api/books/1/"}}}
    assert api.store.objects[1] == {"title": "Dune", "rating": 5, "id": 1}  # links are not stored

    listed = await api.call("GET", "/api/books/")
    assert listed.status == 200
    assert listed.headers["Content-Type"].startswith("application/json")
    assert listed.payload == {"meta": {"total_count": 1}, "objects": [created]}

    detail = await api.call("GET", "/api/books/1/")
    assert (detail.status, detail.payload) == (200, created)

    put = await api.call("PUT", "/api/books/1/", json={"title": "Emma"})
    assert put.status == 202
    assert put.payload == {"title": "Emma", "id": 1, "_links": {"self": {"href": "/api/books/1/"}}}

    patch = await api.call("PATCH", "/api/books/1/", json={"rating": 2})
    assert (patch.status, patch.payload["title"], patch.payload["rating"]) == (202, "Emma", 2)

    delete = await api.call("DELETE", "/api/books/1/")
    assert (delete.status, delete.payload) == (204, None)
    assert api.store.objects == {}

    gone = await api.call("GET", "/api/books/1/")
    assert (gone.status, gone.payload) == (404, {"error": "Not Found"})


async def test_list_level_writes(api: Api) -> None:
    bulk = await api.call("POST", "/api/books/", json=[{"title": "A"}, {"title": "B"}])
    assert bulk.status == 201
    assert [b["_links"]["self"]["href"] for b in bulk.payload] == ["/api/books/1/", "/api/books/2/"]

    replaced = await api.call("PUT", "/api/books/", json=[{"title": "C"}])
    assert replaced.status == 202
    assert [b["title"] for b in replaced.payload] == ["C"]
    assert [o["title"] for o in api.store.objects.values()] == ["C"]

    cleared = await api.call("DELETE", "/api/books/")
    assert (cleared.status, cleared.payload) == (204, None)
    assert api.store.objects == {}


async def test_query_args_reach_the_resource(api: Api) -> None:
    await add_book(api, title="Dune")
    await add_book(api, title="Emma")
    reply = await api.call("GET", "/api/books/?title=Emma")
    assert [b["title"] for b in reply.payload["objects"]] == ["Emma"]
    joined = await api.call("GET", "/api/books/?title=Dune&title=Emma")
    assert joined.payload["objects"] == []  # repeated args arrive joined: "Dune,Emma"


async def test_head_answers_like_get_without_body(api: Api) -> None:
    await add_book(api)
    reply = await api.call("HEAD", "/api/books/1/")
    assert (reply.status, reply.payload) == (200, None)


async def test_meta_excluded_verb_is_405_with_allow(api: Api) -> None:
    await add_book(api)
    reply = await api.call("POST", "/api/books/1/", json=BOOK)
    assert reply.status == 405
    assert reply.payload == {"error": "Method POST is not allowed on this endpoint"}
    assert reply.headers["Allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"


async def test_unimplemented_verb_is_501(api: Api) -> None:
    reply = await api.call("PATCH", "/api/books/", json={"rating": 1})
    assert reply.status == 501
    assert reply.payload == {"error": "Method PATCH is not implemented on this endpoint"}


async def test_unparsable_json_is_400(api: Api) -> None:
    reply = await api.call("POST", "/api/books/", data=b'{"title": ')
    assert reply.status == 400
    assert reply.payload["error"].startswith("Malformed JSON body")
    assert api.store.objects == {}


async def test_validation_error_is_400_with_every_field_error(api: Api) -> None:
    reply = await api.call("POST", "/api/books/", json={"title": "", "rating": 9})
    assert reply.status == 400
    assert reply.payload["errors"] == [
        {"loc": ["title"], "msg": "a non-empty string", "type": "missing"},
        {"loc": ["rating"], "msg": "between 1 and 5", "type": "range"},
    ]
    assert reply.payload["error"].startswith("2 validation errors")


async def test_plain_value_error_and_bad_pk_are_400(api: Api) -> None:
    put = await api.call("PUT", "/api/books/", json={"title": "not a list"})
    assert put.status == 400
    assert put.payload == {"error": "PUT on the list takes an array of books"}
    bad_pk = await api.call("GET", "/api/books/abc/")
    assert bad_pk.status == 400
    assert "invalid literal" in bad_pk.payload["error"]


async def test_missing_object_is_404(api: Api) -> None:
    reply = await api.call("DELETE", "/api/books/42/")
    assert (reply.status, reply.payload) == (404, {"error": "No book 42"})


async def test_read_only_authentication(api: Api) -> None:
    api.store.add({"title": "Dune"})
    read = await api.call("GET", "/api/notes/")
    assert read.status == 200
    assert read.payload["objects"] == [{"title": "Dune", "id": 1}]  # hypermedia = False
    write = await api.call("POST", "/api/notes/", json=BOOK)
    assert (write.status, write.payload) == (401, {"error": "Unauthorized"})
    assert len(api.store.objects) == 1


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), ("Bearer wrong", 401), ("Basic s3cret", 401), ("Bearer s3cret", 200)],
)
async def test_token_authentication(api: Api, authorization: str | None, status: int) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    reply = await api.call("GET", "/api/secrets/", headers=headers)
    assert reply.status == status
    if status == 200:
        assert reply.payload["objects"][0]["user"] == "alice"
    else:
        assert reply.payload == {"error": "Invalid or missing token"}
        assert reply.headers["WWW-Authenticate"] == "Bearer"


async def test_cors_preflight_and_simple_requests(api: Api) -> None:
    preflight = await api.call(
        "OPTIONS",
        "/api/books/1/",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "Authorization, X-Trace",
        },
    )
    assert (preflight.status, preflight.payload) == (204, None)
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert preflight.headers["Access-Control-Allow-Methods"] == (
        "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    )
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization, X-Trace"
    assert preflight.headers["Access-Control-Max-Age"] == "600"

    stranger = await api.call(
        "OPTIONS", "/api/books/", headers={"Origin": "https://evil.example"}
    )
    assert stranger.status == 204
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert stranger.headers["Allow"] == "GET, HEAD, POST, PUT, DELETE, OPTIONS"

    simple = await api.call("GET", "/api/books/", headers={"Origin": ALLOWED_ORIGIN})
    assert simple.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert simple.headers["Vary"] == "Origin"
    error = await api.call("PATCH", "/api/books/", headers={"Origin": ALLOWED_ORIGIN})
    assert error.status == 501
    assert error.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


async def test_nested_routes(api: Api) -> None:
    await add_book(api)
    posted = await api.call("POST", "/api/books/1/reviews/", json={"text": "great"})
    assert (posted.status, posted.payload) == (201, {"text": "great", "book": 1})
    listed = await api.call("GET", "/api/books/1/reviews/")
    assert (listed.status, listed.payload) == (200, [{"text": "great", "book": 1}])
    excluded = await api.call("DELETE", "/api/books/1/reviews/")
    assert (excluded.status, excluded.headers["Allow"]) == (405, "GET, HEAD, POST, OPTIONS")
    invalid = await api.call("POST", "/api/books/1/reviews/", json={})
    assert invalid.status == 400
    assert invalid.payload["errors"][0]["loc"] == ["text"]
    missing = await api.call("GET", "/api/books/7/reviews/")
    assert missing.status == 404


async def test_internal_errors_are_generic_500s(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    raised = await api.call("GET", "/api/broken/")
    assert (raised.status, raised.payload) == (500, {"error": "Internal Server Error"})
    unencodable = await api.call("GET", "/api/broken/1/")
    assert (unencodable.status, unencodable.payload) == (500, {"error": "Internal Server Error"})
    assert "secret internals" in caplog.text  # logged for the operator, not sent to the client


async def test_dispatch_answers_like_http(api: Api) -> None:
    """The websocket path (Router.dispatch) gives the same status and payload."""
    await add_book(api)
    requests: list[tuple[str, str, dict[str, str], Any]] = [
        ("GET", "/api/books/", {}, None),
        ("GET", "/api/books/?title=Dune", {}, None),
        ("GET", "/api/books/1/", {}, None),
        ("GET", "/api/books/1/reviews/", {}, None),
        ("GET", "/api/books/9/", {}, None),
        ("GET", "/api/books/abc/", {}, None),
        ("POST", "/api/books/1/", {}, BOOK),
        ("PATCH", "/api/books/", {}, {"rating": 1}),
        ("POST", "/api/books/", {}, {"title": "", "rating": 0}),
        ("POST", "/api/notes/", {}, BOOK),
        ("GET", "/api/secrets/", {"Authorization": "Bearer s3cret"}, None),
        ("GET", "/api/secrets/", {}, None),
        ("GET", "/api/broken/", {}, None),
    ]
    for method, path, headers, body in requests:
        http = await api.call(method, path, json=body, headers=headers)
        status, payload = await api.router.dispatch(api.app, method, path, {}, headers, body)
        assert (status, payload) == (http.status, http.payload), (method, path)


async def test_an_unknown_path_under_the_api_is_the_same_json_404_as_over_a_websocket(api: Api) -> None:
    expected = await api.router.dispatch(api.app, "GET", "/api/nowhere/")
    assert expected == (404, {"error": "Not Found"})
    for method, path in (
        ("GET", "/api/nowhere/"),
        ("POST", "/api/nowhere/deeper/"),
        ("GET", "/api/books/1/extra/"),
        ("DELETE", "/api/"),
    ):
        reply = await api.call(method, path)
        assert (reply.status, reply.payload) == expected, (method, path)
        assert reply.headers["Content-Type"].startswith("application/json")
    # the catch-all does not shadow the resources, nor paths outside the API
    assert (await api.call("GET", "/api/books/")).status == 200
    outside = await api.call_raw("GET", "/elsewhere/")
    assert outside[0] == 404 and not outside[1].startswith(b"{")
