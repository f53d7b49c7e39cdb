"""Lazy annotation resolution: forward references and recursive models."""

from __future__ import annotations

from typing import Annotated

import pytest

from tbone.data import ConfigurationError, Model, ModelMeta, Ref
from tbone.data.fields import DBRefField, ListField, ModelField

from . import forward_models as fm
from .helpers import locs


def test_forward_references_resolve_on_first_use() -> None:
    library = fm.Library.from_data(
        {"name": "Central", "shelves": [{"label": "A", "books": {"x": "1"}}], "head": {"name": "Ann"}}
    )
    assert library.shelves == [fm.Shelf(label="A", books={"x": 1})]
    assert library.head == fm.Librarian(name="Ann")
    assert isinstance(fm.Library.shelves, ListField)
    assert isinstance(fm.Library.head, ModelField) and fm.Library.head.model is fm.Librarian


def test_recursive_model() -> None:
    tree = fm.Node.from_data(
        {"name": "root", "children": [{"name": "a", "children": [{"name": "a1"}]}, {"name": "b"}]}
    )
    assert tree.children[0].children[0].name == "a1"
    assert tree.export_data(native=False)["children"][0]["children"][0]["name"] == "a1"
    assert fm.Node.from_data(tree.export_data()) == tree
    assert locs(fm.Node, {"name": "r", "children": [{"name": "a", "children": [{}]}]}) == [
        ("children", 0, "children", 0, "name")
    ]


def test_self_reference() -> None:
    field = fm.Librarian.mentor
    assert isinstance(field, DBRefField) and field.model is fm.Librarian
    boss = fm.Librarian(_id=1, name="Boss")
    assert fm.Librarian(name="x", mentor=boss).mentor == Ref("librarian", 1, None, fm.Librarian)  # type: ignore[arg-type]


def test_unresolvable_name_is_a_configuration_error_at_first_use() -> None:
    class Broken(Model):
        thing: Missing  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigurationError, match="cannot resolve"):
        Broken.from_data({})


def test_unsupported_annotations_are_configuration_errors() -> None:
    from typing import Any

    class AnyField(Model):
        thing: Any

    class UnionField(Model):
        thing: int | str

    class IntKeys(Model):
        thing: dict[int, str]

    for model in (AnyField, UnionField, IntKeys):
        with pytest.raises(ConfigurationError):
            model.from_data({})
    assert issubclass(ConfigurationError, TypeError)


# -- models defined in a function (this module has ``from __future__ import annotations``) --


def test_a_model_in_a_function_sees_the_function_s_local_names() -> None:
    from decimal import Decimal as Money  # a name imported inside the function

    from tbone.data.fields import IntegerField, validator

    class Even(IntegerField):
        @validator
        def even(self, value: int) -> int:
            if value % 2:
                raise ValueError("odd")
            return value

    class Part(Model):
        name: str

    class Machine(Model):
        parts: list[Part]
        count: Annotated[int, Even()] = 0
        price: Money = Money(0)
        spare: Machine | None = None  # itself

    class Bigger(Machine):  # a local subclass resolves its own annotations with its own names
        extra: Part | None = None

    machine = Machine.from_data(
        {"parts": [{"name": "gear"}], "count": 2, "price": "1.5", "spare": {"parts": []}}
    )
    assert machine.parts == [Part(name="gear")] and machine.price == Money("1.5")
    assert machine.spare == Machine(parts=[])
    assert locs(Machine, {"parts": [], "count": 3}) == [("count",)]
    assert Bigger.from_data({"parts": [], "extra": {"name": "x"}}).extra == Part(name="x")


Shadowed = int


def test_local_names_shadow_module_names_as_python_scoping_does() -> None:
    Shadowed = str

    class Local(Model):
        value: Shadowed

    assert Local._meta.localns is not None and Local._meta.localns["Shadowed"] is str
    assert Shadowed is str and Local.from_data({"value": "x"}).value == "x"
    assert Local._meta.localns is None  # resolved: the snapshot is let go


def test_local_names_are_kept_only_where_needed() -> None:
    # module level: the module's globals serve; annotations that are no strings: nothing to resolve
    assert fm.Library._meta.localns is None
    Plain = ModelMeta("Plain", (Model,), {"__annotations__": {"n": int}, "__module__": __name__})
    assert Plain._meta.localns is None and Plain.from_data({"n": "1"}).n == 1  # type: ignore[attr-defined]
