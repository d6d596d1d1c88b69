"""Jobs benchmark (issue #6): job dispatch latency and jobs/minute for small files, on the real broker, database,
object store, samples and jobs services and worker processes.

    python benchmarks/bench_jobs.py [--workers 2] [--jobs 20] [--reads 100] [--latency-samples 10]

It starts its own isolated stack (own RabbitMQ vhost, databases ``repseq_bench_<token>_*``, buckets
``repseq-bench-<token>-*``; the S3 server of this machine, started if absent) with only the samples and jobs
services and ``--workers`` worker processes, creates a patient and small samples (the first ``--reads`` reads of
tests/data/real/immunedb-d1_spl.fastq), then measures:

1. dispatch latency, one job at a time on idle workers: ``jobs.launch`` RPC time, and launch -> ``analysis.started``
   (row written, message published, taken by a worker, ``job_started`` answered), from the events' timestamps;
   also launch -> ``analysis.completed``;
2. throughput: ``--jobs`` jobs launched at once (samples x configs), time until the last is COMPLETED, as
   jobs/minute, beside the time of one direct ``python -m vdj`` run on the same file (the floor per job: the
   analysis program's start-up dominates for small files).

Everything is removed at the end. Uses every core it is given: run it alone.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from isolated_stack import isolated_settings, tear_down  # noqa: E402

FASTQ = ROOT / "tests" / "data" / "real" / "immunedb-d1_spl.fastq"
CONFIGS = ("IGH", "multi+inc", "IGK", "TRB", "TRG")



def first_reads(count: int) -> bytes:
    lines = FASTQ.read_bytes().split(b"\n")
    return b"\n".join(lines[: 4 * count]) + b"\n"


class Events:
    """Collects ``analysis.*`` events from ``jobs.events`` on an exclusive queue."""

    def __init__(self, amqp_uri: str):
        from kombu import Connection, Exchange, Queue

        self.connection = Connection(amqp_uri)
        channel = self.connection.channel()
        exchange = Exchange("jobs.events", type="topic", durable=True)
        exchange.maybe_bind(channel)
        exchange.declare()
        self.queue = Queue(exclusive=True, auto_delete=True, channel=channel)
        self.queue.declare()
        self.queue.bind_to(exchange, routing_key="analysis.*")
        self.by_job: dict[int, dict[str, float]] = {}

    def poll(self) -> None:
        while True:
            message = self.queue.get(no_ack=True)
            if message is None:
                return
            body = json.loads(message.body) if isinstance(message.payload, (bytes, str)) else message.payload
            when = datetime.fromisoformat(body["occurred_at"]).timestamp()
            self.by_job.setdefault(body["data"]["job_id"], {})[body["event"]] = when

    def wait(self, job_ids, event: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if all(event in self.by_job.get(j, {}) or "analysis.failed" in self.by_job.get(j, {}) for j in job_ids):
                return
            time.sleep(0.02)
        raise TimeoutError(f"{event} not seen for every job within {timeout} s")


def wait_ready(rpc, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if rpc.jobs.health()["status"] == "ok" and rpc.samples.health()["status"] == "ok":
                return
        except Exception:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.5)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--jobs", type=int, default=20, help="jobs of the throughput run (default 20)")
    parser.add_argument("--reads", type=int, default=100, help="reads per small file (default 100)")
    parser.add_argument("--latency-samples", type=int, default=10, help="jobs timed one by one (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the stack's var dir (logs) at the end")
    args = parser.parse_args()

    from nameko.standalone.rpc import ClusterRpcProxy

    from repseq.stack import Stack
    from services.common.principal import Membership, Principal
    from services.common.storage import ObjectStore

    settings, vhost = isolated_settings(workers=args.workers)
    var_dir = settings.var_dir
    stack = Stack(settings, services=("samples", "jobs"), gateway=False, workers=args.workers)
    store = ObjectStore(settings, timeout=120)
    group = 1000
    owner = Principal.build(7, email="bench@lab.org", memberships=[Membership(
        id=group, name="bench", capabilities=frozenset({"read", "create", "upload", "run", "admin", "anon"}))]
                            ).to_dict()
    data = first_reads(args.reads)
    report: dict = {"workers": args.workers, "reads_per_file": args.reads}
    try:
        print(f"starting samples, jobs and {args.workers} worker(s) on vhost {vhost} ...", flush=True)
        stack.up(timeout=180)
        store.ensure_buckets()
        events = Events(settings.amqp_uri)
        with ClusterRpcProxy(settings.nameko_config(), timeout=60) as rpc:
            wait_ready(rpc)
            deadline = time.monotonic() + 60
            while len([w for w in rpc.jobs.list_workers({"user_id": 1, "is_admin": True})
                       if w["state"] == "idle"]) < args.workers:
                if time.monotonic() > deadline:
                    raise TimeoutError("workers did not report")
                time.sleep(0.3)
            configs = {c["name"]: c["id"] for c in rpc.jobs.list_configs(owner)}
            patient = rpc.samples.create_sample_set(owner, "patient", {"first_name": "Bench", "last_name": "Mark"},
                                                    group)

            def new_sample(name: str) -> int:
                sample = rpc.samples.create_sample(owner, [patient["id"]], name, "2024-01-01")
                stored = store.put_stream(sample["upload_bucket"], sample["upload_key"], io.BytesIO(data))
                rpc.samples.complete_upload(owner, sample["id"], sample["upload_key"], stored.size, stored.sha256)
                return sample["id"]

            # 1. dispatch latency, one job at a time
            launch_ms, started_ms, completed_s = [], [], []
            for index in range(args.latency_samples):
                sample_id = new_sample(f"lat{index}.fastq")
                sent = time.time()
                job = rpc.jobs.launch(owner, sample_id, patient["id"], configs["IGH"])
                launch_ms.append((time.time() - sent) * 1000)
                events.wait([job["id"]], "analysis.completed")
                seen = events.by_job[job["id"]]
                started_ms.append((seen["analysis.started"] - sent) * 1000)
                completed_s.append(seen.get("analysis.completed", float("nan")) - sent)
            report["launch_rpc_ms"] = {"median": round(statistics.median(launch_ms), 1),
                                       "p95": round(percentile(launch_ms, 0.95), 1)}
            report["launch_to_started_ms"] = {"median": round(statistics.median(started_ms), 1),
                                              "p95": round(percentile(started_ms, 0.95), 1),
                                              "max": round(max(started_ms), 1)}
            report["launch_to_completed_s"] = {"median": round(statistics.median(completed_s), 2)}

            # 2. throughput: jobs launched at once
            per_sample = len(CONFIGS)
            sample_ids = [new_sample(f"tp{i}.fastq") for i in range(-(-args.jobs // per_sample))]
            pairs = [(s, configs[c]) for s in sample_ids for c in CONFIGS][: args.jobs]
            started = time.time()
            job_ids = [rpc.jobs.launch(owner, s, patient["id"], c)["id"] for s, c in pairs]
            launched = time.time() - started
            events.wait(job_ids, "analysis.completed", timeout=3600)
            last = max(events.by_job[j].get("analysis.completed", 0) for j in job_ids)
            elapsed = last - started
            failed = [j for j in job_ids if "analysis.failed" in events.by_job[j]]
            workers_used = {rpc.jobs.get_job(owner, j)["worker_id"] for j in job_ids}
            report["throughput"] = {"jobs": len(job_ids), "failed": len(failed), "launch_all_s": round(launched, 2),
                                    "elapsed_s": round(elapsed, 1),
                                    "jobs_per_minute": round(len(job_ids) / elapsed * 60, 1),
                                    "workers_used": len(workers_used)}
        # the floor: one direct run of the analysis program on the same file
        sample_file = var_dir / "small.fastq"
        sample_file.write_bytes(data)
        direct = time.monotonic()
        subprocess.run([sys.executable, "-m", "vdj", str(sample_file), "-o", str(var_dir / "direct"), "-g", "IGH",
                        "--no-progress", "-q"], check=True)
        report["direct_vdj_run_s"] = round(time.monotonic() - direct, 2)
        events.connection.release()
    finally:
        tear_down(stack, settings, store, vhost, keep_var_dir=args.keep)

    print(json.dumps(report, indent=2))
    tp = report["throughput"]
    print(f"dispatch latency (launch -> analysis.started): median {report['launch_to_started_ms']['median']} ms, "
          f"p95 {report['launch_to_started_ms']['p95']} ms; launch RPC median {report['launch_rpc_ms']['median']} ms")
    print(f"throughput: {tp['jobs']} jobs of {args.reads} reads on {args.workers} worker(s) in {tp['elapsed_s']} s = "
          f"{tp['jobs_per_minute']} jobs/minute ({tp['failed']} failed); one direct vdj run takes "
          f"{report['direct_vdj_run_s']} s")
    return 0 if not tp["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
