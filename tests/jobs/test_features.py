"""The rest of the jobs issue on the real stack: pre-processes, import of analysed files, the segmenter, result
deletion, configs in use, the watchdog, repeated worker loss, launching a whole set, grep-reads, workers list."""

from __future__ import annotations

import io
import json
import os
import signal
import time

import pytest

from jobs_helpers import (DATA, REAL_FASTQ, config_id, first_reads, make_patient, overlapping_pair, upload_sample,
                          wait_job, wait_workers)
from services.common.exceptions import BadRequest, NotFound, PermissionDenied, TooLarge
from services.jobs.exceptions import ConfigInUse


@pytest.fixture
def patient(rpc, lab):
    return make_patient(rpc, lab.owner, lab.group)


def _upload_pair(rpc, object_store, caller, sample_set_id, pre_process_id):
    r1, r2 = overlapping_pair()
    sample = rpc.samples.create_sample(caller, [sample_set_id], "lib_R1.fastq", "2024-02-01",
                                       filename2="lib_R2.fastq", pre_process_id=pre_process_id)
    for number, data, key in ((1, r1, sample["upload_key"]), (2, r2, sample["upload_key2"])):
        stored = object_store.put_stream(sample["upload_bucket"], key, io.BytesIO(data))
        rpc.samples.complete_upload(caller, sample["id"], key, stored.size, stored.sha256, number)
    return rpc.samples.get_sample(caller, sample["id"])


@pytest.mark.parametrize("name", ["FLASH merge", "vsearch merge"])
def test_paired_reads_are_merged_before_the_analysis(rpc, object_store, lab, patient, events, name):
    listener = events(["pre_process.finished"])
    pre = next(p for p in rpc.jobs.list_pre_processes(lab.owner) if p["name"] == name)
    sample = _upload_pair(rpc, object_store, lab.owner, patient["id"], pre["id"])
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    assert job["state"] == "PENDING" and "pre-process" in job["reason"]
    done = wait_job(rpc, lab.owner, job["id"], timeout=180)
    assert done["state"] == "COMPLETED", done
    finished = listener.wait_for(lambda b: b["data"]["sample_id"] == sample["id"])
    assert finished["data"]["state"] == "COMPLETED" and finished["data"]["output_key"].endswith("_merged.fastq")
    result = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])[0]
    assert result["reads_total"] == 150 and result["reads_by_locus"]["IGH"] >= 140
    # the original R1/R2 are kept
    assert object_store.exists(sample["bucket"], sample["object_key"])
    assert object_store.exists(sample["bucket"], sample["object_key2"])


def test_failed_pre_process_fails_the_waiting_analysis(rpc, object_store, lab, patient, admin_principal):
    broken = rpc.jobs.create_pre_process(admin_principal, {
        "name": f"broken {time.time_ns()}", "command": "cat &file1& &file2& > /dev/null; echo 'no overlap' >&2; "
                                                        "exit 3 # &result&", "group_ids": [lab.group]})
    sample = _upload_pair(rpc, object_store, lab.owner, patient["id"], broken["id"])
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    done = wait_job(rpc, lab.owner, job["id"], timeout=120)
    assert done["state"] == "FAILED"
    assert "pre-process of sample" in done["reason"] and "exited with code 3: no overlap" in done["reason"]
    # a new launch fails at once, clearly
    again = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGK"))
    assert again["state"] == "FAILED" and "pre-process" in again["reason"]


def test_import_of_an_analysed_file(rpc, object_store, lab, patient, tmp_path):
    vidjil = (DATA / "vidjil" / "format-examples" / "analysis-example.vidjil").read_bytes()
    data = json.loads(vidjil)
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], vidjil, "done.vidjil")
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "import"))
    done = wait_job(rpc, lab.owner, job["id"], timeout=60)
    assert done["state"] == "COMPLETED", done
    result = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])[0]
    assert json.loads(object_store.get_bytes(result["bucket"], result["vidjil_key"])) == data
    assert result["reads_total"] == data["reads"]["total"][0]


def test_segmenter_designates_pasted_sequences(rpc, lab):
    reads = first_reads(2).decode().split("\n")
    answer = rpc.jobs.designate(lab.reader, [{"name": "read1", "sequence": reads[1]}, "ACGT" * 20])
    assert [a["name"] for a in answer] == ["read1", "seq2"]
    assert answer[0]["detected"] and answer[0]["locus"] == "IGH" and answer[0]["v"].startswith("IGHV")
    assert answer[0]["junction_aa"]
    assert answer[1]["detected"] is False
    with pytest.raises(TooLarge):
        rpc.jobs.designate(lab.reader, ["ACGT"] * 11)
    with pytest.raises(BadRequest):
        rpc.jobs.designate(lab.reader, ["not dna"])


def test_delete_result_and_config_in_use(rpc, object_store, lab, patient, events, admin_principal):
    listener = events(["result.deleted"])
    config = rpc.jobs.create_config(admin_principal, {"name": f"TRG private {time.time_ns()}", "command": "-g TRG",
                                                      "group_ids": [lab.group]})
    assert config["id"] in [c["id"] for c in rpc.jobs.list_configs(lab.owner)]
    assert config["id"] not in [c["id"] for c in rpc.jobs.list_configs(lab.stranger)]
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], first_reads(60))
    with pytest.raises(NotFound):
        rpc.jobs.launch(lab.stranger, sample["id"], patient["id"], config["id"])
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config["id"])
    assert wait_job(rpc, lab.owner, job["id"])["state"] == "COMPLETED"
    with pytest.raises(ConfigInUse):
        rpc.jobs.delete_config(admin_principal, config["id"])
    with pytest.raises(PermissionDenied):
        rpc.jobs.update_config(lab.owner, config["id"], {"command": "-g IGH"})
    result = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])[0]
    with pytest.raises(PermissionDenied):
        rpc.jobs.delete_result(lab.reader, result["id"])
    assert rpc.jobs.delete_result(lab.owner, result["id"]) is True
    deleted = listener.wait_for(lambda b: b["data"]["result_id"] == result["id"])
    assert deleted["data"]["sample_set_id"] == patient["id"] and deleted["data"]["config_id"] == config["id"]
    assert not object_store.exists(result["bucket"], result["vidjil_key"])
    assert rpc.jobs.latest_results([sample["id"]], config["id"]) == []


