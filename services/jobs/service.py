"""Jobs service: analysis configurations, the durable work queue, job states reported by workers, results.

Entrypoints only; logic lives in :mod:`services.jobs.logic`. The analysis itself runs in worker processes
(:mod:`services.jobs.worker`, ``repseq worker``), never in this nameko service.
"""

from __future__ import annotations

import logging

from nameko.rpc import RpcProxy
from nameko.timer import timer

from services.common.config import Settings
from services.common.db import Database
from services.common.entrypoints import event_handler, rpc
from services.common.events import Envelope, EventPublisher
from services.common.exceptions import BadRequest, NotFound, Unavailable
from services.common.health import database_check, service_report, storage_check
from services.common.principal import Principal
from services.common.storage import Storage
from services.jobs import logic, states
from services.jobs.models import Job, PreProcess, Result
from services.jobs.dependencies import JobQueue, SegmenterPool
from services.jobs.schemas import ConfigFields, Outcome, PreProcessFields, WorkerInfo, parse

log = logging.getLogger(__name__)


class SettingsProvider:
    """Lazily read settings once per process."""

    _settings: Settings | None = None

    @classmethod
    def get(cls) -> Settings:
        if cls._settings is None:
            cls._settings = Settings.from_env()
        return cls._settings


class JobsService:
    """RPC ``jobs.*``. Owns the database ``<prefix>jobs``; publishes ``analysis.*``, ``result.deleted`` and
    ``pre_process.finished``; puts one message per job on the RabbitMQ queue ``repseq.jobs``."""

    name = "jobs"
    db = Database()
    storage = Storage()
    publish = EventPublisher()
    job_queue = JobQueue()
    samples = RpcProxy("samples")
    segmenter = SegmenterPool()

    @property
    def settings(self) -> Settings:
        return SettingsProvider.get()

    # -- helpers -------------------------------------------------------------------------------------------------
    def _emit(self, events) -> None:
        for name, data in events:
            self.publish(name, data)

    def _queue(self, jobs) -> None:
        """Commit, then give each job a fresh token and publish its message (a job is never on the queue before
        its row is committed: a fast worker would not find it)."""
        for job in jobs:
            message, event = logic.mark_queued(job)
            self.db.commit()
            try:
                self.job_queue.publish(message)
            except Exception as error:
                # back to PENDING without a reason: the watchdog publishes it again within a minute
                job.state, job.queue_token, job.reason = states.PENDING, None, ""
                self.db.commit()
                log.error("could not publish job %s: %s", job.id, error)
                raise Unavailable(f"the work queue is unavailable ({type(error).__name__}); job {job.id} will be "
                                  f"queued again automatically", {"job_id": job.id}) from None
            if event:
                self.publish(*event)

    def _authorize(self, principal, action: str, sample_set_id) -> None:
        """``samples.authorize``: raises PermissionDenied / NotFound (from the samples service)."""
        self.samples.authorize(principal, action, sample_set_id)

    def _job_for(self, principal, job_id, action: str = "read") -> Job:
        caller = Principal.from_dict(principal)
        job = self.db.get(Job, logic.require_id(job_id, "job_id"))
        if job is None:
            raise NotFound(f"job {job_id} does not exist", {"job_id": job_id})
        if not caller.is_admin:
            if job.sample_set_id is None:
                if job.created_by != caller.user_id:
                    raise NotFound(f"job {job_id} does not exist", {"job_id": job_id})
            else:
                self._authorize(principal, action, job.sample_set_id)
        return job

    # -- health --------------------------------------------------------------------------------------------------
    @rpc
    def health(self):
        """Status of this service and of what it uses: ``{"service", "status", "checks": {component: check}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {
            "database": database_check(self.db.get_bind()),
            "object_store": storage_check(self.storage, self.storage.buckets["results"]),
        })

    # -- configs -------------------------------------------------------------------------------------------------
    @rpc
    def list_configs(self, principal):
        """Analysis configs ``principal`` may use: list of ``{"id", "name", "program", "command",
        "fuse_command", "description", "classification", "public", "time_limit_s", "memory_limit_mb",
        "group_ids"}``."""
        return logic.list_configs(self.db, Principal.from_dict(principal))

    @rpc
    def get_config(self, principal, config_id):
        """One config (as in :meth:`list_configs`); NotFound if absent or not usable by the principal."""
        return logic.config_dict(logic.get_config(self.db, Principal.from_dict(principal), config_id))

    @rpc
    def create_config(self, principal, fields):
        """Administrators: add a config. ``fields``: name, program ("vdj" | "none" | "command"), command
        (vdj options, or for "command" a template with &input&, &output_dir&, &basename&), fuse_command,
        description, classification, public, time_limit_s, memory_limit_mb, group_ids. Returns the config."""
        return logic.config_dict(logic.create_config(self.db, Principal.from_dict(principal),
                                                     parse(ConfigFields, fields)))

    @rpc
    def update_config(self, principal, config_id, changes):
        """Change a config (``admin`` on it; program/command: administrators only). Returns the config."""
        return logic.config_dict(logic.update_config(self.db, Principal.from_dict(principal), config_id,
                                                     changes if isinstance(changes, dict) else {}))

    @rpc
    def delete_config(self, principal, config_id):
        """Delete a config; raises ConfigInUse (409) when results or jobs use it. Returns ``True``."""
        logic.delete_config(self.db, Principal.from_dict(principal), config_id)
        return True

    @rpc
    def list_pre_processes(self, principal):
        """Pre-processes the principal may use: ``[{"id", "name", "command", "description", "public",
        "group_ids"}]``."""
        return logic.list_pre_processes(self.db, Principal.from_dict(principal))

    @rpc
    def create_pre_process(self, principal, fields):
        """Administrators: add a pre-process (command template with &file1&, &file2&, &result&)."""
        return logic.pre_process_dict(logic.create_pre_process(self.db, Principal.from_dict(principal),
                                                               parse(PreProcessFields, fields)))

    # -- launching -----------------------------------------------------------------------------------------------
    def _sample_in_set(self, principal, sample_id, sample_set_id) -> dict:
        """The sample (``samples.get_sample``), which must be in ``sample_set_id``: the right checked on that set
        covers only its own samples. BadRequest otherwise."""
        sample = self.samples.get_sample(principal, sample_id)
        if sample_set_id is not None and int(sample_set_id) not in [int(s) for s in sample.get("sample_set_ids", [])]:
            raise BadRequest(f"sample {sample_id} is not in sample set {sample_set_id}",
                             {"sample_id": sample_id, "sample_set_id": sample_set_id})
        return sample

    def _launch_one(self, principal, caller, sample_id, sample_set_id, config, grep_reads=None):
        sample = self._sample_in_set(principal, sample_id, sample_set_id)
        kind = states.GREP_READS if grep_reads else states.ANALYSIS
        if logic.needs_pre_process(self.db, sample):
            self._start_pre_process(caller, sample, sample_set_id, sample.get("pre_process_id"))
        launched = logic.create_job(self.db, caller, self.settings, kind=kind, sample=sample,
                                    sample_set_id=sample_set_id, config=config, grep_reads=grep_reads,
                                    sequences_bucket=self.settings.bucket_sequences)
        self.db.commit()
        self._emit(launched.events)
        if launched.publish:
            self._queue([launched.job])
        return logic.job_dict(launched.job)

    @rpc
    def launch(self, principal, sample_id, sample_set_id, config_id):
        """Analyse one sample with a config. Requires ``run`` on the set (``samples.authorize``) and access to
        the config. Returns the job dict (state QUEUED; PENDING while the sample's pre-process runs; FAILED with
        the reason if that pre-process failed). Raises DuplicateJob (409) while an identical job is queued or
        running, NoInputFile (409) when the sample has no stored file, BadRequest when the sample is not in the
        set, NotFound / PermissionDenied."""
        caller = Principal.from_dict(principal)
        logic.require_id(sample_id, "sample_id")
        self._authorize(principal, "run", logic.require_id(sample_set_id, "sample_set_id"))
        config = logic.get_config(self.db, caller, config_id)
        return self._launch_one(principal, caller, sample_id, sample_set_id, config)

    @rpc
    def launch_set(self, principal, sample_set_id, config_id, sample_ids=None):
        """Analyse the samples of a set not yet analysed with this config or whose last job failed (or exactly
        ``sample_ids``, which must belong to the set). Samples with an active identical job or no stored file are
        skipped. Returns ``{"launched": [job dicts], "skipped": [{"sample_id", "reason"}]}``."""
        caller = Principal.from_dict(principal)
        self._authorize(principal, "run", logic.require_id(sample_set_id, "sample_set_id"))
        config = logic.get_config(self.db, caller, config_id)
        sample_set = self.samples.get_sample_set(principal, sample_set_id)
        in_set = [int(s["id"]) if isinstance(s, dict) else int(s) for s in
                  (sample_set.get("samples") or sample_set.get("sample_ids") or [])]
        if sample_ids is not None:
            unknown = [s for s in sample_ids if s not in in_set]
            if unknown:
                raise BadRequest(f"samples {unknown} are not in sample set {sample_set_id}", {"sample_ids": unknown})
            wanted = list(sample_ids)
        else:
            done = {r["sample_id"] for r in logic.latest_results(self.db, in_set, config.id)}
            wanted = [s for s in in_set if s not in done]
        launched, skipped = [], []
        from services.common.exceptions import Conflict

        for sample_id in wanted:
            try:
                launched.append(self._launch_one(principal, caller, sample_id, sample_set_id, config))
            except Conflict as error:
                skipped.append({"sample_id": sample_id, "reason": error.message})
        return {"launched": launched, "skipped": skipped}

    @rpc
    def launch_grep_reads(self, principal, sample_id, sample_set_id, config_id, sequence):
        """Extract the reads of one clone: the reads of the sample containing ``sequence`` (its window, 10-1000
        nt, either strand) as a FASTA stored as a hidden result (``extra_key``). Same rights as :meth:`launch`.
        Returns the job dict."""
        caller = Principal.from_dict(principal)
        seq = logic.validate_grep_sequence(sequence)
        self._authorize(principal, "run", logic.require_id(sample_set_id, "sample_set_id"))
        config = logic.get_config(self.db, caller, config_id)
        return self._launch_one(principal, caller, sample_id, sample_set_id, config, grep_reads=seq)

    @rpc
    def launch_pre_process(self, principal, sample_id, sample_set_id, pre_process_id):
        """Run a pre-process (e.g. paired-end merging) on a sample's two files; the merged file is stored in the
        sequences bucket and used by the sample's later analyses (the original R1/R2 are kept). Requires
        ``run`` on the set, which must hold the sample (BadRequest otherwise), and access to the pre-process.
        Returns the job dict."""
        caller = Principal.from_dict(principal)
        self._authorize(principal, "run", logic.require_id(sample_set_id, "sample_set_id"))
        sample = self._sample_in_set(principal, sample_id, sample_set_id)
        return logic.job_dict(self._start_pre_process(caller, sample, sample_set_id, pre_process_id))

    def _start_pre_process(self, caller, sample, sample_set_id, pre_process_id) -> Job:
        if pre_process_id is None:
            raise BadRequest(f"sample {sample['id']} has two files (R1/R2) but no pre-process to merge them",
                             {"sample_id": sample["id"]})
        pre = self.db.get(PreProcess, logic.require_id(pre_process_id, "pre_process_id"))
        if pre is None or not logic.may_use(caller, pre):
            raise NotFound(f"pre-process {pre_process_id} does not exist", {"pre_process_id": pre_process_id})
        launched = logic.create_job(self.db, caller, self.settings, kind=states.PRE_PROCESS, sample=sample,
                                    sample_set_id=sample_set_id, pre_process=pre,
                                    sequences_bucket=self.settings.bucket_sequences)
        self.db.commit()
        self._queue([launched.job])
        return launched.job

    # -- jobs ----------------------------------------------------------------------------------------------------
    @rpc
    def list_jobs(self, principal, sample_set_id, sample_id=None, limit=200):
        """Jobs launched from a set (``read`` on it), newest first; optionally of one sample. List of job
        dicts: ``{"id", "kind", "sample_id", "sample_set_id", "config_id", "state", "reason", "attempts",
        "worker_id", "created_at", "queued_at", "started_at", "finished_at", ...}``."""
        self._authorize(principal, "read", logic.require_id(sample_set_id, "sample_set_id"))
        query = self.db.query(Job).filter(Job.sample_set_id == sample_set_id)
        if sample_id is not None:
            query = query.filter(Job.sample_id == int(sample_id))
        return [logic.job_dict(j) for j in query.order_by(Job.id.desc()).limit(min(int(limit), 1000))]

    @rpc
    def get_job(self, principal, job_id):
        """One job dict (``read`` on its set); NotFound otherwise."""
        return logic.job_dict(self._job_for(principal, job_id))

    @rpc
    def cancel_job(self, principal, job_id):
        """Cancel a job (``run`` on its set, or administrator): at once if PENDING/QUEUED (CANCELLED), else its
        worker stops the program within one heartbeat and reports CANCELLED. Raises JobFinished (409) for a
        finished job. Returns the job dict."""
        job = self._job_for(principal, job_id, "run")
        self._emit(logic.cancel(self.db, job))
        return logic.job_dict(job)

    @rpc
    def list_all_jobs(self, principal, states_filter=None, limit=200):
        """Administrators: jobs in any of ``states_filter`` (default: active ones), newest first."""
        Principal.from_dict(principal).require_admin()
        wanted = list(states_filter or states.ACTIVE)
        rows = self.db.query(Job).filter(Job.state.in_(wanted)).order_by(Job.id.desc()).limit(min(int(limit), 1000))
        return [logic.job_dict(j) for j in rows]

    @rpc
    def list_workers(self, principal):
        """Administrators: worker processes (not stopped) with their state (idle, busy, lost) and current job:
        ``[{"id", "hostname", "pid", "state", "current_job_id", "started_at", "last_heartbeat_at"}]``."""
        Principal.from_dict(principal).require_admin()
        return logic.list_workers(self.db)

    # -- results -------------------------------------------------------------------------------------------------
    @rpc
    def list_results(self, principal, sample_set_id, sample_id=None, config_id=None):
        """Results of the samples analysed from a set (``read``), latest first, optionally of one sample and/or
        config: list of ``{"id", "job_id", "sample_id", "config_id", "bucket", "vidjil_key", "airr_key",
        "log_key", "extra_key", "hidden", "reads_total", "reads_segmented", "reads_by_locus", "clones_total",
        "run_date"}``."""
        self._authorize(principal, "read", logic.require_id(sample_set_id, "sample_set_id"))
        query = self.db.query(Result).filter(Result.sample_set_id == sample_set_id)
        if sample_id is not None:
            query = query.filter(Result.sample_id == int(sample_id))
        if config_id is not None:
            query = query.filter(Result.config_id == int(config_id))
        return [logic.result_dict(r) for r in query.order_by(Result.id.desc())]

    def _result_for(self, principal, result_id, action="read") -> Result:
        result = self.db.get(Result, logic.require_id(result_id, "result_id"))
        if result is None:
            raise NotFound(f"result {result_id} does not exist", {"result_id": result_id})
        if not Principal.from_dict(principal).is_admin:
            if result.sample_set_id is None:
                raise NotFound(f"result {result_id} does not exist", {"result_id": result_id})
            self._authorize(principal, action, result.sample_set_id)
        return result

    @rpc
    def get_result(self, principal, result_id):
        """One result dict (``read`` on its set)."""
        return logic.result_dict(self._result_for(principal, result_id))

    @rpc
    def result_download(self, principal, result_id, what="vidjil"):
        """Where to download a result file: ``{"bucket", "key", "filename"}`` for ``what`` in vidjil, airr, log,
        extra (the gateway streams it or presigns a URL). ``read`` on the set; NotFound if that file is absent."""
        result = self._result_for(principal, result_id)
        keys = {"vidjil": result.vidjil_key, "airr": result.airr_key, "log": result.log_key,
                "extra": result.extra_key}
        if what not in keys:
            raise BadRequest("what must be vidjil, airr, log or extra", {"what": what})
        key = keys[what]
        if not key:
            raise NotFound(f"result {result_id} has no {what} file", {"result_id": result_id, "what": what})
        return {"bucket": result.bucket, "key": key, "filename": key.rsplit("/", 1)[-1]}

    @rpc
    def delete_result(self, principal, result_id):
        """Delete a result and its objects (``run`` on the set, or administrator); dispatches ``result.deleted``
        (fuse rebuilds the set's fused result). Returns ``True``."""
        result = self._result_for(principal, result_id, "run")
        payload = {"result_id": result.id, "job_id": result.job_id, "sample_id": result.sample_id,
                   "sample_set_id": result.sample_set_id, "config_id": result.config_id}
        keys = [k for k in (result.vidjil_key, result.airr_key, result.log_key, result.extra_key) if k]
        bucket = result.bucket
        self.db.delete(result)
        self.db.commit()
        for key in keys:
            try:
                self.storage.delete(bucket, key)
            except Exception as error:  # the row is gone; an orphan object is only wasted space
                log.warning("could not delete %s/%s: %s", bucket, key, error)
        self.publish("result.deleted", payload)
        return True

    @rpc
    def latest_results(self, sample_ids, config_id):
        """Internal (fuse): for each of ``sample_ids`` with a visible result of ``config_id``, its newest result
        dict (``bucket``, ``vidjil_key``, ``run_date``, statistics...). A list, ordered by sample id; samples
        without a result are absent."""
        if not isinstance(sample_ids, (list, tuple)):
            raise BadRequest("sample_ids must be a list of integers")
        return logic.latest_results(self.db, list(sample_ids), logic.require_id(config_id, "config_id"))

    # -- worker protocol (called by services.jobs.worker) ---------------------------------------------------------
    @rpc
    def job_started(self, job_id, token, worker, redelivered=False):
        """Worker protocol: the worker took the message ``(job_id, token)``. Returns ``{"action": "run", "job":
        spec}`` or ``{"action": "drop", "reason"}`` (stale, cancelled, finished, or too many attempts)."""
        reply, events = logic.job_started(self.db, self.settings, int(job_id), str(token),
                                          parse(WorkerInfo, worker), bool(redelivered))
        self.db.commit()
        self._emit(events)
        return reply

    @rpc
    def job_finished(self, job_id, token, worker, outcome):
        """Worker protocol: the outcome of a run (:class:`services.jobs.schemas.Outcome`). Stores the result row
        and dispatches ``analysis.completed`` / ``analysis.failed``. Returns ``{"stored": bool, ...}``; the worker
        acknowledges the message only after this returns."""
        reply, events, to_publish = logic.job_finished(self.db, int(job_id), str(token),
                                                       parse(WorkerInfo, worker), parse(Outcome, outcome),
                                                       self.settings.bucket_sequences)
        self.db.commit()
        self._emit(events)
        self._queue(to_publish)
        return reply

    @rpc
    def job_released(self, job_id, token, worker):
        """Worker protocol: a stopping worker gives the job back (the message is requeued; no attempt counted)."""
        return logic.job_released(self.db, int(job_id), str(token), parse(WorkerInfo, worker))

    @rpc
    def worker_heartbeat(self, worker):
        """Worker protocol: ``worker`` = ``{"worker_id", "hostname", "pid", "current_job_id"}``; returns
        ``{"cancel": [job ids the worker must stop]}``."""
        return logic.heartbeat(self.db, parse(WorkerInfo, worker))

    @rpc
    def worker_stopped(self, worker):
        """Worker protocol: the worker exits."""
        logic.worker_stopped(self.db, parse(WorkerInfo, worker))
        return True

    # -- events from other services -------------------------------------------------------------------------------
    @event_handler("samples", "sample.deleted")
    def on_sample_deleted(self, payload):
        """Cancel the active jobs of a deleted sample; delete its results when the samples service says so
        (``results_deleted``), dispatching ``result.deleted`` for each."""
        data = Envelope.parse(payload, "sample.deleted").data
        events, objects = logic.sample_deleted(self.db, int(data["sample_id"]), bool(data.get("results_deleted")))
        self.db.commit()
        for bucket, key in objects:
            try:
                self.storage.delete(bucket, key)
            except Exception as error:
                log.warning("could not delete %s/%s: %s", bucket, key, error)
        self._emit(events)

    # -- watchdog ------------------------------------------------------------------------------------------------
    @timer(interval=10)
    def watchdog(self):
        """Every 10 s: re-queue jobs QUEUED too long or RUNNING on a silent worker (log a warning per job)."""
        to_publish, report, events = logic.watchdog(self.db, self.settings)
        for line in report:
            log.warning("watchdog: %s", line)
        self.db.commit()
        self._emit(events)
        self._queue(to_publish)
        self.db.commit()

    @rpc
    def run_watchdog(self, principal):
        """Administrators: run the watchdog now; returns its report lines."""
        Principal.from_dict(principal).require_admin()
        to_publish, report, events = logic.watchdog(self.db, self.settings)
        self.db.commit()
        self._emit(events)
        self._queue(to_publish)
        return report

    # -- segmenter -----------------------------------------------------------------------------------------------
    @rpc
    def designate(self, principal, sequences, germline="multi"):
        """Analyse up to 10 pasted sequences at once (the "segmenter"): for each, ``{"name", "sequence",
        "detected", "status", "locus", "v", "d", "j", "junction", "junction_aa", "cdr3", "productive", ...}``.
        Runs in a separate process (never in this worker). ``sequences``: list of strings or ``{"name",
        "sequence"}``; raises BadRequest (more than 10, empty, or not nucleotides) or TooLarge."""
        Principal.from_dict(principal)
        return self.segmenter.designate(sequences, germline)


__all__ = ["JobsService"]
