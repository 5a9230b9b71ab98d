"""Headless Chromium (Debian's package) driven by Playwright's sync API.

`npx playwright install` cannot download browsers here, so we point Playwright at
/usr/bin/chromium. Run this folder in its own pytest process with `-p no:asyncio`.
"""

import os
import shutil

import pytest

from tests.support import services

# Playwright's sync API runs an event loop on the main thread, which trips Django's guard
# against sync ORM calls from async code; the ORM calls in these tests are ordinary sync code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    services.require(
        os.path.exists(CHROMIUM) or shutil.which("chromium") is not None,
        f"Chromium at {CHROMIUM}",
        "install it with `apt-get install chromium` (or set CHROMIUM_PATH)",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(autouse=True)
def live_server_settles(request):
    """After a test that shares the database with the live server, let the server finish first."""
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        from tests.widget.live import wait_for_live_server_to_settle

        wait_for_live_server_to_settle()
