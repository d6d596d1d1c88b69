"""``/api/v1/.../samples``: create a sample (metadata), upload its sequence file (streamed to S3), download, edit,
delete.

Upload protocol (browser and scripts alike)::

    POST /api/v1/sample_sets/12/samples {"filename": "d1.fastq", "sampling_date": "2024-01-05"}  -> {"id": 40, ...}
    PUT  /api/v1/samples/40/file?filename=d1.fastq   (raw body = the file; or header X-Filename)     -> sample

The PUT's file name (query ``filename``, else header ``X-Filename``, else the sample's current name) is the name of
the file sent: ``samples.begin_upload`` sanitises and type-checks it as at creation (400 ``invalid_file_name``,
``unsupported_file_type``, before any byte is stored), every message about the body names it, and the sample takes
it (``filename``, ``original_filename``; ``filename2``... for R2) only when the file is accepted.

The PUT body is read from the WSGI input stream in parts and sent to the object store as it arrives (multipart
upload with the smallest parts the size limit allows, 5 MiB up to 48 GiB): no file is buffered whole, neither in memory nor on disk. Size and
SHA-256 are computed on the way, and a gzip body is checked whole on the way (CRC-32, length, decompression ratio:
:class:`services.samples.validation.GzipIntegrity`), then ``samples.complete_upload`` validates the first records
of the stored object (all of it up to 64 MiB). A body larger than ``max_upload_bytes`` is refused with 413 (at
once when Content-Length says so, else as soon as the limit is crossed); a body shorter than its Content-Length
(the client stopped), a malformed chunked body or a client silent for ``REPSEQ_GATEWAY_READ_TIMEOUT`` seconds is
refused with 400 / 408. A refused attempt is deleted from the object store and never recorded: the sample keeps
the file it had. A PUT may be repeated (retry after a failure); each attempt gets its own object key
(``samples.begin_upload``).
"""

from __future__ import annotations

import logging
import queue
import threading
import urllib.parse

from flask import Response, request, stream_with_context

from gateway.api import bp
from gateway.api.schemas import BrowseQuery, CreateSampleBody, DeleteSampleQuery, FileSourceBody, MountedSampleBody, \
    SampleAnswer, StorageGuardBody, UpdateSampleBody, UploadQuery
from gateway.auth import call_as_user, context, require_principal
from gateway.body import IncompleteBody
from gateway.openapi import ValidationFailed, operation
from services.common.exceptions import NotFound, TooLarge
from services.common.storage import ObjectStore, part_size_for
from services.samples.exceptions import EmptyFile, InvalidSequenceFile, NotGzip
from services.samples.validation import CHUNK as GZIP_FEED_BYTES, GzipIntegrity

log = logging.getLogger(__name__)
TAG = "samples"

READ_SIZE = 1024 * 1024


def max_upload_bytes() -> int:
    """REPSEQ_MAX_UPLOAD_BYTES (default 20 GiB, the reference server's proxy limit)."""
    return context().settings.max_upload_bytes


def object_store() -> ObjectStore:
    """The gateway's ObjectStore (created on first use, shared by threads: the minio client is thread-safe)."""
    ctx = context()
    store = getattr(ctx, "object_store", None)
    if store is None:
        store = ObjectStore(ctx.settings, timeout=120)
        ctx.object_store = store
    return store


#: ``samples.complete_upload`` reads stored files up to this size whole (every record, gzip CRC and length, the
#: decompression ratio: its docstring and docs/samples.md); beyond it only their first records. The gateway's own
#: gzip verdict decides for the bigger files only (and has ``samples.reject_upload`` write the ``upload_rejected``
#: audit entry, as for an empty body), so that the service's verdict and entry stay the ones for the files it
#: reads whole.
#: tests/gateway/test_upload_body.py keeps the two equal.
SAMPLES_FULL_CHECK_BYTES = 64 * 1024 * 1024


