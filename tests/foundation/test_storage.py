"""ObjectStore against the real S3 server: streamed multipart upload with size and SHA-256, streamed and ranged
reads, stat, missing objects, presigned URLs; memory stays bounded by the part size."""

import hashlib
import io
import os
import tracemalloc

import pytest
import requests

from services.common.storage import MIB, ObjectNotFound


class NonSeekableRandom(io.RawIOBase):
    """``size`` pseudo-random bytes produced on demand; cannot seek, so nothing can re-read it."""

    def __init__(self, size: int, seed: int = 1):
        self.remaining = size
        self.hash = hashlib.sha256()
        self.block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB pattern

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.remaining if n is None or n < 0 else min(n, self.remaining)
        out = bytearray()
        while len(out) < n:
            out += self.block[: n - len(out)]
        self.remaining -= n
        data = bytes(out)
        self.hash.update(data)
        return data


def test_put_stream_unknown_length_is_multipart_and_hashed(object_store):
    bucket = object_store.buckets["sequences"]
    source = NonSeekableRandom(23 * MIB + 123)
    stored = object_store.put_stream(bucket, "unit/big.fastq", source, part_size=5 * MIB)
    assert stored.size == 23 * MIB + 123
    assert stored.sha256 == source.hash.hexdigest()
    assert stored.etag.endswith("-5")  # five parts: the upload really was streamed in parts
    info = object_store.stat(bucket, "unit/big.fastq")
    assert info.size == stored.size

    digest = hashlib.sha256()
    with object_store.open(bucket, "unit/big.fastq", chunk_size=MIB) as reader:
        for chunk in reader:
            assert len(chunk) <= MIB
            digest.update(chunk)
    assert digest.hexdigest() == stored.sha256


def test_upload_memory_is_bounded_by_part_size(object_store):
    bucket = object_store.buckets["results"]
    tracemalloc.start()
    try:
        object_store.put_stream(bucket, "unit/memory.bin", NonSeekableRandom(60 * MIB, seed=2), part_size=5 * MIB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # minio keeps a few copies of the current part (read buffer, signed body); never the whole 60 MiB.
    assert peak < 40 * MIB, f"peak Python allocation {peak / MIB:.1f} MiB for a 60 MiB upload"


def test_ranged_read_and_small_values(object_store):
    bucket = object_store.buckets["results"]
    object_store.put_bytes(bucket, "unit/abc.txt", b"ACGTACGTNN", content_type="text/plain")
    with object_store.open(bucket, "unit/abc.txt", offset=4, length=4) as reader:
        assert reader.read() == b"ACGT"
    assert object_store.get_bytes(bucket, "unit/abc.txt") == b"ACGTACGTNN"
    assert object_store.stat(bucket, "unit/abc.txt").content_type == "text/plain"
    out = io.BytesIO()
    assert object_store.download_to(bucket, "unit/abc.txt", out) == 10
    assert "unit/abc.txt" in list(object_store.list_keys(bucket, prefix="unit/"))


def test_missing_object_raises_object_not_found(object_store):
    bucket = object_store.buckets["sequences"]
    with pytest.raises(ObjectNotFound):
        object_store.stat(bucket, "unit/absent")
    with pytest.raises(ObjectNotFound):
        object_store.get_stream(bucket, "unit/absent")
    assert object_store.exists(bucket, "unit/absent") is False


def test_delete_and_presigned_get(object_store):
    bucket = object_store.buckets["backups"]
    object_store.put_bytes(bucket, "unit/p.txt", os.urandom(100))
    url = object_store.presign_get(bucket, "unit/p.txt", download_name="p.txt")
    response = requests.get(url, timeout=10)
    assert response.status_code == 200 and len(response.content) == 100
    assert requests.get(url.replace("Signature=", "Signature=0"), timeout=10).status_code == 403
    object_store.delete(bucket, "unit/p.txt")
    assert object_store.exists(bucket, "unit/p.txt") is False


def test_part_size_for_keeps_parts_small_but_within_s3s_part_count():
    from services.common.storage import MAX_PARTS, MIB, MIN_PART_SIZE, part_size_for

    assert part_size_for(0) == MIN_PART_SIZE
    assert part_size_for(20 * 1024 * MIB) == 5 * MIB          # the default upload limit (20 GiB)
    for limit in (48 * 1024 * MIB, 49 * 1024 * MIB, 200 * 1024 * MIB, 5 * 1024 ** 4):
        size = part_size_for(limit)
        assert size % MIB == 0 and size * MAX_PARTS >= limit and (size - MIB) * MAX_PARTS < limit
