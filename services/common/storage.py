"""S3 object storage through the ``minio`` SDK, streamed: no file is ever held whole in memory.

Buckets by role (names from configuration): ``sequences`` (uploaded FASTQ/FASTA), ``results`` (analysis outputs),
``backups``. Use :class:`ObjectStore` anywhere, or the :class:`Storage` nameko dependency in a service::

    class SamplesService:
        name = "samples"
        storage = Storage()

        @rpc
        def ...(self):
            stored = self.storage.put_stream(self.storage.buckets["sequences"], key, fileobj)
            stored.size, stored.sha256

Uploads use multipart with ``part_size`` parts (16 MiB by default; see :func:`part_size_for`) when the length is
unknown; at most one part is in memory at a time. Downloads are read in chunks from the HTTP response.
"""

from __future__ import annotations

import hashlib
import io
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO, Iterator

import urllib3
from minio import Minio
from minio.error import S3Error
from nameko.extensions import DependencyProvider

from services.common.config import Settings
from services.common.exceptions import NotFound, Unavailable

log = logging.getLogger(__name__)

MIB = 1024 * 1024
#: Default multipart part size (S3 minimum is 5 MiB; 16 MiB parts allow files up to 160 GB with 10 000 parts).
DEFAULT_PART_SIZE = 16 * MIB
#: S3's smallest multipart part (all but the last) and its largest part count.
MIN_PART_SIZE = 5 * MIB
MAX_PARTS = 10_000
#: Default chunk size when reading objects.
DEFAULT_CHUNK_SIZE = 1 * MIB


class ObjectNotFound(NotFound):
    """The object (or its bucket) does not exist."""

    code = "object_not_found"


