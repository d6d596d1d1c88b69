"""Events (facts) on the nameko bus, each with a versioned JSON payload documented in docs/events.md.

Wire format: nameko publishes to the topic exchange ``<source service>.events`` with routing key = event name.
Another system can bind its own queue to that exchange with the event name as routing key and read JSON bodies::

    {"version": 1, "event": "sample.uploaded", "source": "samples", "occurred_at": "2026-11-29T16:42:00+00:00",
     "data": {...}}

In a service::

    from services.common.events import EventPublisher, Envelope
    from services.common.entrypoints import event_handler

    class SamplesService:
        name = "samples"
        publish = EventPublisher()
        ...
            self.publish("sample.uploaded", {"sample_id": 4, ...})

    class ReporterService:
        @event_handler("samples", "sample.uploaded")
        def on_uploaded(self, payload):
            envelope = Envelope.parse(payload)   # validates version/event

Every event must be declared in :data:`EVENTS` (name, source service, current version, data fields) and
documented in docs/events.md; a test checks both. Changing the meaning or type of a field means a new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from nameko.events import EventDispatcher

from services.common.exceptions import BadRequest


@dataclass(frozen=True)
class EventSpec:
    """Declaration of one event: ``fields`` maps each ``data`` field to its JSON type and meaning."""

    name: str
    source: str
    version: int
    description: str
    fields: Mapping[str, str]


#: Declared events by name. Other issues add theirs here and to docs/events.md.
EVENTS: dict[str, EventSpec] = {}


def declare(name: str, source: str, version: int, description: str, fields: Mapping[str, str]) -> EventSpec:
    """Add an event to :data:`EVENTS` (used at import time of this module)."""
    spec = EventSpec(name=name, source=source, version=version, description=description, fields=dict(fields))
    EVENTS[name] = spec
    return spec


FOUNDATION_PING = declare(
    "foundation.ping", source="samples", version=1,
    description="Liveness probe of the event path: samples dispatches it on request (RPC samples.ping), "
                "reporter records it in its event log.",
    fields={"token": "string: opaque value chosen by the caller, echoed so it can find its ping",
            "requested_by": "integer: user id of the principal that asked for the ping"},
)

SAMPLE_SET_CREATED = declare(
    "sample_set.created", source="samples", version=1,
    description="A patient, run or generic sample set was created (no identity: ids only).",
    fields={"sample_set_id": "integer: the new set", "kind": "string: 'patient', 'run' or 'generic'",
            "group_id": "integer: the group owning it (its first access row)",
            "created_by": "integer: user id of the creator"},
)
SAMPLE_UPLOADED = declare(
    "sample.uploaded", source="samples", version=1,
    description="Every file of a sample is stored and passed the upload checks (also after a replacement).",
    fields={"sample_id": "integer: the sample", "sample_set_ids": "array of integers: sets holding it",
            "bucket": "string or null: bucket of the object(s) (null for a mounted file)",
            "object_key": "string or null: object key of file 1 (null for a mounted file)",
            "size": "integer: bytes of file 1", "sha256": "string or null: hex SHA-256 of file 1",
            "object_key2": "string or null: object key of file 2 (R2 of a pair)",
            "size2": "integer or null: bytes of file 2", "sha256_2": "string or null: hex SHA-256 of file 2",
            "file_format": "string: fastq, fasta, vidjil or airr (from the content)",
            "source": "string: 'upload' or 'mounted'",
            "source_path": "string or null: absolute path of a mounted file",
            "uploaded_by": "integer: user id of the uploader"},
)
SAMPLE_DELETED = declare(
    "sample.deleted", source="samples", version=1,
    description="A sample's raw file(s) (raw_only) or the whole sample with its results were deleted.",
    fields={"sample_id": "integer: the sample", "sample_set_ids": "array of integers: sets that held it",
            "raw_only": "boolean: only the raw file(s) were deleted; metadata and results are kept",
            "results_deleted": "boolean: the sample's results must be deleted too",
            "deleted_by": "integer: user id of who deleted it"},
)
STORAGE_LOW = declare(
    "storage.low", source="samples", version=1,
    description="An upload or run was refused because a filesystem holding the object store or the database is "
                "under the free-space threshold (at most one event an hour); the reporter mails administrators.",
    fields={"purpose": "string: 'upload' or 'run' (what was refused)",
            "component": "string: 'object_store' or 'database'", "path": "string: the folder measured",
            "free_bytes": "integer: free bytes", "total_bytes": "integer: size of the filesystem in bytes",
            "threshold_bytes": "integer: the free space required"},
)


_JOB_FIELDS = {
    "job_id": "integer: id of the job (jobs service)",
    "sample_id": "integer: the analysed sample (samples service id)",
    "sample_set_id": "integer or null: the sample set the job was launched from",
    "config_id": "integer: the analysis config",
}

ANALYSIS_QUEUED = declare(
    "analysis.queued", source="jobs", version=1,
    description="An analysis job was put on the work queue (launch, re-queue by the watchdog or after a lost "
                "worker).",
    fields={**_JOB_FIELDS, "attempt": "integer: deliveries so far (0 on the first queueing)"},
)
ANALYSIS_STARTED = declare(
    "analysis.started", source="jobs", version=1,
    description="A worker took an analysis job and started the program.",
    fields={**_JOB_FIELDS, "worker_id": "string: the worker process (host:pid:random)",
            "attempt": "integer: 1 for the first delivery, 2 after a lost worker, ..."},
)
ANALYSIS_COMPLETED = declare(
    "analysis.completed", source="jobs", version=1,
    description="An analysis job finished and its result is stored (fuse rebuilds the sets of the sample).",
    fields={**_JOB_FIELDS, "result_id": "integer: the stored result",
            "bucket": "string: results bucket holding the objects",
            "result_key": "string: object key of the .vidjil result",
            "airr_key": "string or null: object key of the AIRR TSV",
            "log_key": "string or null: object key of the program log",
            "reads_total": "integer or null: reads in the input",
            "reads_segmented": "integer or null: reads with a detected V(D)J recombination"},
)
ANALYSIS_FAILED = declare(
    "analysis.failed", source="jobs", version=1,
    description="An analysis job ended without a result: FAILED, TIMEOUT or CANCELLED.",
    fields={**_JOB_FIELDS, "state": "string: FAILED, TIMEOUT or CANCELLED",
            "reason": "string: readable reason (first line of the program's error, limit exceeded, ...)"},
)
RESULT_DELETED = declare(
    "result.deleted", source="jobs", version=1,
    description="A stored analysis result was deleted (fuse rebuilds the sets of the sample without it).",
    fields={"result_id": "integer: the deleted result", "job_id": "integer: its job",
            "sample_id": "integer: the sample", "sample_set_id": "integer or null: set it was launched from",
            "config_id": "integer: the analysis config"},
)
PRE_PROCESS_FINISHED = declare(
    "pre_process.finished", source="jobs", version=1,
    description="A pre-process job (e.g. paired-end merging) of a sample ended.",
    fields={"job_id": "integer: the pre-process job", "sample_id": "integer: the sample",
            "pre_process_id": "integer: the pre-process", "state": "string: COMPLETED, FAILED, TIMEOUT or CANCELLED",
            "output_key": "string or null: object key (sequences bucket) of the merged file",
            "reason": "string: readable reason when not COMPLETED, else empty"},
)


FUSED_UPDATED = declare(
    "fused.updated", source="fuse", version=1,
    description="The fused result of a sample set and analysis config was rebuilt (or the rebuild failed, the "
                "previous fused result being kept).",
    fields={"sample_set_id": "integer: the sample set", "config_id": "integer: the analysis config",
            "fused_id": "integer: the fused result (fuse.get_fused ... fused_id)",
            "status": "string: 'ok' (new fused result), 'failed' (previous one kept) or 'empty' (no result left)",
            "sample_ids": "array of integers: the samples fused, in display order",
            "result_ids": "array of integers: their results (jobs service ids)",
            "clone_count": "integer: clones followed in the fused result",
            "trigger": "string: analysis.completed, result.deleted, sample.deleted or manual",
            "error": "string: readable reason when status is 'failed', else empty"},
)

USER_CREATED = declare(
    "user.created", source="auth", version=1,
    description="An account was created (by an administrator, `repseq admin`, self-registration or a first "
                "LDAP login).",
    fields={"user_id": "integer: id of the new user",
            "personal_group_id": "integer: id of the user's personal group",
            "source": "string: 'local' or 'ldap'",
            "created_by": "integer or null: user id of the administrator who created it (null: first admin, "
                          "self-registration, LDAP)"},
)

GROUP_MEMBERSHIP_CHANGED = declare(
    "group.membership_changed", source="auth", version=1,
    description="A user was added to or removed from a group.",
    fields={"group_id": "integer: the group",
            "user_id": "integer: the member added or removed",
            "change": "string: 'added' or 'removed'",
            "changed_by": "integer or null: user id of who made the change (null: LDAP group mapping)",
            "impersonator": "integer or null: administrator acting as changed_by"},
)

PERMISSION_CHANGED = declare(
    "permission.changed", source="auth", version=1,
    description="The capabilities of a group changed (including a new group's first capabilities).",
    fields={"group_id": "integer: the group",
            "capabilities": "array of strings: the group's capabilities now",
            "added": "array of strings: capabilities granted by this change",
            "removed": "array of strings: capabilities withdrawn by this change",
            "changed_by": "integer or null: user id of who made the change",
            "impersonator": "integer or null: administrator acting as changed_by"},
)


NEWS_CHANGED = declare(
    "news.changed", source="reporter", version=1,
    description="An administrator created, edited or deleted a news item (the banner shown to logged-in users).",
    fields={"news_id": "integer: the news item",
            "change": "string: 'created', 'updated' or 'deleted'",
            "fields": "array of strings: fields whose value changed (title, content, priority, expires_on)",
            "read_markers_cleared": "integer: users' read markers removed (an edited item is shown again)",
            "changed_by": "integer: user id of the administrator",
            "impersonator": "integer or null: administrator acting as changed_by"},
)
SITE_SETTINGS_CHANGED = declare(
    "site_settings.changed", source="reporter", version=1,
    description="An administrator changed a site setting (e.g. the healthcare-compliance flag of the banners).",
    fields={"key": "string: the setting, e.g. 'healthcare_compliance'",
            "value": "JSON value chosen, or null: back to the server configuration's default",
            "previous": "JSON value in effect before the change",
            "effective": "JSON value in effect now",
            "source": "string: 'administrator' or 'configuration' (where the value in effect comes from)",
            "changed_by": "integer: user id of the administrator",
            "impersonator": "integer or null: administrator acting as changed_by"},
)

@dataclass(frozen=True)
class Envelope:
    """A parsed event payload."""

    version: int
    event: str
    source: str
    occurred_at: str
    data: dict[str, Any]

    @classmethod
    def parse(cls, payload: Mapping[str, Any], expected_event: str | None = None) -> "Envelope":
        """Validate a received payload; raises :class:`BadRequest` if it is not an envelope of a known event."""
        if not isinstance(payload, Mapping):
            raise BadRequest("event payload is not a JSON object")
        missing = [key for key in ("version", "event", "source", "occurred_at", "data") if key not in payload]
        if missing:
            raise BadRequest(f"event payload lacks {', '.join(missing)}")
        event = payload["event"]
        if expected_event and event != expected_event:
            raise BadRequest(f"expected event {expected_event}, got {event}")
        if not isinstance(payload["version"], int) or not isinstance(payload["data"], Mapping):
            raise BadRequest("event version must be an integer and data an object")
        return cls(version=payload["version"], event=event, source=str(payload["source"]),
                   occurred_at=str(payload["occurred_at"]), data=dict(payload["data"]))


def make_envelope(event: str, data: Mapping[str, Any], source: str | None = None,
                  occurred_at: datetime | None = None) -> dict[str, Any]:
    """Build the payload of a declared ``event``. Raises ``KeyError`` for an undeclared event and ``ValueError``
    when ``data`` lacks or adds fields compared with its declaration."""
    spec = EVENTS[event]
    unknown = set(data) - set(spec.fields)
    missing = set(spec.fields) - set(data)
    if unknown or missing:
        raise ValueError(f"event {event} v{spec.version}: missing {sorted(missing)}, undeclared {sorted(unknown)}")
    when = (occurred_at or datetime.now(timezone.utc)).isoformat()
    return {"version": spec.version, "event": event, "source": source or spec.source, "occurred_at": when,
            "data": dict(data)}


class EventPublisher(EventDispatcher):
    """nameko dependency: ``self.publish(event, data)`` dispatches a declared event in its envelope.

    Raises ``ValueError`` if the event is declared for another source service or ``data`` does not match its
    declaration.
    """

    def get_dependency(self, worker_ctx):
        dispatch = super().get_dependency(worker_ctx)
        service_name = self.container.service_name

        def publish(event: str, data: Mapping[str, Any]) -> dict[str, Any]:
            spec = EVENTS.get(event)
            if spec is None:
                raise ValueError(f"event {event} is not declared in services.common.events.EVENTS")
            if spec.source != service_name:
                raise ValueError(f"event {event} is published by {spec.source}, not {service_name}")
            payload = make_envelope(event, data, source=service_name)
            dispatch(event, payload)
            return payload

        return publish
