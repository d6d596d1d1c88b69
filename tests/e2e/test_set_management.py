"""Managing a set in the browser: edit its fields, share it with a group and take the share back, delete a sample,
delete the set."""

from __future__ import annotations

import re
import secrets

from gateway_helpers import COLON
from test_browser import log_in


def test_edit_share_and_delete(page, guard, stack, web_user, screenshot):
    log_in(page, web_user)
    page.goto("/sets/new?kind=run")
    name = f"run {secrets.token_hex(3)}"
    page.fill("#name", name)
    page.fill("#run_date", "2024-02-01")
    page.click("#set-form button[type=submit]")
    page.wait_for_url(re.compile(r"/sets/\d+"))
    set_url = page.url

    page.set_input_files("#files", str(COLON))
    page.click("#upload-button")
    page.wait_for_selector("#uploads li.done")

    page.click(".edit-set summary")
    page.fill("#edit-sequencer", "MiSeq")
    page.fill("#edit-info", "edited in the browser #edited")
    with page.expect_navigation():
        page.click("#edit-set button[type=submit]")
    assert "edited in the browser" in page.inner_text(".facts") and "MiSeq" in page.inner_text(".facts")
    actions = page.locator("#samples-table tbody tr", has_text=COLON.name).locator(".actions").inner_text()
    assert re.search(r"Download\s*·\s*delete", actions), actions

    page.select_option("#share-group", label="public")
    with page.expect_navigation():
        page.click("#share-form button")
    assert page.locator(".owners .chip", has_text="public").count() == 1
    screenshot(page, "16-set-shared")
    guard.expect_dialog(contains="Stop sharing with public")
    with page.expect_navigation():
        page.locator(".owners .chip", has_text="public").locator("button").click()
    assert page.locator(".owners .chip", has_text="public").count() == 0

    guard.expect_dialog(contains="Delete sample")
    with page.expect_navigation():
        page.locator("#samples-table tbody tr", has_text=COLON.name).locator("button", has_text="delete").click()
    assert page.locator("#samples-table tbody tr", has_text=COLON.name).count() == 0

    page.click(".edit-set summary")
    guard.expect_dialog(contains="Delete this run")
    page.click("button.danger-button")
    page.wait_for_url(re.compile(r"/sets\?kind=run"))
    guard.allow_console(r"status of 404 .*/sets/\d+\)$")  # the deleted set's page answers 404, as it should
    assert page.goto(set_url).status == 404
