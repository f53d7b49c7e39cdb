"""mypy agrees with the resources: the typed usage in tests/typing/resources_ok.py is clean,
and a wrong use of a typed resource is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]


def _mypy(*args: str) -> tuple[str, int]:
    stdout, stderr, status = mypy_api.run(
        ["--config-file", str(ROOT / "mypy.ini"), "--no-incremental", "--cache-dir=/dev/null", *args]
    )
    assert not stderr, stderr
    return stdout, status


def test_typed_resources_are_clean() -> None:
    stdout, status = _mypy(str(ROOT / "tests" / "typing" / "resources_ok.py"))
    assert status == 0, stdout


def test_the_model_type_reaches_user_code() -> None:
    wrong = (ROOT / "tests" / "typing" / "resources_ok.py").read_text().replace(
        "assert_type(book.title, str)", "assert_type(book.title, int)"
    )
    stdout, status = _mypy("-c", wrong)
    assert status == 1
    assert "assert-type" in stdout


def test_a_model_without_the_mixin_is_a_type_error() -> None:
    # MongoResource[M] is bounded by MongoModel: Model plus MongoCollectionMixin
    wrong = (ROOT / "tests" / "typing" / "resources_ok.py").read_text().replace(
        "class Book(Model, MongoCollectionMixin):", "class Book(Model):"
    )
    stdout, status = _mypy("-c", wrong)
    assert status == 1
    assert 'Type argument "Book" of "MongoResource" must be a subtype of "MongoModel"' in stdout
