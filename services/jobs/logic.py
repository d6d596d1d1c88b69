"""Domain logic of the jobs service: configs and their access, launching jobs, the job state machine driven by
worker reports, results, the watchdog. Functions take a SQLAlchemy ``session`` (the service's own database) and,
where they need another service, a proxy passed by :mod:`services.jobs.service`; they never publish themselves:
they return what the service must publish.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.ids import require_id
from services.common.exceptions import BadRequest, NotFound, PermissionDenied
from services.common.models import utcnow
from services.common.permissions import Resource, can
from services.common.principal import Principal
from services.jobs import states
from services.jobs.exceptions import ConfigInUse, DuplicateJob, JobFinished, NoInputFile
from services.jobs.models import (AnalysisConfig, ConfigAccess, Job, PreProcess, PreProcessAccess, Result,
                                  Worker)
from services.jobs.queue import JobMessage, new_token
from services.jobs.schemas import ConfigFields, Outcome, PreProcessFields, WorkerInfo

log = logging.getLogger(__name__)

#: Where a job's outputs go in the results bucket.
RESULT_PREFIX = "results"
#: Where a pre-process writes its merged file in the sequences bucket.
PRE_PROCESS_PREFIX = "pre-process"
#: Longest mounted-file path a job can hold (``job.input_key`` / ``input_key2``).
MAX_INPUT_PATH = 1024


# -- serialisation -----------------------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None


def config_dict(config: AnalysisConfig) -> dict[str, Any]:
    """``{"id", "name", "program", "command", "fuse_command", "description", "classification", "public",
    "time_limit_s", "memory_limit_mb", "group_ids"}``."""
    return {"id": config.id, "name": config.name, "program": config.program, "command": config.command,
            "fuse_command": config.fuse_command, "description": config.description,
            "classification": config.classification, "public": config.public,
            "time_limit_s": config.time_limit_s, "memory_limit_mb": config.memory_limit_mb,
            "group_ids": config.access_group_ids}


def pre_process_dict(pre: PreProcess) -> dict[str, Any]:
    return {"id": pre.id, "name": pre.name, "command": pre.command, "description": pre.description,
            "public": pre.public, "group_ids": pre.access_group_ids}


def job_dict(job: Job) -> dict[str, Any]:
    """Public view of a job: ids, kind, state, reason, attempts, worker and times (ISO 8601 UTC)."""
    return {"id": job.id, "kind": job.kind, "sample_id": job.sample_id, "sample_set_id": job.sample_set_id,
            "config_id": job.config_id, "pre_process_id": job.pre_process_id, "state": job.state,
            "reason": job.reason, "attempts": job.attempts, "max_attempts": job.max_attempts,
            "worker_id": job.worker_id, "cancel_requested": job.cancel_requested, "grep_reads": job.grep_reads,
            "output_key": job.output_key, "created_by": job.created_by, "created_at": _iso(job.created_at),
            "queued_at": _iso(job.queued_at), "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at), "time_limit_s": job.time_limit_s,
            "memory_limit_mb": job.memory_limit_mb}


def result_dict(result: Result) -> dict[str, Any]:
    """A stored result: object keys (``bucket`` + ``vidjil_key``/``airr_key``/``log_key``) and read statistics."""
    return {"id": result.id, "job_id": result.job_id, "sample_id": result.sample_id,
            "sample_set_id": result.sample_set_id, "config_id": result.config_id, "bucket": result.bucket,
            "vidjil_key": result.vidjil_key, "airr_key": result.airr_key, "log_key": result.log_key,
            "extra_key": result.extra_key, "hidden": result.hidden, "reads_total": result.reads_total,
            "reads_segmented": result.reads_segmented, "reads_by_locus": result.reads_by_locus or {},
            "clones_total": result.clones_total, "run_date": _iso(result.run_date)}


# -- configs -----------------------------------------------------------------------------------------------------
def may_use(principal: Principal, record: AnalysisConfig | PreProcess, action: str = "read") -> bool:
    """True if ``principal`` may use (``read``) or manage (``admin``) an analysis config or pre-process.

    Public records are usable by every user (every user is a member of the public group, which holds ``read``);
    otherwise :func:`services.common.permissions.can` decides with the record's access rows."""
    if action == "read" and record.public:
        return True
    return can(principal, action, Resource(record.__tablename__, record.id, record.access_group_ids))


