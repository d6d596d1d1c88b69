"""A sample whose clones all have fewer reads than the analysis config's minimum (vdj ``-r``, default 5): the
clone table, the QC rows and the ``repseq results`` table say why no clone is listed, with the real minimum and
counts, through the running stack (jobs + worker running vdj, fuse, gateway, the ``repseq`` client).

The sample is tests/data/real/abstar-test.fastq (25 real reads, 14 TRB clones of one read each); a second
sample, the ImmuneDB spleen, has reported clones and clones under the minimum. The expected numbers are read
from each sample's own single-sample ``.vidjil`` (downloaded through the API), not from the fused result."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gateway_helpers import DATA, SPLEEN, Api, wait_fused, wait_jobs

SMALL = DATA / "real" / "abstar-test.fastq"
REPSEQ = str(Path(sys.executable).parent / "repseq")


def repseq(*args, env, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([REPSEQ, *args], capture_output=True, text=True, env=env, timeout=timeout)


def _upload(api: Api, set_id: int, path, date: str) -> dict:
    sample = api.ok("POST", f"/sample_sets/{set_id}/samples", 201, json={"filename": path.name,
                                                                         "sampling_date": date})
    with path.open("rb") as handle:
        return api.ok("PUT", f"/samples/{sample['id']}/file", 200, data=handle,
                      headers={"Content-Type": "application/octet-stream"})


def _single_result(api: Api, job: dict) -> dict:
    """What the sample's own .vidjil says: minimum of reads, every clone found, the reported ones, their reads."""
    result_id = api.ok("GET", f"/jobs/{job['id']}", 200)["result_id"]
    document = api.get(f"/analysis_results/{result_id}/vidjil").json()
    return {"min_reads": int(document["config"]["min-reads"]),
            "clones": sum(v[0] for v in document["reads"]["clones"].values()),
            "reported_clones": len(document["clones"]),
            "clone_reads": sum(c["reads"][0] for c in document["clones"]),
            "segmented_reads": document["reads"]["segmented"][0]}


@pytest.fixture(scope="module")
def small_set(stack, lab_user, tmp_path_factory):
    """A patient holding only the small sample, analysed with the default config through the client."""
    env = {**os.environ, **stack.settings.to_env(), "REPSEQ_TOKEN": lab_user["token"], "REPSEQ_URL": stack.url,
           "REPSEQ_CLIENT_CONFIG": str(tmp_path_factory.mktemp("client") / "client.json")}
    created = repseq("create-set", "patient", "--first-name", "Few", "--last-name", "Reads", "--label", "FEW-1",
                     env=env)
    assert created.returncode == 0, created.stderr
    set_id = int(created.stdout.strip())
    uploaded = repseq("upload", "--set", str(set_id), "--sampling-date", "2024-02-01", str(SMALL), env=env)
    assert uploaded.returncode == 0, uploaded.stderr
    run = repseq("run", "--set", str(set_id), "--wait", "--timeout", "400", env=env, timeout=500)
    assert run.returncode == 0, run.stdout + run.stderr
    config_id = int(re.search(rf"/sets/{set_id}/results/(\d+)", run.stdout).group(1))
    api = Api(stack.url, lab_user["token"])
    (job,) = wait_jobs(api, set_id, config_id, 1)
    assert job["state"] == "COMPLETED", job
    return {"id": set_id, "config_id": config_id, "env": env, "api": api, "small": _single_result(api, job)}


def test_client_table_says_why_no_clone_is_listed(small_set):
    small = small_set["small"]
    # the precondition of the story: the analysis found clones, none with enough reads
    assert small["reported_clones"] == 0 and small["clones"] >= 2 and small["min_reads"] == 5, small
    table = repseq("results", "--set", str(small_set["id"]), "--format", "table", env=small_set["env"])
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].startswith("rank\tname\tV") and len(table.stdout.splitlines()) == 1
    expected = (f"{SMALL.name}: No clone has at least 5 reads (minimum of the analysis config); "
                f"{small['clones']} clones with fewer reads are not reported.")
    assert expected in table.stderr, table.stderr
    # the note is on stderr only: the table itself stays machine-readable
    assert "No clone" not in table.stdout


def test_clone_table_and_qc_answer_the_reason_with_the_real_numbers(small_set):
    api, set_id, config_id = small_set["api"], small_set["id"], small_set["config_id"]
    small = small_set["small"]
    table = api.ok("GET", f"/sample_sets/{set_id}/results/{config_id}/clones", 200)
    assert table["clones"] == []
    reporting = table["samples"][0]["reporting"]
    assert reporting == {"min_reads": 5, "clones": small["clones"], "reported_clones": 0,
                         "unreported_clones": small["clones"], "clone_reads": 0,
                         "segmented_reads": small["segmented_reads"], "no_clone": True,
                         "note": f"No clone has at least 5 reads (minimum of the analysis config); "
                                 f"{small['clones']} clones with fewer reads are not reported."}
    assert table["notes"] == [f"{SMALL.name}: {reporting['note']}"]
    (qc,) = api.ok("GET", f"/sample_sets/{set_id}/results/{config_id}/qc", 200)
    assert qc["main_clone"] is None and qc["reporting"] == reporting
    # the diversity indices are those of every clone found by the analysis, hence still numbers
    assert qc["diversity"]["shannon"] is not None


def test_a_sample_with_clones_says_how_many_are_not_reported(stack, small_set):
    api, set_id, config_id = small_set["api"], small_set["id"], small_set["config_id"]
    _upload(api, set_id, SPLEEN, "2024-01-10")
    api.ok("POST", f"/sample_sets/{set_id}/jobs", 201, json={"config_id": config_id})
    jobs = wait_jobs(api, set_id, config_id, 2)
    assert all(j["state"] == "COMPLETED" for j in jobs), jobs
    spleen_id = next(s["id"] for s in api.ok("GET", f"/sample_sets/{set_id}", 200)["samples"]
                     if s["filename"] == SPLEEN.name)
    spleen = _single_result(api, next(j for j in jobs if j["sample_id"] == spleen_id))
    assert spleen["reported_clones"] > 0 and spleen["clones"] > spleen["reported_clones"], spleen
    wait_fused(api, set_id, config_id, 2)
    table = api.ok("GET", f"/sample_sets/{set_id}/results/{config_id}/clones", 200, params={"top": 5})
    names = [s["name"] for s in table["samples"]]
    assert names == [SPLEEN.name, SMALL.name]  # sampling-date order
    assert len(table["clones"]) == 5
    hidden = spleen["clones"] - spleen["reported_clones"]
    assert table["samples"][0]["reporting"] == {
        "min_reads": 5, "clones": spleen["clones"], "reported_clones": spleen["reported_clones"],
        "unreported_clones": hidden, "clone_reads": spleen["clone_reads"],
        "segmented_reads": spleen["segmented_reads"], "no_clone": False,
        "note": f"{spleen['reported_clones']} clones have at least 5 reads (minimum of the analysis config); "
                f"{hidden:,} clones with fewer reads are not reported."}
    # only the sample without a clone has a note to show beside the table
    assert table["notes"] == [f"{SMALL.name}: {table['samples'][1]['reporting']['note']}"]
    qc = api.ok("GET", f"/sample_sets/{set_id}/results/{config_id}/qc", 200)
    assert qc[0]["main_clone"] is not None and qc[1]["main_clone"] is None
    assert qc[1]["reporting"]["no_clone"] is True
