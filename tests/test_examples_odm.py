"""The ODM tour behind ``make demo`` runs and shows what it claims."""

import asyncio

import pytest
from examples.odm_tour import tour


def test_odm_tour_prints_model_export_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(tour())
    out = capsys.readouterr().out
    assert '"published_at":"2026-11-21T09:30:00+00:00"' in out
    assert "'summary': 'Full-duplex REST on asyncio, typed end t'" in out
    assert "'views'" not in out.split("serialized:")[1].split("errors:")[0]
    assert "author.email   email" in out
    assert "rating         too_large" in out
