"""The fuse child process (services/fuse/runner.py) against the real S3 server: inputs streamed from the object
store, output stored there, errors and the time limit as the service sees them. No nameko service needed."""

from __future__ import annotations

import json
import os
import secrets
import stat

import pytest

from services.fuse.exceptions import FuseFailed, FuseTimeLimit, InvalidResult
from services.fuse.runner import run_fuse_process, run_post_scripts
from services.fuse.schemas import FuseInput, FuseJob


@pytest.fixture(scope="module")
def stored_results(object_store, vdj_results) -> dict[str, FuseInput]:
    """The two real vdj results in the test results bucket, plus an object that is not valid JSON."""
    bucket = object_store.buckets["results"]
    prefix = f"fuse-runner-{secrets.token_hex(3)}"
    inputs = {}
    for number, (name, path) in enumerate(sorted(vdj_results.items()), start=1):
        key = f"{prefix}/{name}.vidjil"
        object_store.put_bytes(bucket, key, path.read_bytes())
        inputs[name] = FuseInput(bucket=bucket, key=key, name=name, sample_id=number, result_id=100 + number,
                                 sampling_date=f"2024-0{number}-01")
    object_store.put_bytes(bucket, f"{prefix}/broken.vidjil", b'{"clones": [{"id": "AC')
    inputs["broken"] = FuseInput(bucket=bucket, key=f"{prefix}/broken.vidjil", name="broken", sample_id=9)
    return inputs


@pytest.fixture(scope="module")
def child_env(settings) -> dict[str, str]:
    return {**os.environ, **settings.to_env()}


def test_child_fuses_results_from_the_object_store(object_store, stored_results, child_env, vdj_documents):
    key = f"fused-test/{secrets.token_hex(4)}.vidjil"
    job = FuseJob(inputs=[stored_results["colon"], stored_results["spl"]], output_bucket=stored_results["spl"].bucket,
                  output_key=key)
    answer = run_fuse_process(job, time_limit=120, env=child_env)
    assert answer["ok"] and answer["samples"] == 2 and answer["key"] == key
    fused = json.loads(object_store.get_bytes(answer["bucket"], key))
    assert answer["size"] == object_store.stat(answer["bucket"], key).size
    assert fused["samples"]["names"] == ["colon", "spl"]
    assert fused["reads"]["total"] == [vdj_documents["colon"]["reads"]["total"][0],
                                       vdj_documents["spl"]["reads"]["total"][0]]
    assert len(fused["clones"]) == answer["clones"] > 100


def test_child_returns_the_fused_result_without_output_key(stored_results, child_env):
    answer = run_fuse_process(FuseJob(inputs=[stored_results["spl"]], top=5), time_limit=120, env=child_env)
    assert len(answer["fused"]["clones"]) == 5
    assert answer["fused"]["samples"]["results_file_id"] == [stored_results["spl"].result_id]


def test_invalid_json_result_is_a_clear_error(stored_results, child_env):
    job = FuseJob(inputs=[stored_results["spl"], stored_results["broken"]])
    with pytest.raises(InvalidResult) as caught:
        run_fuse_process(job, time_limit=120, env=child_env)
    assert "sample 9" in caught.value.message and "not valid JSON" in caught.value.message


def test_missing_result_file_is_named(stored_results, child_env):
    missing = stored_results["spl"].model_copy(update={"key": "no/such/result.vidjil", "name": "gone"})
    with pytest.raises(InvalidResult, match="no/such/result.vidjil is missing"):
        run_fuse_process(FuseJob(inputs=[missing]), time_limit=120, env=child_env)


def test_time_limit_stops_the_child(stored_results, child_env):
    with pytest.raises(FuseTimeLimit) as caught:
        run_fuse_process(FuseJob(inputs=[stored_results["spl"]]), time_limit=0.05, env=child_env)
    assert "limit of 0.05 s" in caught.value.message and caught.value.http_status == 504


def _script(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_post_scripts_run_in_order_and_failures_are_named(tmp_path):
    from services.fuse.post_scripts import BUNDLED_DIR

    fused = {"reads": {"segmented": [200, 0]}, "clones": [{"id": "A", "reads": [20, 3]}]}
    out = run_post_scripts(fused, [str(BUNDLED_DIR / "normalize_per_100k.py")], time_limit=30)
    assert out["clones"][0]["normalized_reads"] == [10000.0, None]
    failing = _script(tmp_path, "fail.py", "import sys\nprint('spike file missing', file=sys.stderr)\nsys.exit(3)\n")
    with pytest.raises(FuseFailed, match=r"post-script fail.py failed \(exit 3\): spike file missing"):
        run_post_scripts(fused, [failing], time_limit=30)
    silent = _script(tmp_path, "silent.py", "pass\n")
    with pytest.raises(FuseFailed, match="did not write"):
        run_post_scripts(fused, [silent], time_limit=30)


GREEN_CHECK = r"""
import eventlet
eventlet.monkey_patch()  # as services.common.runner does for every nameko service
import json, sys, time
from services.fuse.exceptions import FuseTimeLimit
from services.fuse.runner import run_fuse_process
from services.fuse.schemas import FuseJob
ticks = []
def ticker():
    while True:
        ticks.append(time.monotonic())
        eventlet.sleep(0.02)
eventlet.spawn(ticker)
job = FuseJob.model_validate_json(sys.stdin.read())
started = time.monotonic()
try:
    run_fuse_process(job, time_limit=0.3)
    outcome = "finished"
except FuseTimeLimit:
    outcome = "time limit"
print(json.dumps({"outcome": outcome, "seconds": time.monotonic() - started, "ticks": len(ticks)}))
"""


def test_time_limit_under_eventlet_does_not_block_other_greenlets(stored_results, child_env):
    """Inside a nameko service the wait is green: other workers keep running, and the limit still applies."""
    import subprocess
    import sys

    job = FuseJob(inputs=[stored_results["spl"]])
    done = subprocess.run([sys.executable, "-c", GREEN_CHECK], input=job.model_dump_json(), capture_output=True,
                          text=True, env=child_env, timeout=60)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "time limit", done.stderr[-2000:]
    assert report["seconds"] < 5
    assert report["ticks"] >= 5  # the hub ran other greenlets while waiting for the child
