"""The public surface of tbone.db and what it may import."""

from __future__ import annotations

import subprocess
import sys
import types

import tbone.db
from tbone.db import bsonmap, collections, connection, errors, models


def _ruff_order(names: list[str]) -> list[str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions."""
    return sorted(names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n))


def _public(module: types.ModuleType) -> set[str]:
    return set(getattr(module, "__all__", ()))


def test_all_is_sorted_and_complete() -> None:
    assert tbone.db.__all__ == _ruff_order(tbone.db.__all__)
    for name in tbone.db.__all__:
        assert hasattr(tbone.db, name), name
    exported = set(tbone.db.__all__)
    expected = _public(errors) | _public(models) | _public(connection) | {"create_collection"}
    assert expected <= exported


def test_every_module_lists_what_it_defines() -> None:
    for module in (bsonmap, collections, connection, errors, models):
        assert module.__all__ == _ruff_order(module.__all__), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_db_imports_no_web_server_and_no_resources() -> None:
    code = (
        "import sys, tbone.db, tbone.db.models; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'sanic') "
        "or m.startswith('tbone.resources')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
