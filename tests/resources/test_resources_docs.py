"""docs/resources.md's Python blocks run, in order, as one script.

They are executed in a fresh interpreter: the Sanic example registers an app
name process-wide, and each block builds on the ones before it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "resources.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def test_docs_examples_run() -> None:
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) >= 8
    script = "\n\n".join(blocks)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script + "\nprint('docs ok')"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("docs ok")