def part_size_for(max_bytes: int) -> int:
    """The smallest multipart part size (bytes, a whole number of MiB, >= S3's 5 MiB minimum) with which an
    upload of up to ``max_bytes`` bytes fits in S3's 10 000 parts. Smaller parts keep less of a streamed upload in
    memory (the minio client holds about three copies of a part while it sends it): 5 MiB up to 48 GiB."""
    needed = -(-max(max_bytes, 1) // MAX_PARTS)
    return max(MIN_PART_SIZE, -(-needed // MIB) * MIB)


@dataclass(frozen=True)
class StoredObject:
    """What :meth:`ObjectStore.put_stream` wrote: ``size`` in bytes and the hex SHA-256 of the content."""

    bucket: str
    key: str
    size: int
    sha256: str
    etag: str


@dataclass(frozen=True)
class ObjectInfo:
    """What :meth:`ObjectStore.stat` returns."""

    bucket: str
    key: str
    size: int
    etag: str
    content_type: str | None
    last_modified: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)


class HashingReader(io.RawIOBase):
    """Wraps a readable binary file; counts bytes and updates a SHA-256 as the consumer reads."""

    def __init__(self, fileobj: BinaryIO):
        self._fileobj = fileobj
        self.size = 0
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._fileobj.read(size)
        if data:
            self.size += len(data)
            self._hash.update(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class ObjectReader(io.RawIOBase):
    """A readable stream over an S3 object; close it (or use it as a context manager) to free the connection."""

    def __init__(self, response, chunk_size: int = DEFAULT_CHUNK_SIZE):
        self._response = response
        self.chunk_size = chunk_size

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._response.read()
        return self._response.read(size)

    def readinto(self, buffer) -> int:
        data = self._response.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def __iter__(self) -> Iterator[bytes]:
        return self._response.stream(self.chunk_size)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


def _translate(error: Exception, bucket: str, key: str | None = None) -> Exception:
    if isinstance(error, S3Error) and error.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject"):
        where = f"{bucket}/{key}" if key else bucket
        return ObjectNotFound(f"object {where} does not exist", {"bucket": bucket, "key": key})
    return error


class ObjectStore:
    """Small, named interface over a ``minio.Minio`` client for one S3 endpoint.

    Errors: a missing object or bucket raises :class:`ObjectNotFound`; other S3 answers raise ``minio.S3Error``;
    an unreachable endpoint raises urllib3 errors (after ``timeout`` seconds).
    """

    def __init__(self, settings: Settings, timeout: float = 30.0, retries: int = 2):
        self.settings = settings
        self.endpoint = settings.s3_endpoint
        self.buckets: dict[str, str] = settings.buckets
        http_client = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
            maxsize=10,
            retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)),
        )
        self.client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            secure=settings.s3_secure,
            region=settings.s3_region,
            http_client=http_client,
        )

    # -- buckets -------------------------------------------------------------------------------------------------
    def ensure_buckets(self, names: list[str] | None = None) -> list[str]:
        """Create the configured buckets (or ``names``) that do not exist yet; return the names created."""
        created = []
        for name in names or list(self.buckets.values()):
            if not self.client.bucket_exists(name):
                try:
                    self.client.make_bucket(name)
                    created.append(name)
                except S3Error as error:
                    if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
        return created

    def remove_bucket(self, name: str) -> None:
        """Delete every object of bucket ``name`` and the bucket itself (tests and admin only)."""
        if not self.client.bucket_exists(name):
            return
        for obj in self.client.list_objects(name, recursive=True):
            self.client.remove_object(name, obj.object_name)
        self.client.remove_bucket(name)

    def ping(self) -> None:
        """List buckets; raises when the endpoint cannot be reached or refuses the credentials."""
        self.client.list_buckets()

    # -- objects -------------------------------------------------------------------------------------------------
    def put_stream(self, bucket: str, key: str, fileobj: BinaryIO, length: int = -1,
                   content_type: str = "application/octet-stream", metadata: dict[str, str] | None = None,
                   part_size: int = DEFAULT_PART_SIZE, parallel_uploads: int = 1) -> StoredObject:
        """Upload ``fileobj`` (read sequentially) to ``bucket/key``; return its size and SHA-256.

        ``length`` is the byte count if known, else -1 (multipart with ``part_size`` parts; >= 5 MiB).
        The SHA-256 is computed while the data is sent, so the file is read once. Memory: about
        ``(parallel_uploads + 1) * part_size`` plus copies made by the client, so parts are sent one at a time
        by default (minio's default of 3 in flight took a gateway over 200 MB).
        """
        reader = HashingReader(fileobj)
        try:
            result = self.client.put_object(
                bucket, key, reader, length=length, content_type=content_type, metadata=metadata,
                part_size=part_size if length == -1 else 0, num_parallel_uploads=parallel_uploads)
        except S3Error as error:
            raise _translate(error, bucket) from error
        return StoredObject(bucket=bucket, key=key, size=reader.size, sha256=reader.sha256, etag=result.etag)

    def put_bytes(self, bucket: str, key: str, data: bytes,
                  content_type: str = "application/octet-stream") -> StoredObject:
        """Upload a small in-memory value (reports, manifests); same result as :meth:`put_stream`."""
        return self.put_stream(bucket, key, io.BytesIO(data), length=len(data), content_type=content_type)

    def get_stream(self, bucket: str, key: str, offset: int = 0, length: int | None = None,
                   chunk_size: int = DEFAULT_CHUNK_SIZE) -> ObjectReader:
        """Open ``bucket/key`` for streaming (optionally the byte range ``offset``..``offset+length``).

        Use as ``with store.get_stream(b, k) as reader: for chunk in reader: ...`` or ``reader.read(n)``.
        """
        try:
            response = self.client.get_object(bucket, key, offset=offset, length=length or 0)
        except S3Error as error:
            raise _translate(error, bucket, key) from error
        return ObjectReader(response, chunk_size=chunk_size)

    @contextmanager
    def open(self, bucket: str, key: str, **kwargs) -> Iterator[ObjectReader]:
        """Context-manager form of :meth:`get_stream`."""
        reader = self.get_stream(bucket, key, **kwargs)
        try:
            yield reader
        finally:
            reader.close()

    def download_to(self, bucket: str, key: str, fileobj: BinaryIO, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
        """Copy ``bucket/key`` into the writable ``fileobj`` chunk by chunk; return the byte count."""
        written = 0
        with self.open(bucket, key, chunk_size=chunk_size) as reader:
            for chunk in reader:
                fileobj.write(chunk)
                written += len(chunk)
        return written

    def get_bytes(self, bucket: str, key: str) -> bytes:
        """Whole content of a small object (reports, manifests). Use :meth:`get_stream` for sequence files."""
        with self.open(bucket, key) as reader:
            return reader.read()

    def stat(self, bucket: str, key: str) -> ObjectInfo:
        """Size, ETag, content type, last-modified time and user metadata of ``bucket/key``."""
        try:
            obj = self.client.stat_object(bucket, key)
        except S3Error as error:
            raise _translate(error, bucket, key) from error
        metadata = {k[len("x-amz-meta-"):].lower(): v for k, v in (obj.metadata or {}).items()
                    if k.lower().startswith("x-amz-meta-")}
        return ObjectInfo(bucket=bucket, key=key, size=obj.size, etag=obj.etag, content_type=obj.content_type,
                          last_modified=obj.last_modified, metadata=metadata)

    def exists(self, bucket: str, key: str) -> bool:
        """True if ``bucket/key`` exists."""
        try:
            self.stat(bucket, key)
        except ObjectNotFound:
            return False
        return True

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``bucket/key`` (deleting a missing object is not an error, as in S3)."""
        try:
            self.client.remove_object(bucket, key)
        except S3Error as error:
            raise _translate(error, bucket, key) from error

    def list_keys(self, bucket: str, prefix: str = "") -> Iterator[str]:
        """Keys of ``bucket`` that start with ``prefix``, recursively, in S3 order."""
        for obj in self.client.list_objects(bucket, prefix=prefix or None, recursive=True):
            yield obj.object_name

    def presign_get(self, bucket: str, key: str, expires: timedelta = timedelta(hours=1),
                    download_name: str | None = None) -> str:
        """A time-limited URL that downloads ``bucket/key`` without credentials."""
        headers = None
        if download_name:
            headers = {"response-content-disposition": f'attachment; filename="{download_name}"'}
        return self.client.presigned_get_object(bucket, key, expires=expires, response_headers=headers)

    def presign_put(self, bucket: str, key: str, expires: timedelta = timedelta(hours=1)) -> str:
        """A time-limited URL that accepts a PUT of ``bucket/key`` without credentials."""
        return self.client.presigned_put_object(bucket, key, expires=expires)


class Storage(DependencyProvider):
    """nameko dependency giving workers the process's :class:`ObjectStore` (thread/greenlet-safe client).

    ``ensure_buckets=True`` creates the configured buckets at container start.
    """

    def __init__(self, ensure_buckets: bool = True, settings: Settings | None = None):
        self.ensure = ensure_buckets
        self.settings = settings
        self.store: ObjectStore | None = None

    def setup(self):
        self.settings = self.settings or Settings.from_env()
        self.store = ObjectStore(self.settings)

    def start(self):
        if self.ensure:
            try:
                self.store.ensure_buckets()
            except Exception as error:  # the service still starts; /health reports the object store
                log.warning("could not ensure buckets on %s: %s", self.settings.s3_endpoint, error)

    def get_dependency(self, worker_ctx):
        return self.store


def unavailable(component: str, error: Exception) -> Unavailable:
    """An :class:`Unavailable` error naming ``component`` and the cause, for RPCs that need S3."""
    return Unavailable(f"{component} unavailable: {error}", {"component": component})
