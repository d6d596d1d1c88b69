"""Request bodies at the gateway, without the services: the upload reader (Content-Length, gzip check on the way,
size limit), the translation of the client's read errors (gateway/body.py), and the gunicorn worker that keeps
slow clients off the threads (gateway/server.py), run for real (gunicorn subprocess, raw sockets) on a tiny app.
The same behaviours through the whole stack: tests/security/test_samples_attacks.py."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData

from gateway.api.samples import SAMPLES_FULL_CHECK_BYTES, LimitedBodyReader, StreamingGzipCheck
from gateway.body import BodyTimeout, ClientBodyReader, IncompleteBody
from gateway.server import SMALL_REQUEST_BYTES, request_framing
from services.common.exceptions import TooLarge
from services.samples.exceptions import CorruptGzip, ExcessiveCompression
from services.samples.validation import GzipIntegrity

ROOT = Path(__file__).resolve().parents[2]
FASTQ = b"@r1\nACGTACGT\n+\nIIIIIIII\n" * 5000


def read_all(reader, size=16 * 1024 * 1024) -> bytes:
    out = io.BytesIO()
    while data := reader.read(size):
        out.write(data)
    return out.getvalue()


# -- the upload reader ----------------------------------------------------------------------------------------------

def test_the_gateway_hands_over_to_the_samples_full_check_at_the_same_size():
    from services.samples.files import FULL_CHECK_BYTES

    assert SAMPLES_FULL_CHECK_BYTES == FULL_CHECK_BYTES


def test_a_body_shorter_than_its_content_length_is_incomplete():
    reader = LimitedBodyReader(io.BytesIO(FASTQ[:1000]), limit=10**9, expected=len(FASTQ))
    with pytest.raises(IncompleteBody) as error:
        read_all(reader)
    assert error.value.details == {"received": 1000, "announced": len(FASTQ)}


def test_the_reader_stops_at_the_content_length_and_at_the_limit():
    reader = LimitedBodyReader(io.BytesIO(FASTQ + b"GET / HTTP/1.1\r\n\r\n"), limit=10**9, expected=len(FASTQ))
    assert read_all(reader, 7777) == FASTQ
    with pytest.raises(TooLarge):
        read_all(LimitedBodyReader(io.BytesIO(FASTQ), limit=1000))


@pytest.mark.parametrize("chunk", [1, 1000, 3 * 1024 * 1024])
def test_a_good_gzip_passes_the_check_whatever_the_read_sizes(chunk):
    body = gzip.compress(FASTQ) + gzip.compress(FASTQ)    # two members (cat a.gz b.gz)
    check = StreamingGzipCheck(GzipIntegrity("r.fastq.gz"))
    reader = LimitedBodyReader(io.BytesIO(body), limit=10**9, gzip_check=check)
    assert read_all(reader, chunk) == body
    assert check.finish() is None and check.checker.decompressed_size == 2 * len(FASTQ)


@pytest.mark.parametrize("damage, error", [
    (lambda g: g[:-8] + bytes(4) + g[-4:], CorruptGzip),       # CRC-32
    (lambda g: g[:-4] + b"\1\0\0\0", CorruptGzip),             # length
    (lambda g: g[: len(g) // 2], CorruptGzip),                 # cut
])
def test_gzip_damage_is_found_on_the_way(damage, error):
    check = StreamingGzipCheck(GzipIntegrity("r.fastq.gz"))
    read_all(LimitedBodyReader(io.BytesIO(damage(gzip.compress(FASTQ))), limit=10**9, gzip_check=check), 4096)
    assert isinstance(check.finish(), error), check.error


def test_a_bomb_is_found_and_inflating_stops_there():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = (b"@r\n" + b"A" * 1000 + b"\n+\n" + b"I" * 1000 + b"\n") * 500
    bomb = b"".join(compressor.compress(block) for _ in range(300)) + compressor.flush()
    integrity = GzipIntegrity("b.fastq.gz")
    check = StreamingGzipCheck(integrity)
    assert read_all(LimitedBodyReader(io.BytesIO(bomb), limit=10**9, gzip_check=check)) == bomb
    assert isinstance(check.finish(), ExcessiveCompression)
    assert integrity.decompressed_size < 300 * 1024 * 1024


def test_content_that_is_not_gzip_is_left_to_the_samples_service():
    check = StreamingGzipCheck(GzipIntegrity("r.fastq.gz"))
    read_all(LimitedBodyReader(io.BytesIO(FASTQ), limit=10**9, gzip_check=check))
    assert check.finish() is None and check.checker is None


def test_an_aborted_check_stops_its_thread_and_a_broken_check_is_no_verdict():
    check = StreamingGzipCheck(GzipIntegrity("r.fastq.gz"))
    check.feed(gzip.compress(FASTQ)[:5000])
    thread = check._thread
    check.abort()
    assert not thread.is_alive()
    broken = StreamingGzipCheck(None)       # feeding a None checker raises inside the thread: a bug, not a verdict
    broken.checker = type("Broken", (), {"feed": lambda self, data: 1 / 0, "finish": lambda self: None})()
    broken.feed(b"\x1f\x8b\x08")
    with pytest.raises(RuntimeError):
        broken.finish()


# -- read errors that are the client's fault ------------------------------------------------------------------------

class Failing:
    def __init__(self, error):
        self.error = error

    def read(self, size=-1):
        raise self.error


@pytest.mark.parametrize("error, expected", [
    (InvalidChunkSize(b"zz"), IncompleteBody), (ChunkMissingTerminator(b"xx"), IncompleteBody),
    (NoMoreData(), IncompleteBody), (ConnectionResetError(104, "reset"), IncompleteBody),
    (TimeoutError("timed out"), BodyTimeout), (socket.timeout("timed out"), BodyTimeout),
])
def test_client_read_errors_become_400_or_408(error, expected):
    with pytest.raises(expected) as raised:
        ClientBodyReader(Failing(error)).read(10)
    assert raised.value.http_status in (400, 408) and raised.value.message


def test_other_errors_pass_through_untouched():
    with pytest.raises(ValueError):
        ClientBodyReader(Failing(ValueError("server bug"))).read(10)


# -- framing seen by the main loop ---------------------------------------------------------------------------------

@pytest.mark.parametrize("received, expected", [
    (b"GET /x HTTP/1.1\r\nHost: a\r\n", ("head", 0)),
    (b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", ("whole", 28)),
    (b"POST /l HTTP/1.1\r\nContent-Length: 10\r\n\r\n{", ("whole", 50)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n{", ("stream", 0)),
    (b"PUT /f HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", ("stream", 0)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", ("stream", 0)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: abc\r\n\r\n", ("stream", 0)),
    (b"PUT /f HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ("stream", 0)),
    (b"GET /x HTTP/1.1\r\nX: " + b"a" * SMALL_REQUEST_BYTES, ("stream", 0)),
])
def test_request_framing(received, expected):
    assert request_framing(received) == expected


# -- the worker, for real -------------------------------------------------------------------------------------------

READ_TIMEOUT = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn with gateway.server.GatewayWorker, 2 threads (one for streamed bodies), a 3 s read timeout."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REPSEQ_VAR_DIR": str(tmp_path_factory.mktemp("var")),
           "REPSEQ_DB_PASSWORD": "unused", "REPSEQ_S3_SECRET_KEY": "unused", "REPSEQ_SECRET_KEY": "unused",
           "REPSEQ_GATEWAY_READ_TIMEOUT": str(READ_TIMEOUT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", "gateway.server.GatewayWorker", "--threads", "2",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(Path(__file__).parent), "slow_client_app:app"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            time.sleep(0.1)
    yield port
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


def exchange(port: int, raw: bytes, wait: float = 15.0) -> tuple[int | None, dict, float]:
    """Send ``raw`` and read one answer: ``(status or None, JSON body or {}, seconds)``."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(raw)
        answer = b""
        try:
            while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except socket.timeout:
            pass
    elapsed = time.monotonic() - start
    if not answer.startswith(b"HTTP/"):
        return None, {}, elapsed
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body) if body else {}, elapsed


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


