"""The blog API on aiohttp: ``/api/posts/``, ``/api/posts/{pk}/comments/``, ``/api/comments/``.

``create_app(db)`` builds the app around a database; ``seed(db)`` loads a few
posts. Events (``resource_create``...) go to the in-process ``pubsub``
channel, ready for a websocket multiplexer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from examples.blog.models import Comment, Post
from tbone.db import create_collection
from tbone.dispatch.channels.mem import MemoryChannel
from tbone.resources import Route, Router
from tbone.resources.aiohttp import DB_KEY, AioHttpResource, mount
from tbone.resources.mongo import MongoResource

__all__ = ["CommentResource", "PostResource", "create_app", "router", "seed"]


class PostResource(AioHttpResource, MongoResource[Post]):
    class Meta:
        object_class = Post
        query = {"published": True}
        sort = [("created", -1)]
        incoming_detail = ["get", "put", "patch", "delete"]
        channel_class = MemoryChannel

    @classmethod
    def nested_routes(cls, base_url: str) -> list[Route]:
        path = f"{base_url}{cls.route_param('pk')}/comments/"
        return [cls.route(path, "comments", name="comments", base_url=base_url, verbs=("get", "post"))]

    def prepare_payload(self, verb: str, result: Any) -> Any:
        if self.endpoint != "comments":
            return super().prepare_payload(verb, result)
        # comments link to their own endpoint, not to /api/posts/<id>/
        objects = result.get("objects", [result])
        for comment in objects:
            comment["_links"] = {"self": {"href": f"/api/comments/{comment['_id']}/"}}
        return result

    async def get_comments(self, pk: Any) -> dict[str, Any]:
        post = await self.get_object(pk)
        db = self.get_db()
        comments = await Comment.find(Comment.get_cursor(db, {"post": post.pk}, sort=[("created", 1)]))
        return {"meta": {"total_count": len(comments)}, "objects": [await c.serialize() for c in comments]}

    async def post_comments(self, pk: Any) -> dict[str, Any]:
        post = await self.get_object(pk)
        data = {**self.writable(self.data), "post": post.pk}
        comment = Comment.from_data({k: v for k, v in data.items() if k != "created"})
        await comment.insert(self.get_db())
        return await comment.serialize()


class CommentResource(AioHttpResource, MongoResource[Comment]):
    class Meta:
        object_class = Comment
        incoming_list = ["get"]
        incoming_detail = ["get", "delete"]
        channel_class = MemoryChannel


router = Router(name="api")
router.register(PostResource, "posts")
router.register(CommentResource, "comments")

POSTS: list[dict[str, Any]] = [
    {
        "title": "Hello, TBone",
        "slug": "hello-tbone",
        "body": "One resource answers HTTP and websocket requests alike.",
        "tags": ["intro"],
    },
    {
        "title": "Filters, sorting and paging",
        "slug": "filters",
        "body": "Try /api/posts/?tags=howto&order_by=title&limit=5",
        "tags": ["howto"],
    },
    {
        "title": "Events",
        "slug": "events",
        "body": "Every write publishes resource_create, resource_update or resource_delete.",
        "tags": ["howto", "events"],
    },
    {"title": "A draft", "slug": "draft", "published": False},
]


async def seed(db: Any) -> list[Post]:
    """Create the collections and load the example posts (once: known slugs are kept)."""
    await create_collection(db, Post)
    await create_collection(db, Comment)
    posts = []
    for data in POSTS:
        post = await Post.find_one(db, {"slug": data["slug"]})
        if post is None:
            post = Post.from_data(data)
            await post.insert(db)
        posts.append(post)
    first = posts[0]
    if await Comment.count(db, {"post": first.pk}) == 0:
        await Comment(post=first.pk, author="ada", text="Neat!").insert(db)
    return posts


def create_app(db: Any) -> web.Application:
    """The blog API around ``db`` (an async pymongo or motor database)."""
    app = web.Application()
    app[DB_KEY] = db
    mount(app, router)
    return app
