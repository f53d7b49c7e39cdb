"""ODM benchmark: tbone vs pydantic v2 vs msgspec vs marshmallow, side by side.

One nested document (a Book with an author and five reviews) goes through four
operations, timed per document in one run:

  (a) from a dict of primitives   (b) export to primitives
  (c) to JSON bytes               (d) from JSON bytes

Run: ``.venv/bin/python bench/odm.py`` (needs the ``bench`` extra). Each figure
is the best of several repeats, in µs per document, with its ratio to pydantic.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as mm
import msgspec
import orjson
import pydantic

from tbone.data import Field, Model

# -- the document ----------------------------------------------------------------

DOC: dict[str, Any] = {
    "title": "War and Peace",
    "isbn": "978-0-19-923276-5",
    "pages": 1225,
    "price": 34.77,
    "published": "1869-01-01T12:30:00+00:00",
    "tags": ["novel", "history", "russia", "classic"],
    "author": {"first_name": "Leo", "last_name": "Tolstoy", "age": 82},
    "reviews": [
        {"user": f"reader{i}", "rating": 1 + i % 5, "text": "A long but rewarding read. " * 3}
        for i in range(5)
    ],
}


# -- tbone -------------------------------------------------------------------------


class TPerson(Model):
    first_name: str
    last_name: str
    age: int | None = Field(default=None, min=0)


class TReview(Model):
    user: str
    rating: int = Field(min=1, max=5)
    text: str = ""


class TBook(Model):
    title: str
    isbn: str | None = None
    pages: int = Field(min=1)
    price: float
    published: datetime
    tags: list[str] = Field(default_factory=list)
    author: TPerson
    reviews: list[TReview] = Field(default_factory=list)


# -- pydantic v2 -------------------------------------------------------------------


class PPerson(pydantic.BaseModel):
    first_name: str
    last_name: str
    age: int | None = pydantic.Field(default=None, ge=0)


class PReview(pydantic.BaseModel):
    user: str
    rating: int = pydantic.Field(ge=1, le=5)
    text: str = ""


class PBook(pydantic.BaseModel):
    title: str
    isbn: str | None = None
    pages: int = pydantic.Field(ge=1)
    price: float
    published: datetime
    tags: list[str] = pydantic.Field(default_factory=list)
    author: PPerson
    reviews: list[PReview] = pydantic.Field(default_factory=list)


# -- msgspec ---------------------------------------------------------------------------


class MPerson(msgspec.Struct):
    first_name: str
    last_name: str
    age: int | None = None


class MReview(msgspec.Struct):
    user: str
    rating: int
    text: str = ""


class MBook(msgspec.Struct):
    title: str
    pages: int
    price: float
    published: datetime
    author: MPerson
    isbn: str | None = None
    tags: list[str] = msgspec.field(default_factory=list)
    reviews: list[MReview] = msgspec.field(default_factory=list)


# -- marshmallow (schemas load to dicts; post_load is not used) ----------------------


class SPerson(mm.Schema):
    first_name = mm.fields.String(required=True)
    last_name = mm.fields.String(required=True)
    age = mm.fields.Integer(allow_none=True, validate=mm.validate.Range(min=0))


class SReview(mm.Schema):
    user = mm.fields.String(required=True)
    rating = mm.fields.Integer(required=True, validate=mm.validate.Range(min=1, max=5))
    text = mm.fields.String()


class SBook(mm.Schema):
    title = mm.fields.String(required=True)
    isbn = mm.fields.String(allow_none=True)
    pages = mm.fields.Integer(required=True, validate=mm.validate.Range(min=1))
    price = mm.fields.Float(required=True)
    published = mm.fields.AwareDateTime(required=True)
    tags = mm.fields.List(mm.fields.String())
    author = mm.fields.Nested(SPerson, required=True)
    reviews = mm.fields.List(mm.fields.Nested(SReview))


def _cases() -> dict[str, dict[str, Callable[[], Any]]]:
    doc = DOC
    raw = orjson.dumps(doc)
    tbook = TBook.from_data(doc)
    pbook = PBook.model_validate(doc)
    mbook = msgspec.convert(doc, MBook)
    schema = SBook()
    loaded = schema.load(doc)
    decode = msgspec.json.Decoder(MBook).decode
    encode = msgspec.json.Encoder().encode
    to_json = TBook.to_json
    return {
        "(a) from dict": {
            "tbone": lambda: TBook.from_data(doc),
            "pydantic": lambda: PBook.model_validate(doc),
            "msgspec": lambda: msgspec.convert(doc, MBook),
            "marshmallow": lambda: schema.load(doc),
        },
        "(b) to primitives": {
            "tbone": lambda: tbook.export_data(native=False),
            "pydantic": lambda: pbook.model_dump(mode="json"),
            "msgspec": lambda: msgspec.to_builtins(mbook),
            "marshmallow": lambda: schema.dump(loaded),
        },
        "(c) to JSON bytes": {
            "tbone": lambda: to_json(tbook),
            "pydantic": lambda: pbook.model_dump_json(),
            "msgspec": lambda: encode(mbook),
            "marshmallow": lambda: schema.dumps(loaded),
        },
        "(d) from JSON bytes": {
            "tbone": lambda: TBook.from_json(raw),
            "pydantic": lambda: PBook.model_validate_json(raw),
            "msgspec": lambda: decode(raw),
            "marshmallow": lambda: schema.loads(raw),
        },
    }


def _check() -> None:
    """The four libraries agree on the document before anything is timed."""
    tbook = TBook.from_data(DOC)
    assert TBook.from_json(tbook.to_json()) == tbook
    assert TBook.from_json(PBook.model_validate(DOC).model_dump_json().encode()) == tbook
    assert msgspec.to_builtins(msgspec.convert(DOC, MBook))["reviews"] == DOC["reviews"]
    assert tbook.export_data(native=False)["reviews"] == DOC["reviews"]


def _best(fn: Callable[[], Any], repeat: int, seconds: float) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * seconds / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.2, help="per repeat, roughly")
    args = parser.parse_args()
    _check()
    libs = ["tbone", "pydantic", "msgspec", "marshmallow"]
    print(f"pydantic {pydantic.VERSION}, msgspec {msgspec.__version__}, orjson {orjson.__version__}")
    print(f"{'µs/doc (ratio to pydantic)':<22}" + "".join(f"{lib:>20}" for lib in libs))
    for case, fns in _cases().items():
        times = {lib: _best(fns[lib], args.repeat, args.seconds) for lib in libs}
        base = times["pydantic"]
        cells = "".join(f"{times[lib]:>11.2f} ({times[lib] / base:4.2f}x)" for lib in libs)
        tb_mm = times["tbone"] / times["marshmallow"]
        print(f"{case:<22}{cells}   tbone/marshmallow {tb_mm:.3f}x")


if __name__ == "__main__":
    main()