class StreamingGzipCheck:
    """:class:`GzipIntegrity` over a body as it streams, on a helper thread: inflating (zlib releases the GIL)
    overlaps receiving and storing instead of slowing them down.

    ``feed(data)`` with each piece in order, then ``finish()`` (or ``abort()`` when the upload fails). :attr:`error`
    is then the first problem found (``CorruptGzip``, ``ExcessiveCompression``, ...), or ``None`` for a
    sound, complete gzip stream and for content that is not gzip at all (the samples service names that problem).
    Pieces go to :class:`GzipIntegrity` in at most 1 MiB (as the samples service reads, so that the ratio check
    sees the same steps). Memory: the pieces are copies (the body's chunks are not kept alive once the object store
    has sent them) and at most :data:`QUEUED` wait (4 MiB); checking stops at the first problem.
    """

    QUEUED = 4
    _FINISH, _ABORT = object(), object()

    def __init__(self, checker: GzipIntegrity):
        self.checker: GzipIntegrity | None = checker
        self.error: InvalidSequenceFile | None = None
        self.failure: Exception | None = None
        self._head = b""
        self._queue: queue.Queue = queue.Queue(maxsize=self.QUEUED)
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """True while the content may still be gzip without a problem found."""
        return self.checker is not None and self.error is None

    def feed(self, data: bytes) -> None:
        if not data or not self.active:
            return
        if len(self._head) + len(data) < 2:
            # GzipIntegrity needs both magic bytes in its first piece (given one byte, it loses it)
            self._head += data
            return
        data, self._head = self._head + data if self._head else data, b""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gzip-check", daemon=True)
            self._thread.start()
        for start in range(0, len(data), GZIP_FEED_BYTES):
            if not self.active:
                return
            self._queue.put(data[start:start + GZIP_FEED_BYTES])

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            if data is self._ABORT:
                return
            if data is self._FINISH:
                if self.active:
                    self._check(self.checker.finish)
                return
            if self.active:
                self._check(self.checker.feed, data)

    def _check(self, step, *args) -> None:
        try:
            step(*args)
        except NotGzip:
            self.checker = None          # not gzip content: nothing to check here
        except InvalidSequenceFile as error:
            self.error = error           # the verdict is known; what follows is only stored, then deleted
        except Exception as error:       # noqa: BLE001 - a bug here must not pass a file unchecked: 500
            self.failure = error
            self.checker = None

    def finish(self) -> InvalidSequenceFile | None:
        """Wait for the check of everything fed; return :attr:`error`. Raises ``RuntimeError`` if the check
        itself failed (a bug: the file is then neither passed nor blamed)."""
        if self._thread is not None:
            self._queue.put(self._FINISH)
            self._thread.join()
            self._thread = None
        if self.failure is not None:
            raise RuntimeError("the gzip check of the upload failed") from self.failure
        return self.error

    def abort(self) -> None:
        """Stop checking (the upload failed); returns once the helper thread ended."""
        if self._thread is not None:
            self.checker = None
            self._queue.put(self._ABORT)
            self._thread.join()
            self._thread = None


class LimitedBodyReader:
    """Reads the request body in chunks for the object store.

    Raises :class:`TooLarge` once more than ``limit`` bytes came, :class:`~gateway.body.IncompleteBody` when the
    body ends before ``expected`` bytes (its Content-Length: gunicorn then just returns fewer bytes, and the
    shorter body would look complete). Read errors that are the client's fault arrive as
    :class:`~gateway.body.IncompleteBody` / ``BodyTimeout`` from :class:`gateway.body.ClientBodyReader`. With
    ``gzip_check`` (a :class:`StreamingGzipCheck`) every byte read is fed to it.
    """

    def __init__(self, stream, limit: int, expected: int | None = None,
                 gzip_check: StreamingGzipCheck | None = None):
        self.stream = stream
        self.limit = limit
        self.expected = expected
        self.count = 0
        self.gzip_check = gzip_check

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = READ_SIZE
        if self.expected is not None:
            size = min(size, max(self.expected - self.count, 0))
            if size == 0:
                return b""
        # at most 1 MiB per read: the WSGI server and minio each copy what a read returns (a 16 MiB read cost the
        # gateway about 80 MB at its peak)
        data = self.stream.read(min(size, READ_SIZE))
        self.count += len(data)
        if self.count > self.limit:
            raise TooLarge(f"the file is larger than the limit of {self.limit} bytes", {"limit": self.limit})
        if not data and self.expected is not None and self.count < self.expected:
            raise IncompleteBody(f"the upload stopped after {self.count} of the {self.expected} bytes announced "
                                 f"(Content-Length); nothing was recorded, send the file again",
                                 {"received": self.count, "announced": self.expected})
        if self.gzip_check is not None:
            self.gzip_check.feed(data)
        return data


