"""Every ```python block of docs/*.md and README.md runs, so the docs cannot drift.

Each file's blocks run in order, as one script, in a fresh interpreter with
warnings as errors (a page's blocks build on each other, and Sanic app names
are process-wide). The last test checks that the pages which document an
API keep runnable examples, so a page cannot silently drop out of this test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MUST_HAVE_EXAMPLES = {
    "README.md",
    "docs/data.md",
    "docs/dispatch.md",
    "docs/persistency.md",
    "docs/resources.md",
    "docs/testing.md",
    "docs/websocket.md",
}


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.DOTALL | re.MULTILINE)


def pages() -> list[str]:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [str(p.relative_to(ROOT)) for p in paths if python_blocks(p)]


@pytest.mark.parametrize("page", pages())
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


def test_api_pages_keep_runnable_examples() -> None:
    missing = MUST_HAVE_EXAMPLES - set(pages())
    assert not missing, f"pages without ```python examples: {sorted(missing)}"
