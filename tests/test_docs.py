"""Every ```python block of docs/*.md and README.md runs, so the docs cannot drift.

Each file's blocks run in order, as one script, in a fresh interpreter with
warnings as errors (a page's blocks build on each other, and Sanic app names
are process-wide). Pages with a test of their own next to their package's
tests are listed in ``TESTED_ELSEWHERE``; the last test checks that no page
with Python blocks is left out.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTED_ELSEWHERE = {
    "docs/resources.md": "tests/resources/test_resources_docs.py",
    "docs/dispatch.md": "tests/dispatch/test_docs.py",
}


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.DOTALL | re.MULTILINE)


def pages() -> list[str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [str(p.relative_to(ROOT)) for p in paths if python_blocks(p)]


@pytest.mark.parametrize("page", [p for p in pages() if p not in TESTED_ELSEWHERE])
def test_python_blocks_run(page: str) -> None:
    script = "\n\n".join(python_blocks(ROOT / page))
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script + "\nprint('docs ok')"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"{page}:\n{done.stderr}"
    assert done.stdout.strip().endswith("docs ok")


def test_every_page_with_python_is_executed() -> None:
    for page, test in TESTED_ELSEWHERE.items():
        assert (ROOT / test).exists(), f"{page} is said to be tested by {test}, which is missing"
    assert {"README.md", "docs/websocket.md", "docs/testing.md"} <= set(pages())
