"""Helpers of the jobs tests: principals, a patient with a real uploaded FASTQ (through the real samples
service), waiting for job states, extra worker processes, event listeners on the real broker."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.common.principal import Membership, Principal

DATA = Path(__file__).resolve().parents[1] / "data"
REAL_FASTQ = DATA / "real" / "immunedb-d1_spl.fastq"
REPO = Path(__file__).resolve().parents[2]

# ids far from those of other test folders (services do not check that groups exist)
_ids = itertools.count(9100)
ALL = ("read", "create", "upload", "run", "save", "admin", "anon")


def new_id() -> int:
    return next(_ids)


def principal(user_id: int, groups: dict[int, tuple[str, ...]], is_admin: bool = False) -> dict:
    members = [Membership(id=g, name=f"g{g}", capabilities=frozenset(caps)) for g, caps in groups.items()]
    return Principal.build(user_id, email=f"u{user_id}@lab.org", memberships=members, is_admin=is_admin).to_dict()


class Lab:
    """A lab group: ``owner`` (every capability), ``reader`` (read only); ``stranger`` in another group."""

    def __init__(self):
        self.group = new_id()
        self.owner = principal(new_id(), {self.group: ALL})
        self.reader = principal(new_id(), {self.group: ("read",)})
        self.stranger = principal(new_id(), {new_id(): ALL})


def first_reads(count: int) -> bytes:
    """The first ``count`` FASTQ records of the real spleen file."""
    lines = REAL_FASTQ.read_bytes().split(b"\n")
    return b"\n".join(lines[: 4 * count]) + b"\n"


def make_patient(rpc, caller: dict, group_id: int) -> dict:
    return rpc.samples.create_sample_set(caller, "patient", {"first_name": "Ada", "last_name": "Jobs",
                                                             "birth_date": "1970-01-01"}, group_id)


def upload_sample(rpc, object_store, caller: dict, sample_set_id: int, data: bytes,
                  filename: str = "reads.fastq") -> dict:
    """Create a sample in the set and upload ``data`` as the gateway does; returns the sample dict."""
    sample = rpc.samples.create_sample(caller, [sample_set_id], filename, "2024-01-15")
    stored = object_store.put_stream(sample["upload_bucket"], sample["upload_key"], io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    return rpc.samples.complete_upload(caller, sample["id"], sample["upload_key"], stored.size, stored.sha256)


def config_id(rpc, caller: dict, name: str) -> int:
    return next(c["id"] for c in rpc.jobs.list_configs(caller) if c["name"] == name)


def wait_job(rpc, caller: dict, job_id: int, states=("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"),
             timeout: float = 120.0) -> dict:
    """Poll ``jobs.get_job`` until the job is in one of ``states`` (AssertionError with the last state)."""
    deadline = time.monotonic() + timeout
    job = {}
    while time.monotonic() < deadline:
        job = rpc.jobs.get_job(caller, job_id)
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job.get('state')} after {timeout} s: {job}")


class Workers:
    """Extra worker processes (``repseq worker``) on the test settings; all stopped at close."""

    def __init__(self, stack):
        self.stack = stack
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int = 1) -> list[subprocess.Popen]:
        env = {**os.environ, **self.stack.settings.to_env(), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": str(REPO)}
        log_dir = Path(self.stack.settings.var_dir) / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        started = []
        for _ in range(count):
            log = open(log_dir / f"test-worker-{len(self.processes) + 1}.log", "ab")
            process = subprocess.Popen([sys.executable, "-m", "repseq", "worker"], env=env, cwd=REPO,
                                       stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.processes.append(process)
            started.append(process)
        return started

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_workers(rpc, admin: dict, count: int, timeout: float = 30.0) -> list[dict]:
    """Wait until at least ``count`` idle or busy workers have sent a heartbeat."""
    deadline = time.monotonic() + timeout
    workers = []
    while time.monotonic() < deadline:
        workers = [w for w in rpc.jobs.list_workers(admin) if w["state"] in ("idle", "busy")]
        if len(workers) >= count:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"only {len(workers)} workers alive after {timeout} s")


class EventListener:
    """An exclusive queue bound to ``<source>.events`` for some event names, on the test vhost."""

    def __init__(self, amqp_uri: str, source: str, names: list[str]):
        from kombu import Connection, Exchange, Queue

        self.connection = Connection(amqp_uri)
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        channel = self.connection.channel()
        self.queue = Queue(exclusive=True, auto_delete=True, channel=channel)
        self.queue.declare()
        exchange.maybe_bind(channel)
        exchange.declare()
        for name in names:
            self.queue.bind_to(exchange, routing_key=name)
        self.seen: list[dict] = []

    def drain(self) -> list[dict]:
        while True:
            message = self.queue.get(no_ack=True)
            if message is None:
                return self.seen
            body = message.payload if not isinstance(message.payload, (bytes, str)) else json.loads(message.body)
            self.seen.append(body)

    def wait_for(self, predicate, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in self.drain():
                if predicate(body):
                    return body
            time.sleep(0.05)
        raise AssertionError(f"expected event not received; seen {[b.get('event') for b in self.seen]}")

    def close(self):
        try:
            self.connection.release()
        except OSError:
            pass


def overlapping_pair(count: int = 150) -> tuple[bytes, bytes]:
    """R1/R2 made from real merged reads: the first 300 nt, and the reverse complement of the last 300 nt (they
    overlap, so a merger gives reads longer than either file's)."""
    import dnaio

    from vdj.kmer import reverse_complement

    r1, r2 = io.StringIO(), io.StringIO()
    with dnaio.open(str(REAL_FASTQ)) as reader:
        for record in reader:
            seq, qual = record.sequence, record.qualities
            if len(seq) < 400:
                continue
            r1.write(f"@{record.name}/1\n{seq[:300]}\n+\n{qual[:300]}\n")
            r2.write(f"@{record.name}/2\n{reverse_complement(seq[-300:])}\n+\n{qual[-300:][::-1]}\n")
            count -= 1
            if count == 0:
                break
    return r1.getvalue().encode(), r2.getvalue().encode()
