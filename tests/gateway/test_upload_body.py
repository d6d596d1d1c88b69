"""Request bodies at the gateway, without the services: the upload reader (Content-Length, gzip check on the way,
size limit) and the translation of the client's read errors (gateway/body.py). The same behaviours through the
whole stack: tests/security/test_samples_attacks.py."""

from __future__ import annotations

import gzip
import io
import socket
import zlib

import pytest
from gunicorn.http.errors import ChunkMissingTerminator, InvalidChunkSize, NoMoreData

from gateway.api.samples import SAMPLES_FULL_CHECK_BYTES, LimitedBodyReader, StreamingGzipCheck
from gateway.body import BodyTimeout, ClientBodyReader, IncompleteBody
from services.common.exceptions import TooLarge
from services.samples.exceptions import CorruptGzip, ExcessiveCompression
from services.samples.validation import GzipIntegrity

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
