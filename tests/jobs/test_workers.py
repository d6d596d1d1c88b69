"""Workers on the real broker: kill -9 mid-job, cancellation, time limit, corrupt input, a shared queue."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jobs_helpers import (REAL_FASTQ, config_id, first_reads, make_patient, upload_sample, wait_job,
                          wait_workers)
from services.jobs.exceptions import JobFinished

#: The real spleen file five times (7,340 reads): an analysis of several seconds, long enough to interrupt.
BIG = REAL_FASTQ.read_bytes() * 5


@pytest.fixture
def patient(rpc, lab):
    return make_patient(rpc, lab.owner, lab.group)


def _worker_pid(job: dict) -> int:
    return int(job["worker_id"].split(":")[1])


def _restart_stack_workers(stack) -> None:
    """If a test killed a worker started by the stack fixture, start it again for the tests that follow."""
    stack.stack.start_workers()


def test_kill_9_mid_job_completes_exactly_once(rpc, object_store, lab, patient, workers, events, stack,
                                               admin_principal):
    listener = events(["analysis.started", "analysis.completed", "analysis.failed"])
    workers.start(1)
    wait_workers(rpc, admin_principal, 2)
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], BIG, "big.fastq")
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    running = wait_job(rpc, lab.owner, job["id"], states=("RUNNING",), timeout=60)
    time.sleep(1.0)  # the program is running now
    killed = _worker_pid(running)
    os.kill(killed, signal.SIGKILL)
    try:
        done = wait_job(rpc, lab.owner, job["id"], timeout=240)
    finally:
        _restart_stack_workers(stack)
    assert done["state"] == "COMPLETED", done
    assert done["attempts"] == 2 and _worker_pid(done) != killed
    results = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])
    assert len(results) == 1 and results[0]["reads_total"] == 7340
    listener.wait_for(lambda b: b["event"] == "analysis.completed" and b["data"]["job_id"] == job["id"])
    time.sleep(1.0)
    mine = [b for b in listener.drain() if b["data"]["job_id"] == job["id"]]
    assert [b["event"] for b in mine].count("analysis.completed") == 1
    assert [b["event"] for b in mine].count("analysis.failed") == 0
    assert [b["data"]["attempt"] for b in mine if b["event"] == "analysis.started"] == [1, 2]


def test_cancel_running_and_queued_jobs(rpc, object_store, lab, patient, events, admin_principal):
    listener = events(["analysis.failed"])
    wait_workers(rpc, admin_principal, 1)
    configs = [config_id(rpc, lab.owner, name) for name in ("TRA", "TRB", "TRG", "TRD")]
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], BIG, "big.fastq")
    jobs = [rpc.jobs.launch(lab.owner, sample["id"], patient["id"], c) for c in configs]
    running = wait_job(rpc, lab.owner, jobs[0]["id"], states=("RUNNING",), timeout=60)
    last = rpc.jobs.get_job(lab.owner, jobs[-1]["id"])
    assert last["state"] == "QUEUED"  # at most 2 workers: the 4th waits

    cancelled = rpc.jobs.cancel_job(lab.owner, last["id"])
    assert cancelled["state"] == "CANCELLED"
    asked_at = time.monotonic()
    rpc.jobs.cancel_job(lab.owner, running["id"])
    stopped = wait_job(rpc, lab.owner, running["id"], timeout=30)
    assert stopped["state"] == "CANCELLED" and "cancel" in stopped["reason"]
    assert time.monotonic() - asked_at < 10  # within a few heartbeats
    with pytest.raises(JobFinished):
        rpc.jobs.cancel_job(lab.owner, running["id"])
    for job in jobs[1:3]:
        rpc.jobs.cancel_job(lab.owner, job["id"])
        assert wait_job(rpc, lab.owner, job["id"], timeout=30)["state"] == "CANCELLED"
    listener.wait_for(lambda b: b["data"]["job_id"] == last["id"] and b["data"]["state"] == "CANCELLED")
    assert rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"]) == []
    # the sample can be analysed again once its job is cancelled
    again = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], configs[-1])
    rpc.jobs.cancel_job(lab.owner, again["id"])


def test_time_limit_gives_timeout(rpc, object_store, lab, patient, admin_principal):
    quick = rpc.jobs.create_config(admin_principal, {
        "name": f"IGH 1s {time.time_ns()}", "program": "vdj", "command": "-g IGH", "time_limit_s": 1,
        "classification": "test", "group_ids": [lab.group]})
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], BIG, "big.fastq")
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], quick["id"])
    done = wait_job(rpc, lab.owner, job["id"], timeout=120)
    assert done["state"] == "TIMEOUT"
    assert done["reason"] == "exceeded the time limit of 1 s"
    # the log of the killed run is kept for the user
    assert done["output_key"] and done["output_key"].endswith(".log")


def test_corrupt_file_fails_with_readable_reason(rpc, object_store, lab, patient):
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], first_reads(50), "small.fastq")
    # the stored object is damaged after its upload was accepted
    object_store.put_bytes(sample["bucket"], sample["object_key"], b"@r1\nACGTNNNNACGT\n+\nIIII\n")
    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], config_id(rpc, lab.owner, "IGH"))
    done = wait_job(rpc, lab.owner, job["id"], timeout=120)
    assert done["state"] == "FAILED"
    assert "exited with code 2" in done["reason"]
    assert "malformed record 1" in done["reason"] and "qualities differ" in done["reason"]


def test_two_workers_share_a_queue_of_20_jobs(rpc, object_store, lab, patient, workers, admin_principal):
    workers.start(1)
    wait_workers(rpc, admin_principal, 2)
    names = ("multi+inc", "IGH", "IGK", "TRB", "TRG")
    configs = [config_id(rpc, lab.owner, name) for name in names]
    samples = [upload_sample(rpc, object_store, lab.owner, patient["id"], first_reads(100), f"s{i}.fastq")
               for i in range(4)]
    jobs = [rpc.jobs.launch(lab.owner, s["id"], patient["id"], c) for s in samples for c in configs]
    assert len(jobs) == 20
    done = [wait_job(rpc, lab.owner, j["id"], timeout=600) for j in jobs]
    assert [d["state"] for d in done] == ["COMPLETED"] * 20
    assert len({d["worker_id"] for d in done}) >= 2  # both workers took jobs
    results = rpc.jobs.list_results(lab.owner, patient["id"])
    assert len(results) == 20 and all(r["reads_total"] == 100 for r in results)
