"""The layout's rules that import-linter does not check (docs/architecture.md).

- No import inside a function is used to break a cycle: every function-level
  import in ``src/`` is an optional dependency imported on use, and says so
  ("not a cycle") on its line or the line above.
- Only ``tbone.servers`` (and the test helpers) import a web server, also inside
  functions, where import-linter's contracts see the import too but a reader
  might not.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tbone"


def _function_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    module = inner.module if isinstance(inner, ast.ImportFrom) else inner.names[0].name
                    found.append((inner.lineno, module or ""))
    return found


def test_function_level_imports_are_declared_optional() -> None:
    undeclared = []
    for path in sorted(SRC.rglob("*.py")):
        lines = path.read_text().splitlines()
        for lineno, module in _function_imports(path):
            context = " ".join(lines[max(0, lineno - 2) : lineno])
            if "not a cycle" not in context:
                undeclared.append(f"{path.relative_to(SRC.parent)}:{lineno} imports {module}")
    assert not undeclared, "function-level imports without a reason:\n" + "\n".join(undeclared)


def test_web_servers_are_imported_by_tbone_servers_only() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.parts[0] in ("servers", "testing"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in ("aiohttp", "sanic", "websockets"):
                    offenders.append(f"{relative}: {name}")
    assert not offenders, offenders


def test_the_check_sees_a_function_level_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import json\n    return json\n")
    assert _function_imports(sample) == [(2, "json")]
