"""The ```python blocks of docs/dispatch.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "dispatch.md"


def blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", DOC.read_text(), flags=re.DOTALL | re.MULTILINE)


def test_doc_has_examples() -> None:
    assert len(blocks()) >= 3


@pytest.mark.parametrize("index", range(len(blocks())))
def test_doc_block_runs(index: int) -> None:
    code = blocks()[index]
    exec(compile(code, f"{DOC}:block{index}", "exec"), {"__name__": f"docs_dispatch_{index}"})