def get_config(session: Session, principal: Principal, config_id: int, action: str = "read") -> AnalysisConfig:
    """The config, if the principal may ``action`` it. NotFound when it does not exist or the principal may not
    even use it; PermissionDenied when it may use but not manage it."""
    config = session.get(AnalysisConfig, require_id(config_id, "config_id"))
    if config is None or not may_use(principal, config, "read"):
        raise NotFound(f"analysis config {config_id} does not exist", {"config_id": config_id})
    if action != "read" and not may_use(principal, config, action):
        raise PermissionDenied(f"'{action}' on analysis config {config_id} is not allowed",
                               {"config_id": config_id, "action": action})
    return config


def list_configs(session: Session, principal: Principal) -> list[dict]:
    """Configs the principal may use, by classification then name."""
    configs = session.scalars(select(AnalysisConfig).order_by(AnalysisConfig.classification,
                                                              AnalysisConfig.id)).all()
    return [config_dict(c) for c in configs if may_use(principal, c)]


def _set_access(record, access_cls, key: str, group_ids: Iterable[int]) -> None:
    record.access = [access_cls(**{key: record.id, "group_id": int(g)}) for g in sorted(set(group_ids))]


def create_config(session: Session, principal: Principal, fields: ConfigFields) -> AnalysisConfig:
    """Administrators only (a config runs a program on the workers)."""
    principal.require_admin()
    config = AnalysisConfig(**fields.model_dump(exclude={"group_ids"}))
    session.add(config)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise BadRequest(f"an analysis config named {fields.name!r} already exists", {"name": fields.name})
    _set_access(config, ConfigAccess, "config_id", fields.group_ids)
    session.flush()
    return config


def update_config(session: Session, principal: Principal, config_id: int, changes: dict) -> AnalysisConfig:
    """Change fields of a config (administrators, or ``admin`` on the config). ``changes`` may hold any field
    of :class:`ConfigFields`; ``group_ids`` replaces the access rows."""
    config = get_config(session, principal, config_id, "admin")
    merged = {**config_dict(config), **(changes or {})}
    merged.pop("id", None)
    fields = ConfigFields.model_validate(merged)
    if fields.program != config.program or fields.command != config.command:
        principal.require_admin()  # the command line is executed on the workers
    for name, value in fields.model_dump(exclude={"group_ids"}).items():
        setattr(config, name, value)
    _set_access(config, ConfigAccess, "config_id", fields.group_ids)
    session.flush()
    return config


def delete_config(session: Session, principal: Principal, config_id: int) -> None:
    """Delete a config unused by any result or active job; raises ConfigInUse otherwise."""
    config = get_config(session, principal, config_id, "admin")
    used = session.scalar(select(func.count()).select_from(Result).where(Result.config_id == config.id))
    jobs = session.scalar(select(func.count()).select_from(Job).where(Job.config_id == config.id))
    if used or jobs:
        raise ConfigInUse(f"analysis config {config.name!r} is used by {used} result(s) and {jobs} job(s)",
                          {"config_id": config.id, "results": used, "jobs": jobs})
    session.delete(config)


def list_pre_processes(session: Session, principal: Principal) -> list[dict]:
    rows = session.scalars(select(PreProcess).order_by(PreProcess.id)).all()
    return [pre_process_dict(p) for p in rows if may_use(principal, p)]


