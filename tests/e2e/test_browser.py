"""A lab member's session in a real browser (Debian's Chromium, headless) against the running stack: log in,
create a patient, upload a real FASTQ, launch the analysis, watch it reach COMPLETED, find the expected top clone
in the clone list and in the follow-up plot, name and tag it, reload and see them. Screenshots of each page are
written to test-output/screenshots/ for a reviewer."""

from __future__ import annotations

import re
import secrets
import time

import airr

from gateway_helpers import COLON, SPLEEN

#: The largest clone of the ImmuneDB spleen sample (51 of 1,468 reads).
TOP_CDR3 = "AKMGPNLDY"


def log_in(page, user):
    page.goto("/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/sets\?kind=patient"))


def test_login_page_is_usable_with_the_keyboard(page, guard, stack, web_user, screenshot):
    guard.allow_console(r"status of 401 .*/login\)$")  # the wrong password answers the login page with 401
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


def test_patient_upload_analysis_clone_list_plot_and_name(page, stack, web_user, screenshot, tmp_path):
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

    # a follow-up sample two months later (the same donor's colon), launched with "launch all"
    page.set_input_files("#files", str(COLON))
    page.fill("#sampling_date", "2024-03-12")
    page.click("#upload-button")
    page.locator("#uploads li.done").nth(1).wait_for(timeout=60_000)
    page.locator("#samples-table tbody tr", has_text=COLON.name).locator("button.launch").wait_for()
    page.click("#launch-all")
    page.locator("#launch-all-report", has_text="Launched 1 analysis.").wait_for()
    colon_row = page.locator("#samples-table tbody tr", has_text=COLON.name)
    colon_row.locator(".state", has_text="COMPLETED").wait_for(timeout=300_000)
    screenshot(page, "05-set-completed")

    # results: the clone list and the follow-up plot (the fused result is rebuilt just after each analysis)
    page.click("#results-link")
    deadline = time.monotonic() + 120
    while page.locator("#clone-table thead th.num").count() < 3:  # rank + one column per sample
        assert time.monotonic() < deadline, "the results page does not show both samples"
        time.sleep(1)
        page.reload()
    top = page.locator("#clone-table tbody tr", has=page.locator("td.cdr3", has_text=TOP_CDR3)).first
    # row numbers are unique; the top clone of the spleen has the best rank (1), shown when it differs
    assert re.fullmatch(r"[12](\s+rank 1)?", top.locator("td.num").first.inner_text().strip())
    numbers = page.locator("#clone-table tbody td.clone-number").all_inner_texts()
    assert [n.split()[0] for n in numbers] == [str(i) for i in range(1, len(numbers) + 1)]
    assert "best rank" in page.get_attribute("#clone-table thead th.num >> nth=0", "title")
    # every control of the table has its own accessible name
    names = page.eval_on_selector_all("#clone-table label", "labels => labels.map(l => l.textContent.trim())")
    assert len(names) == 2 * len(numbers) and len(set(names)) == len(names), names[:6]
    # the plot's labels stay inside the SVG, the axis labels left of the legend (measured by the browser)
    outside = page.evaluate("""() => {
        const svg = document.querySelector('svg.followup');
        const frame = svg.getBoundingClientRect();
        const scale = frame.width / svg.viewBox.baseVal.width;
        const box = (t) => { const r = t.getBoundingClientRect();
                             return [(r.left - frame.left) / scale, (r.right - frame.left) / scale]; };
        const legendLeft = Math.min(...[...svg.querySelectorAll('text.legend')].map(t => box(t)[0])) - 24;
        return [...svg.querySelectorAll(':scope > text')].filter(t => {
            const [left, right] = box(t);
            return left < 0 || right > (t.classList.contains('legend') ? frame.width / scale : legendLeft);
        }).map(t => t.textContent);
    }""")
    assert outside == [], outside
    assert top.locator("td.gene").first.inner_text().startswith("IGHV4-34")
    clone_id = top.get_attribute("data-clone-id")
    plotted = page.locator(f"svg.followup g.clone[data-clone-id='{clone_id}']")
    assert TOP_CDR3 in plotted.locator("title").text_content()
    assert plotted.locator("circle").count() == 2  # one point per sample, in sampling order
    assert page.locator("#qc-table tbody tr").count() == 2
    assert "1468" in page.inner_text("#qc-table")
    screenshot(page, "06-results")
    with page.expect_download() as download:
        page.click("#export-png")
    png = download.value.path().read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    svg = page.request.get(page.get_attribute(".plot figcaption a[download]", "href"))
    assert svg.ok and svg.text().startswith("<svg") and TOP_CDR3 in svg.text()
    # the AIRR export of the fused result is valid AIRR (airr library), with the top clone
    export = page.request.get(page.get_attribute(".exports a:text-is('AIRR')", "href"))
    assert export.ok
    (tmp_path / "clones.airr.tsv").write_bytes(export.body())
    assert airr.validate_rearrangement(str(tmp_path / "clones.airr.tsv"))
    records = [r for r in airr.read_rearrangement(str(tmp_path / "clones.airr.tsv")) if r["clone_id"] == clone_id]
    assert records and {r["locus"] for r in records} == {"IGH"} and records[0]["junction_aa"].endswith(TOP_CDR3 + "W")

    # name the top clone with the keyboard, reload, see it in the list and in the plot's legend
    name_input = top.locator("form.rename input")
    name_input.fill("MRD marker 1")
    top.locator("form.rename select[name=tag]").select_option("3")
    name_input.press("Enter")
    top.locator("form.rename button", has_text="Saved").wait_for()
    page.reload()
    top = page.locator(f"#clone-table tbody tr[data-clone-id='{clone_id}']")
    assert top.locator("form.rename input").input_value() == "MRD marker 1"
    assert top.locator("form.rename select[name=tag]").input_value() == "3"
    assert "MRD marker 1" in page.locator("svg.followup").text_content()
    screenshot(page, "07-results-named")

    # compare (fused on demand) and the set's history
    page.click("text=Compare with other sets")
    page.locator("#compare-table").wait_for(timeout=60_000)
    assert page.locator("#compare-table thead th.num").count() == 3
    assert page.locator("#compare-table td.cdr3", has_text=TOP_CDR3).count() == 1
    screenshot(page, "08-compare")
    page.goto(f"/sets/{set_id}/history")
    actions = page.inner_text("#history-table")
    assert "create" in actions and "upload" in actions

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
    screenshot(page, "17-api-docs")
