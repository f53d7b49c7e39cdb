"""The chatrooms example in headless Chromium: a message posted in one page
appears in another without a reload.

Needs Debian's ``chromium`` (``make test`` installs it when running as root)
and Playwright for Python, which drives that binary: no browser is downloaded.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from examples.chatrooms import create_app, seed

from tbone.testing.servers import run_sanic

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(os.environ.get("TBONE_SCREENSHOT_DIR", tempfile.gettempdir())) / "chatrooms.png"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Outside CI a missing browser skips, saying why; in CI (CI=true, where
# `make test` installs it as root) it must be there, so the test runs and fails.
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing (apt-get install chromium)",
)


async def test_a_message_posted_in_one_page_appears_in_the_other(db: Any) -> None:
    from playwright.async_api import async_playwright, expect

    await seed(db)
    app = create_app(db)
    with tempfile.TemporaryDirectory(prefix="tbone-chromium-") as profile:
        async with run_sanic(app) as url, async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                headless=True,
                args=ARGS,
                viewport={"width": 1000, "height": 640},
            )
            try:
                alice, bob = await context.new_page(), await context.new_page()
                for page, name in ((alice, "alice"), (bob, "bob")):
                    await page.goto(url + "/")
                    await page.fill("#name", name)
                    await page.dispatch_event("#name", "change")
                    await expect(page.locator("#status")).to_have_text("live")
                    await expect(page.locator("#rooms li")).to_have_count(3)
                    await expect(page.locator("#room-name")).to_have_text("# lobby")

                await alice.fill("#text", "Hello Bob, this is live!")
                await alice.click("#send button")
                await expect(bob.locator(".message .text")).to_have_text(["Hello Bob, this is live!"])
                await expect(alice.locator(".message.mine .text")).to_have_text(["Hello Bob, this is live!"])

                await bob.fill("#text", "Hi Alice!")
                await bob.press("#text", "Enter")
                await expect(alice.locator(".message .text")).to_have_text(
                    ["Hello Bob, this is live!", "Hi Alice!"]
                )
                # a message in another room does not show in the lobby
                await bob.click("#rooms li[data-room=python]")
                await expect(bob.locator("#room-name")).to_have_text("# python")
                await bob.fill("#text", "Only for pythonistas")
                await bob.press("#text", "Enter")
                await expect(bob.locator(".message .text")).to_have_text(["Only for pythonistas"])
                await expect(alice.locator(".message")).to_have_count(2)
                await alice.screenshot(path=str(SCREENSHOT))
            finally:
                await context.close()
