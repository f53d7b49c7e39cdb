"""tbone.data is a DAG (the import-linter contract checks the order): no import
hides inside a function, and the lower layers recognise models by a marker."""

from __future__ import annotations

import ast
from pathlib import Path

import tbone.data
from tbone.data import Model
from tbone.data.protocols import is_model

PACKAGE = Path(tbone.data.__file__).parent


def test_no_module_of_tbone_data_imports_inside_a_function() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [
                    f"{path.relative_to(PACKAGE)}:{inner.lineno}"
                    for inner in ast.walk(node)
                    if isinstance(inner, ast.Import | ast.ImportFrom)
                ]
    assert found == []


class Plain:
    clean = Model.clean


class Person(Model):
    name: str


class Checked(Model):
    def clean(self) -> None:
        pass


class Inherits(Checked):
    pass


class Mixin:
    def clean(self) -> None:
        pass


class Mixed(Mixin, Model):
    pass


def test_models_are_recognised_by_their_marker() -> None:
    assert not is_model(Person(name="x"))
    assert not is_model(Plain)
    assert not is_model(int)
    assert not is_model(list[Person])
    assert all(is_model(cls) for cls in (Model, Person, Inherits))


def test_meta_says_whether_builders_run_clean() -> None:
    assert not Model._meta.overrides_clean
    assert not Person._meta.overrides_clean
    assert Checked._meta.overrides_clean and Inherits._meta.overrides_clean
    assert Mixed._meta.overrides_clean