@operation(bp, "/sample_sets/<int:sample_set_id>/samples", "POST", tag=TAG,
           summary="Create a sample in a set (metadata); then PUT its file", body=CreateSampleBody,
           response=SampleAnswer, status=201, errors=(409,))
def create_sample(sample_set_id: int, body: CreateSampleBody):
    """Needs the ``upload`` right on the set (and on every set of ``also_in_sets``). Answers the sample with its
    ``id``; upload the file next with ``PUT /api/v1/samples/{id}/file``."""
    set_ids = [sample_set_id] + [i for i in body.also_in_sets if i != sample_set_id]
    sampling_date = body.sampling_date.isoformat() if body.sampling_date else None
    return call_as_user("samples", "create_sample", set_ids, body.filename, sampling_date, body.info,
                        body.filename2, None, None, None, body.pre_process_id)


@operation(bp, "/samples/<int:sample_id>", "GET", summary="One sample (file name, size, state, sets)", tag=TAG,
           response=SampleAnswer)
def get_sample(sample_id: int):
    return call_as_user("samples", "get_sample", sample_id)


@operation(bp, "/samples/<int:sample_id>", "PATCH", summary="Edit a sample's metadata", tag=TAG,
           body=UpdateSampleBody, response=SampleAnswer)
def update_sample(sample_id: int, body: UpdateSampleBody):
    fields = body.model_dump(mode="json", exclude_none=True)
    set_ids = fields.pop("sample_set_ids", None)
    return call_as_user("samples", "update_sample", sample_id, fields, set_ids)


@operation(bp, "/samples/<int:sample_id>", "DELETE", summary="Delete a sample (or only its sequence file)",
           tag=TAG, query=DeleteSampleQuery, response={"type": "object"})
def delete_sample(sample_id: int, query: DeleteSampleQuery):
    """By default only the raw sequence file is removed (metadata and results stay); with
    ``with_results=true&confirm=true`` the whole sample and its results."""
    return call_as_user("samples", "delete_sample", sample_id, query.with_results, query.confirm)


@operation(bp, "/samples/<int:sample_id>/file", "PUT", tag=TAG, query=UploadQuery,
           summary="Upload (or re-upload) the sequence file of a sample: raw body, streamed to storage",
           raw_body="the FASTQ/FASTA file (optionally gzipped), as raw bytes", response=SampleAnswer,
           errors=(409, 413))