def create_pre_process(session: Session, principal: Principal, fields: PreProcessFields) -> PreProcess:
    """Administrators only (the template is executed on the workers)."""
    principal.require_admin()
    pre = PreProcess(**fields.model_dump(exclude={"group_ids"}))
    session.add(pre)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise BadRequest(f"a pre-process named {fields.name!r} already exists", {"name": fields.name})
    _set_access(pre, PreProcessAccess, "pre_process_id", fields.group_ids)
    session.flush()
    return pre


# -- launching ---------------------------------------------------------------------------------------------------


@dataclass
class Launched:
    """What :func:`create_job` did: the job and the messages/events the service must publish after commit."""

    job: Job
    publish: bool = False
    events: list[tuple[str, dict]] = field(default_factory=list)


@dataclass(frozen=True)
class SampleInput:
    """Where a job reads a sample's file(s): ``mounted`` files are absolute paths (``key``, ``key2``) the workers
    read in place (they must see the same mount; the job's bucket is then ""), else object keys of ``bucket`` (""
    when the sample does not say: the sequences bucket). ``key2`` is the R2 file of a pair (None for a single
    file); both files of a pair are in the same place."""

    mounted: bool
    bucket: str
    key: str
    name: str
    key2: str | None = None


def sample_input(sample: dict) -> SampleInput:
    """The :class:`SampleInput` of a sample dict from ``samples.get_sample``: its mounted file(s)
    (``source_path``, ``source_path2``) or its stored object(s) (``object_key``, ``object_key2``). Raises
    NoInputFile when it has no file yet or its raw file was deleted."""
    sample_id = sample.get("id")
    if sample.get("source") == "mounted":
        path = sample.get("source_path")
        if not path or sample.get("status") == "raw_deleted":
            raise NoInputFile(f"sample {sample_id} has no sequence file any more (raw file deleted)",
                              {"sample_id": sample_id})
        if max(len(path), len(sample.get("source_path2") or "")) > MAX_INPUT_PATH:
            raise NoInputFile(f"the path of a mounted file of sample {sample_id} is longer than {MAX_INPUT_PATH} "
                              f"characters: jobs cannot read it", {"sample_id": sample_id})
        return SampleInput(True, "", path, sample.get("filename") or path.rsplit("/", 1)[-1],
                           sample.get("source_path2") or None)
    key = sample.get("object_key")
    if not key:
        raise NoInputFile(f"sample {sample_id} has no stored sequence file yet", {"sample_id": sample_id})
    name = sample.get("filename") or sample.get("original_filename") or key.rsplit("/", 1)[-1]
    return SampleInput(False, sample.get("bucket") or "", key, name, sample.get("object_key2") or None)


def latest_pre_process_job(session: Session, sample_id: int) -> Job | None:
    return session.scalars(select(Job).where(Job.kind == states.PRE_PROCESS, Job.sample_id == sample_id)
                           .order_by(Job.id.desc()).limit(1)).first()


def needs_pre_process(session: Session, sample: dict) -> bool:
    """True when ``sample`` is an R1/R2 pair (uploaded, or mounted with ``source_path2``) whose current files
    have no pre-process job yet (never run, or the files were replaced since)."""
    try:
        files = sample_input(sample)
    except NoInputFile:
        return False    # create_job says why
    if not files.key2:
        return False
    pre = latest_pre_process_job(session, int(sample["id"]))
    return pre is None or pre.input_key != files.key or pre.input_key2 != files.key2


