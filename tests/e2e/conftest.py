"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (never `playwright install`), headless,
against the running test stack (services, job worker, gateway). Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gateway"))

from gateway_helpers import make_admin, make_lab_user  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.exit("Chromium is missing: apt-get install -y chromium (the browser tests drive Debian's Chromium)",
                    returncode=3)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, stack):
    """A fresh browser context (no cookies) at 1280x800 with the gateway as base URL."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors in the page: {errors}"


@pytest.fixture(scope="session")
def screenshot():
    """``screenshot(page, "name")`` writes test-output/screenshots/name.png (the whole page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def web_admin(stack):
    return make_admin(stack)


@pytest.fixture(scope="session")
def web_user(stack, web_admin):
    return make_lab_user(stack, web_admin)