def upload_sample_file(sample_id: int, query: UploadQuery):
    """Streams the body to the object store (constant memory; a gzip body is checked whole on the way), then
    ``samples.complete_upload`` checks the records. 413 if the body exceeds the configured limit; 400 if the
    content is not FASTA/FASTQ (one code per problem: ``empty_file``, ``corrupt_gzip``, ...) or the body ended
    before its Content-Length or is malformed (``incomplete_body``); 408 if the client stalled. The key comes from
    ``samples.begin_upload``, which also checks the ``upload`` right before any byte is stored; a refused attempt
    is deleted and never recorded as the sample's file. Content refusals by ``complete_upload``, and this gateway's
    own (an empty body, the gzip verdict on files over 64 MiB: ``samples.reject_upload``), are in the sample's
    audit trail. The file name (query ``filename``, else header ``X-Filename``, else the sample's current name)
    names the file sent in every message; sanitised and type-checked as at sample creation (400
    ``invalid_file_name``, ``unsupported_file_type``), it becomes the sample's file name (and original file name)
    only when the upload is accepted."""
    require_principal()
    limit = max_upload_bytes()
    announced = request.content_length
    if announced is not None and announced > limit:
        raise TooLarge(f"the file ({announced} bytes) is larger than the limit of {limit} bytes",
                       {"limit": limit, "size": announced})
    target = call_as_user("samples", "begin_upload", sample_id, query.file_number, upload_filename(query))
    store = object_store()
    bucket, key = target.get("bucket") or store.buckets["sequences"], target["object_key"]
    filename = target.get("filename") or f"sample-{sample_id}"
    gzip_check = StreamingGzipCheck(GzipIntegrity(filename))
    reader = LimitedBodyReader(request.stream, limit, announced, gzip_check)
    try:
        stored = store.put_stream(bucket, key, reader, length=-1, part_size=part_size_for(limit))
        if announced is not None and stored.size != announced:   # never expected: the reader stops at `announced`
            raise IncompleteBody(f"{stored.size} bytes were received, the request announced {announced}; nothing "
                                 f"was recorded, send the file again", {"received": stored.size,
                                                                        "announced": announced})
        if stored.size == 0:
            empty = EmptyFile(f"{filename}: the file is empty (the request had no body)",
                              {"filename": filename, "sample_id": sample_id})
            # refused here, before the samples service sees it: recorded in the audit trail like its own refusals
            call_as_user("samples", "reject_upload", sample_id, query.file_number, key, empty.code, empty.message)
            raise empty
        gzip_error = gzip_check.finish()
        if gzip_error is not None and stored.size > SAMPLES_FULL_CHECK_BYTES:
            gzip_error.details.setdefault("sample_id", sample_id)
            # the samples service does not read this file whole: it records the refusal in the audit trail here
            # (the upload right checked again), as complete_upload does for the files it refuses itself
            call_as_user("samples", "reject_upload", sample_id, query.file_number, key, gzip_error.code,
                         gzip_error.message)
            raise gzip_error
    except Exception:
        # the attempt is not recorded (complete_upload is never called for it): its object, if any, goes
        gzip_check.abort()
        _delete_quietly(store, bucket, key)
        raise
    log.info("sample %s: stored %s bytes at %s/%s", sample_id, stored.size, bucket, key)
    # a gzip problem found here in a file the samples service reads whole is found there again (same checker), and
    # answered and audited there
    return call_as_user("samples", "complete_upload", sample_id, key, stored.size, stored.sha256, query.file_number)


#: Longest file name accepted in the ``X-Filename`` header: that of the ``filename`` query parameter.
MAX_FILENAME_PARAM = next(m.max_length for m in UploadQuery.model_fields["filename"].metadata
                          if hasattr(m, "max_length"))


def upload_filename(query: UploadQuery) -> str | None:
    """The name of the file a PUT sends: the ``filename`` query parameter, else the ``X-Filename`` header (raw
    UTF-8 read as UTF-8, else as Latin-1; empty = absent), else None (the sample's current name). A header longer
    than :data:`MAX_FILENAME_PARAM` is refused like the query parameter (422 ``validation_failed``)."""
    if query.filename is not None:
        return query.filename
    value = request.headers.get("X-Filename")
    if value is None or not value.strip():
        return None
    try:    # WSGI gives header bytes as Latin-1 characters: a UTF-8 name arrives as its bytes
        value = value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    if len(value) > MAX_FILENAME_PARAM:
        message = f"String should have at most {MAX_FILENAME_PARAM} characters"
        raise ValidationFailed(f"header.X-Filename: {message}", {"errors": [
            {"loc": ["header", "X-Filename"], "msg": message, "type": "string_too_long"}]})
    return value


def _delete_quietly(store: ObjectStore, bucket: str, key: str) -> None:
    try:
        store.delete(bucket, key)
    except Exception:  # the object may not exist (nothing was stored); the refusal is what matters
        log.warning("could not delete partial upload %s/%s", bucket, key, exc_info=True)