def create_job(session: Session, principal: Principal, settings, *, kind: str, sample: dict,
               sample_set_id: int | None, config: AnalysisConfig | None = None, pre_process: PreProcess | None = None,
               grep_reads: str | None = None, sequences_bucket: str) -> Launched:
    """Insert a job for ``sample`` (the dict from ``samples.get_sample``); raise DuplicateJob while an identical
    job is active. Analysis jobs of a sample with a pre-process wait (PENDING) for it, use its merged file, and
    fail at once with the pre-process's reason if it failed."""
    sample_id = int(sample["id"])
    files = sample_input(sample)
    other_id = config.id if config is not None else (pre_process.id if pre_process is not None else None)
    job = Job(kind=kind, sample_id=sample_id, sample_set_id=sample_set_id,
              config_id=config.id if config is not None else None,
              pre_process_id=pre_process.id if pre_process is not None else None,
              state=states.PENDING, active_key=states.active_key(kind, sample_id, other_id, grep_reads),
              input_bucket="" if files.mounted else files.bucket or sequences_bucket,
              input_key=files.key, input_name=files.name,
              grep_reads=grep_reads, created_by=principal.user_id,
              time_limit_s=(config.time_limit_s if config is not None and config.time_limit_s else
                            settings.job_time_limit),
              memory_limit_mb=(config.memory_limit_mb if config is not None and config.memory_limit_mb else
                               settings.job_memory_mb),
              max_attempts=settings.job_max_attempts)
    if kind == states.PRE_PROCESS:
        if not files.key2:
            raise NoInputFile(f"sample {sample_id} has no second file (R2) to pre-process", {"sample_id": sample_id})
        job.input_key2 = files.key2
        job.program, job.command = "pre_process", pre_process.command
    else:
        job.program, job.command = config.program, config.command
    launched = Launched(job=job)
    waiting_reason = None
    if kind != states.PRE_PROCESS and files.key2:
        pre = latest_pre_process_job(session, sample_id)
        if pre is not None and pre.state in states.ACTIVE:
            waiting_reason = f"waiting for pre-process job {pre.id}"
        elif pre is not None and pre.state != states.COMPLETED:
            job.state, job.active_key = states.FAILED, None
            job.reason = f"the pre-process of sample {sample_id} failed (job {pre.id}): {pre.reason}"
            job.finished_at = utcnow()
        elif pre is not None:
            job.input_bucket, job.input_key = sequences_bucket, pre.output_key
            job.input_name = pre.output_key.rsplit("/", 1)[-1]
    session.add(job)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        active = session.scalars(select(Job).where(Job.active_key == states.active_key(
            kind, sample_id, other_id, grep_reads))).first()
        raise DuplicateJob(f"an identical job is already {active.state.lower() if active else 'active'}"
                           f"{f' (job {active.id})' if active else ''}",
                           {"job_id": active.id if active else None, "sample_id": sample_id})
    if job.state == states.FAILED:
        launched.events.append(failed_event(job))
    elif waiting_reason:
        job.reason = waiting_reason
    else:
        launched.publish = True
    return launched


def mark_queued(job: Job) -> tuple[JobMessage, tuple[str, dict] | None]:
    """Give the job a fresh queue token and the QUEUED state; return its message and event."""
    job.queue_token = new_token()
    job.state = states.QUEUED
    job.queued_at = utcnow()
    job.worker_id = None
    event = None
    if job.kind != states.PRE_PROCESS:
        event = ("analysis.queued", {**_job_fields(job), "attempt": job.attempts})
    return JobMessage(job_id=job.id, token=job.queue_token, kind=job.kind), event


def _job_fields(job: Job) -> dict:
    return {"job_id": job.id, "sample_id": job.sample_id, "sample_set_id": job.sample_set_id,
            "config_id": job.config_id}


def failed_event(job: Job) -> tuple[str, dict]:
    if job.kind == states.PRE_PROCESS:
        return ("pre_process.finished", {"job_id": job.id, "sample_id": job.sample_id,
                                         "pre_process_id": job.pre_process_id, "state": job.state,
                                         "output_key": None, "reason": job.reason})
    return ("analysis.failed", {**_job_fields(job), "state": job.state, "reason": job.reason})


def finish(job: Job, state: str, reason: str = "") -> None:
    """Put ``job`` in a final state (frees its active key)."""
    job.state = state
    job.reason = reason[:4000]
    job.active_key = None
    job.finished_at = utcnow()
    job.cancel_requested = False if state != states.CANCELLED else job.cancel_requested


