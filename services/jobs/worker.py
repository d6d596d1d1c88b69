"""Job worker process: ``repseq worker`` / ``python -m services.jobs.worker``.

A plain process (no nameko, no eventlet: the analysis is CPU-bound and runs as a subprocess). It needs only the
broker and the object store, so workers can run on as many machines as reach them. Each worker:

1. consumes the durable queue ``repseq.jobs`` with prefetch 1 (one job at a time);
2. asks the jobs service whether to run the message (``jobs.job_started``: stale, cancelled or finished jobs are
   dropped; the attempt is counted, and a job delivered more than ``REPSEQ_JOB_MAX_ATTEMPTS`` times is FAILED);
3. streams the input from the object store into its scratch folder, runs the program (see
   :mod:`services.jobs.programs`) with a time limit and an address-space limit (``setrlimit`` in the child),
   in its own process group, killed with the worker (``PR_SET_PDEATHSIG``);
4. stores the ``.vidjil``, the AIRR TSV and the log in the results bucket, reports the outcome and read
   statistics (``jobs.job_finished``, retried until the service answers), and only then acknowledges the message;
5. removes its scratch files.

A worker killed at any point (even SIGKILL) loses nothing: its message was not acknowledged, RabbitMQ redelivers
it to another worker, and the job completes there (the result row is written once: the first report wins).
A heartbeat thread reports every ``REPSEQ_WORKER_HEARTBEAT`` seconds (``jobs.worker_heartbeat``); its reply
carries the jobs to cancel. SIGTERM/SIGINT: stop after giving the current job back (``jobs.job_released``).
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("repseq.worker")

#: Seconds between two checks of the running program (cancellation, time limit, AMQP heartbeats).
POLL = 0.5
#: How long to keep retrying a report to the jobs service before giving the message back.
REPORT_PATIENCE = 600.0


def _preexec(memory_mb: int):
    """Runs in the child before exec: own process group, address-space limit, die with the worker."""

    def apply():
        os.setsid()
        limit = int(memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: a SIGKILLed worker takes its program with it
        except OSError:
            pass

    return apply


@dataclass
class RunOutcome:
    state: str
    reason: str = ""
    files: dict[str, Path] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)


class Stopping(Exception):
    """The worker was asked to stop while running a job."""


class Worker:
    """One worker process (see the module docstring). ``max_jobs`` stops it after that many messages (tests)."""

    def __init__(self, settings, worker_id: str | None = None, max_jobs: int | None = None):
        from services.common.storage import ObjectStore

        self.settings = settings
        self.hostname = socket.gethostname()
        self.worker_id = worker_id or f"{self.hostname}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.max_jobs = max_jobs
        self.store = ObjectStore(settings, timeout=120)
        scratch = Path(settings.scratch_dir) if settings.scratch_dir else Path(settings.var_dir) / "scratch"
        self.scratch_root = scratch
        self.scratch = scratch / self.worker_id.replace(":", "_")
        self.stop_event = threading.Event()
        self.cancel_ids: set[int] = set()
        self.current_job_id: int | None = None
        self.pending = None  # the message delivered by kombu, processed outside the callback
        self.connection = None
        self.done = 0

    # -- identity / RPC ------------------------------------------------------------------------------------------
    def info(self) -> dict:
        return {"worker_id": self.worker_id, "hostname": self.hostname, "pid": os.getpid(),
                "current_job_id": self.current_job_id}

    def _proxy(self):
        from nameko.standalone.rpc import ClusterRpcProxy

        return ClusterRpcProxy(self.settings.nameko_config(), timeout=30)

    def _call(self, rpc, method: str, *args, patience: float = REPORT_PATIENCE):
        """Call ``jobs.<method>`` and retry (back-off, AMQP heartbeats kept) while the service does not answer."""
        from nameko.exceptions import RpcTimeout, UnknownService

        deadline = time.monotonic() + patience
        delay = 1.0
        while True:
            try:
                return getattr(rpc.jobs, method)(*args)
            except (RpcTimeout, UnknownService, OSError, ConnectionError) as error:
                if time.monotonic() > deadline:
                    raise
                log.warning("jobs.%s failed (%s); retrying in %.0f s", method, type(error).__name__, delay)
                self._sleep(delay)
                delay = min(delay * 2, 15)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._keepalive()
            time.sleep(min(POLL, max(0.0, end - time.monotonic())))

    def _keepalive(self) -> None:
        """Serve AMQP heartbeats of the consumer connection while a job runs (prefetch 1: nothing else comes)."""
        if self.connection is None:
            return
        try:
            self.connection.heartbeat_check()
            self.connection.drain_events(timeout=0.01)
        except socket.timeout:
            pass

    # -- heartbeat thread ----------------------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        proxy = None
        while not self.stop_event.is_set():
            try:
                if proxy is None:
                    proxy = self._proxy().start()
                reply = proxy.jobs.worker_heartbeat(self.info())
                self.cancel_ids.update(int(j) for j in reply.get("cancel", []))
            except Exception as error:  # the jobs service may be restarting: keep trying
                log.warning("heartbeat failed: %s: %s", type(error).__name__, error)
                if proxy is not None:
                    try:
                        proxy.stop()
                    except Exception:
                        pass
                proxy = None
            self.stop_event.wait(self.settings.worker_heartbeat)
        if proxy is not None:
            try:
                proxy.stop()
            except Exception:
                pass

    # -- main loop -----------------------------------------------------------------------------------------------
    def run(self) -> int:
        from kombu import Connection, Consumer

        from services.jobs.queue import QUEUE, declare

        self._clean_stale_scratch()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True)
        heartbeat.start()
        rpc = self._proxy().start()
        log.info("worker %s consuming %s (scratch %s)", self.worker_id, QUEUE.name, self.scratch)
        try:
            while not self.stop_event.is_set():
                try:
                    with Connection(self.settings.amqp_uri, heartbeat=20, connect_timeout=5) as connection:
                        self.connection = connection
                        declare(connection)
                        channel = connection.channel()
                        channel.basic_qos(prefetch_size=0, prefetch_count=1, a_global=False)
                        with Consumer(channel, queues=[QUEUE], callbacks=[self._on_message], accept=["json"]):
                            self._consume(rpc)
                        return 0
                except Exception as error:  # broker restart, channel closed (e.g. consumer_timeout), ...
                    if self.stop_event.is_set():
                        break
                    log.warning("broker connection lost (%s: %s); reconnecting in 2 s", type(error).__name__, error)
                    self.connection = None
                    time.sleep(2)
        finally:
            self.stop_event.set()
            try:
                rpc.stop()
                from nameko.standalone.rpc import ClusterRpcProxy

                with ClusterRpcProxy(self.settings.nameko_config(), timeout=3) as quick:
                    quick.jobs.worker_stopped(self.info())
            except Exception:
                pass
            shutil.rmtree(self.scratch, ignore_errors=True)
        return 0

    def _consume(self, rpc) -> None:
        while not self.stop_event.is_set():
            try:
                self.connection.drain_events(timeout=1)
            except socket.timeout:
                self.connection.heartbeat_check()
            if self.pending is not None:
                body, message = self.pending
                self.pending = None
                self._handle(rpc, body, message)
                self.done += 1
                if self.max_jobs and self.done >= self.max_jobs:
                    return

    def _on_message(self, body, message) -> None:
        self.pending = (body, message)

    def _on_signal(self, signum, frame) -> None:
        log.info("signal %s: stopping", signum)
        self.stop_event.set()

    # -- one message ---------------------------------------------------------------------------------------------
    def _handle(self, rpc, body, message) -> None:
        from pydantic import ValidationError

        from services.jobs.queue import JobMessage

        try:
            job_message = JobMessage.model_validate(body)
        except ValidationError:
            log.error("dropping malformed message %r", body)
            message.ack()
            return
        redelivered = bool(message.delivery_info.get("redelivered"))
        reply = self._call(rpc, "job_started", job_message.job_id, job_message.token, self.info(), redelivered)
        if reply.get("action") != "run":
            log.info("job %s dropped: %s", job_message.job_id, reply.get("reason"))
            message.ack()
            return
        spec = reply["job"]
        self.current_job_id = spec["job_id"]
        workdir = self.scratch / f"job-{spec['job_id']}-{spec.get('attempt', 1)}"
        try:
            try:
                outcome = self.execute(spec, workdir)
            except Stopping:
                log.info("giving job %s back", spec["job_id"])
                try:
                    rpc.jobs.job_released(job_message.job_id, job_message.token, self.info())
                finally:
                    message.requeue()
                return
            report = self.store_outputs(spec, outcome)
            stored = self._call(rpc, "job_finished", job_message.job_id, job_message.token, self.info(), report)
            if not stored.get("stored"):
                log.info("job %s: outcome not stored (%s); removing its objects", spec["job_id"], stored.get("reason"))
                self._delete_objects(report, spec)
            message.ack()
            log.info("job %s %s %s", spec["job_id"], outcome.state, outcome.reason)
        finally:
            self.current_job_id = None
            self.cancel_ids.discard(spec["job_id"])
            shutil.rmtree(workdir, ignore_errors=True)

    def execute(self, spec: dict, workdir: Path) -> RunOutcome:
        """Fetch the input(s), run the program, check its output. Never raises for a bad job: the outcome says
        FAILED / TIMEOUT / CANCELLED with a readable reason (raises :class:`Stopping` on worker shutdown)."""
        from services.common.storage import ObjectNotFound
        from services.jobs import programs

        shutil.rmtree(workdir, ignore_errors=True)
        in_dir, out_dir = workdir / "in", workdir / "out"
        in_dir.mkdir(parents=True)
        out_dir.mkdir()
        log_path = workdir / f"{spec['basename']}.log"
        files: dict[str, Path] = {}
        try:
            source = spec["input"]
            pair = spec["kind"] == "pre_process"
            input_path = in_dir / _safe_name(source.get("name") or source["key"].rsplit("/", 1)[-1])
            self._fetch(source["bucket"], source["key"], input_path, "first file (R1)" if pair else "sequence file")
            if pair:
                # both files of a pair come from the same place: two objects, or two files of a mounted directory
                if not source.get("key2"):
                    return RunOutcome("FAILED", "the sample has no second file (R2)")
                second = in_dir / ("R2-" + _safe_name(source["key2"].rsplit("/", 1)[-1]))
                self._fetch(source["bucket"], source["key2"], second, "second file (R2)")
                merged = out_dir / _merged_name(input_path.name, second.name)
                argv = programs.pre_process_argv(spec["command"], input_path, second, merged)
                state, reason = self._run(argv, spec, log_path, workdir)
                files["log"] = log_path
                if state == "COMPLETED" and (not merged.exists() or merged.stat().st_size == 0):
                    state, reason = "FAILED", f"the pre-process wrote no output ({programs.last_line(log_path)})"
                if state == "COMPLETED":
                    files["output"] = merged
                return RunOutcome(state, reason, files)
            if spec["kind"] == "grep_reads":
                extracted = out_dir / f"{spec['basename']}.grep.fa"
                count = programs.grep_reads(input_path, spec["grep_reads"], extracted)
                log_path.write_text(f"{count} reads contain the sequence or its reverse complement\n")
                return RunOutcome("COMPLETED", "", {"extra": extracted, "log": log_path}, {"total": count})
            argv = programs.analysis_argv(spec["program"], spec["command"], input_path, out_dir, spec["basename"])
            if argv is None:  # program "none": the uploaded file is the result
                kind = programs.sniff_analysed_file(input_path)
                vidjil = out_dir / f"{spec['basename']}.vidjil"
                if kind == "vidjil":
                    shutil.copyfile(input_path, vidjil)
                else:
                    airr = out_dir / f"{spec['basename']}.tsv"
                    shutil.copyfile(input_path, airr)
                    programs.airr_to_vidjil(airr, vidjil)
                    files["airr"] = airr
                files["vidjil"] = vidjil
                log_path.write_text(f"imported {input_path.name} as {kind}\n")
                files["log"] = log_path
            else:
                state, reason = self._run(argv, spec, log_path, workdir)
                files["log"] = log_path
                if state != "COMPLETED":
                    return RunOutcome(state, reason, files)
                vidjil, airr = programs.find_outputs(out_dir, spec["basename"])
                if airr is not None:
                    files["airr"] = airr
                if vidjil is None and airr is not None:
                    vidjil = out_dir / f"{spec['basename']}.vidjil"
                    programs.airr_to_vidjil(airr, vidjil)
                if vidjil is None:
                    return RunOutcome("FAILED", "the program wrote neither a .vidjil file nor an AIRR TSV", files)
                files["vidjil"] = vidjil
            return RunOutcome("COMPLETED", "", files, programs.read_stats(files["vidjil"]))
        except ObjectNotFound as error:
            return RunOutcome("FAILED", f"input file missing from the object store: {error}", files)
        except programs.ProgramError as error:
            return RunOutcome("FAILED", str(error), files)
        except Stopping:
            raise
        except Exception as error:  # a readable reason instead of a crash loop on one bad job
            log.exception("job %s failed in the worker", spec["job_id"])
            return RunOutcome("FAILED", f"worker error: {type(error).__name__}: {error}", files)

    def _fetch(self, bucket: str, key: str, path: Path, what: str = "sequence file") -> None:
        """Stream ``bucket/key`` into ``path``. An empty bucket means a file of a mounted directory: ``key`` is its
        absolute path, linked after checking it is a regular file this worker can read; otherwise ProgramError
        saying which file (``what``, e.g. "second file (R2)") by its name only (the directory's root is shown to
        administrators only, the reason to every reader of the set)."""
        if not bucket:
            mounted = Path(key)
            try:
                if not mounted.is_file():
                    raise FileNotFoundError(key)
                with open(mounted, "rb") as handle:
                    handle.read(1)
            except OSError:
                raise programs_error(f"the {what} of the sample, {mounted.name}, is missing from its mounted "
                                     f"directory or not readable on worker {self.hostname}") from None
            path.symlink_to(mounted)
            return
        with open(path, "wb") as handle:
            self.store.download_to(bucket, key, handle)

    def _run(self, argv: list[str], spec: dict, log_path: Path, cwd: Path) -> tuple[str, str]:
        """Run ``argv`` (stdout+stderr to ``log_path``) under the job's limits; ``(state, reason)``."""
        limit = int(spec["time_limit_s"])
        with open(log_path, "ab") as log_file:
            log_file.write(f"$ {' '.join(argv)}\n".encode())
            log_file.flush()
            try:
                process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                           cwd=cwd, preexec_fn=_preexec(int(spec["memory_limit_mb"])),
                                           env={**os.environ, "PYTHONUNBUFFERED": "1"})
            except OSError as error:
                return "FAILED", f"cannot start {argv[0]}: {error.strerror or error}"
            started = time.monotonic()
            while True:
                try:
                    returncode = process.wait(timeout=POLL)
                    break
                except subprocess.TimeoutExpired:
                    pass
                self._keepalive()
                if spec["job_id"] in self.cancel_ids:
                    _kill_group(process)
                    return "CANCELLED", "cancelled while running"
                if time.monotonic() - started > limit:
                    _kill_group(process)
                    return "TIMEOUT", f"exceeded the time limit of {limit} s"
                if self.stop_event.is_set():
                    _kill_group(process)
                    raise Stopping()
        if returncode == 0:
            return "COMPLETED", ""
        from services.jobs.programs import last_line

        program = Path(argv[0]).name if argv[0] != sys.executable else " ".join(argv[1:3])
        if returncode < 0:
            name = signal.Signals(-returncode).name
            hint = " (out of memory?)" if -returncode == signal.SIGKILL else ""
            return "FAILED", f"{program} was killed by {name}{hint}; {last_line(log_path)}"
        detail = last_line(log_path)
        if "MemoryError" in detail:
            detail += f" (memory limit {spec['memory_limit_mb']} MiB)"
        return "FAILED", f"{program} exited with code {returncode}: {detail}"

    def store_outputs(self, spec: dict, outcome: RunOutcome) -> dict:
        """Upload the outcome's files; return the report for ``jobs.job_finished``."""
        prefix = spec["output_prefix"]
        report: dict[str, Any] = {"state": outcome.state, "reason": outcome.reason, "stats": outcome.stats or {}}
        bucket = spec["results_bucket"]
        report["bucket"] = bucket
        content_types = {"vidjil": "application/json", "airr": "text/tab-separated-values", "log": "text/plain",
                         "extra": "text/plain"}
        try:
            for role, path in outcome.files.items():
                if not path.exists():
                    continue
                if role == "output":  # a pre-process's merged file goes beside the sequences
                    key = prefix + path.name
                    with open(path, "rb") as handle:
                        self.store.put_stream(spec["sequences_bucket"], key, handle, length=path.stat().st_size)
                    report["output_key"] = key
                    continue
                key = prefix + path.name
                with open(path, "rb") as handle:
                    self.store.put_stream(bucket, key, handle, length=path.stat().st_size,
                                          content_type=content_types.get(role, "application/octet-stream"))
                report[f"{role}_key"] = key
        except Exception as error:
            log.exception("storing the outputs of job %s failed", spec["job_id"])
            report.update(state="FAILED", reason=f"could not store the results: {type(error).__name__}: {error}")
        return report

    def _delete_objects(self, report: dict, spec: dict) -> None:
        """Remove what a run stored when its report was refused (another delivery of the job won)."""
        targets = [(report["bucket"], report[r]) for r in ("vidjil_key", "airr_key", "log_key", "extra_key")
                   if report.get(r)]
        if report.get("output_key"):
            targets.append((spec["sequences_bucket"], report["output_key"]))
        for bucket, key in targets:
            try:
                self.store.delete(bucket, key)
            except Exception:
                pass

    def _clean_stale_scratch(self) -> None:
        """Remove scratch folders of dead workers of this host (a SIGKILLed worker cannot clean up)."""
        if not self.scratch_root.is_dir():
            return
        for folder in self.scratch_root.iterdir():
            parts = folder.name.split("_")
            if len(parts) >= 3 and parts[0] == self.hostname and parts[1].isdigit():
                pid = int(parts[1])
                if pid != os.getpid() and not _pid_alive(pid):
                    shutil.rmtree(folder, ignore_errors=True)


