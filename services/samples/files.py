"""Samples (sequence files): create in one or several sets, upload protocol, checks, edit, delete
(Vidjil section 2.2, S10-S14, S17, S21).

Upload protocol (the gateway streams, this service decides):

1. ``create_sample`` (or ``begin_upload`` to retry/replace) gives an object key under
   ``samples/<sample id>/<random>/r<n><ext>`` in the sequences bucket; the key names no patient. Every
   ``begin_upload`` gives a new key: an earlier attempt still streaming can never overwrite what a later one
   stored (S3 keeps the last write of a key), and only the latest attempt can complete. ``begin_upload`` may name
   the file being sent (sanitised and type-checked as at creation); that name goes with the key: the checks of
   ``complete_upload`` use it, and the sample takes it only when the file is accepted.
2. The gateway streams the body to that key (``services.common.storage``: multipart, constant memory, size and
   SHA-256 computed on the way).
3. ``complete_upload`` checks that the object exists with the announced size, checks its first records (all of
   a small file, including the SHA-256 and gzip checksums), and only then records it in the sample. A sample
   therefore never points at a half file; an interrupted or rejected upload is retried with a new key.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from services.common.exceptions import BadRequest, NotFound
from services.common.models import utcnow
from services.common.principal import Principal
from services.common.storage import HashingReader, ObjectNotFound
from services.samples import access, audit, tags
from services.samples.exceptions import InvalidSequenceFile, UploadMismatch
from services.samples.models import (AWAITING_UPLOAD, RAW_DELETED, READY, Sample, SampleSet, SampleSetMembership,
                                     SampleTag, Tag)
from services.samples.outbox import Outbox
from services.samples.schemas import SampleFields, parse
from services.samples.validation import DEFAULT_MAX_RECORDS, check_stream, file_type, sanitize_filename

log = logging.getLogger(__name__)

#: Objects up to this size are read whole at ``complete_upload`` (every record, gzip and SHA-256 checksums).
FULL_CHECK_BYTES = 64 * 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
EXTENSIONS = {"fastq": ".fastq", "fasta": ".fasta", "vidjil": ".vidjil", "airr": ".tsv"}


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    return value.isoformat() + "Z"


def new_object_key(sample_id: int, file_number: int, filename: str) -> str:
    """``samples/<id>/<random hex>/r<n><ext>`` (the extension says the type; the name stays in the record)."""
    kind, gz = file_type(filename)
    return f"samples/{sample_id}/{secrets.token_hex(8)}/r{file_number}{EXTENSIONS[kind]}{'.gz' if gz else ''}"


# -- serialisation ----------------------------------------------------------------------------------------------

def sample_dict(sample: Sample, tags: list[str] | None = None) -> dict:
    """A sample: ``{"id", "status" (awaiting_upload | ready | raw_deleted), "filename", "original_filename",
    "filename2", "original_filename2", "is_pair", "sampling_date", "info", "tags", "pcr", "sequencer",
    "producer", "provider_id", "pre_process_id", "created_at", "uploaded_at", "source" (upload | mounted),
    "file_format", "compressed", "size", "size2", "sha256", "sha256_2", "bucket", "object_key",
    "object_key2", "file_source_id", "source_path", "source_path2", "check" (report of the checks, with
    warnings), "sample_set_ids"}``. Sizes in bytes; dates ISO."""
    return {
        "id": sample.id, "status": sample.status,
        "filename": sample.filename, "original_filename": sample.original_filename,
        "filename2": sample.filename2, "original_filename2": sample.original_filename2,
        "is_pair": sample.is_pair,
        "sampling_date": _iso(sample.sampling_date), "info": sample.info or "", "tags": tags or [],
        "pcr": sample.pcr, "sequencer": sample.sequencer, "producer": sample.producer,
        "provider_id": sample.provider_id, "pre_process_id": sample.pre_process_id,
        "created_at": _iso(sample.created_at), "uploaded_at": _iso(sample.uploaded_at),
        "source": sample.source, "file_format": sample.file_format, "compressed": bool(sample.compressed),
        "size": sample.size, "size2": sample.size2, "sha256": sample.sha256, "sha256_2": sample.sha256_2,
        "bucket": sample.bucket, "object_key": sample.object_key, "object_key2": sample.object_key2,
        "file_source_id": sample.file_source_id, "source_path": sample.source_path,
        "source_path2": sample.source_path2,
        "check": sample.check_report or {}, "sample_set_ids": sample.sample_set_ids,
    }


def internal_summary(sample: Sample) -> dict:
    """What ``sets_of_sample`` gives per sample (no identity)."""
    return {"sample_id": sample.id, "sampling_date": _iso(sample.sampling_date), "filename": sample.filename,
            "status": sample.status, "bucket": sample.bucket, "object_key": sample.object_key}


def tags_of_samples(session: Session, sample_ids: list[int]) -> dict[int, list[str]]:
    """``{sample_id: [tag, ...]}``."""
    result: dict[int, list[str]] = {i: [] for i in sample_ids}
    if sample_ids:
        rows = session.execute(sa.select(SampleTag.sample_id, Tag.name).join(Tag, Tag.id == SampleTag.tag_id)
                               .where(SampleTag.sample_id.in_(sample_ids)).order_by(Tag.name))
        for sample_id, name in rows:
            result[sample_id].append(name)
    return result


def get(session: Session, principal: Principal, sample_id) -> dict:
    """:func:`sample_dict` of a sample the caller may read (through at least one of its sets; NotFound
    otherwise). ``sample_set_ids`` lists only the sets the caller may read."""
    sample = access.load_sample(session, sample_id, principal, "read")
    data = sample_dict(sample, tags_of_samples(session, [sample.id])[sample.id])
    data["sample_set_ids"] = access.readable_ids(principal, access.sets_of(session, sample))
    return data


# -- create -----------------------------------------------------------------------------------------------------

def _target_sets(session: Session, principal: Principal, sample_set_ids) -> list[SampleSet]:
    if isinstance(sample_set_ids, int) and not isinstance(sample_set_ids, bool):
        sample_set_ids = [sample_set_ids]
    if not isinstance(sample_set_ids, (list, tuple)) or not sample_set_ids:
        raise BadRequest("sample_set_ids must be a non-empty list of sample set ids")
    if len(sample_set_ids) > 50:
        raise BadRequest("a sample may be added to at most 50 sets at once")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in sample_set_ids):
        raise BadRequest("sample_set_ids must be integers", {"sample_set_ids": repr(sample_set_ids)[:200]})
    return [access.load_set(session, i, principal, "upload") for i in dict.fromkeys(sample_set_ids)]


def _owner_groups(sets: list[SampleSet]) -> set[int]:
    return {g for s in sets for g in s.access_group_ids}


def create(session: Session, principal: Principal, bucket: str, sample_set_ids, filename, sampling_date=None,
           info="", filename2=None, pcr=None, sequencer=None, producer=None, pre_process_id=None) -> dict:
    """Create a sample awaiting its file(s) in every set of ``sample_set_ids`` (``upload`` needed on each).

    ``filename`` (and ``filename2`` for an R1/R2 pair) are sanitised, the originals kept; the type must be
    accepted (UnsupportedFileType). Returns :func:`sample_dict` plus ``"upload_bucket"``, ``"upload_key"`` and,
    for a pair, ``"upload_key2"``.
    """
    sets = _target_sets(session, principal, sample_set_ids)
    meta = parse(SampleFields, {"sampling_date": sampling_date, "info": info, "pcr": pcr, "sequencer": sequencer,
                                "producer": producer}, "sample fields").model_dump()
    names = _names(filename)
    names2 = _names(filename2) if filename2 is not None else (None, None)
    if names2[0] is not None:
        _require_pair_type(names2[0])
    if pre_process_id is not None and (isinstance(pre_process_id, bool) or not isinstance(pre_process_id, int)):
        raise BadRequest("pre_process_id must be an integer or null")
    sample = Sample(filename=names[0], original_filename=names[1], filename2=names2[0],
                    original_filename2=names2[1], provider_id=principal.user_id, status=AWAITING_UPLOAD,
                    pre_process_id=pre_process_id, bucket=bucket, source="upload", **meta)
    sample.memberships = [SampleSetMembership(sample_set_id=s.id) for s in sets]
    session.add(sample)
    session.flush()
    sample.pending_key = new_object_key(sample.id, 1, sample.filename)
    if sample.filename2:
        sample.pending_key2 = new_object_key(sample.id, 2, sample.filename2)
    sample_tags = tags.register_sample_tags(session, sample.id, sample.info, _owner_groups(sets))
    audit.record(session, principal, "create_sample", None, sample.id, sample_set_ids=[s.id for s in sets])
    session.flush()
    data = sample_dict(sample, sample_tags)
    data.update({"upload_bucket": bucket, "upload_key": sample.pending_key, "upload_key2": sample.pending_key2})
    return data


def _names(filename) -> tuple[str, str]:
    """``(sanitised name, name as sent)`` of a file name given by a user (InvalidFileName, UnsupportedFileType,
    BadRequest when missing)."""
    if not isinstance(filename, str) or not filename.strip():
        raise BadRequest("filename is required")
    clean = sanitize_filename(filename)
    file_type(clean)
    return clean, filename[:1024]


def _require_pair_type(clean_name: str, field: str = "filename2") -> None:
    if file_type(clean_name)[0] not in ("fastq", "fasta"):
        raise BadRequest("only FASTQ/FASTA files can be given as an R1/R2 pair", {field: clean_name})


def begin_upload(session: Session, principal: Principal, bucket: str, sample_id, file_number=1,
                 filename=None) -> dict:
    """Where to stream file ``file_number`` (1, or 2 for R2) of a sample: ``{"sample_id", "file_number",
    "bucket", "object_key", "filename"}``. Needs ``upload`` on a set holding the sample, and ``admin`` on one to
    replace a file the sample already has (an edit of its raw data, like deleting it). Each call gives a new
    key, which becomes the only one ``complete_upload`` accepts: an earlier attempt (interrupted, or a second
    PUT of the same sample still streaming) can no longer complete, and since it writes to its own key it can
    never overwrite a file accepted since (S3 keeps the last write of a key). A file already accepted stays
    until the new one is accepted (replacement).

    ``filename``: the name of the file about to be sent (None: the file's current name). Sanitised and
    type-checked as at creation (InvalidFileName, UnsupportedFileType; BadRequest for an R2 file that is not
    FASTQ/FASTA); the key's extension follows it. It is kept with the key: ``complete_upload`` checks the
    content under that name and gives it to the sample (``filename``, ``original_filename``, or ``filename2``,
    ``original_filename2``) only if the file is accepted. The answer's ``filename`` is the sanitised name the
    file is sent under."""
    sample = access.load_sample(session, sample_id, principal, "upload")
    if file_number not in (1, 2) or (file_number == 2 and not sample.is_pair):
        raise BadRequest("file_number must be 1, or 2 for the R2 file of a pair", {"file_number": file_number})
    if (sample.object_key if file_number == 1 else sample.object_key2) is not None:
        access.load_sample(session, sample.id, principal, "admin")
    if sample.source != "upload":
        raise BadRequest("this sample's file comes from a mounted directory; it cannot be uploaded")
    suffix = "" if file_number == 1 else "2"
    if filename is None:
        clean = original = None
        name = getattr(sample, f"filename{suffix}")
    else:
        clean, original = _names(filename)
        if file_number == 2:
            _require_pair_type(clean, "filename")
        name = clean
    setattr(sample, f"pending_key{suffix}", new_object_key(sample.id, file_number, name))
    setattr(sample, f"pending_filename{suffix}", clean)
    setattr(sample, f"pending_original_filename{suffix}", original)
    # written with the key even when unchanged: of two concurrent calls, the last UPDATE sets key and name together
    flag_modified(sample, f"pending_filename{suffix}")
    flag_modified(sample, f"pending_original_filename{suffix}")
    return {"sample_id": sample.id, "file_number": file_number, "bucket": sample.bucket or bucket,
            "object_key": getattr(sample, f"pending_key{suffix}"), "filename": name}


def complete_upload(session: Session, principal: Principal, outbox: Outbox, store, sample_id, object_key, size,
                    sha256, file_number=1, max_records: int = DEFAULT_MAX_RECORDS,
                    full_check_bytes: int = FULL_CHECK_BYTES) -> dict:
    """Accept the object the gateway stored for file ``file_number`` of a sample.

    Checks: ``object_key`` is the key given for this upload (UploadMismatch otherwise), the object exists
    (NotFound) with ``size`` bytes (UploadMismatch), ``sha256`` is 64 hex digits (BadRequest); the content passes
    :func:`services.samples.validation.check_stream` (one InvalidSequenceFile subclass per problem; the object is
    then deleted and the upload may be retried). Objects up to ``full_check_bytes`` are read whole and their
    SHA-256 compared with ``sha256``.

    The content is checked, and named in error messages, under the name given to ``begin_upload`` for this key
    (the file's current name if none was given).

    On success the sample records key, size, SHA-256, check report and that name (``filename`` and
    ``original_filename``, or ``filename2`` and ``original_filename2``); once every expected file is in, its
    status becomes ``ready`` and ``sample.uploaded`` is published (after the commit). A replaced file is deleted
    from the object store after the commit. A refused upload changes nothing in the sample (file and name).
    Returns :func:`sample_dict`.
    """
    # the row lock makes concurrent completions of one sample wait for each other: one is recorded, the next
    # finds its key no longer pending
    sample = access.load_sample(session, sample_id, principal, "upload", lock=True)
    if file_number not in (1, 2) or (file_number == 2 and not sample.is_pair):
        raise BadRequest("file_number must be 1, or 2 for the R2 file of a pair", {"file_number": file_number})
    suffix = "" if file_number == 1 else "2"
    pending = getattr(sample, f"pending_key{suffix}")
    if pending is None or object_key != pending:
        _discard_stray_object(store, sample, object_key)
        raise UploadMismatch(f"object key {object_key!r} is not the upload key of file {file_number} of sample "
                             f"{sample.id} (ask for one with begin_upload)",
                             {"sample_id": sample.id, "file_number": file_number})
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise BadRequest("size must be a number of bytes", {"size": repr(size)})
    if not isinstance(sha256, str) or not SHA256.match(sha256.lower()):
        raise BadRequest("sha256 must be 64 hexadecimal digits", {"sha256": repr(sha256)[:80]})
    sha256 = sha256.lower()
    bucket = sample.bucket
    try:
        info = store.stat(bucket, object_key)
    except ObjectNotFound:
        raise NotFound(f"no object was stored at {object_key} (upload interrupted?); upload the file again",
                       {"sample_id": sample.id, "object_key": object_key}) from None
    if info.size != size:
        _discard_stray_object(store, sample, object_key)
        raise UploadMismatch(f"the stored object has {info.size} bytes, the upload announced {size} (interrupted "
                             f"upload?); upload the file again", {"stored": info.size, "announced": size})
    new_name = getattr(sample, f"pending_filename{suffix}")
    filename = new_name or getattr(sample, f"filename{suffix}")
    read_all = size <= full_check_bytes
    try:
        with store.open(bucket, object_key) as stream:
            hashing = HashingReader(stream)
            report = check_stream(hashing, filename, max_records=max_records, read_all=read_all)
            if read_all:
                while hashing.read(1024 * 1024):
                    pass
        if read_all and hashing.sha256 != sha256:
            raise UploadMismatch("the stored object's SHA-256 differs from the one computed during the upload",
                                 {"stored": hashing.sha256, "announced": sha256})
    except (InvalidSequenceFile, UploadMismatch) as error:
        audit.record(session, principal, "upload_rejected", None, sample.id, file_number=file_number,
                     code=error.code)
        session.commit()            # keep the audit entry; the sample itself is unchanged
        try:                        # no record points to the rejected object: remove it
            store.delete(bucket, object_key)
        except Exception:           # an orphan object is harmless
            pass
        error.details.setdefault("sample_id", sample.id)
        raise
    old_key = getattr(sample, f"object_key{suffix}")
    if old_key and old_key != object_key:
        outbox.delete_object(bucket, old_key)
    setattr(sample, f"object_key{suffix}", object_key)
    setattr(sample, f"pending_key{suffix}", None)
    renamed = bool(new_name) and (new_name, getattr(sample, f"pending_original_filename{suffix}")) != (
        getattr(sample, f"filename{suffix}"), getattr(sample, f"original_filename{suffix}"))
    if new_name:
        setattr(sample, f"filename{suffix}", new_name)
        setattr(sample, f"original_filename{suffix}", getattr(sample, f"pending_original_filename{suffix}"))
    setattr(sample, f"pending_filename{suffix}", None)
    setattr(sample, f"pending_original_filename{suffix}", None)
    setattr(sample, f"size{suffix}", size)
    setattr(sample, "sha256" if file_number == 1 else "sha256_2", sha256)
    checks = dict(sample.check_report or {})
    checks[f"file{file_number}"] = report.to_dict()
    sample.check_report = checks
    if file_number == 1:
        sample.file_format = report.file_format
        sample.compressed = report.compressed
    audit.record(session, principal, "upload", None, sample.id, file_number=file_number, size=size,
                 sha256=sha256, replaced=bool(old_key and old_key != object_key), renamed=renamed)
    if sample.object_key and (not sample.is_pair or sample.object_key2):
        sample.status = READY
        sample.uploaded_at = utcnow()
        outbox.publish("sample.uploaded", uploaded_event(sample, principal))
    session.flush()
    return _visible_dict(session, principal, sample)


def _file_check_codes() -> frozenset[str]:
    """The codes of every file-check error (:class:`InvalidSequenceFile` and its subclasses)."""
    found, todo = set(), [InvalidSequenceFile]
    while todo:
        cls = todo.pop()
        found.add(cls.code)
        todo += cls.__subclasses__()
    return frozenset(found)


def reject_upload(session: Session, principal: Principal, sample_id, file_number, object_key, code,
                  message="") -> dict:
    """Record in the audit trail an upload of file ``file_number`` refused by the gateway itself (an empty body,
    or a file over :data:`FULL_CHECK_BYTES`, whose gzip stream only the gateway reads whole): the
    ``upload_rejected`` entry :func:`complete_upload` writes for the files it refuses (details ``{"file_number",
    "code"}``; ``message`` is only logged: file names stay out of the trail). The gateway deletes the object; the
    sample is unchanged.

    Needs ``upload`` on a set holding the sample (NotFound / PermissionDenied). BadRequest unless ``file_number`` is
    1 (or 2 for the R2 of a pair), ``object_key`` an upload attempt of this sample (``samples/<id>/...``, not one
    of its accepted files) and ``code`` the code of a file check (``corrupt_gzip``, ``excessive_compression``, ...).
    A caller can only record refusals of its own uploads (the entry names it). Returns the audit entry
    (:func:`services.samples.audit.entry_dict`)."""
    sample = access.load_sample(session, sample_id, principal, "upload")
    if isinstance(file_number, bool) or file_number not in (1, 2) or (file_number == 2 and not sample.is_pair):
        raise BadRequest("file_number must be 1, or 2 for the R2 file of a pair", {"file_number": repr(file_number)})
    if (not isinstance(object_key, str) or not object_key.startswith(f"samples/{sample.id}/") or ".." in object_key
            or object_key in (sample.object_key, sample.object_key2)):
        raise BadRequest(f"the object key is not an upload attempt of sample {sample.id}",
                         {"sample_id": sample.id, "object_key": repr(object_key)[:200]})
    if not isinstance(code, str) or code not in _file_check_codes():
        raise BadRequest("code must be the code of a file check (corrupt_gzip, excessive_compression, ...)",
                         {"code": repr(code)[:100]})
    if not isinstance(message, str):
        raise BadRequest("message must be text")
    entry = audit.record(session, principal, "upload_rejected", None, sample.id, file_number=file_number, code=code)
    session.flush()
    log.info("sample %s: upload of file %s refused by the gateway (%s): %s", sample.id, file_number, code,
             message[:500])
    return audit.entry_dict(entry)


def _visible_dict(session: Session, principal: Principal, sample: Sample) -> dict:
    """:func:`sample_dict` with ``sample_set_ids`` limited to the sets the caller may read."""
    data = sample_dict(sample, tags_of_samples(session, [sample.id])[sample.id])
    data["sample_set_ids"] = access.readable_ids(principal, access.sets_of(session, sample))
    return data


def _discard_stray_object(store, sample: Sample, object_key) -> None:
    """Delete ``object_key`` if it is an upload attempt of this sample that no record points to (a superseded
    or cut attempt): keys under ``samples/<id>/`` other than the accepted files'. Anything else is left alone."""
    if not isinstance(object_key, str) or not object_key.startswith(f"samples/{sample.id}/") or ".." in object_key:
        return
    if object_key in (sample.object_key, sample.object_key2, sample.pending_key, sample.pending_key2):
        return
    try:
        store.delete(sample.bucket, object_key)
    except Exception:  # an orphan object is harmless
        pass


def uploaded_event(sample: Sample, principal: Principal) -> dict[str, Any]:
    """Data of ``sample.uploaded`` (docs/events.md)."""
    return {"sample_id": sample.id, "sample_set_ids": sample.sample_set_ids, "bucket": sample.bucket,
            "object_key": sample.object_key, "size": sample.size, "sha256": sample.sha256,
            "object_key2": sample.object_key2, "size2": sample.size2, "sha256_2": sample.sha256_2,
            "file_format": sample.file_format, "source": sample.source, "source_path": sample.source_path,
            "uploaded_by": principal.user_id}


# -- edit / delete ----------------------------------------------------------------------------------------------

def update(session: Session, principal: Principal, sample_id, fields, sample_set_ids=None) -> dict:
    """Change metadata (``sampling_date``, ``info``, ``pcr``, ``sequencer``, ``producer``) and, if
    ``sample_set_ids`` is given, the sets holding the sample. Needs ``admin`` on a set holding it; adding it to
    a set needs ``upload`` there; removing it from a set needs ``admin`` there; it must stay in one set at least.
    """
    sample = access.load_sample(session, sample_id, principal, "admin")
    if not isinstance(fields, dict):
        raise BadRequest("fields must be an object")
    current = {k: getattr(sample, k) for k in SampleFields.model_fields}
    values = parse(SampleFields, {**current, **fields}, "sample fields").model_dump()
    changed = [k for k, v in values.items() if getattr(sample, k) != v]
    for key in changed:
        setattr(sample, key, values[key])
    sets = access.sets_of(session, sample)
    if sample_set_ids is not None:
        wanted = _target_sets(session, principal, sample_set_ids) if sample_set_ids else []
        if not wanted:
            raise BadRequest("a sample stays in at least one sample set")
        wanted_ids = {s.id for s in wanted}
        for membership in list(sample.memberships):
            if membership.sample_set_id not in wanted_ids:
                access.load_set(session, membership.sample_set_id, principal, "admin")
                sample.memberships.remove(membership)
                audit.record(session, principal, "remove_sample_from_set", membership.sample_set_id, sample.id)
        present = set(sample.sample_set_ids)
        for s in wanted:
            if s.id not in present:
                sample.memberships.append(SampleSetMembership(sample_set_id=s.id))
                changed.append(f"added_to_{s.id}")
        sets = wanted
    if "info" in changed:
        tags.register_sample_tags(session, sample.id, sample.info, _owner_groups(sets))
    if changed:
        audit.record(session, principal, "edit_sample", None, sample.id, fields=changed)
    session.flush()
    return _visible_dict(session, principal, sample)


def remove_sample(session: Session, principal: Principal, outbox: Outbox, sample: Sample, set_ids: list[int],
                  results: bool) -> None:
    """Delete a sample record (``results`` True: its results go too) and, after the commit, its objects."""
    for key in (sample.object_key, sample.object_key2, sample.pending_key, sample.pending_key2):
        outbox.delete_object(sample.bucket, key)
    outbox.publish("sample.deleted", {"sample_id": sample.id, "sample_set_ids": set_ids, "raw_only": False,
                                      "results_deleted": results, "deleted_by": principal.user_id})
    session.delete(sample)


def delete(session: Session, principal: Principal, outbox: Outbox, sample_id, with_results=False,
           confirm=False) -> dict:
    """Delete a sample's raw file(s) (``with_results`` False: metadata and results are kept, status
    ``raw_deleted``), or the whole sample with its results (``with_results`` True, needs ``confirm`` True:
    BadRequest otherwise). Needs ``admin`` on a set holding it. Publishes ``sample.deleted``; objects are removed
    after the commit. A sample of a mounted directory forgets its ``source_path`` / ``source_path2`` (the files
    there are never touched; ``file_source_id`` stays, as a record of where it came from). Returns
    ``{"sample_id", "deleted": "raw" | "sample"}``."""
    sample = access.load_sample(session, sample_id, principal, "admin")
    set_ids = sample.sample_set_ids
    if with_results:
        if confirm is not True:
            raise BadRequest("deleting a sample with its results must be confirmed (confirm=true)",
                             {"sample_id": sample.id})
        for set_id in set_ids:
            audit.record(session, principal, "delete_sample", set_id, sample.id)
        remove_sample(session, principal, outbox, sample, set_ids, results=True)
        session.flush()
        return {"sample_id": sample_id, "deleted": "sample"}
    if sample.status == RAW_DELETED:
        return {"sample_id": sample.id, "deleted": "raw"}
    for key in (sample.object_key, sample.object_key2, sample.pending_key, sample.pending_key2):
        outbox.delete_object(sample.bucket, key)
    sample.object_key = sample.object_key2 = sample.pending_key = sample.pending_key2 = None
    sample.pending_filename = sample.pending_original_filename = None
    sample.pending_filename2 = sample.pending_original_filename2 = None
    sample.source_path = sample.source_path2 = None  # a mounted file is not ours to delete: only forgotten
    sample.status = RAW_DELETED
    audit.record(session, principal, "delete_raw", None, sample.id)
    outbox.publish("sample.deleted", {"sample_id": sample.id, "sample_set_ids": set_ids, "raw_only": True,
                                      "results_deleted": False, "deleted_by": principal.user_id})
    session.flush()
    return {"sample_id": sample.id, "deleted": "raw"}


def download(session: Session, principal: Principal, sample_id, file_number=1) -> dict:
    """Where to read a sample's raw file, for a caller who may ``read`` it (the download is audited):
    ``{"sample_id", "file_number", "bucket", "object_key", "filename", "size", "sha256", "source_path"}``.
    NotFound if the file was deleted or never uploaded."""
    sample = access.load_sample(session, sample_id, principal, "read")
    if file_number not in (1, 2):
        raise BadRequest("file_number must be 1 or 2")
    suffix = "" if file_number == 1 else "2"
    key = getattr(sample, f"object_key{suffix}")
    path = getattr(sample, f"source_path{suffix}")
    if key is None and path is None:
        raise NotFound(f"sample {sample.id} has no stored file {file_number}"
                       + (" (raw file deleted)" if sample.status == RAW_DELETED else ""),
                       {"sample_id": sample.id, "file_number": file_number})
    audit.record(session, principal, "download", None, sample.id, file_number=file_number)
    return {"sample_id": sample.id, "file_number": file_number, "bucket": sample.bucket, "object_key": key,
            "filename": sample.filename if file_number == 1 else sample.filename2,
            "size": getattr(sample, f"size{suffix}"),
            "sha256": sample.sha256 if file_number == 1 else sample.sha256_2, "source_path": path}
