"""Mounted file sources (Vidjil ``FILE_SOURCE``, section 2.2 S15): an administrator names a directory (for
example a hospital NFS share mounted on the hosts running this service and the job workers) and the accepted file
endings; users browse it and add files from it as samples **without copying** them.

Paths are always resolved (symbolic links followed) and must stay inside the directory: ``..``, absolute paths and
links leading outside are refused (:class:`OutsideFileSource`), as are files whose name does not end with an
allowed extension. Hidden entries (names starting with ``.``) are not listed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.exceptions import BadRequest, Conflict, NotFound, PermissionDenied
from services.common.models import utcnow
from services.common.permissions import can
from services.common.principal import Principal
from services.samples import audit, tags
from services.samples.exceptions import OutsideFileSource, UnsupportedFileType
from services.samples.files import _owner_groups, _target_sets, sample_dict, uploaded_event
from services.samples.models import READY, FileSource, Sample, SampleSetMembership
from services.samples.outbox import Outbox
from services.samples.schemas import SampleFields, parse
from services.samples.validation import DEFAULT_MAX_RECORDS, check_file, file_type, sanitize_filename

MAX_ENTRIES = 2000


def source_dict(source: FileSource, principal: Principal) -> dict:
    """``{"id", "name", "extensions", "root" (administrators only, else None), "created_at"}``."""
    return {"id": source.id, "name": source.name, "extensions": list(source.extensions),
            "root": source.root if principal.is_admin else None,
            "created_at": source.created_at.isoformat() + "Z" if source.created_at else None}


def _extensions(extensions) -> list[str]:
    if not isinstance(extensions, (list, tuple)) or not extensions:
        raise BadRequest("extensions must be a non-empty list such as ['fastq', 'fastq.gz', 'fa']")
    cleaned = []
    for ext in extensions:
        if not isinstance(ext, str) or not ext.strip(". ") or "/" in ext:
            raise BadRequest(f"invalid extension {ext!r}")
        ext = ext.strip().lstrip(".").lower()
        try:
            file_type("x." + ext)
        except UnsupportedFileType:
            raise BadRequest(f"extension {ext!r} is not an accepted file type", {"extension": ext}) from None
        cleaned.append(ext)
    return sorted(set(cleaned))


def create(session: Session, principal: Principal, name, root, extensions) -> FileSource:
    """Administrators only. ``root``: an absolute path to an existing readable directory on this host."""
    principal.require_admin()
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("name: 1-255 characters")
    if not isinstance(root, str) or not os.path.isabs(root):
        raise BadRequest("root must be an absolute directory path", {"root": repr(root)[:300]})
    real = os.path.realpath(root)
    if not os.path.isdir(real) or not os.access(real, os.R_OK | os.X_OK):
        raise BadRequest(f"{root} is not a readable directory on the samples host", {"root": root})
    if session.scalar(sa.select(FileSource.id).where(FileSource.name == name.strip())):
        raise Conflict(f"a file source named {name.strip()!r} exists already")
    source = FileSource(name=name.strip(), root=real, extensions=_extensions(extensions),
                        created_by=principal.user_id)
    session.add(source)
    session.flush()
    return source


def delete(session: Session, principal: Principal, source_id) -> dict:
    """Administrators only; Conflict while samples still point into it (their files are never touched)."""
    principal.require_admin()
    source = _load(session, source_id)
    used = session.scalar(sa.select(sa.func.count(Sample.id)).where(Sample.file_source_id == source.id))
    if used:
        raise Conflict(f"{used} sample(s) use files of this source; delete them first", {"samples": int(used)})
    session.delete(source)
    return {"deleted": source.id}


def _load(session: Session, source_id) -> FileSource:
    if isinstance(source_id, bool) or not isinstance(source_id, int):
        raise NotFound(f"file source {source_id!r} does not exist")
    source = session.get(FileSource, source_id)
    if source is None:
        raise NotFound(f"file source {source_id} does not exist", {"source_id": source_id})
    return source


def _require_uploader(principal: Principal) -> None:
    if not can(principal, "upload", None):
        raise PermissionDenied("browsing mounted directories needs the 'upload' right in some group")


def allowed(source: FileSource, name: str) -> bool:
    lower = name.lower()
    return any(lower.endswith("." + ext) for ext in source.extensions)


def resolve(source: FileSource, relative) -> Path:
    """The real path of ``relative`` inside the source; OutsideFileSource if it escapes (``..``, absolute, links)."""
    if not isinstance(relative, str) or "\x00" in relative:
        raise OutsideFileSource("invalid path", {"path": repr(relative)[:300]})
    if os.path.isabs(relative):
        raise OutsideFileSource("paths are relative to the mounted directory", {"path": relative[:300]})
    root = Path(source.root)
    real = Path(os.path.realpath(root / relative))
    if real != root and root not in real.parents:
        raise OutsideFileSource(f"{relative} is outside the mounted directory {source.name}",
                                {"path": relative[:300]})
    return real


def _exists_as(path: Path, test) -> bool:
    """``test(path)`` (Path.is_dir / Path.is_file), False instead of an OSError such as a name too long."""
    try:
        return test(path)
    except OSError:
        return False


def browse(session: Session, principal: Principal, source_id, path="") -> dict:
    """One directory level: ``{"source_id", "path", "entries": [{"name", "path" (relative), "type": "dir" |
    "file", "size" (files, bytes)}]}``, directories first, then files with an allowed extension, by name (at
    most 2000). Needs ``upload`` in some group."""
    _require_uploader(principal)
    source = _load(session, source_id)
    directory = resolve(source, path or "")
    if not _exists_as(directory, Path.is_dir):
        raise NotFound(f"{path} is not a directory of {source.name}", {"path": path})
    root = Path(source.root)
    dirs, found = [], []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    real = Path(os.path.realpath(entry.path))
                    info = os.stat(real)
                except OSError:
                    continue
                if real != root and root not in real.parents:
                    continue          # a link leading outside is not shown
                relative = str(Path(entry.path).relative_to(root))
                if stat.S_ISDIR(info.st_mode):
                    dirs.append({"name": entry.name, "path": relative, "type": "dir", "size": None})
                elif stat.S_ISREG(info.st_mode) and allowed(source, entry.name):
                    found.append({"name": entry.name, "path": relative, "type": "file", "size": info.st_size})
    except PermissionError:
        raise PermissionDenied(f"{path or '/'} of {source.name} cannot be read by the samples service") from None
    entries = sorted(dirs, key=lambda e: e["name"]) + sorted(found, key=lambda e: e["name"])
    relative_dir = "" if directory == root else str(directory.relative_to(root))
    return {"source_id": source.id, "path": relative_dir, "entries": entries[:MAX_ENTRIES]}


def _file(source: FileSource, relative) -> tuple[Path, int]:
    real = resolve(source, relative)
    if not _exists_as(real, Path.is_file):
        raise NotFound(f"{relative} is not a file of {source.name}", {"path": str(relative)[:300]})
    if not allowed(source, real.name):
        raise OutsideFileSource(f"{real.name} does not end with an allowed extension of {source.name} "
                                f"({', '.join(source.extensions)})", {"path": str(relative)[:300]})
    return real, real.stat().st_size


def add_sample(session: Session, principal: Principal, outbox: Outbox, sample_set_ids, source_id, path,
               sampling_date=None, info="", path2=None, pcr=None, sequencer=None, producer=None,
               pre_process_id=None) -> dict:
    """A sample whose file stays in the mounted directory (``source`` "mounted", ``source_path`` absolute).

    Needs ``upload`` on every set. The file is checked like an upload (first records) and the sample is ``ready``
    at once; ``sample.uploaded`` is published after the commit (with ``source_path``). Deleting its raw file later
    only forgets the path: files of a mounted directory are never removed.
    """
    sets = _target_sets(session, principal, sample_set_ids)
    source = _load(session, source_id)
    meta = parse(SampleFields, {"sampling_date": sampling_date, "info": info, "pcr": pcr, "sequencer": sequencer,
                                "producer": producer}, "sample fields").model_dump()
    real, size = _file(source, path)
    report = check_file(real, sanitize_filename(real.name), max_records=DEFAULT_MAX_RECORDS)
    real2, size2 = (None, None)
    if path2 is not None:
        real2, size2 = _file(source, path2)
        check_file(real2, sanitize_filename(real2.name), max_records=DEFAULT_MAX_RECORDS)
    sample = Sample(filename=sanitize_filename(real.name), original_filename=str(path)[:1024],
                    filename2=sanitize_filename(real2.name) if real2 else None,
                    original_filename2=str(path2)[:1024] if real2 else None, provider_id=principal.user_id,
                    status=READY, source="mounted", file_source_id=source.id, source_path=str(real),
                    source_path2=str(real2) if real2 else None, size=size, size2=size2,
                    file_format=report.file_format, compressed=report.compressed,
                    check_report={"file1": report.to_dict()}, pre_process_id=pre_process_id, **meta)
    sample.uploaded_at = utcnow()
    sample.memberships = [SampleSetMembership(sample_set_id=s.id) for s in sets]
    session.add(sample)
    session.flush()
    sample_tags = tags.register_sample_tags(session, sample.id, sample.info, _owner_groups(sets))
    audit.record(session, principal, "upload", None, sample.id, source="mounted", file_source_id=source.id,
                 size=size, sample_set_ids=[s.id for s in sets])
    outbox.publish("sample.uploaded", uploaded_event(sample, principal))
    session.flush()
    return sample_dict(sample, sample_tags)


def list_sources(session: Session, principal: Principal) -> list[dict]:
    """Every configured source (root paths only for administrators)."""
    return [source_dict(s, principal) for s in session.scalars(sa.select(FileSource).order_by(FileSource.name))]