# -- worker protocol ---------------------------------------------------------------------------------------------
def touch_worker(session: Session, info: WorkerInfo, state: str | None = None) -> Worker:
    worker = session.get(Worker, info.worker_id)
    if worker is None:
        worker = Worker(id=info.worker_id, hostname=info.hostname, pid=info.pid, started_at=utcnow())
        session.add(worker)
    worker.last_heartbeat_at = utcnow()
    worker.current_job_id = info.current_job_id
    worker.state = state or ("busy" if info.current_job_id else "idle")
    return worker


def job_spec(job: Job, settings) -> dict:
    """What a worker needs to run ``job`` (see services.jobs.worker)."""
    base = f"s{job.sample_id}-j{job.id}" if job.config_id is None else f"s{job.sample_id}-c{job.config_id}-j{job.id}"
    prefix = (f"{PRE_PROCESS_PREFIX}/sample-{job.sample_id}/job-{job.id}/" if job.kind == states.PRE_PROCESS
              else f"{RESULT_PREFIX}/sample-{job.sample_id}/job-{job.id}/")
    return {"job_id": job.id, "kind": job.kind, "sample_id": job.sample_id, "config_id": job.config_id,
            "program": job.program, "command": job.command, "grep_reads": job.grep_reads,
            "input": {"bucket": job.input_bucket, "key": job.input_key, "name": job.input_name,
                      "key2": job.input_key2},
            "time_limit_s": job.time_limit_s, "memory_limit_mb": job.memory_limit_mb,
            "results_bucket": settings.bucket_results, "sequences_bucket": settings.bucket_sequences,
            "output_prefix": prefix, "basename": base, "attempt": job.attempts}


def job_started(session: Session, settings, job_id: int, token: str, info: WorkerInfo,
                redelivered: bool) -> tuple[dict, list[tuple[str, dict]]]:
    """A worker took the message ``(job_id, token)``. Returns ``({"action": "run", "job": spec} | {"action":
    "drop", "reason"}, events)``. Counts the attempt; after ``max_attempts`` deliveries the job is FAILED."""
    events: list[tuple[str, dict]] = []
    job = session.get(Job, job_id, with_for_update=True)
    if job is None:
        return {"action": "drop", "reason": f"job {job_id} does not exist"}, events
    if job.queue_token != token:
        return {"action": "drop", "reason": f"stale message for job {job_id} (re-queued since)"}, events
    if job.state in states.FINAL:
        return {"action": "drop", "reason": f"job {job_id} is already {job.state}"}, events
    if job.cancel_requested:
        finish(job, states.CANCELLED, "cancelled before it started")
        events.append(failed_event(job))
        if job.kind == states.PRE_PROCESS:
            events += release_waiting(session, job)[1]
        return {"action": "drop", "reason": "cancelled"}, events
    if job.attempts >= job.max_attempts:
        finish(job, states.FAILED, f"gave up after {job.attempts} attempt(s): the worker running it stopped "
                                   f"each time (last: {job.worker_id or 'unknown'})")
        events.append(failed_event(job))
        if job.kind == states.PRE_PROCESS:
            events += release_waiting(session, job)[1]
        return {"action": "drop", "reason": job.reason}, events
    if job.attempts and job.state == states.RUNNING:
        log.warning("job %s redelivered (attempt %d) after worker %s stopped", job.id, job.attempts + 1,
                    job.worker_id)
    job.attempts += 1
    job.state = states.RUNNING
    job.worker_id = info.worker_id
    job.started_at = utcnow()
    if job.attempts > 1:
        job.reason = f"attempt {job.attempts}: previous worker stopped"
    touch_worker(session, WorkerInfo(**{**info.model_dump(), "current_job_id": job.id}))
    if job.kind != states.PRE_PROCESS:
        events.append(("analysis.started", {**_job_fields(job), "worker_id": info.worker_id,
                                            "attempt": job.attempts}))
    return {"action": "run", "job": job_spec(job, settings)}, events


