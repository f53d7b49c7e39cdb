from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tbone.dispatch.channels import registry


@pytest.fixture(autouse=True)
async def _close_channels() -> AsyncIterator[None]:
    """Channels are process-wide singletons: close what a test left open."""
    yield
    for channel in registry.registered():
        close = getattr(channel, "close", None)
        if close is not None:
            await close()
