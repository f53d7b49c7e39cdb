"""The movies example: a Sanic API with filters, sorting and paging (``create_app(db)``)."""

from examples.movies.app import MOVIES, create_app, seed
from examples.movies.models import Movie

__all__ = ["MOVIES", "Movie", "create_app", "seed"]
