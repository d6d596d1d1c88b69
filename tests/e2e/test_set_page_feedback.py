"""What the set page tells a lab user when things do not simply work: "Launch all samples not analysed" says what
it launched and lists each skipped sample with the reason (no alert, no JavaScript error)."""

from __future__ import annotations

import re
import secrets

from test_browser import log_in


def new_generic_set(page, name_prefix: str) -> int:
    page.goto("/sets/new?kind=generic")
    page.fill("#name", f"{name_prefix} {secrets.token_hex(3)}")
    page.click("#set-form button[type=submit]")
    page.wait_for_url(re.compile(r"/sets/\d+"))
    return int(re.search(r"/sets/(\d+)", page.url).group(1))


def api_post(page, path: str, body: dict) -> dict:
    """POST through the page's own cookie session, with the CSRF token of the page."""
    csrf = page.get_attribute('meta[name="csrf-token"]', "content")
    response = page.request.post(f"/api/v1{path}", data=body, headers={"X-CSRF-Token": csrf})
    assert response.ok, response.text()
    return response.json()


def test_launch_all_lists_the_skipped_samples_with_their_reason(page, stack, web_user, screenshot):
    log_in(page, web_user)
    set_id = new_generic_set(page, "launch report")
    # a sample whose file never arrived: launching it is refused (no stored file), so "launch all" skips it
    api_post(page, f"/sample_sets/{set_id}/samples", {"filename": "never-uploaded.fastq"})
    page.reload()
    page.click("#launch-all")
    report = page.locator("#launch-all-report")
    report.locator("li", has_text="never-uploaded.fastq").wait_for()
    assert report.inner_text().startswith("No analysis launched; skipped:")
    reason = report.locator("li", has_text="never-uploaded.fastq").inner_text()
    assert "file" in reason.split(":", 1)[1], reason
    assert page.locator("#launch-all").is_enabled()
    screenshot(page, "18-launch-all-skipped")
