"""The fuse process: fusing is CPU work, so the service never runs it inside a nameko worker.

Child side (``python -m services.fuse.runner``): reads a :class:`~services.fuse.schemas.FuseJob` as JSON on stdin,
streams each input ``.vidjil`` from the object store (one parsed document alive at a time), fuses
(:func:`services.fuse.fusing.fuse_sources`), runs the post-processing scripts, stores the fused ``.vidjil`` (or
prints it) and prints one JSON answer on stdout::

    {"ok": true, "bucket", "key", "size", "sha256", "clones", "samples", "seconds"}     (stored)
    {"ok": true, ..., "fused": {...}}                                                  (no output key)
    {"ok": false, "error": {"code", "message", "details"}, "error_class": "InvalidResult"}

Parent side: :func:`run_fuse_process` starts the child, enforces the time limit (killing the child) and turns
its answer into a dict or the service's exceptions. Under nameko, ``subprocess`` is eventlet's green version
(the runner monkey-patches), so waiting does not block the other workers.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from services.fuse import exceptions as errors
from services.fuse.fusing import fuse_sources
from services.fuse.schemas import FuseJob

#: Errors the child reports by class name; anything else becomes FuseFailed.
_ERROR_CLASSES = {cls.__name__: cls for cls in (errors.InvalidResult, errors.FuseFailed, errors.FuseTimeLimit,
                                                errors.NoResults, errors.BadRequest)}


# -- parent side -----------------------------------------------------------------------------------------------

def run_fuse_process(job: FuseJob, time_limit: float, env: dict[str, str] | None = None) -> dict:
    """Run ``job`` in a child process; return its answer (see the module docstring).

    Raises :class:`FuseTimeLimit` after ``time_limit`` seconds (the child is killed), the child's own error
    (``InvalidResult`` for a result that is not valid JSON...), or :class:`FuseFailed` if it crashed.
    """
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "services.fuse.runner"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or dict(os.environ),
                               cwd=str(Path(__file__).resolve().parents[2]))
    # A timer kills the child at the limit: works the same with the standard and eventlet's green subprocess
    # (whose communicate(timeout=...) raises a TimeoutExpired class of its own).
    expired = threading.Event()

    def stop():
        expired.set()
        process.kill()

    timer = threading.Timer(time_limit, stop)
    timer.daemon = True
    timer.start()
    try:
        stdout, stderr = process.communicate(job.model_dump_json().encode())
    finally:
        timer.cancel()
    if expired.is_set():
        raise errors.FuseTimeLimit(
            f"fusing {len(job.inputs)} result(s) took longer than the limit of {time_limit:g} s and was stopped",
            {"time_limit_s": time_limit, "results": len(job.inputs)})
    try:
        answer = json.loads(stdout)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        raise errors.FuseFailed(f"the fuse process failed: {tail[0][:500]}",
                                {"returncode": process.returncode})
    if not answer.get("ok"):
        error = answer.get("error") or {}
        cls = _ERROR_CLASSES.get(answer.get("error_class"), errors.FuseFailed)
        raise cls(error.get("message") or "the fuse process failed", error.get("details") or {})
    answer["wall_seconds"] = time.monotonic() - started
    return answer


# -- child side ------------------------------------------------------------------------------------------------

def _load(store, bucket: str, key: str, source: str) -> bytes:
    from services.common.storage import ObjectNotFound

    try:
        return store.get_bytes(bucket, key)
    except ObjectNotFound:
        raise errors.InvalidResult(f"{source}: result file {bucket}/{key} is missing",
                                   {"bucket": bucket, "key": key}) from None


def run_post_scripts(fused: dict, scripts: list[str], time_limit: float) -> dict:
    """Run each script (``script -i IN -o OUT``; ``.py`` files with this Python) on the fused result, in order.

    Raises :class:`FuseFailed` naming the script when it exits non-zero, exceeds ``time_limit`` seconds or writes
    something that is not a ``.vidjil`` object."""
    with tempfile.TemporaryDirectory(prefix="repseq-fuse-") as scratch:
        for index, script in enumerate(scripts):
            name = os.path.basename(script)
            source = Path(scratch) / f"in-{index}.vidjil"
            target = Path(scratch) / f"out-{index}.vidjil"
            source.write_text(json.dumps(fused))
            command = ([sys.executable, script] if script.endswith(".py") else [script]) + \
                ["-i", str(source), "-o", str(target)]
            try:
                done = subprocess.run(command, capture_output=True, timeout=time_limit, cwd=scratch)
            except subprocess.TimeoutExpired:
                raise errors.FuseFailed(f"post-script {name} took longer than {time_limit:g} s",
                                        {"script": name}) from None
            except OSError as error:
                raise errors.FuseFailed(f"post-script {name} could not start: {error}", {"script": name}) from None
            if done.returncode != 0:
                tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
                raise errors.FuseFailed(f"post-script {name} failed (exit {done.returncode}): {tail[0][:300]}",
                                        {"script": name, "returncode": done.returncode})
            try:
                fused = json.loads(target.read_bytes())
            except (OSError, ValueError):
                raise errors.FuseFailed(f"post-script {name} did not write a JSON result to its -o file",
                                        {"script": name}) from None
            if not isinstance(fused, dict) or not isinstance(fused.get("clones", []), list):
                raise errors.FuseFailed(f"post-script {name} wrote something that is not a .vidjil object",
                                        {"script": name})
    return fused


def execute(job: FuseJob, store=None) -> dict:
    """Do ``job`` in this process; return the answer dict (``ok`` true) or raise the service's errors."""
    if store is None:
        from services.common.config import Settings
        from services.common.storage import ObjectStore

        store = ObjectStore(Settings.from_env())
    started = time.perf_counter()
    sources = [((lambda item=item: _load(store, item.bucket, item.key, item.name)), item.sample_info())
               for item in job.inputs]
    fused = fuse_sources(sources, top=job.top)
    if job.post_scripts:
        fused = run_post_scripts(fused, job.post_scripts, job.script_time_limit)
    data = json.dumps(fused, separators=(",", ":"), ensure_ascii=False).encode()
    answer = {"ok": True, "clones": len(fused.get("clones") or []), "samples": fused["samples"]["number"],
              "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if job.output_key:
        bucket = job.output_bucket or store.buckets["results"]
        store.put_bytes(bucket, job.output_key, data, content_type="application/json")
        answer.update(bucket=bucket, key=job.output_key)
    else:
        answer["fused"] = fused
    answer["seconds"] = time.perf_counter() - started
    return answer


def main() -> int:
    try:
        job = FuseJob.model_validate_json(sys.stdin.buffer.read())
    except ValueError as error:
        answer = {"ok": False, "error_class": "BadRequest",
                  "error": {"code": "bad_request", "message": f"malformed fuse job: {error}", "details": {}}}
    else:
        try:
            answer = execute(job)
        except errors.RepseqError as error:
            answer = {"ok": False, "error_class": type(error).__name__, "error": error.to_dict()}
    sys.stdout.write(json.dumps(answer, separators=(",", ":")))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
