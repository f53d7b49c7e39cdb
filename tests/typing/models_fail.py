"""Wrong usage: every line marked `# E: <code>` must be reported by mypy, with
that code, and nothing else may be (checked by tests/data/test_typing.py)."""

from typing import Literal

from bson import ObjectId

from tbone.data import Field, Model, Ref


class Person(Model):
    name: str
    age: int = 0
    size: Literal["S", "M"] = "S"
    code: str = Field(default="", alias="codeName")
    friend: Ref["Person"] | None = None


Person(name=3)  # E: arg-type
Person(name="x", nickname="y")  # E: call-arg
Person()  # E: call-arg
Person(name="x", age="old")  # E: arg-type
Person(name="x", size="XL")  # E: arg-type
Person(name="x", code="c")  # E: call-arg
Person("x")  # E: call-arg
person = Person(name="x")
person.age = "old"  # E: assignment
nick = person.nickname  # E: attr-defined
person.friend = Person(name="y")  # E: assignment
oid: ObjectId = person.name  # E: assignment
Person.from_data({"name": "x"}).age.upper()  # E: attr-defined
