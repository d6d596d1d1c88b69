"""Uploads in the browser: several files at once with a progress bar each, cancel (the network is slowed down
through the Chrome DevTools protocol so that the upload is still running) and retry."""

from __future__ import annotations

import re
import secrets

from gateway_helpers import COLON, SPLEEN
from test_browser import log_in


def test_several_files_progress_cancel_and_retry(page, stack, web_user, screenshot):
    log_in(page, web_user)
    page.goto("/sets/new?kind=generic")
    page.fill("#name", f"upload check {secrets.token_hex(3)}")
    page.click("#set-form button[type=submit]")
    page.wait_for_url(re.compile(r"/sets/\d+"))

    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                   "uploadThroughput": 40 * 1024})
    page.set_input_files("#files", [str(SPLEEN), str(COLON)])
    page.click("#upload-button")
    items = page.locator("#uploads li")
    assert items.count() == 2
    spleen = items.filter(has_text=SPLEEN.name)
    # wait until some bytes went out, then cancel
    page.wait_for_function("() => { const p = document.querySelector('#uploads li progress');"
                           " return p && Number(p.value) > 0; }", timeout=30_000)
    screenshot(page, "09-uploads-in-progress")
    spleen.locator("button.cancel").click()
    spleen.locator(".msg", has_text="cancelled").wait_for()
    assert spleen.locator("button.retry").is_visible()

    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                   "uploadThroughput": -1})
    spleen.locator("button.retry").click()
    page.locator("#uploads li.done").nth(1).wait_for(timeout=60_000)
    assert page.locator("#uploads li.done").count() == 2
    rows = page.locator("#samples-table tbody tr")
    assert rows.count() == 2
    for row in (rows.filter(has_text=SPLEEN.name), rows.filter(has_text=COLON.name)):
        assert row.locator("button.launch").count() == 1
    # the retried upload reused the same sample: a reload shows exactly two samples, both with their file
    page.reload()
    assert page.locator("#samples-table tbody tr").count() == 2
    assert page.locator("#samples-table tbody tr .state", has_text="no file").count() == 0
