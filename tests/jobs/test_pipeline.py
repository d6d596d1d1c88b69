"""A real FASTQ from upload to COMPLETED through the real samples service, RabbitMQ, a worker process, vdj, S3
and MariaDB; the stored clones match a direct run of the analysis program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobs_helpers import REAL_FASTQ, config_id, make_patient, upload_sample, wait_job
from services.common.exceptions import Conflict, NotFound, PermissionDenied


@pytest.fixture(scope="module")
def direct_run(tmp_path_factory) -> dict:
    """The known answer: ``python -m vdj`` run directly on the same file with the same options."""
    out = tmp_path_factory.mktemp("direct")
    subprocess.run([sys.executable, "-m", "vdj", str(REAL_FASTQ), "-o", str(out), "-b", "direct", "-g", "multi",
                    "--no-progress", "-q"], check=True)
    return json.loads((out / "direct.vidjil").read_text())


def test_default_configs_are_seeded_and_public(rpc, lab):
    configs = {c["name"]: c for c in rpc.jobs.list_configs(lab.reader)}
    assert {"multi+inc", "IGH", "IGK", "IGL", "TRA", "TRB", "TRG", "TRD", "import"} <= set(configs)
    assert configs["multi+inc"]["command"] == "-g multi" and configs["multi+inc"]["program"] == "vdj"
    assert configs["TRG"]["command"] == "-g TRG" and configs["TRG"]["classification"] == "single locus"
    assert configs["import"]["program"] == "none"
    assert all(c["public"] for c in configs.values() if c["name"] in ("multi+inc", "IGH", "import"))


def test_real_fastq_upload_to_completed_result(rpc, object_store, lab, events, direct_run, stack, admin_principal):
    listener = events(["analysis.queued", "analysis.started", "analysis.completed"])
    patient = make_patient(rpc, lab.owner, lab.group)
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], REAL_FASTQ.read_bytes(),
                           "immunedb-d1_spl.fastq")
    multi = config_id(rpc, lab.owner, "multi+inc")

    job = rpc.jobs.launch(lab.owner, sample["id"], patient["id"], multi)
    assert job["state"] == "QUEUED" and job["sample_id"] == sample["id"] and job["config_id"] == multi
    with pytest.raises(Conflict, match="identical job"):
        rpc.jobs.launch(lab.owner, sample["id"], patient["id"], multi)

    done = wait_job(rpc, lab.owner, job["id"], timeout=180)
    assert done["state"] == "COMPLETED", done
    assert done["attempts"] == 1 and done["worker_id"]

    results = rpc.jobs.list_results(lab.owner, patient["id"], sample_id=sample["id"])
    assert len(results) == 1
    result = results[0]
    assert result["job_id"] == job["id"] and result["config_id"] == multi
    assert result["reads_total"] == 1468 == direct_run["reads"]["total"][0]
    assert result["reads_segmented"] == direct_run["reads"]["segmented"][0]
    assert result["reads_by_locus"] == {"IGH": direct_run["reads"]["germline"]["IGH"][0]}

    stored = json.loads(object_store.get_bytes(result["bucket"], result["vidjil_key"]))
    assert [(c["id"], c["reads"]) for c in stored["clones"]] == [(c["id"], c["reads"]) for c in direct_run["clones"]]
    top_cdr3 = [c["seg"]["junction"]["aa"] for c in stored["clones"][:5] if "junction" in c.get("seg", {})]
    assert "CAKMGPNLDYW" in top_cdr3  # the largest clone of this spleen sample (IGHV4-34 / IGHJ4)
    airr = object_store.get_bytes(result["bucket"], result["airr_key"]).decode()
    assert airr.startswith("sequence_id\t") or "\tv_call\t" in airr.splitlines()[0]
    assert b"junction detected" in object_store.get_bytes(result["bucket"], result["log_key"])

    # the fuse service's view, and the download keys the gateway uses
    latest = rpc.jobs.latest_results([sample["id"], 999999], multi)
    assert [r["id"] for r in latest] == [result["id"]]
    download = rpc.jobs.result_download(lab.owner, result["id"], "airr")
    assert download["key"] == result["airr_key"] and download["filename"].endswith(".tsv")

    completed = listener.wait_for(lambda b: b["event"] == "analysis.completed" and b["data"]["job_id"] == job["id"])
    assert completed["data"]["result_key"] == result["vidjil_key"]
    assert completed["data"]["sample_set_id"] == patient["id"]
    seen = [b["event"] for b in listener.seen if b["data"].get("job_id") == job["id"]]
    assert seen.index("analysis.queued") < seen.index("analysis.started") < seen.index("analysis.completed")

    # scratch files are removed
    scratch = Path(stack.settings.var_dir) / "scratch"
    assert not list(scratch.glob(f"*/job-{job['id']}-*"))


def test_launch_checks_rights(rpc, object_store, lab):
    patient = make_patient(rpc, lab.owner, lab.group)
    sample = upload_sample(rpc, object_store, lab.owner, patient["id"], REAL_FASTQ.read_bytes()[:20000].rsplit(
        b"\n@", 1)[0] + b"\n")
    igh = config_id(rpc, lab.owner, "IGH")
    with pytest.raises(NotFound):
        rpc.jobs.launch(lab.stranger, sample["id"], patient["id"], igh)
    with pytest.raises(PermissionDenied):
        rpc.jobs.launch(lab.reader, sample["id"], patient["id"], igh)
    with pytest.raises(NotFound):
        rpc.jobs.launch(lab.owner, sample["id"], patient["id"], 999999)
