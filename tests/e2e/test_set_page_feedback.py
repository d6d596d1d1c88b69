"""What the set page tells a lab user when things do not simply work: "Launch all samples not analysed" says what
it launched and lists each skipped sample with the reason (no alert, no JavaScript error); an upload the server
refuses removes the sample created for it, an interrupted one offers Retry or Remove, and a sample left without a
file can get it from its row."""

from __future__ import annotations

import re
import secrets

from gateway_helpers import COLON
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


def test_a_refused_upload_removes_its_sample_and_an_orphan_row_can_get_its_file(page, guard, stack, web_user,
                                                                               screenshot, tmp_path):
    log_in(page, web_user)
    new_generic_set(page, "upload failures")
    guard.allow_console(r"status of 400 .*/api/v1/samples/\d+/file\?")  # the empty file is refused, as it should
    empty = tmp_path / "empty.fastq"
    empty.write_bytes(b"")
    page.set_input_files("#files", [str(empty), str(COLON)])
    page.click("#upload-button")
    failed = page.locator("#uploads li.failed", has_text="empty.fastq")
    failed.locator(".msg", has_text="was removed").wait_for(timeout=60_000)
    assert "empty" in failed.locator(".msg").inner_text()
    assert not failed.locator("button.retry").is_visible()  # the same file would be refused again
    page.locator("#uploads li.done", has_text=COLON.name).wait_for(timeout=60_000)
    screenshot(page, "19-upload-refused")
    rows = page.locator("#samples-table tbody tr")
    assert rows.count() == 1 and COLON.name in rows.first.inner_text()
    page.reload()
    assert page.locator("#samples-table tbody tr").count() == 1
    assert page.locator("#samples-table .state", has_text="no file").count() == 0

    # an interrupted transfer keeps its sample: Retry sends into it again, Remove deletes it
    guard.allow_console(r"net::ERR_FAILED .*/api/v1/samples/\d+/file\?")
    page.route("**/api/v1/samples/*/file?*", lambda route: route.abort())
    page.set_input_files("#files", str(COLON))
    page.click("#upload-button")
    cut = page.locator("#uploads li.failed", has_text=COLON.name)
    cut.locator("button.remove").wait_for()
    assert cut.locator("button.retry").is_visible()
    assert page.locator("#samples-table tbody tr").count() == 2
    cut.locator("button.remove").click()
    cut.locator(".msg", has_text="removed").wait_for()
    assert page.locator("#samples-table tbody tr").count() == 1
    page.unroute("**/api/v1/samples/*/file?*")

    # a sample left without a file (the page was closed during its upload): its row offers to upload the file
    set_id = int(re.search(r"/sets/(\d+)", page.url).group(1))
    orphan = api_post(page, f"/sample_sets/{set_id}/samples", {"filename": COLON.name})
    page.reload()
    row = page.locator(f"#samples-table tbody tr[data-sample-id='{orphan['id']}']")
    assert row.locator(".state", has_text="no file").count() == 1
    screenshot(page, "20-sample-without-file")
    row.locator("input.row-file").set_input_files(str(COLON))
    row.locator("button.launch").wait_for(timeout=60_000)
    page.reload()
    assert page.locator("#samples-table tbody tr").count() == 2
    assert page.locator("#samples-table .state", has_text="no file").count() == 0
