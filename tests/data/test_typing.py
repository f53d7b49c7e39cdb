"""mypy agrees with the ODM: typed usage is clean, wrong usage is reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]
TYPING = ROOT / "tests" / "typing"
MARK = re.compile(r"#\s*E:\s*([a-z-]+)\s*$")
REPORT = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def _mypy(path: Path) -> tuple[list[str], int]:
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "mypy.ini"),
            "--no-incremental",
            "--cache-dir=/dev/null",
            "--show-error-codes",
            "--no-pretty",
            "--no-error-summary",
            str(path),
        ]
    )
    assert not stderr, stderr
    return stdout.splitlines(), status


@pytest.fixture(scope="module")
def fail_report() -> tuple[list[str], int]:
    return _mypy(TYPING / "models_fail.py")


def test_typed_usage_is_clean() -> None:
    lines, status = _mypy(TYPING / "models_ok.py")
    assert lines == [] and status == 0


def test_wrong_usage_reports_exactly_the_marked_lines(fail_report: tuple[list[str], int]) -> None:
    lines, status = fail_report
    source = (TYPING / "models_fail.py").read_text().splitlines()
    expected = {
        (number, match.group(1))
        for number, text in enumerate(source, start=1)
        if (match := MARK.search(text))
    }
    reported = set()
    for line in lines:
        match = REPORT.match(line)
        assert match, f"unexpected mypy output: {line}"
        reported.add((int(match["line"]), match["code"]))
    assert status == 1
    assert len(expected) >= 10
    assert reported == expected
