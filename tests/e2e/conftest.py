"""Fixtures of the browser tests: Debian's Chromium driven by Playwright (never `playwright install`), headless,
against the running test stack (services, job worker, gateway). Screenshots go to test-output/screenshots/."""

from __future__ import annotations

import re
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


class PageGuard:
    """Watches a page for what a user would see as a fault: an uncaught JavaScript error, a console error (a
    failed resource load included), or a dialog (alert, confirm) the test did not announce. Playwright dismisses
    dialogs silently, so an ``alert("...")`` of an error would otherwise go unnoticed.

    ``expect_dialog(accept=True, contains="")`` announces the next dialog (answered as asked; its message must
    contain ``contains``); ``allow_console(pattern)`` accepts the console errors whose line ("<text> (<url>)")
    matches a regular expression, e.g. the "Failed to load resource: ... status of 404 ... (<url>)" line of a page
    that is expected to answer 404."""

    def __init__(self, page):
        self.expected: list[tuple[bool, str]] = []
        self.allowed: list[re.Pattern] = []
        self.problems: list[str] = []
        self.dialogs: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def expect_dialog(self, accept: bool = True, contains: str = "") -> None:
        self.expected.append((accept, contains))

    def allow_console(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def _console(self, message) -> None:
        if message.type != "error":
            return
        line = f"{message.text} ({(message.location or {}).get('url') or ''})"
        if any(pattern.search(line) for pattern in self.allowed):
            return
        self.problems.append(f"console error: {line}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        if not self.expected:
            self.problems.append(f"unexpected {dialog.type} dialog: {dialog.message!r}")
            dialog.dismiss()
            return
        accept, contains = self.expected.pop(0)
        if contains not in dialog.message:
            self.problems.append(f"{dialog.type} dialog {dialog.message!r} does not say {contains!r}")
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture
def _guard_box():
    return {}


@pytest.fixture
def page(browser, stack, _guard_box):
    """A fresh browser context (no cookies) at 1280x800 with the gateway as base URL. The test fails if the page
    raised a JavaScript error, logged a console error or opened a dialog the test did not announce."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack.url)
    context.set_default_timeout(20_000)
    page = context.new_page()
    guard = PageGuard(page)
    _guard_box["guard"] = guard
    yield page
    context.close()
    assert guard.problems == [], "faults seen in the browser:\n" + "\n".join(guard.problems)
    assert guard.expected == [], f"announced dialogs that never opened: {guard.expected}"


@pytest.fixture
def guard(page, _guard_box) -> PageGuard:
    """The :class:`PageGuard` of the test's ``page``: announce dialogs, allow expected console lines."""
    return _guard_box["guard"]


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
