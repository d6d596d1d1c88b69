"""Samples service: patients, runs, sample sets, sequence files (uploads to S3), tags, search, audit.

Entrypoints only; logic lives in the domain modules (sample_sets, files, tags, audit, validation). Every method
acting for a user takes the principal dict first and checks permissions itself (services.samples.access).
Expected errors are the classes of services.samples.exceptions / services.common.exceptions.
"""

from __future__ import annotations

import logging

from nameko.rpc import RpcProxy

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.events import EventPublisher
from services.common.exceptions import BadRequest
from services.common.health import database_check, service_report, storage_check
from services.common.principal import Principal
from services.common.storage import Storage
from services.samples import audit, file_sources, files, sample_sets, storage_guard, tags
from services.samples.access import load_set
from services.common.dependencies import Config
from services.samples.outbox import Outbox

log = logging.getLogger(__name__)


class SamplesService:
    """RPC ``samples.*``. Owns the database ``<prefix>samples``; publishes ``sample_set.created``,
    ``sample.uploaded`` and ``sample.deleted`` (docs/events.md)."""

    name = "samples"
    db = Database()
    storage = Storage()
    publish = EventPublisher()
    config = Config()
    auth = RpcProxy("auth")

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _commit_then(self, outbox: Outbox) -> None:
        """Commit now, then publish events and delete released objects (they must follow the commit)."""
        self.db.commit()
        outbox.flush(self.publish, self.storage)

    def _require_space(self, purpose: str) -> dict:
        """Raise LowStorage (and notify administrators, at most hourly) when storage is low; else the status."""
        status = storage_guard.evaluate(self.db, self.config)
        if status["ok"]:
            return status
        error = storage_guard.refusal(purpose, status)
        log.warning("%s", error.message)
        if storage_guard.alert_due(self.db):
            self.db.commit()
            self.publish("storage.low", storage_guard.alert_event(purpose, status))
        raise error

    @property
    def _bucket(self) -> str:
        return self.storage.buckets["sequences"]

    @rpc
    def health(self):
        """Status of this service and of what it uses: ``{"service", "status", "checks": {component: check}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {
            "database": database_check(self.db.get_bind()),
            "object_store": storage_check(self.storage, self.storage.buckets["sequences"]),
        })

    @rpc
    def ping(self, principal, token):
        """Dispatch the event ``foundation.ping`` carrying ``token`` (a string up to 100 characters); return
        the envelope sent. Administrators only (raises PermissionDenied otherwise). Used to check the event path
        end to end: the reporter records the event (``reporter.recent_events``)."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        return self.publish("foundation.ping", {"token": str(token)[:100], "requested_by": caller.user_id})

    # -- sample sets -------------------------------------------------------------------------------------------
    @rpc
    def create_sample_set(self, principal, kind, fields, group_id):
        """Create a sample set owned by group ``group_id``; return it (``get_sample_set`` form, no samples).

        ``kind``: "patient" (fields ``first_name``, ``last_name`` required, ``birth_date`` "YYYY-MM-DD",
        ``label``, ``info``), "run" (``name`` required, ``run_date``, ``sequencer``, ``pcr``, ``label``,
        ``info``) or "generic" (``name`` required, ``info``). ``#words`` in ``info`` become tags.
        Needs ``create`` in ``group_id`` (or in a child group of it): PermissionDenied. BadRequest (details
        ``errors: [{field, message}]``) for invalid fields. Publishes ``sample_set.created``.
        """
        caller = Principal.from_dict(principal)
        outbox = Outbox()
        sample_set = sample_sets.create(self.db, caller, outbox, kind, fields, group_id)
        result = sample_sets.set_dict(self.db, sample_set, caller)
        self._commit_then(outbox)
        return result

    @rpc
    def batch_create_sample_sets(self, principal, kind, rows, group_id):
        """Create one set per line of ``rows``, tab-separated text pasted from a spreadsheet: patient = label,
        first name, last name, birth date, info; run = label, name, date, info; generic = name, info.
        All or nothing: BadRequest with ``details.errors = [{line, message}]`` if any line is invalid.
        Returns the list of created sets. Same permission as ``create_sample_set``."""
        caller = Principal.from_dict(principal)
        outbox = Outbox()
        created = sample_sets.batch_create(self.db, caller, outbox, kind, rows, group_id)
        result = [sample_sets.set_dict(self.db, s, caller) for s in created]
        self._commit_then(outbox)
        return result

    @rpc
    def update_sample_set(self, principal, sample_set_id, fields):
        """Change the given ``fields`` of a set (others kept); return it. Needs ``admin`` on the set (patient
        identity fields also need ``anon``). NotFound / PermissionDenied / BadRequest."""
        caller = Principal.from_dict(principal)
        sample_set = sample_sets.update(self.db, caller, sample_set_id, fields)
        return sample_sets.set_dict(self.db, sample_set, caller)

    @rpc
    def share_sample_set(self, principal, sample_set_id, group_id, shared=True):
        """Give (``shared`` true) or withdraw the access of group ``group_id`` to a set; return the set.
        Needs ``admin`` on the set. The last group cannot be removed (BadRequest); a group unknown to the auth
        service cannot be given access (NotFound)."""
        caller = Principal.from_dict(principal)

        def group_exists(group_id: int) -> bool:
            return bool(self.auth.describe_groups(principal, [group_id]))

        sample_set = sample_sets.share(self.db, caller, sample_set_id, group_id, shared, group_exists)
        return sample_sets.set_dict(self.db, sample_set, caller)

    @rpc
    def delete_sample_set(self, principal, sample_set_id):
        """Delete a set; its samples held by no other set are deleted with their results, the others are kept.
        Needs ``admin`` on the set. Returns ``{"sample_set_id", "deleted_sample_ids", "kept_sample_ids"}``;
        publishes ``sample.deleted`` per deleted sample; objects are removed after the commit."""
        caller = Principal.from_dict(principal)
        outbox = Outbox()
        result = sample_sets.delete(self.db, caller, outbox, sample_set_id, self._bucket)
        self._commit_then(outbox)
        return result

    @rpc
    def list_sample_sets(self, principal, query=None):
        """The sets the caller may read: ``{"items": [set], "page", "per_page", "total", "has_next"}``.

        ``query`` (all optional): ``kind`` (patient | run | generic), ``search`` (words and ``#tags``; all
        required), ``tags`` (list), ``page`` (1-based), ``per_page`` (1-200, default 50), ``sort`` (name | date |
        created | id, default created), ``reverse`` (default true). Patients are pseudonymised unless the caller
        has ``anon`` on the set. BadRequest for an invalid query."""
        return sample_sets.list_sets(self.db, Principal.from_dict(principal), query or {})

    @rpc
    def get_sample_set(self, principal, sample_set_id):
        """One set with its samples (each with ``shared_with``: the other readable sets holding it).
        Pseudonymised unless ``anon``. NotFound when missing or not readable (forged ids included)."""
        return sample_sets.get(self.db, Principal.from_dict(principal), sample_set_id)

    @rpc
    def authorize(self, principal, action, sample_set_id):
        """``True`` if the caller may do ``action`` (read, upload, run, save, admin, anon, create) on the set;
        raises NotFound (missing, or not readable) or PermissionDenied. Used by jobs and fuse."""
        return sample_sets.authorize(self.db, Principal.from_dict(principal), action, sample_set_id)

    @rpc
    def list_audit(self, principal, sample_set_id, page=1, per_page=100):
        """The audit trail of a set and of its samples, newest first: ``{"items": [{"id", "at", "user_id",
        "impersonator_id", "action", "sample_set_id", "sample_id", "details"}], "page", "per_page",
        "has_next"}``. Needs ``read`` on the set. Entries hold ids and field names, never identities."""
        caller = Principal.from_dict(principal)
        sample_set = load_set(self.db, sample_set_id, caller, "read")
        if (isinstance(page, bool) or isinstance(per_page, bool)
                or not (isinstance(page, int) and page >= 1 and isinstance(per_page, int) and 1 <= per_page <= 500)):
            raise BadRequest("page must be >= 1 and per_page from 1 to 500")
        sample_ids = [m.sample_id for m in sample_set.memberships]
        return audit.entries_of_set(self.db, sample_set.id, sample_ids, page, per_page)

    @rpc
    def tag_autocomplete(self, principal, prefix="", limit=20):
        """Tags of the vocabulary of the caller's groups and their parents (all for administrators) starting with
        ``prefix`` (``#`` optional): a list of strings, alphabetical, at most ``limit`` (1-200)."""
        caller = Principal.from_dict(principal)
        if not isinstance(prefix, str) or not isinstance(limit, int):
            raise BadRequest("prefix must be text and limit an integer")
        # the vocabulary of the caller's groups and of their parents (a role sees its organisation's tags)
        groups = None if caller.is_admin else sorted(
            {m.id for m in caller.effective_memberships} |
            {m.parent_id for m in caller.effective_memberships if m.parent_id is not None})
        return tags.vocabulary(self.db, groups, prefix, limit)

    # -- samples -----------------------------------------------------------------------------------------------
    @rpc
    def create_sample(self, principal, sample_set_ids, filename, sampling_date=None, info="", filename2=None,
                      pcr=None, sequencer=None, producer=None, pre_process_id=None):
        """Create a sample awaiting its file in every set of ``sample_set_ids`` (a list, or one id). Refused with
        LowStorage (503) while storage is low.

        ``filename``: the name the user chose (paths and control characters are removed, the original kept);
        its ending must be an accepted type (UnsupportedFileType). ``filename2``: the R2 file of a pair to be
        merged by pre-process ``pre_process_id``. ``sampling_date`` "YYYY-MM-DD". Needs ``upload`` on every set.
        Returns the sample (``get_sample`` form) plus ``upload_bucket``, ``upload_key`` and ``upload_key2``
        (null unless a pair): where the gateway streams the file(s) before ``complete_upload``."""
        caller = Principal.from_dict(principal)
        self._require_space("upload")
        return files.create(self.db, caller, self._bucket, sample_set_ids, filename, sampling_date, info,
                            filename2, pcr, sequencer, producer, pre_process_id)

    @rpc
    def begin_upload(self, principal, sample_id, file_number=1, filename=None):
        """Where to stream file ``file_number`` (1, or 2 for R2): ``{"sample_id", "file_number", "bucket",
        "object_key", "filename"}``. A new key at every call; only the latest one can complete. Needs ``upload``
        on a set holding the sample (``admin`` to replace an accepted file). LowStorage (503) while storage is low.
        ``filename``: the name of the file about to be sent (default: the file's current name), sanitised and
        checked as at creation (400 ``invalid_file_name``, ``unsupported_file_type``; an R2 file must be
        FASTQ/FASTA); the answer's ``filename`` is the sanitised one, which ``complete_upload`` uses in its
        messages and gives to the sample once the file is accepted."""
        caller = Principal.from_dict(principal)
        self._require_space("upload")
        return files.begin_upload(self.db, caller, self._bucket, sample_id, file_number, filename)

    @rpc
    def complete_upload(self, principal, sample_id, object_key, size, sha256, file_number=1):
        """Accept the object the gateway stored at ``object_key`` (``size`` bytes, hex ``sha256``) as file
        ``file_number`` of the sample, after checking it (existence, size, first records; whole file and SHA-256
        for files up to 64 MiB) under the name given to ``begin_upload`` for that key, which the sample then
        takes (file name and original name). Returns the sample. Errors: UploadMismatch (409: wrong key, size or
        checksum), NotFound (nothing stored), one InvalidSequenceFile subclass per content problem (400:
        empty_file, corrupt_gzip, not_gzip, binary_file, sequence_syntax_error, invalid_bases, ...; the object is
        deleted and the upload can be retried; the sample keeps its file and name). Publishes ``sample.uploaded``
        once every file of the sample is in."""
        caller = Principal.from_dict(principal)
        outbox = Outbox()
        result = files.complete_upload(self.db, caller, outbox, self.storage, sample_id, object_key, size, sha256,
                                       file_number)
        self._commit_then(outbox)
        return result

    @rpc
    def reject_upload(self, principal, sample_id, file_number, object_key, code, message=""):
        """The gateway refused an upload itself (an empty body, or a gzip problem in a file over 64 MiB, which
        ``complete_upload`` only samples): record the ``upload_rejected`` audit entry ``complete_upload`` writes for
        the files it refuses (details ``{"file_number", "code"}``). ``object_key``: the attempt's key (from
        ``begin_upload``; the gateway deletes the object); ``code``: the file-check code (``corrupt_gzip``,
        ``empty_file``, ...); ``message``: logged only. Needs ``upload`` on a set holding the sample (NotFound /
        PermissionDenied); BadRequest for a ``file_number``, key or code that does not fit. Returns the audit entry
        ``{"id", "at", "user_id", "impersonator_id", "action", "sample_set_id", "sample_id", "details"}``."""
        return files.reject_upload(self.db, Principal.from_dict(principal), sample_id, file_number, object_key,
                                   code, message)

    @rpc
    def get_sample(self, principal, sample_id):
        """A sample the caller may read: metadata, ``status``, ``bucket``, ``object_key`` (``object_key2``),
        ``size``, ``sha256``, ``file_format``, ``sampling_date``, ``sample_set_ids`` (the readable ones), check
        report. NotFound otherwise (used by jobs to find the input)."""
        return files.get(self.db, Principal.from_dict(principal), sample_id)

    @rpc
    def update_sample(self, principal, sample_id, fields, sample_set_ids=None):
        """Change a sample's ``sampling_date``, ``info``, ``pcr``, ``sequencer``, ``producer`` and, if
        ``sample_set_ids`` is given, the sets holding it. Needs ``admin`` on a set holding it (``upload`` on sets
        it is added to, ``admin`` on sets it leaves). Returns the sample."""
        caller = Principal.from_dict(principal)
        return files.update(self.db, caller, sample_id, fields, sample_set_ids)

    @rpc
    def delete_sample(self, principal, sample_id, with_results=False, confirm=False):
        """Delete the raw file(s) of a sample, keeping metadata and results (default), or the whole sample with
        its results (``with_results`` true and ``confirm`` true). Needs ``admin`` on a set holding it. Returns
        ``{"sample_id", "deleted": "raw" | "sample"}``; publishes ``sample.deleted``."""
        caller = Principal.from_dict(principal)
        outbox = Outbox()
        result = files.delete(self.db, caller, outbox, sample_id, with_results, confirm)
        self._commit_then(outbox)
        return result

    @rpc
    def download_sample(self, principal, sample_id, file_number=1):
        """Where the gateway reads a sample's raw file for a download (recorded in the audit): ``{"sample_id",
        "file_number", "bucket", "object_key", "filename", "size", "sha256", "source_path"}``. Needs ``read``."""
        return files.download(self.db, Principal.from_dict(principal), sample_id, file_number)

    @rpc
    def sets_of_sample(self, sample_id):
        """Internal (fuse): the sets holding sample ``sample_id`` with all their samples: ``[{"sample_set_id",
        "kind", "access_group_ids", "samples": [{"sample_id", "sampling_date", "filename", "status", "bucket",
        "object_key"}]}]``. No identity; no principal (service-to-service). NotFound for an unknown sample."""
        return sample_sets.sets_holding(self.db, sample_id)

    # -- mounted directories ------------------------------------------------------------------------------------
    @rpc
    def create_file_source(self, principal, name, root, extensions):
        """Administrators: declare a mounted directory users may add files from without copying. ``root``: an
        absolute directory on the hosts of this service and of the job workers; ``extensions``: accepted endings
        such as ``["fastq", "fastq.gz", "fa"]``. Returns ``{"id", "name", "extensions", "root", "created_at"}``."""
        caller = Principal.from_dict(principal)
        return file_sources.source_dict(file_sources.create(self.db, caller, name, root, extensions), caller)

    @rpc
    def list_file_sources(self, principal):
        """The mounted directories (``root`` shown to administrators only)."""
        return file_sources.list_sources(self.db, Principal.from_dict(principal))

    @rpc
    def delete_file_source(self, principal, source_id):
        """Administrators; Conflict while samples use its files (which are never touched)."""
        return file_sources.delete(self.db, Principal.from_dict(principal), source_id)

    @rpc
    def browse_file_source(self, principal, source_id, path=""):
        """One level of a mounted directory: ``{"source_id", "path", "entries": [{"name", "path", "type" (dir |
        file), "size"}]}`` (files with an allowed extension only). Needs ``upload`` in some group.
        OutsideFileSource (403) for paths leaving the directory (``..``, absolute paths, links)."""
        return file_sources.browse(self.db, Principal.from_dict(principal), source_id, path)

    @rpc
    def add_mounted_sample(self, principal, sample_set_ids, source_id, path, sampling_date=None, info="",
                           path2=None, pcr=None, sequencer=None, producer=None, pre_process_id=None):
        """Add the file ``path`` (relative to the mounted directory; ``path2``: R2 of a pair) as a sample of
        every set in ``sample_set_ids`` without copying it: checked like an upload, ready at once (``source``
        "mounted", ``source_path`` absolute), ``sample.uploaded`` published. Needs ``upload`` on every set."""
        caller = Principal.from_dict(principal)
        self._require_space("upload")
        outbox = Outbox()
        result = file_sources.add_sample(self.db, caller, outbox, sample_set_ids, source_id, path, sampling_date,
                                         info, path2, pcr, sequencer, producer, pre_process_id)
        self._commit_then(outbox)
        return result

    # -- low-storage guard --------------------------------------------------------------------------------------
    @rpc
    def check_storage(self, purpose="run"):
        """Internal (jobs before a run, gateway before a long upload): the guard status ``{"ok", "checks",
        ...}`` if there is room, else raises LowStorage (503, "Analysis runs are temporarily disabled: ...") and
        notifies administrators (``storage.low``, at most hourly). ``purpose``: "run" or "upload"."""
        if purpose not in storage_guard.PURPOSES:
            raise BadRequest("purpose must be 'run' or 'upload'")
        return self._require_space(purpose)

    @rpc
    def storage_status(self, principal):
        """Administrators: the guard's settings and measurements (``ok``, ``checks`` per folder with free, total
        and threshold bytes), without refusing anything."""
        Principal.from_dict(principal).require_admin()
        return storage_guard.evaluate(self.db, self.config)

    @rpc
    def configure_storage_guard(self, principal, min_free_percent=None, min_free_bytes=None, paths=None):
        """Administrators: set the threshold (``max(min_free_percent % of the filesystem, min_free_bytes)``) and
        optionally the folders measured (``{"object_store": [...], "database": [...]}``; ``{}`` = defaults).
        Returns the new status."""
        storage_guard.configure(self.db, Principal.from_dict(principal), min_free_percent, min_free_bytes, paths)
        return storage_guard.evaluate(self.db, self.config)


__all__ = ["SamplesService"]
