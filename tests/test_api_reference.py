"""docs/api.md is the rendered list of every public name: it cannot drift.

Regenerate it after changing a public API or a docstring's first paragraph:
``.venv/bin/python -m tests.test_api_reference``.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
MODULES = [
    "tbone.data",
    "tbone.data.fields",
    "tbone.db",
    "tbone.db.models",
    "tbone.dispatch",
    "tbone.dispatch.channels",
    "tbone.dispatch.channels.mem",
    "tbone.dispatch.channels.mongo",
    "tbone.dispatch.carriers",
    "tbone.dispatch.carriers.aiohttp_websocket",
    "tbone.dispatch.carriers.sanic_websocket",
    "tbone.dispatch.multiplexer",
    "tbone.resources",
    "tbone.resources.mongo",
    "tbone.resources.aiohttp",
    "tbone.resources.sanic",
    "tbone.servers.aiohttp",
    "tbone.servers.sanic",
    "tbone.testing",
    "tbone.testing.servers",
]
HEADER = """# API reference

Every public name, by the module users import it from (each module's `__all__`).
The first paragraph of each docstring says what it is for; the guides linked from
[index.md](index.md) show them in use. Generated: `tests/test_api_reference.py`
fails when this page and the code disagree, and regenerates it with
`.venv/bin/python -m tests.test_api_reference`.
"""


def _first_paragraph(doc: str | None) -> str:
    text = inspect.cleandoc(doc) if doc else ""
    return text.split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def describe(obj: object) -> str:
    if typing.get_origin(obj) is typing.Annotated:
        base, marker, *_ = typing.get_args(obj)
        alias = f"Annotated[{base.__name__}, {type(marker).__name__}()]"
        return f"type alias: `{alias}` (mypy sees `{base.__name__}`)"
    if inspect.isclass(obj):
        line = _first_paragraph(obj.__dict__.get("__doc__"))  # its own, not inherited
        return "class: " + (line or "subclass of " + ", ".join(f"`{b.__name__}`" for b in obj.__bases__))
    if inspect.isfunction(obj):
        return "function: " + (_first_paragraph(obj.__doc__) or obj.__name__)
    literal = isinstance(obj, str | int | float | dict | tuple) and " at 0x" not in repr(obj)
    return f"value: `{type(obj).__name__}`" + (f" `{obj!r}`" if literal else "")


def render() -> str:
    out = [HEADER]
    for name in MODULES:
        module = importlib.import_module(name)
        out += [f"## `{name}`", ""]
        summary = _first_paragraph(module.__doc__)
        if summary:
            out += [summary, ""]
        out += ["| name | what it is |", "| --- | --- |"]
        out += [f"| `{public}` | {describe(getattr(module, public))} |" for public in module.__all__]
        out.append("")
    return "\n".join(out)


def test_api_reference_is_current() -> None:
    stale = "docs/api.md is stale: run .venv/bin/python -m tests.test_api_reference"
    assert DOC.read_text() == render(), stale


def test_every_public_name_is_listed() -> None:
    text = DOC.read_text()
    for name in MODULES:
        for public in importlib.import_module(name).__all__:
            assert f"| `{public}` |" in text, f"{name}.{public} is missing from docs/api.md"


if __name__ == "__main__":
    DOC.write_text(render())
    print(f"wrote {DOC}")
