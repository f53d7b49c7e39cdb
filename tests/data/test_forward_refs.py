"""Lazy annotation resolution: forward references and recursive models."""

from __future__ import annotations

import pytest

from tbone.data import ConfigurationError, Model, Ref
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
