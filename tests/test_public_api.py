"""Each subpackage's ``__all__`` is sorted and complete, as httpx checks its own.

"Complete" means every public name the package's ``__init__`` defines, or
imports from inside the package (``if TYPE_CHECKING:`` imports of lazily
loaded names included), is listed. "Sorted" is the isort-style order ruff's
RUF022 enforces: CONSTANTS, then Classes, then functions, each naturally.
Every package under ``tbone`` is checked: PACKAGES is discovered, not listed.
The SPEC's import paths, kept as re-exports where code moved, are checked too,
and no two public classes of tbone share a name.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re

import pytest

import tbone


def _packages() -> list[str]:
    found = ["tbone"]
    for info in pkgutil.walk_packages(tbone.__path__, "tbone."):
        if info.ispkg:
            found.append(info.name)
    return sorted(found)


PACKAGES = _packages()

#: Import paths the SPEC names, with a name each must provide.
SPEC_PATHS = {
    "tbone.data": "Model",
    "tbone.data.fields": "IntegerField",
    "tbone.db": "connect",
    "tbone.db.models": "MongoCollectionMixin",
    "tbone.dispatch": "Signal",
    "tbone.dispatch.carriers.aiohttp_websocket": "AioHttpWebSocketCarrier",
    "tbone.dispatch.carriers.sanic_websocket": "SanicWebSocketCarrier",
    "tbone.dispatch.channels.mem": "MemoryChannel",
    "tbone.dispatch.channels.mongo": "MongoChannel",
    "tbone.resources": "Router",
    "tbone.resources.mongo": "MongoResource",
    "tbone.resources.aiohttp": "AioHttpResource",
    "tbone.resources.sanic": "SanicResource",
}


def test_every_subpackage_is_checked() -> None:
    for expected in ("tbone.db", "tbone.resources", "tbone.resources.mongo", "tbone.servers.sanic"):
        assert expected in PACKAGES


@pytest.mark.parametrize(("path", "name"), sorted(SPEC_PATHS.items()))
def test_spec_paths_import(path: str, name: str) -> None:
    module = importlib.import_module(path)
    assert name in module.__all__
    assert getattr(module, name) is not None


def test_spec_re_exports_are_the_servers_objects() -> None:
    aiohttp_shim = importlib.import_module("tbone.resources.aiohttp")
    aiohttp_home = importlib.import_module("tbone.servers.aiohttp")
    carrier_shim = importlib.import_module("tbone.dispatch.carriers.sanic_websocket")
    sanic_home = importlib.import_module("tbone.servers.sanic")
    assert aiohttp_shim.AioHttpResource is aiohttp_home.AioHttpResource
    assert aiohttp_shim.mount_websocket is aiohttp_home.mount_websocket
    assert carrier_shim.SanicWebSocketCarrier is sanic_home.SanicWebSocketCarrier


def test_no_two_public_classes_share_a_name() -> None:
    seen: dict[str, str] = {}
    for name in PACKAGES:
        module = importlib.import_module(name)
        for public in module.__all__:
            obj = getattr(module, public)
            if not inspect.isclass(obj):
                continue
            where = f"{obj.__module__}.{obj.__qualname__}"
            first = seen.setdefault(public, where)
            assert first == where, f"two public classes named {public}: {where}, {first}"


def isort_key(name: str) -> tuple[int, list[int | str]]:
    if name.isupper():
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return kind, natural


def public_names(source: str, package: str) -> set[str]:
    """Names bound at the top level of a module (``if`` blocks included) that are
    public: its own definitions and imports from inside ``package``."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.ImportFrom):
                inside = node.level > 0 or (node.module or "").startswith(package.split(".")[0] + ".")
                if inside:
                    names.update(alias.asname or alias.name for alias in node.names)

    visit(ast.parse(source).body)
    return {n for n in names if not n.startswith("_")}


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_unique(name: str) -> None:
    exported = list(importlib.import_module(name).__all__)
    assert exported == sorted(exported, key=isort_key), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_complete_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = set(module.__all__)
    missing = public_names(inspect.getsource(module), name) - exported
    assert not missing, f"{name}: public names missing from __all__: {sorted(missing)}"
    unresolvable = {n for n in exported if not hasattr(module, n)}
    assert not unresolvable, f"{name}.__all__ lists undefined names: {sorted(unresolvable)}"


def test_the_checks_notice_mistakes() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from tbone.x.impl import Listed, Unlisted\n"
        "from os import path\n"
        "if TYPE_CHECKING:\n"
        "    from tbone.x.lazy import Lazy\n"
        "LIMIT = 3\n"
        "def helper(): ...\n"
        "_private = 1\n"
    )
    assert public_names(source, "tbone.x") == {"Listed", "Unlisted", "Lazy", "LIMIT", "helper"}
    assert sorted(["helper", "Model", "URL", "Field2", "Field10"], key=isort_key) == [
        "URL",
        "Field2",
        "Field10",
        "Model",
        "helper",
    ]
