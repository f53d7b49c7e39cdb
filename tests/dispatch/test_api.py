"""Public API: complete, sorted ``__all__``; no web server imported by the core."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = [
    "tbone.dispatch",
    "tbone.dispatch.carriers",
    "tbone.dispatch.channels",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for item in exported:
        assert hasattr(module, item), item
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, type(sys)) and n not in {"annotations"}
    }
    assert public <= set(exported)


def test_core_imports_no_web_server() -> None:
    code = (
        "import sys, tbone.dispatch, tbone.dispatch.carriers, tbone.dispatch.channels;"
        "import tbone.dispatch.multiplexer;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'sanic'));"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_carriers_import_only_their_own_server() -> None:
    code = "import sys, tbone.dispatch.carriers.aiohttp_websocket;print('sanic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
