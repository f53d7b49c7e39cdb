"""Typed resources that must pass mypy --strict (checked by tests/resources/test_typing_resources.py).

``MongoResource[M]`` carries the model type into what the resource hands to
user code: ``get_object``, ``build``, ``model()``; verb methods keep their
signatures when overridden; ``Router.register`` takes resource classes.
"""

from typing import Any, assert_type

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin
from tbone.resources import Router
from tbone.resources.aiohttp import AioHttpResource
from tbone.resources.mongo import MongoResource
from tbone.resources.sanic import SanicResource


class Book(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True)
    title: str
    rating: int = 3


class BookResource(AioHttpResource, MongoResource[Book]):
    class Meta:
        object_class = Book
        incoming_detail = ["get", "put", "patch", "delete"]

    async def detail(self, pk: Any) -> dict[str, Any]:
        book = await self.get_object(pk)
        assert_type(book, Book)
        assert_type(book.title, str)
        return await self.serialize(book)

    async def create(self) -> Any:
        book = self.build(self.data)
        assert_type(book, Book)
        book.rating += 1
        await book.insert(self.get_db())
        return await self.serialize(book)


class SanicBookResource(SanicResource, MongoResource[Book]):
    class Meta:
        object_class = Book


class InferredBookResource(MongoResource[Book]):
    """No ``Meta.object_class``: it is inferred from ``MongoResource[Book]``."""

    async def update(self, pk: Any) -> dict[str, Any]:
        book = await self.get_object(pk)
        assert_type(book, Book)
        found = await self.model().find_one(self.get_db(), {"title": book.title})
        assert_type(found, Book | None)
        return await self.serialize(book)


assert_type(BookResource.model(), type[Book])
assert_type(SanicBookResource.model(), type[Book])
assert_type(InferredBookResource.model(), type[Book])

router = Router(name="api")
router.register(BookResource, "books")
router.register(SanicBookResource, "sanic-books")
for route in router.urls():
    assert_type(route.path, str)
