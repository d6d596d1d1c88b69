"""Samples whose files stay in a mounted directory (``source`` "mounted", ``source_path`` / ``source_path2``),
analysed on the real stack: the workers read the files in place, an R1/R2 pair goes through its pre-process with
both files (like an uploaded pair), and a second file missing on the worker fails the pre-process and the waiting
analyses with a reason that names it."""

from __future__ import annotations

import shutil
import time

import pytest

from jobs_helpers import config_id, first_reads, make_patient, overlapping_pair, wait_job
from services.jobs.exceptions import NoInputFile


@pytest.fixture
def patient(rpc, lab):
    return make_patient(rpc, lab.owner, lab.group)


@pytest.fixture
def share(rpc, tmp_path, admin_principal):
    """A mounted directory declared by an administrator: ``(source dict, its root folder)``."""
    root = tmp_path / "share"
    root.mkdir()
    source = rpc.samples.create_file_source(admin_principal, f"jobs-share-{time.time_ns()}", str(root),
                                            ["fastq"])
    return source, root


def _mounted_pair(rpc, caller, patient, share, pre_process_name="FLASH merge") -> dict:
    source, root = share
    r1, r2 = overlapping_pair()
    (root / "lib_R1.fastq").write_bytes(r1)
    (root / "lib_R2.fastq").write_bytes(r2)
    pre = next(p for p in rpc.jobs.list_pre_processes(caller) if p["name"] == pre_process_name)
    sample = rpc.samples.add_mounted_sample(caller, [patient["id"]], source["id"], "lib_R1.fastq", "2024-02-01",
                                            path2="lib_R2.fastq", pre_process_id=pre["id"])
    assert sample["source"] == "mounted" and sample["source_path2"] == str(root / "lib_R2.fastq")
    return sample


def _read_lengths(fastq: bytes) -> list[int]:
    lines = fastq.decode().split("\n")
    return [len(lines[i]) for i in range(1, len(lines), 4)]


def test_mounted_single_file_is_analysed_in_place(rpc, lab, patient, share, object_store):
    source, root = share
    (root / "d1.fastq").write_bytes(first_reads(100))
    sample = rpc.samples.add_mounted_sample(lab.owner, [patient["id"]], source["id"], "d1.fastq", "2024-01-15")
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    done = wait_job(rpc, lab.owner, job["id"], timeout=120)
    assert done["state"] == "COMPLETED", done
    result = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])[0]
    assert result["reads_total"] == 100
    # nothing was copied into the sequences bucket
    assert not list(object_store.list_keys(object_store.buckets["sequences"], f"samples/{sample['id']}/"))
    # a pre-process needs a second file: refused at once, saying so
    pre = next(p for p in rpc.jobs.list_pre_processes(lab.owner) if p["name"] == "FLASH merge")
    with pytest.raises(NoInputFile, match="R2"):
        rpc.jobs.launch_pre_process(lab.owner, sample["id"], patient["id"], pre["id"])


@pytest.mark.parametrize("name", ["FLASH merge", "vsearch merge"])
def test_mounted_pair_is_merged_from_both_files_before_the_analysis(rpc, lab, patient, share, events,
                                                                   object_store, name):
    listener = events(["pre_process.finished"])
    sample = _mounted_pair(rpc, lab.owner, patient, share, name)
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    assert job["state"] == "PENDING" and "pre-process" in job["reason"], job
    done = wait_job(rpc, lab.owner, job["id"], timeout=180)
    assert done["state"] == "COMPLETED", done
    finished = listener.wait_for(lambda b: b["data"]["sample_id"] == sample["id"])
    assert finished["data"]["state"] == "COMPLETED" and finished["data"]["output_key"].endswith("_merged.fastq")
    # the merger saw R2: the merged reads are longer than the 300 nt of R1 alone
    merged = object_store.get_bytes(object_store.buckets["sequences"], finished["data"]["output_key"])
    lengths = _read_lengths(merged)
    assert len(lengths) >= 140 and min(lengths) > 300, lengths[:10]
    result = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])[0]
    assert result["reads_total"] == len(lengths) and result["reads_by_locus"]["IGH"] >= 140
    # the mounted files are left as they were
    _, root = share
    assert (root / "lib_R1.fastq").read_bytes() == overlapping_pair()[0]
    assert (root / "lib_R2.fastq").read_bytes() == overlapping_pair()[1]
    # the merged file is not made again for the next analysis
    again = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGK"))
    assert again["state"] == "QUEUED", again
    kinds = [j["kind"] for j in rpc.jobs.list_jobs(lab.owner, patient["id"], sample_id=sample["id"])]
    assert kinds.count("pre_process") == 1, kinds


@pytest.mark.parametrize("damage", ["deleted", "replaced by a folder"])
def test_mounted_r2_missing_on_the_worker_fails_clearly(rpc, lab, patient, share, damage):
    sample = _mounted_pair(rpc, lab.owner, patient, share)
    _, root = share
    r2 = root / "lib_R2.fastq"
    r2.unlink()
    if damage == "replaced by a folder":
        r2.mkdir()
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    done = wait_job(rpc, lab.owner, job["id"], timeout=120)
    assert done["state"] == "FAILED", done
    assert f"the pre-process of sample {sample['id']} failed" in done["reason"], done
    assert "second file (R2)" in done["reason"] and "lib_R2.fastq" in done["reason"], done
    # the reason names the file, not the mounted directory (its root is shown to administrators only)
    assert str(root) not in done["reason"], done
    pre_jobs = [j for j in rpc.jobs.list_jobs(lab.owner, patient["id"], sample_id=sample["id"])
                if j["kind"] == "pre_process"]
    assert len(pre_jobs) == 1 and pre_jobs[0]["state"] == "FAILED", pre_jobs
    assert "second file (R2)" in pre_jobs[0]["reason"], pre_jobs
    shutil.rmtree(r2, ignore_errors=True)
