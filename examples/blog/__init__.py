"""The blog example: posts and their comments over aiohttp (``create_app(db)``)."""

from examples.blog.app import create_app, seed
from examples.blog.models import Comment, Post

__all__ = ["Comment", "Post", "create_app", "seed"]