def test_launch_a_whole_set_and_grep_reads(rpc, object_store, lab, patient):
    igh = config_id(rpc, lab.owner, "IGH")
    samples = [upload_sample(rpc, object_store, lab.owner, patient["id"], REAL_FASTQ.read_bytes() if i == 0
                             else first_reads(80), f"s{i}.fastq") for i in range(3)]
    first = rpc.jobs.launch(lab.owner, samples[0]["id"], patient["id"], igh)
    assert wait_job(rpc, lab.owner, first["id"])["state"] == "COMPLETED"
    batch = rpc.jobs.launch_set(lab.owner, patient["id"], igh)  # only those not yet analysed
    assert sorted(j["sample_id"] for j in batch["launched"]) == sorted(s["id"] for s in samples[1:])
    for job in batch["launched"]:
        assert wait_job(rpc, lab.owner, job["id"])["state"] == "COMPLETED"
    assert rpc.jobs.launch_set(lab.owner, patient["id"], igh) == {"launched": [], "skipped": []}

    stored = json.loads(object_store.get_bytes(*(lambda r: (r["bucket"], r["vidjil_key"]))(
        rpc.jobs.list_results(lab.owner, patient["id"], sample_id=samples[0]["id"])[0])))
    window = stored["clones"][0]["id"]
    grep = rpc.jobs.launch_grep_reads(lab.owner, samples[0]["id"], patient["id"], igh, window)
    done = wait_job(rpc, lab.owner, grep["id"])
    assert done["state"] == "COMPLETED" and done["kind"] == "grep_reads"
    hidden = [r for r in rpc.jobs.list_results(lab.owner, patient["id"], sample_id=samples[0]["id"]) if r["hidden"]]
    fasta = object_store.get_bytes(hidden[0]["bucket"], hidden[0]["extra_key"]).decode()
    assert fasta.count(">") == stored["clones"][0]["reads"][0] >= 1
    assert hidden[0]["id"] not in [r["id"] for r in rpc.jobs.latest_results([samples[0]["id"]], igh)]
    with pytest.raises(BadRequest):
        rpc.jobs.launch_grep_reads(lab.owner, samples[0]["id"], patient["id"], igh, "ACGT; rm -rf /")


def test_sample_deletion_removes_its_results(rpc, object_store, lab, patient, events):
    listener = events(["result.deleted"])
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], first_reads(40))
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    assert wait_job(rpc, lab.owner, job["id"])["state"] == "COMPLETED"
    result = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])[0]
    rpc.samples.delete_sample(lab.owner, sample["id"], True, True)
    listener.wait_for(lambda b: b["data"]["result_id"] == result["id"], timeout=15)
    assert not object_store.exists(result["bucket"], result["vidjil_key"])


def test_watchdog_requeues_a_job_of_a_silent_worker(rpc, object_store, lab, patient, workers, stack,
                                                    admin_principal):
    workers.start(1)
    wait_workers(rpc, admin_principal, 2)
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], REAL_FASTQ.read_bytes() * 3, "x3.fastq")
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGK"))
    running = wait_job(rpc, lab.owner, job["id"], states=("RUNNING",), timeout=60)
    frozen = int(running["worker_id"].split(":")[1])
    os.kill(frozen, signal.SIGSTOP)  # alive for the broker for a while, but silent
    try:
        busy = next(w for w in rpc.jobs.list_workers(admin_principal) if w["id"] == running["worker_id"])
        assert busy["current_job_id"] == job["id"]
        # the watchdog (a timer of the jobs service, or an administrator's run) re-queues the job
        assert isinstance(rpc.jobs.run_watchdog(admin_principal), list)
        done = wait_job(rpc, lab.owner, job["id"], timeout=180)
        assert done["state"] == "COMPLETED" and done["worker_id"] != running["worker_id"]
        assert done["attempts"] == 2
        lost = [w for w in rpc.jobs.list_workers(admin_principal) if w["id"] == running["worker_id"]]
        assert lost and lost[0]["state"] == "lost"
    finally:
        os.kill(frozen, signal.SIGKILL)
        os.kill(frozen, signal.SIGCONT)
        time.sleep(0.5)
        stack.stack.start_workers()
    assert len(rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])) == 1


def test_a_job_that_kills_its_workers_fails_after_max_attempts(rpc, object_store, lab, patient, workers, stack,
                                                               admin_principal, events):
    listener = events(["analysis.failed"])
    killer = rpc.jobs.create_config(admin_principal, {
        "name": f"kills its worker {time.time_ns()}", "program": "command",
        "command": "sh -c 'kill -9 $PPID; sleep 5' &input&", "group_ids": [lab.group]})
    workers.start(3)
    wait_workers(rpc, admin_principal, 4)
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], first_reads(10))
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], killer["id"])
    try:
        done = wait_job(rpc, lab.owner, job["id"], timeout=120)
    finally:
        stack.stack.start_workers()
    assert done["state"] == "FAILED" and done["attempts"] == 3
    assert done["reason"].startswith("gave up after 3 attempt(s)")
    failed = listener.wait_for(lambda b: b["data"]["job_id"] == job["id"])
    assert failed["data"]["state"] == "FAILED"
