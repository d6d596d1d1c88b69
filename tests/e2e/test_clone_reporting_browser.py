"""A biologist opens the results of a small sample whose clones all have fewer reads than the minimum of the
analysis config (vdj -r 5): the clone list, the V/J usage grid and the QC table say why no clone is shown, with
the real minimum and counts; with a second sample (the ImmuneDB spleen), the V/J grid says which reads it counts.
Screenshots in test-output/screenshots/reporting-*.png.

The samples are created and analysed through the REST API (the upload and launch pages are tested elsewhere);
everything asserted here is what the browser shows."""

from __future__ import annotations

import re

from gateway_helpers import DATA, SPLEEN, Api, wait_fused, wait_jobs
from repseq.client import default_config

SMALL = DATA / "real" / "abstar-test.fastq"
WHY = re.compile(r"No clone has at least 5 reads \(minimum of the analysis config\); (\d+) clones with fewer "
                 r"reads are not reported\.")


def log_in(page, user):
    page.goto("/login")
    page.fill("#email", user["email"])
    page.fill("#password", user["password"])
    page.press("#password", "Enter")
    page.wait_for_url(re.compile(r"/sets\?kind=patient"))


def analyse(api: Api, set_id: int, config_id: int, path, date: str, samples: int) -> None:
    sample = api.ok("POST", f"/sample_sets/{set_id}/samples", 201, json={"filename": path.name,
                                                                         "sampling_date": date})
    with path.open("rb") as handle:
        api.ok("PUT", f"/samples/{sample['id']}/file", 200, data=handle,
               headers={"Content-Type": "application/octet-stream"})
    api.ok("POST", f"/sample_sets/{set_id}/jobs", 201, json={"config_id": config_id})
    jobs = wait_jobs(api, set_id, config_id, samples)
    assert all(j["state"] == "COMPLETED" for j in jobs), [(j["state"], j.get("reason")) for j in jobs]
    wait_fused(api, set_id, config_id, samples)


def test_results_say_why_a_small_sample_lists_no_clone(page, stack, web_user, screenshot):
    api = Api(stack.url, web_user["token"])
    config_id = default_config(api.ok("GET", "/configs", 200))["id"]
    patient = api.ok("POST", "/sample_sets", 201, json={
        "kind": "patient", "group_id": web_user["group_id"],
        "fields": {"first_name": "Few", "last_name": "Reads", "label": "E2E-FEW"}})
    analyse(api, patient["id"], config_id, SMALL, "2024-02-01", 1)

    log_in(page, web_user)
    page.goto(f"/sets/{patient['id']}/results/{config_id}")
    # the clone list: the reason beside the table, and the table itself says it has nothing to list
    note = page.locator("#clone-notes .note")
    assert note.count() == 1
    text = note.inner_text()
    assert text.startswith(f"{SMALL.name}: ") and WHY.search(text), text
    hidden = int(WHY.search(text).group(1))
    assert hidden >= 2
    assert "at least 5 reads" in page.inner_text("#clone-notes")
    assert "No clone to list" in page.inner_text("#clone-table tbody")
    # the V/J usage grid of the only sample, and the QC table's main clone
    assert WHY.search(page.inner_text("#vj-note"))
    assert page.locator(".grids .vj").count() == 0
    qc_row = page.locator("#qc-table tbody tr", has_text=SMALL.name)
    assert WHY.search(qc_row.locator("td.main-clone").inner_text())
    # diversity indices still have values: the page says over which clones they are computed
    assert "every clone it found" in page.inner_text("#qc-diversity-note")
    screenshot(page, "reporting-01-no-clone-reported")

    # a second sample with reported clones: its grid says what it counts; the small sample's reason stays
    analyse(api, patient["id"], config_id, SPLEEN, "2024-01-10", 2)
    page.reload()
    assert page.locator("#clone-table tbody tr[data-clone-id]").count() > 0
    assert page.locator("#clone-notes .note").inner_text().startswith(f"{SMALL.name}: ")
    spleen = next(q for q in api.ok("GET", f"/sample_sets/{patient['id']}/results/{config_id}/qc", 200)
                  if q["name"] == SPLEEN.name)["reporting"]
    assert page.input_value("#sample") == "0"  # the spleen, first in sampling order
    counts = page.inner_text("#vj-note")
    assert counts.startswith(f"Counts the reads of the reported clones: {spleen['clone_reads']:,} of "
                             f"{spleen['segmented_reads']:,} segmented reads."), counts
    assert f"The {spleen['unreported_clones']:,} clones with fewer than 5 reads are not counted." in counts
    assert page.locator(".grids .vj").count() >= 1
    screenshot(page, "reporting-02-vj-counts")

    # choose the small sample with the keyboard: its grid explains instead of showing nothing
    page.focus("#sample")
    page.keyboard.press("ArrowDown")
    page.wait_for_url(re.compile(r"sample=1"))
    assert page.locator(".grids .vj").count() == 0
    assert WHY.search(page.inner_text("#vj-note"))
    assert int(WHY.search(page.inner_text("#vj-note")).group(1)) == hidden
    screenshot(page, "reporting-03-vj-small-sample")
