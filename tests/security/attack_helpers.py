"""Helpers of the hostile-user tests: API-token HTTP clients of the real gateway, raw-socket requests (lying
Content-Length, interrupted bodies), peak memory of the running processes, and generated hostile files."""

from __future__ import annotations

import gzip
import io
import socket
import struct
import time
import urllib.parse
import zlib
from pathlib import Path

import requests

API = "/api/v1"
DATA = Path(__file__).resolve().parents[1] / "data"
REAL_FASTQ = DATA / "real" / "immunedb-d1_spl.fastq"
REAL_FASTQ_GZ = DATA / "real" / "immunedb-d1_spl.fastq.gz"
SMALL_FASTQ = b"@r1\nACGTACGT\n+\nIIIIIIII\n@r2\nTTGCA\n+\nIIIII\n"


class Client:
    """An HTTP client of the test gateway authenticated with a user's API token (raises nothing)."""

    def __init__(self, base: str, token: str | None):
        self.root = base
        self.base = base + API
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.token = token

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.base + path, headers={**self.headers, **kwargs.pop("headers", {})},
                                timeout=kwargs.pop("timeout", 180), **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def new_sample(self, set_id: int, name: str = "s.fastq", **fields) -> dict:
        answer = self.post(f"/sample_sets/{set_id}/samples", json={"filename": name, **fields})
        assert answer.status_code == 201, answer.text
        return answer.json()

    def upload(self, sample_id: int, body, **kw) -> requests.Response:
        return self.put(f"/samples/{sample_id}/file", data=body, **kw)


def error_code(response: requests.Response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


# -- raw HTTP --------------------------------------------------------------------------------------------------

def raw_request(base_url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"",
                close_after_body: bool = True, wait: float = 60.0) -> tuple[int | None, bytes]:
    """Send a hand-made HTTP/1.1 request (headers exactly as given, body as given whatever Content-Length says).

    ``close_after_body``: half-close the socket after the body (the client is gone). Returns ``(status or None,
    raw answer bytes)``; ``None`` when the server closed without answering.
    """
    parts = urllib.parse.urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=wait)
    try:
        head = f"{method} {API}{path} HTTP/1.1\r\nHost: {parts.netloc}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        sock.sendall(head.encode("latin-1") + body)
        if close_after_body:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
                if b"\r\n\r\n" in answer and not close_after_body:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    finally:
        sock.close()
    if not answer.startswith(b"HTTP/"):
        return None, answer
    return int(answer.split(b" ", 2)[1]), answer


def abort_upload_midway(base_url: str, token: str, sample_id: int, announced: int, body: bytes) -> None:
    """Start a PUT of ``announced`` bytes, send only ``body`` (fewer bytes) and drop the connection at once,
    as a browser tab closed mid-upload (RST, no half-close)."""
    parts = urllib.parse.urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = (f"PUT {API}/samples/{sample_id}/file HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {announced}\r\n\r\n")
    sock.sendall(head.encode() + body)
    time.sleep(0.5)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))   # RST on close
    sock.close()


# -- process memory --------------------------------------------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn master + worker)."""
    found = [pid]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) in found and int(entry.name) not in found:
            found.append(int(entry.name))
    return found


def reset_peak_rss(pid: int) -> None:
    """Reset the kernel's peak-RSS counter (VmHWM) of ``pid`` and its children (``clear_refs`` 5)."""
    for each in process_tree(pid):
        try:
            Path(f"/proc/{each}/clear_refs").write_text("5")
        except OSError:
            pass


def peak_rss_mb(pid: int) -> int:
    """Largest VmHWM (peak resident memory, MiB) among ``pid`` and its children."""
    peak = 0
    for each in process_tree(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) // 1024)
        except OSError:
            pass
    return peak


# -- hostile content -------------------------------------------------------------------------------------------

class GeneratedBody(io.RawIOBase):
    """A file-like body of ``size`` bytes generated on the fly (``head`` then ``fill`` repeated): no big bytes
    object in the test process. ``requests`` sends it with Content-Length when ``len()`` is known."""

    def __init__(self, head: bytes, size: int, fill: bytes = b"A"):
        self.head = head
        self.size = size
        self.block = (fill * (1024 * 1024 // len(fill) + 1))[:1024 * 1024]
        self.sent = 0

    def __len__(self) -> int:
        return self.size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = 1024 * 1024
        if self.sent >= self.size:
            return b""
        if self.sent < len(self.head):
            data = self.head[self.sent:self.sent + n]
        else:
            data = self.block[:min(n, self.size - self.sent)]
        self.sent += len(data)
        return data


def gzip_bomb(decompressed_mib: int, fastq: bool = True) -> bytes:
    """Gzip of ``decompressed_mib`` MiB of valid, extremely repetitive FASTQ (ratio ~450) or of blank lines."""
    record = (b"@r\n" + b"A" * 1000 + b"\n+\n" + b"I" * 1000 + b"\n") if fastq else b"\n" * 2000
    block = record * (1024 * 1024 // len(record))
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = io.BytesIO()
    for _ in range(decompressed_mib):
        out.write(compressor.compress(block))
    out.write(compressor.flush())
    return out.getvalue()


def stored_gzip_with_bad_crc(size_mib: int) -> bytes:
    """A gzip file of ``size_mib`` MiB (stored deflate blocks: no compression, fast to make) holding valid
    FASTQ, whose CRC-32 at the very end is wrong: only reading the whole file finds it."""
    record = b"@read\nACGTACGTACGTACGTACGTACGTACGTACGT\n+\nIIIIIIIIIIIIIIIIIIIIIIIIIIIIIIII\n"
    block = record * (1024 * 1024 // len(record))
    data = gzip.compress(block * size_mib, compresslevel=0)
    crc = struct.unpack("<I", data[-8:-4])[0]
    return data[:-8] + struct.pack("<I", crc ^ 0xFFFFFFFF) + data[-4:]


def random_bytes(size: int, seed: int = 7) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def objects_under(object_store, bucket: str, prefix: str) -> list[str]:
    return list(object_store.list_keys(bucket, prefix))


def wait_until(predicate, timeout: float = 10.0, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def make_patient(people, first="Jeanne", last="Martin", birth="1950-01-15", info="#attack") -> dict:
    """A patient of the owner shared with techs (no anon) and readers."""
    answer = people.owner.post("/sample_sets", json={"kind": "patient", "group_id": people.groups["owner"],
                                                     "fields": {"first_name": first, "last_name": last,
                                                                "birth_date": birth, "info": info}})
    assert answer.status_code == 201, answer.text
    set_id = answer.json()["id"]
    for group in ("techs", "readers"):
        shared = people.owner.post(f"/sample_sets/{set_id}/groups", json={"group_id": people.groups[group]})
        assert shared.status_code == 201, shared.text
    return answer.json()


__all__ = [name for name in dir() if not name.startswith("_")]