def test_stalled_bodies_leave_a_thread_for_other_requests(server):
    """More stalled requests than threads, streamed and small bodies: a GET is answered at once (before any
    timeout could have freed a thread)."""
    stalled = []
    try:
        for length in (1_000_000, 1_000_000, 1_000_000, 100, 100, 100):
            sock = socket.create_connection(("127.0.0.1", server), timeout=5)
            sock.sendall(b"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n{" % length)
            stalled.append(sock)
        time.sleep(0.3)
        status, body, elapsed = exchange(server, b"GET /ping HTTP/1.1\r\nHost: t\r\n\r\n")
        assert status == 200 and body == {"pong": True}
        assert elapsed < READ_TIMEOUT - 1, elapsed
    finally:
        for sock in stalled:
            sock.close()


def test_a_stalled_small_body_gets_408_from_the_main_loop(server):
    status, body, elapsed = exchange(server, b"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{")
    assert status == 408 and body["error"]["code"] == "request_timeout", body
    assert READ_TIMEOUT - 0.5 < elapsed < READ_TIMEOUT + 3


def test_a_stalled_streamed_body_gets_408_from_the_application(server):
    status, body, elapsed = exchange(server, b"POST /read HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n{")
    assert status == 408 and body["error"]["code"] == "request_timeout", body
    assert "received" in body["error"]["details"]
    assert READ_TIMEOUT - 0.5 < elapsed < READ_TIMEOUT + 3


@pytest.mark.parametrize("chunked", [b"zz\r\n@r\n\r\n0\r\n\r\n", b"14\r\n@r\nACGTACGT\n+\nIIIIIIII\n\r\n0\r\n\r\n"])
def test_lying_chunks_are_a_400(server, chunked):
    status, body, _ = exchange(server, b"POST /read HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                               + chunked)
    assert status == 400 and body["error"]["code"] == "incomplete_body", body


def test_big_bodies_one_after_another_and_keep_alive(server):
    """Streamed bodies free their slot when done (one slot here: a leak would make the next one wait), small
    bodies and kept-alive connections work."""
    import http.client

    data = os.urandom(3 * 1024 * 1024)
    for _ in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", server, timeout=10)
        connection.request("POST", "/read", body=data)
        answer = json.loads(connection.getresponse().read())
        assert answer == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        connection.request("POST", "/read", body=b'{"a": 1}')     # same connection (keep-alive), small body
        assert json.loads(connection.getresponse().read())["size"] == 8
        connection.request("GET", "/ping")
        assert json.loads(connection.getresponse().read()) == {"pong": True}
        connection.close()


def test_a_request_sent_in_pieces_is_received_whole(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        for piece in (b"POST /read HT", b"TP/1.1\r\nHost: t\r\nContent-", b"Length: 4\r\n\r", b"\nab", b"cd"):
            sock.sendall(piece)
            time.sleep(0.05)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 200") and b'"size": 4' in answer