def job_finished(session: Session, job_id: int, token: str, info: WorkerInfo, outcome: Outcome,
                 sequences_bucket: str) -> tuple[dict, list[tuple[str, dict]], list[Job]]:
    """Record a worker's outcome. Returns ``(reply, events, jobs to publish)``; the reply is
    ``{"stored": True, "result_id"}`` or ``{"stored": False, "reason"}`` (stale report: the worker must
    delete the objects it stored and acknowledge). A COMPLETED pre-process releases the sample's waiting
    analyses (returned as jobs to publish; they read its merged file, ``output_key`` in ``sequences_bucket``);
    a failed one fails them."""
    events: list[tuple[str, dict]] = []
    to_publish: list[Job] = []
    job = session.get(Job, job_id, with_for_update=True)
    worker = touch_worker(session, WorkerInfo(**{**info.model_dump(), "current_job_id": None}), "idle")
    if job is None or job.queue_token != token or job.state in states.FINAL:
        state = job.state if job else "missing"
        return {"stored": False, "reason": f"job {job_id} is {state} or was re-queued"}, events, to_publish
    del worker
    state = outcome.state
    if job.cancel_requested and state == states.COMPLETED:
        state = states.CANCELLED
    reply: dict[str, Any] = {"stored": True, "result_id": None}
    if state == states.COMPLETED and job.kind == states.PRE_PROCESS:
        job.output_key = outcome.output_key
        finish(job, states.COMPLETED)
        events.append(("pre_process.finished", {"job_id": job.id, "sample_id": job.sample_id,
                                                "pre_process_id": job.pre_process_id, "state": job.state,
                                                "output_key": job.output_key, "reason": ""}))
    elif state == states.COMPLETED:
        result = Result(job_id=job.id, sample_id=job.sample_id, sample_set_id=job.sample_set_id,
                        config_id=job.config_id, bucket=outcome.bucket, vidjil_key=outcome.vidjil_key,
                        airr_key=outcome.airr_key, log_key=outcome.log_key, extra_key=outcome.extra_key,
                        hidden=job.kind == states.GREP_READS, reads_total=outcome.stats.total,
                        reads_segmented=outcome.stats.segmented, reads_by_locus=outcome.stats.by_locus,
                        clones_total=outcome.stats.clones)
        session.add(result)
        finish(job, states.COMPLETED)
        session.flush()
        reply["result_id"] = result.id
        if job.kind == states.ANALYSIS:
            events.append(("analysis.completed", {
                **_job_fields(job), "result_id": result.id, "bucket": result.bucket,
                "result_key": result.vidjil_key, "airr_key": result.airr_key, "log_key": result.log_key,
                "reads_total": result.reads_total, "reads_segmented": result.reads_segmented}))
    else:
        finish(job, state, outcome.reason or state.lower())
        if outcome.log_key:
            job.output_key = outcome.log_key
        events.append(failed_event(job))
    if job.kind == states.PRE_PROCESS:
        released, more = release_waiting(session, job, sequences_bucket)
        to_publish += released
        events += more
    return reply, events, to_publish


def release_waiting(session: Session, pre: Job, sequences_bucket: str | None = None,
                    ) -> tuple[list[Job], list[tuple[str, dict]]]:
    """The pre-process job ``pre`` ended: its sample's PENDING analyses use its merged file (``pre.output_key``
    in ``sequences_bucket``, required when ``pre`` COMPLETED; returned, to be queued) or, if it did not
    complete, fail with its reason (events returned). The analyses of a mounted pair read the merged file from
    the store too, not from the mounted directory."""
    if pre.state == states.COMPLETED and not sequences_bucket:
        raise ValueError("release_waiting: the bucket of the merged file is needed")
    to_publish: list[Job] = []
    events: list[tuple[str, dict]] = []
    waiting = session.scalars(select(Job).where(Job.sample_id == pre.sample_id, Job.state == states.PENDING,
                                                Job.kind != states.PRE_PROCESS)).all()
    for other in waiting:
        if pre.state == states.COMPLETED:
            other.input_bucket, other.input_key = sequences_bucket, pre.output_key
            other.input_name = pre.output_key.rsplit("/", 1)[-1]
            other.reason = ""
            to_publish.append(other)
        else:
            finish(other, states.FAILED, f"the pre-process of sample {pre.sample_id} failed (job {pre.id}): "
                                         f"{pre.reason}")
            events.append(failed_event(other))
    return to_publish, events


