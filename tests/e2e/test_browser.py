"""A lab member's session in a real browser (Debian's Chromium, headless) against the running stack: log in,
create a patient, upload a real FASTQ, launch the analysis, watch it reach COMPLETED, find the expected top clone
in the clone list and in the follow-up plot, name it, reload and see the name. Screenshots of each page are
written to test-output/screenshots/ for a reviewer."""

from __future__ import annotations

import re
import secrets
import time

from gateway_helpers import SPLEEN

#: The largest clone of the ImmuneDB spleen sample (51 of 1,468 reads).
TOP_CDR3 = "AKMGPNLDY"


def log_in(page, user):
    page.goto("/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/sets\?kind=patient"))


def test_login_page_is_usable_with_the_keyboard(page, stack, web_user, screenshot):
    page.goto("/login")
    screenshot(page, "01-login")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(web_user["email"])
    page.keyboard.press("Tab")
    page.keyboard.type("wrong password")
    page.keyboard.press("Enter")
    page.wait_for_selector(".error")
    assert "password" in page.inner_text(".error").lower() or "wrong" in page.inner_text(".error").lower()
    assert page.input_value("#email") == web_user["email"]
    assert "Research Use Only" in page.inner_text(".compliance")


def test_patient_upload_analysis_clone_list_plot_and_name(page, stack, web_user, screenshot):
    label = f"E2E-{secrets.token_hex(3)}"
    log_in(page, web_user)

    # create a patient
    page.click("#new-set")
    page.fill("#label", label)
    page.fill("#first_name", "Grace")
    page.fill("#last_name", "Browser")
    page.fill("#birth_date", "1961-07-14")
    page.fill("#info", "end-to-end #e2e")
    screenshot(page, "03-new-patient")
    page.click("#set-form button[type=submit]")
    page.wait_for_url(re.compile(r"/sets/\d+"))
    set_id = int(re.search(r"/sets/(\d+)", page.url).group(1))
    assert "Browser" in page.inner_text("h1")

    # upload a real FASTQ with a progress bar, then launch from the row
    page.set_input_files("#files", str(SPLEEN))
    page.fill("#sampling_date", "2024-01-10")
    page.click("#upload-button")
    page.wait_for_selector("#uploads li.done", timeout=60_000)
    assert page.get_attribute("#uploads li.done progress", "value") == "100"
    row = page.locator("#samples-table tbody tr", has_text=SPLEEN.name)
    row.locator("button.launch").wait_for()
    screenshot(page, "04-set-uploaded")
    row.locator("button.launch").click()
    row.locator(".state", has_text=re.compile("QUEUED|RUNNING|PENDING|COMPLETED")).wait_for()
    # the status cell updates live (polling), no reload
    row.locator(".state", has_text="COMPLETED").wait_for(timeout=300_000)
    screenshot(page, "05-set-completed")

    # results: the clone list and the follow-up plot (the fused result is rebuilt just after the analysis)
    page.click("#results-link")
    deadline = time.monotonic() + 120
    while not page.locator("#clone-table").count():
        assert time.monotonic() < deadline, "no clone table on the results page"
        time.sleep(1)
        page.reload()
    first = page.locator("#clone-table tbody tr").first
    assert first.locator(".cdr3").inner_text().strip().startswith(TOP_CDR3)
    assert first.locator("td.gene").first.inner_text().startswith("IGHV4-34")
    top_in_plot = page.locator("svg.followup g.clone").first.locator("title").text_content()
    assert TOP_CDR3 in top_in_plot
    assert page.locator("#qc-table tbody tr").count() == 1
    assert "1468" in page.inner_text("#qc-table")
    screenshot(page, "06-results")

    # name the top clone with the keyboard, reload, see it in the list and in the plot's legend
    name_input = first.locator("form.rename input")
    name_input.fill("MRD marker 1")
    name_input.press("Enter")
    first.locator("form.rename button", has_text="Saved").wait_for()
    page.reload()
    first = page.locator("#clone-table tbody tr").first
    assert first.locator("form.rename input").input_value() == "MRD marker 1"
    assert "MRD marker 1" in page.locator("svg.followup .legend").first.text_content()
    screenshot(page, "07-results-named")

    # the patient is found by its tag in the list
    page.goto(f"/sets?kind=patient&search=%23e2e+{label}")
    assert page.locator("#sets-table tbody tr").count() == 1
    page.goto("/sets?kind=patient")
    screenshot(page, "02-patients")
    page.goto(f"/sets?kind=patient&search=%23e2e+{label}")
    page.click(f"#sets-table a[href='/sets/{set_id}']")
    page.wait_for_url(re.compile(rf"/sets/{set_id}"))


def test_api_reference_page(page, stack, web_user, screenshot):
    log_in(page, web_user)
    page.goto("/api/v1/docs")
    assert page.locator("details.operation").count() > 40
    page.locator("details.operation summary", has_text="/sample_sets/{sample_set_id}/samples").first.click()
    screenshot(page, "08-api-docs")
