"""Every persistence test runs on both drivers: pymongo's asyncio API and motor."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["pymongo", "motor"])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)