@operation(bp, "/samples/<int:sample_id>/file", "GET", tag=TAG, produces="application/octet-stream",
           summary="Download the sequence file of a sample (streamed)")
def download_sample_file(sample_id: int):
    """Needs the ``read`` right on a set holding the sample (the download is audited by the samples service)."""
    where = call_as_user("samples", "download_sample", sample_id, 1)
    if not where.get("object_key"):
        raise NotFound("this sample's file is not in the object store", {"sample_id": sample_id})
    store = object_store()
    return stream_object(where.get("bucket") or store.buckets["sequences"], where["object_key"],
                         where.get("filename") or f"sample-{sample_id}")


def stream_object(bucket: str, key: str, download_name: str, mimetype: str = "application/octet-stream"):
    """A streamed response of ``bucket/key`` (1 MiB chunks) with a download file name."""
    store = object_store()
    info = store.stat(bucket, key)
    reader = store.get_stream(bucket, key)

    def chunks():
        try:
            yield from reader
        finally:
            reader.close()

    quoted = urllib.parse.quote(download_name)
    response = Response(stream_with_context(chunks()), mimetype=mimetype)
    response.headers["Content-Length"] = str(info.size)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quoted}"
    return response


# -- mounted directories (files added without copying) and the storage guard ----------------------------------------
@operation(bp, "/file_sources", "GET", summary="Mounted directories samples may be added from", tag=TAG,
           response={"type": "array", "items": {"type": "object"}})
def list_file_sources():
    return call_as_user("samples", "list_file_sources")


@operation(bp, "/file_sources", "POST", summary="Declare a mounted directory (administrators)", tag=TAG,
           body=FileSourceBody, response={"type": "object"}, status=201, errors=(409,))
def create_file_source(body: FileSourceBody):
    return call_as_user("samples", "create_file_source", body.name, body.root, body.extensions)


@operation(bp, "/file_sources/<int:source_id>", "DELETE", summary="Forget a mounted directory (administrators)",
           tag=TAG, response={"type": "object"}, errors=(409,))
def delete_file_source(source_id: int):
    """Refused (409) while samples use its files; the files themselves are never touched."""
    return call_as_user("samples", "delete_file_source", source_id)


@operation(bp, "/file_sources/<int:source_id>/browse", "GET", summary="One folder of a mounted directory", tag=TAG,
           query=BrowseQuery, response={"type": "object"})
def browse_file_source(source_id: int, query: BrowseQuery):
    """Sub-folders and files with an accepted ending; paths leaving the directory are refused (403)."""
    return call_as_user("samples", "browse_file_source", source_id, query.path)


@operation(bp, "/sample_sets/<int:sample_set_id>/mounted_samples", "POST", tag=TAG, body=MountedSampleBody,
           summary="Add a file of a mounted directory as a sample (no copy; ready at once)", response=SampleAnswer,
           status=201, errors=(409,))
def add_mounted_sample(sample_set_id: int, body: MountedSampleBody):
    set_ids = [sample_set_id] + [i for i in body.also_in_sets if i != sample_set_id]
    sampling_date = body.sampling_date.isoformat() if body.sampling_date else None
    return call_as_user("samples", "add_mounted_sample", set_ids, body.source_id, body.path, sampling_date, body.info,
                        body.path2, None, None, None, body.pre_process_id)


@operation(bp, "/admin/storage", "GET", summary="Storage guard: free space of the object store and database folders",
           tag=TAG, response={"type": "object"})
def storage_status():
    return call_as_user("samples", "storage_status")


@operation(bp, "/admin/storage", "PUT", summary="Set the storage guard's threshold (administrators)", tag=TAG,
           body=StorageGuardBody, response={"type": "object"})
def configure_storage_guard(body: StorageGuardBody):
    """Uploads and runs are refused (503) below ``max(min_free_percent % of the filesystem, min_free_bytes)``."""
    return call_as_user("samples", "configure_storage_guard", body.min_free_percent, body.min_free_bytes)
