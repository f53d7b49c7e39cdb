"""Wrong usage: every line marked `# E:` must be reported by mypy."""

from tbone.data import Model


class Person(Model):
    name: str
    age: int = 0


Person(name=3)  # E: arg-type
Person(name="x", nickname="y")  # E: call-arg
Person()  # E: call-arg
Person(name="x", age="old")  # E: arg-type
person = Person(name="x")
person.age = "old"  # E: assignment
