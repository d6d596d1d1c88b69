"""Upload benchmark (issue #5): a generated FASTQ of 2 GB streamed through the gateway into the object store, with
the peak memory of the gateway process (target: under 200 MB), the throughput, and the file read back.

    python benchmarks/bench_upload.py [--size-gb 2] [--no-download]
    python benchmarks/bench_upload.py --gzip --size-gb 0.2     # a FASTQ.gz of 200 MB (gzip checked on the way)

It starts its own isolated stack (own RabbitMQ vhost, databases ``repseq_bench_<token>_*``, buckets
``repseq-bench-<token>-*``, gateway on a free port; the S3 server of this machine, started if absent), creates an
administrator, a set and a sample, then ``PUT /api/v1/samples/<id>/file`` with a body generated on the fly (never
held in memory nor written to disk by the client). While it runs, the resident memory of the gateway's processes
(gunicorn master + worker, from /proc) is sampled; at the end their peak (VmHWM) is printed. With the download
check, the object is streamed back through the gateway and its SHA-256 compared. Everything is removed at the end.

Needs RabbitMQ, MariaDB (the app user of var/secrets.env) and rabbitmqctl, like the tests. Uses one core for the
client generating data and one for the gateway: run it alone.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from isolated_stack import isolated_settings, tear_down  # noqa: E402

MB = 1000 * 1000
MIB = 1024 * 1024
TARGET_PEAK_MB = 200
PASSWORD = "Bench-Harbour-Lamp-73"


class GeneratedFastq:
    """A FASTQ body of exactly ``size`` bytes generated as it is read (250 nt reads with distinct names; the last
    record is cut at ``size``, which only the job's whole-file check would notice).

    Has ``__len__`` so that requests sends a Content-Length and streams it with ``read(n)``."""

    def __init__(self, size: int):
        self.size = size
        self.sent = 0
        self.sha256 = hashlib.sha256()
        bases = "ACGT"
        self._sequences = ["".join(bases[(i * 7 + j * 13 + (i * j) % 5) % 4] for j in range(250)) for i in range(64)]
        self._quality = "I" * 250
        self._record = 0
        self._pending = b""

    def __len__(self) -> int:
        return self.size - self.sent

    def _block(self) -> bytes:
        parts = []
        for _ in range(2000):
            n = self._record
            self._record += 1
            parts.append(f"@bench_read_{n}\n{self._sequences[n % 64]}\n+\n{self._quality}\n")
        return "".join(parts).encode()

    def read(self, n: int = -1) -> bytes:
        if self.sent >= self.size:
            return b""
        n = 4 * MIB if n is None or n < 0 else n
        while len(self._pending) < n:
            self._pending += self._block()
        want = min(n, self.size - self.sent)
        chunk, self._pending = self._pending[:want], self._pending[want:]
        self.sent += len(chunk)
        self.sha256.update(chunk)
        return chunk


class GzipFastq:
    """A FASTQ.gz body of about ``size`` bytes, made in memory before the upload (not timed): reads with random
    bases and a few quality letters, so that it compresses about as much as real FASTQ (3-5 times); the gateway
    inflates all of it to check the gzip stream. Same interface as :class:`GeneratedFastq`."""

    def __init__(self, size: int):
        import random
        import zlib

        rng = random.Random(5)
        bases = bytes(b"ACGT"[i % 4] for i in range(256))
        quality = bytes(b"FFFF:,FFFFFFFFF:"[i % 16] for i in range(256))
        compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        parts, total, n = [], 0, 0
        while total < size:
            block = []
            for _ in range(2000):
                block.append(b"@bench_read_%d\n%s\n+\n%s\n" % (n, rng.randbytes(250).translate(bases),
                                                                rng.randbytes(250).translate(quality)))
                n += 1
            piece = compressor.compress(b"".join(block))
            parts.append(piece)
            total += len(piece)
        parts.append(compressor.flush())
        self.data = b"".join(parts)
        self.size = len(self.data)
        self.sent = 0
        self.sha256 = hashlib.sha256(self.data)

    def __len__(self) -> int:
        return self.size - self.sent

    def read(self, n: int = -1) -> bytes:
        n = 4 * MIB if n is None or n < 0 else n
        chunk = self.data[self.sent:self.sent + n]
        self.sent += len(chunk)
        return chunk


def gateway_pids(master: int) -> list[int]:
    """The gunicorn master and its children."""
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                pids.append(int(entry.name))
    return pids


def memory_kb(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Samples the summed VmRSS of the gateway's processes every 0.2 s."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_sum_kb = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak_sum_kb = max(self.peak_sum_kb, sum(memory_kb(p, "VmRSS") for p in self.pids))
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="upload size in GB (10^9 bytes); default 2")
    parser.add_argument("--gzip", action="store_true", help="upload a FASTQ.gz of --size-gb (made before, in memory)")
    parser.add_argument("--no-download", action="store_true", help="skip reading the file back")
    parser.add_argument("--keep", action="store_true", help="keep the stack's var dir (logs) at the end")
    args = parser.parse_args()
    size = int(args.size_gb * 1e9)

    from repseq.stack import Stack
    from services.common.db import session_scope
    from services.common.storage import ObjectStore

    settings, vhost = isolated_settings(gateway_host="127.0.0.1", gateway_port=free_port(), workers=0)
    token = vhost.rsplit("_", 1)[-1]
    if not settings.secret_key:
        settings = settings.replace(secret_key="bench-secret")
    var_dir = settings.var_dir
    stack = Stack(settings, workers=0)
    store = ObjectStore(settings, timeout=120)
    result: dict = {"size_bytes": size}
    try:
        print(f"starting an isolated stack (vhost {vhost}, gateway {settings.gateway_url}) ...", flush=True)
        url = stack.up(timeout=180)
        from nameko.standalone.rpc import ClusterRpcProxy

        from services.auth import accounts

        email = f"bench-{token}@lab.org"
        with session_scope(settings, "auth") as db:
            accounts.create_user(db, settings, lambda event, data: None, None, email, PASSWORD, "Bench", "Admin",
                                 admin=True)
        with ClusterRpcProxy(settings.nameko_config(), timeout=30) as rpc:
            login = rpc.auth.login(email, PASSWORD, "127.0.0.1", "bench")
            api_token = rpc.auth.create_api_token(login["principal"], "bench")["token"]
            group = login["principal"]["memberships"][0]["id"] if login["principal"].get("memberships") else \
                login["principal"]["groups"][0]
        headers = {"Authorization": f"Bearer {api_token}"}
        api = url + "/api/v1"
        created = requests.post(f"{api}/sample_sets", headers=headers, timeout=30,
                                json={"kind": "generic", "group_id": group, "fields": {"name": "bench"}})
        created.raise_for_status()
        sample = requests.post(f"{api}/sample_sets/{created.json()['id']}/samples", headers=headers, timeout=30,
                               json={"filename": "bench.fastq.gz" if args.gzip else "bench.fastq"})
        sample.raise_for_status()
        sample_id = sample.json()["id"]

        master = stack.running_pid("gateway")
        pids = gateway_pids(master)
        before = {p: memory_kb(p, "VmRSS") for p in pids}
        sampler = Sampler(pids)
        sampler.start()
        if args.gzip:
            print(f"making {size / MB:,.0f} MB of FASTQ.gz ...", flush=True)
            body = GzipFastq(size)
            size = result["size_bytes"] = body.size
        else:
            body = GeneratedFastq(size)
        print(f"uploading {size / MB:,.0f} MB to sample {sample_id} through the gateway ...", flush=True)
        started = time.monotonic()
        answer = requests.put(f"{api}/samples/{sample_id}/file", headers=headers, data=body, timeout=3600)
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        if answer.status_code != 200:
            print(f"upload failed: HTTP {answer.status_code} {answer.text[:500]}")
            return 1
        stored = answer.json()
        peaks = {p: memory_kb(p, "VmHWM") for p in pids}
        result.update({
            "upload_seconds": round(elapsed, 1), "upload_mb_per_s": round(size / MB / elapsed, 1),
            "stored_size": stored["size"], "sha256_matches": stored["sha256"] == body.sha256.hexdigest(),
            "status": stored["status"], "records_checked": stored["check"]["file1"]["records_checked"],
            "gateway_rss_before_mb": {p: round(kb / 1024, 1) for p, kb in before.items()},
            "gateway_peak_rss_mb": {p: round(kb / 1024, 1) for p, kb in peaks.items()},
            "gateway_peak_sum_sampled_mb": round(sampler.peak_sum_kb / 1024, 1),
        })
        if not args.no_download:
            print("reading it back through the gateway ...", flush=True)
            digest = hashlib.sha256()
            started = time.monotonic()
            with requests.get(f"{api}/samples/{sample_id}/file", headers=headers, stream=True, timeout=3600) as got:
                got.raise_for_status()
                count = 0
                for chunk in got.iter_content(4 * MIB):
                    digest.update(chunk)
                    count += len(chunk)
            result.update({"download_seconds": round(time.monotonic() - started, 1),
                           "download_identical": count == size and digest.hexdigest() == body.sha256.hexdigest()})
            result["gateway_peak_rss_after_download_mb"] = {p: round(memory_kb(p, "VmHWM") / 1024, 1) for p in pids}
    finally:
        tear_down(stack, settings, store, vhost, keep_var_dir=args.keep)

    peak = max(max(result["gateway_peak_rss_mb"].values()),
               max(result.get("gateway_peak_rss_after_download_mb", {0: 0}).values()))
    print(json.dumps(result, indent=2))
    print(f"upload {result['size_bytes'] / MB:,.0f} MB in {result['upload_seconds']} s "
          f"({result['upload_mb_per_s']} MB/s); gateway peak RSS {peak} MB per process "
          f"(target < {TARGET_PEAK_MB} MB): {'OK' if peak < TARGET_PEAK_MB else 'OVER'}; "
          f"checksum {'OK' if result['sha256_matches'] else 'DIFFERS'}"
          + ("" if args.no_download else f"; read back {'identical' if result['download_identical'] else 'DIFFERS'}"))
    return 0 if peak < TARGET_PEAK_MB and result["sha256_matches"] else 1


if __name__ == "__main__":
    sys.exit(main())
