"""The movie model: what the list filters, sorts and pages over."""

from __future__ import annotations

from bson import ObjectId

from tbone.data import Field, Model
from tbone.db.models import MongoCollectionMixin

GENRES = ("drama", "comedy", "scifi", "crime", "animation", "thriller")


class Movie(Model, MongoCollectionMixin):
    _id: ObjectId | None = Field(default=None, primary_key=True, readonly=True)
    title: str = Field(min_length=1)
    genre: str = Field(choices=GENRES)
    year: int = Field(min=1888, max=2100)
    rating: float = Field(min=0, max=10)
    director: str = ""

    class Meta:
        name = "movies"
        indices = [
            {"fields": ["title", "year"], "unique": True},
            {"fields": ["genre", "-rating"]},
        ]