def heartbeat(session: Session, info: WorkerInfo) -> dict:
    """Record a worker heartbeat; reply ``{"cancel": [job ids to stop now]}``."""
    touch_worker(session, info)
    cancel = []
    if info.current_job_id:
        job = session.get(Job, info.current_job_id)
        if job is not None and (job.cancel_requested or job.state in states.FINAL or job.worker_id != info.worker_id):
            cancel.append(job.id)
    return {"cancel": cancel}


def worker_stopped(session: Session, info: WorkerInfo) -> None:
    worker = session.get(Worker, info.worker_id)
    if worker is not None:
        worker.state = "stopped"
        worker.current_job_id = None
        worker.last_heartbeat_at = utcnow()


def job_released(session: Session, job_id: int, token: str, info: WorkerInfo) -> bool:
    """A worker stopping gracefully gives a job back (its message is requeued): the attempt does not count."""
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.queue_token != token or job.state != states.RUNNING or job.worker_id != info.worker_id:
        return False
    job.attempts = max(0, job.attempts - 1)
    job.state = states.QUEUED
    job.worker_id = None
    job.reason = f"released by stopping worker {info.worker_id}"
    return True


# -- cancel ------------------------------------------------------------------------------------------------------
def cancel(session: Session, job: Job) -> list[tuple[str, dict]]:
    """Cancel ``job``: at once when not running, else ask its worker (within one heartbeat)."""
    if job.state in states.FINAL:
        raise JobFinished(f"job {job.id} is already {job.state}", {"job_id": job.id, "state": job.state})
    job.cancel_requested = True
    if job.state == states.RUNNING:
        job.reason = "cancellation requested"
        return []
    finish(job, states.CANCELLED, "cancelled before it started")
    job.cancel_requested = True
    events = [failed_event(job)]
    if job.kind == states.PRE_PROCESS:
        events += release_waiting(session, job)[1]
    return events


def sample_deleted(session: Session, sample_id: int, results_deleted: bool) -> tuple[list[tuple[str, dict]],
                                                                                     list[tuple[str, str]]]:
    """The samples service deleted a sample's raw files (and maybe its results): cancel its active jobs; with
    ``results_deleted`` also delete its result rows. Returns ``(events, objects to delete as (bucket, key))``."""
    events: list[tuple[str, dict]] = []
    objects: list[tuple[str, str]] = []
    for job in session.scalars(select(Job).where(Job.sample_id == sample_id, Job.state.in_(states.ACTIVE))).all():
        events += cancel(session, job)
        job.reason = "the sample was deleted"
    if results_deleted:
        for result in session.scalars(select(Result).where(Result.sample_id == sample_id)).all():
            objects += [(result.bucket, k) for k in (result.vidjil_key, result.airr_key, result.log_key,
                                                     result.extra_key) if k]
            events.append(("result.deleted", {"result_id": result.id, "job_id": result.job_id,
                                              "sample_id": result.sample_id, "sample_set_id": result.sample_set_id,
                                              "config_id": result.config_id}))
            session.delete(result)
    return events, objects


