"""Generated code is debuggable: named files in linecache, field-named variables,
``source()``; and nested builders reach the fields from the compiler."""

from __future__ import annotations

import inspect
import linecache
import traceback
from datetime import datetime
from typing import Annotated, Any

import pytest

from tbone.data import Field, Model, ModelMeta, ValidationError
from tbone.data.compiler import Kind, compile_builder, from_other, source
from tbone.data.fields import IntegerField, validator
from tbone.data.fields.base import NESTED_BUILDERS

HERE = __name__  # "tests.data.test_compiler"


class Author(Model):
    name: str


class Book(Model):
    title: str
    pages: int = 0
    published: datetime | None = None
    authors: list[Author] = Field(default_factory=list)


def _filename(function: Any) -> str:
    return str(function.__code__.co_filename)


def _formatted(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def test_source_of_each_kind_names_the_fields() -> None:
    build = source(Book, "build")
    assert build.startswith("def build(data):\n")
    for name in ("title", "pages", "published", "authors"):
        assert f"v_{name} = data[" in build or f"v_{name} = data.get(" in build
    assert source(Book) == build
    assert source(Book, "adopt").startswith("def adopt(data):\n")
    assert "raw_title = v_title" in source(Book, "adopt")
    exports: tuple[Kind, ...] = ("export_native", "export_primitive", "serialize")
    for kind in exports:
        text = source(Book, kind)
        assert text.startswith(f"def {kind}(self):\n")
        assert "v_authors = d['authors']" in text
    with pytest.raises(ValueError, match="unknown kind"):
        source(Book, "nope")  # type: ignore[arg-type]


def test_generated_functions_are_registered_under_the_models_name() -> None:
    Book.from_data({"title": "War and Peace"})
    build = Book._tbone_from_data
    assert _filename(build) == f"<tbone build {HERE}.Book>"
    assert inspect.getsource(build) == source(Book, "build")
    assert "".join(linecache.getlines(_filename(build))) == source(Book, "build")
    Book(title="x").export_data(native=False)
    export = Book._tbone_export_primitive
    assert _filename(export) == f"<tbone export_primitive {HERE}.Book>"
    assert inspect.getsource(export) == source(Book, "export_primitive")


def test_a_rebuilt_model_gets_a_file_of_its_own() -> None:
    first = compile_builder(Author, by_alias=True, other=from_other)
    second = compile_builder(Author, by_alias=True, other=from_other)
    assert _filename(first) != _filename(second)
    for function in (first, second):
        assert _filename(function).startswith(f"<tbone build {HERE}.Author")
        assert inspect.getsource(function).startswith("def build(data):")
    assert second({"name": "Ann"}) == Author(name="Ann")


def test_a_failure_inside_a_builder_shows_the_model_and_the_generated_line() -> None:
    def no_tags() -> list[str]:
        raise RuntimeError("the factory broke")

    class Broken(Model):
        title: str
        tags: list[str] = Field(default_factory=no_tags)

    with pytest.raises(RuntimeError) as info:
        Broken.from_data({"title": "x"})
    text = _formatted(info.value)
    qualname = (
        f"{HERE}.test_a_failure_inside_a_builder_shows_the_model_and_the_generated_line.<locals>.Broken"
    )
    assert f'File "<tbone build {qualname}>", line ' in text
    assert "in build\n" in text
    assert "v_tags = factory_tags()" in text


class Odd(IntegerField):
    @validator
    def even(self, value: int) -> int:
        if value % 2:
            raise ValueError("odd")
        return value


class Counter(Model):
    count: Annotated[int, Odd()] = 0


def test_a_validation_error_points_at_the_generated_raise() -> None:
    with pytest.raises(ValidationError) as info:
        Counter(count=3)
    assert info.value.errors == [{"loc": ("count",), "msg": "odd", "type": "value_error"}]
    text = _formatted(info.value)
    assert f'File "<tbone build {HERE}.Counter>"' in text
    assert "raise ValidationError(errors, 'Counter')" in text


def test_a_failure_inside_an_exporter_shows_the_generated_line() -> None:
    book = Book(title="x")
    book.published = "not a datetime"  # type: ignore[assignment]  # assignment is not validated
    with pytest.raises(AttributeError) as info:
        book.export_data(native=False)
    text = _formatted(info.value)
    assert f'File "<tbone export_primitive {HERE}.Book' in text
    assert "v_published.isoformat()" in text


def test_nested_builders_come_from_the_compiler() -> None:
    # in the compiled builder, a nested model's own compiled builder is called directly
    assert "_b" in source(Book, "build").split("for _i0 in v_authors")[0].rsplit("v_authors = ", 1)[1]
    # written without the compiler, the code calls the class attribute (lazy on first use)
    field = Book._meta.fields["authors"]
    ns: dict[str, Any] = {}
    expr = field.coerce_expr("x", ns)
    assert "._tbone_from_data(" in expr and NESTED_BUILDERS not in ns
    code = compile(f"def coerce(x):\n    return {expr}\n", "<test>", "exec")
    exec(code, ns)
    assert ns["coerce"]([{"name": "Ann"}]) == [Author(name="Ann")]


def test_names_that_are_no_identifiers_get_numbered_variables() -> None:
    # a model made with type() may have any string as a field name
    annotations = {"my-field": str, "\ufb01x": int, "ok": int}  # "\ufb01" is NFKC "fi"
    Odd = ModelMeta("Odd", (Model,), {"__annotations__": annotations, "__module__": HERE})
    data = {"my-field": "a", "\ufb01x": 3, "ok": 1}
    odd = Odd.from_data(data)
    assert odd.export_data() == odd.export_data(native=False) == data
    assert Odd._tbone_adopt(dict(data)) == odd
    assert "v_0 = data['my-field']" in source(Odd) and "v_1 = data['\ufb01x']" in source(Odd)
    assert "v_ok = data['ok']" in source(Odd)