def programs_error(message: str) -> Exception:
    from services.jobs.programs import ProgramError

    return ProgramError(message)


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:200].lstrip(".")
    return cleaned or "input"


def _merged_name(first: str, second: str) -> str:
    """Common prefix of the R1/R2 names plus their common extension (e.g. ``sample_R1.fastq.gz`` +
    ``R2-sample_R2.fastq.gz`` -> ``sample_merged.fastq.gz``)."""
    second = second[3:] if second.startswith("R2-") else second
    prefix = os.path.commonprefix([first, second]).rstrip("._-R") or "merged"
    suffix = ".fastq.gz" if first.endswith(".gz") and second.endswith(".gz") else ".fastq"
    if ".fa" in first and ".fastq" not in first:
        suffix = ".fasta"
    return f"{prefix}_merged{suffix}"


def _wait_for_broker(settings) -> bool:
    """Retry the broker with back-off for ``REPSEQ_STARTUP_TIMEOUT`` seconds (services.common.runner is not
    imported: it monkey-patches with eventlet, which a worker must not)."""
    from kombu import Connection

    deadline = time.monotonic() + (settings.startup_timeout or 1e9)
    delay = 0.5
    while True:
        try:
            with Connection(settings.amqp_uri, connect_timeout=3) as connection:
                connection.ensure_connection(max_retries=1)
            return True
        except Exception as error:
            if time.monotonic() + delay > deadline:
                log.error("RabbitMQ unreachable after %.0f s: %s", settings.startup_timeout, error)
                return False
            log.warning("RabbitMQ unreachable (%s); retrying in %.1f s", error, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m services.jobs.worker`` and ``repseq worker``."""
    parser = argparse.ArgumentParser(prog="repseq worker", description="Run analysis jobs from the work queue.")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many messages (tests)")
    parser.add_argument("--id", dest="worker_id", default=None, help="worker id (default host:pid:random)")
    args = parser.parse_args(argv)
    from services.common.config import ConfigError, Settings
    from services.common.logging import configure_logging

    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if not _wait_for_broker(settings):
        return 1
    return Worker(settings, worker_id=args.worker_id, max_jobs=args.max_jobs).run()


if __name__ == "__main__":
    sys.exit(main())