# -- queries -----------------------------------------------------------------------------------------------------
def latest_results(session: Session, sample_ids: list[int], config_id: int) -> list[dict]:
    """For each sample (of ``sample_ids``) that has a visible result with ``config_id``, its newest result."""
    ids = [int(s) for s in sample_ids]
    if not ids:
        return []
    newest = (select(Result.sample_id, func.max(Result.id).label("rid"))
              .where(Result.sample_id.in_(ids), Result.config_id == int(config_id), Result.hidden.is_(False))
              .group_by(Result.sample_id).subquery())
    rows = session.scalars(select(Result).join(newest, and_(Result.id == newest.c.rid))
                           .order_by(Result.sample_id)).all()
    return [result_dict(r) for r in rows]


# -- watchdog ----------------------------------------------------------------------------------------------------
def watchdog(session: Session, settings, now: datetime | None = None) -> tuple[list[Job], list[str],
                                                                                list[tuple[str, dict]]]:
    """Find jobs QUEUED (or PENDING with no reason to wait) longer than ``job_queued_limit``, and jobs RUNNING on
    a worker whose heartbeat stopped; re-queue them (new token: the old message becomes stale) or fail them
    after ``max_attempts``. Returns ``(jobs to publish, report lines, events)``."""
    now = now or utcnow()
    silent_after = timedelta(seconds=max(10 * settings.worker_heartbeat, 20))
    queued_limit = now - timedelta(seconds=settings.job_queued_limit)
    report: list[str] = []
    to_publish: list[Job] = []
    events: list[tuple[str, dict]] = []
    workers = {w.id: w for w in session.scalars(select(Worker)).all()}
    for worker in workers.values():
        if worker.state != "stopped" and worker.last_heartbeat_at < now - silent_after and worker.state != "lost":
            worker.state = "lost"
            report.append(f"worker {worker.id} silent since {_iso(worker.last_heartbeat_at)}")
    running = session.scalars(select(Job).where(Job.state == states.RUNNING)).all()
    for job in running:
        worker = workers.get(job.worker_id or "")
        if worker is not None and worker.state not in ("lost", "stopped"):
            continue
        if job.started_at and job.started_at > now - silent_after:
            continue  # the worker has not sent its first heartbeat yet
        if job.attempts >= job.max_attempts:
            finish(job, states.FAILED, f"gave up after {job.attempts} attempt(s): worker {job.worker_id} "
                                       f"stopped sending heartbeats")
            events.append(failed_event(job))
            if job.kind == states.PRE_PROCESS:
                events += release_waiting(session, job)[1]
            report.append(f"job {job.id} FAILED: {job.reason}")
        else:
            report.append(f"job {job.id} RUNNING on silent worker {job.worker_id}: re-queued")
            job.reason = f"re-queued by the watchdog: worker {job.worker_id} stopped sending heartbeats"
            to_publish.append(job)
    stuck = session.scalars(select(Job).where(Job.state == states.QUEUED, Job.queued_at < queued_limit)).all()
    stuck += session.scalars(select(Job).where(Job.state == states.PENDING, Job.created_at < now - timedelta(
        seconds=60), Job.reason == "")).all()
    for job in stuck:
        report.append(f"job {job.id} {job.state} since {_iso(job.queued_at or job.created_at)}: re-queued")
        job.reason = f"re-queued by the watchdog after {job.state} longer than {settings.job_queued_limit} s" \
            if job.state == states.QUEUED else "published by the watchdog"
        to_publish.append(job)
    return to_publish, report, events


def list_workers(session: Session) -> list[dict]:
    rows = session.scalars(select(Worker).where(Worker.state != "stopped").order_by(Worker.id)).all()
    return [{"id": w.id, "hostname": w.hostname, "pid": w.pid, "state": w.state,
             "current_job_id": w.current_job_id, "started_at": _iso(w.started_at),
             "last_heartbeat_at": _iso(w.last_heartbeat_at)} for w in rows]


def validate_grep_sequence(sequence: str) -> str:
    seq = re.sub(r"\s+", "", str(sequence or "")).upper()
    if not re.fullmatch(r"[ACGTN]{10,1000}", seq):
        raise BadRequest("grep_reads must be 10 to 1000 nucleotides (A, C, G, T, N)", {"field": "grep_reads"})
    return seq
