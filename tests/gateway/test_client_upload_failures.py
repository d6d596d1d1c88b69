"""A client upload that fails leaves no sample without a file behind (real stack, real HTTP): an empty FASTQ and a
truncated .gz are refused by the server and the sample the client created for them is removed; the good files of
the same command are still uploaded; a refused removal (no admin right) says which sample to upload into again,
and `repseq upload --sample ID FILE` does so. A transfer cut by the network is sent again into the same sample
(a local HTTP server that drops the first connection: only the retry logic is faked)."""

from __future__ import annotations

import gzip
import http.server
import json
import threading

import pytest

from gateway_helpers import COLON, Api, make_lab_user
from repseq.client import ApiError, Client
from test_client_cli import client_env, repseq


@pytest.fixture
def bad_files(tmp_path):
    empty = tmp_path / "empty.fastq"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.fastq.gz"
    whole = gzip.compress(COLON.read_bytes()[:200_000])
    truncated.write_bytes(whole[:len(whole) // 2])
    return empty, truncated


def new_set(api: Api, group_id: int) -> int:
    return api.ok("POST", "/sample_sets", 201, json={"kind": "generic", "fields": {"name": "upload failures"},
                                                     "group_id": group_id})["id"]


def test_failed_uploads_remove_the_sample_they_created(stack, lab_user, tmp_path, bad_files):
    empty, truncated = bad_files
    api = Api(stack.url, lab_user["token"])
    set_id = new_set(api, lab_user["group_id"])
    env = {**client_env(stack, tmp_path), "REPSEQ_TOKEN": lab_user["token"], "REPSEQ_URL": stack.url}

    for _ in range(2):  # each attempt used to leave one more "no file" sample
        run = repseq("upload", "--set", str(set_id), str(empty), str(COLON), str(truncated), env=env)
        assert run.returncode == 1, run.stdout + run.stderr
        errors = run.stderr.strip().splitlines()
        assert len([line for line in errors if line.startswith("error: 400 ")]) == 2, run.stderr
        assert all("was removed" in line for line in errors if line.startswith("error: ")), run.stderr
        assert "empty" in run.stderr and "truncated" in run.stderr
        assert f"{COLON.name}\t{COLON.stat().st_size} bytes\tready" in run.stdout

    samples = api.ok("GET", f"/sample_sets/{set_id}", 200)["samples"]
    assert sorted(s["filename"] for s in samples) == [COLON.name, COLON.name]
    assert all(s["size"] for s in samples)


def test_a_sample_that_cannot_be_removed_is_named_and_can_be_uploaded_again(stack, gateway_admin, tmp_path,
                                                                            bad_files):
    empty, _ = bad_files
    uploader = make_lab_user(stack, gateway_admin, capabilities=["read", "create", "upload"])  # no admin right
    api = Api(stack.url, uploader["token"])
    set_id = new_set(api, uploader["group_id"])
    client = Client(stack.url, uploader["token"])
    with pytest.raises(ApiError) as failure:
        client.upload(set_id, empty)
    assert failure.value.status == 400
    sample_id = int(failure.value.message.split("upload --sample ")[1].split()[0])
    assert "kept without a file" in failure.value.message

    env = {**client_env(stack, tmp_path), "REPSEQ_TOKEN": uploader["token"], "REPSEQ_URL": stack.url}
    again = repseq("upload", "--sample", str(sample_id), str(COLON), env=env)
    assert again.returncode == 0, again.stderr
    samples = api.ok("GET", f"/sample_sets/{set_id}", 200)["samples"]
    assert [(s["id"], s["size"]) for s in samples] == [(sample_id, COLON.stat().st_size)]
    usage = repseq("upload", "--sample", str(sample_id), "--set", str(set_id), str(COLON), env=env)
    assert usage.returncode == 2 and "either --set" in usage.stderr


class _FlakyGateway(http.server.BaseHTTPRequestHandler):
    """Creates sample 7; drops the first PUT of its file without an answer, accepts the second."""

    puts: list[int] = []
    deletes: list[str] = []

    def log_message(self, *args):
        pass

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._json(201, {"id": 7, "status": "awaiting_upload"})

    def do_PUT(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.puts.append(len(body))
        if len(self.puts) == 1:
            self.close_connection = True
            self.connection.shutdown(2)  # connection reset: no answer
            return
        self._json(200, {"id": 7, "status": "ready", "size": len(body)})

    def do_DELETE(self):
        self.deletes.append(self.path)
        self._json(200, {"deleted": "sample"})


def test_an_interrupted_transfer_is_sent_again_into_the_same_sample(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FlakyGateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        path = tmp_path / "d1.fastq"
        path.write_bytes(b"@r1\nACGT\n+\nIIII\n" * 1000)
        sample = Client(f"http://127.0.0.1:{server.server_port}", "rsq_test").upload(1, path)
        assert sample["status"] == "ready" and sample["size"] == path.stat().st_size
        assert _FlakyGateway.puts == [path.stat().st_size] * 2 and _FlakyGateway.deletes == []
    finally:
        server.shutdown()
        server.server_close()
