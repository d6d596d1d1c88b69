"""Rebuilding the fused result of a (sample set, analysis config), and finding which ones to rebuild.

Inputs come from the other services over RPC (never from their tables): ``samples.sets_of_sample(sample_id)``
gives the sets holding a sample with their samples and sampling dates, ``jobs.latest_results(sample_ids,
config_id)`` the newest visible result of each. The fuse itself runs in a child process
(:func:`services.fuse.runner.run_fuse_process`), which reads the results from the object store and writes the
fused ``.vidjil`` there. Every attempt is recorded (:class:`~services.fuse.models.FusedResult`); a failed one
leaves the previous fused result served.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime
from typing import Any, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.config import Settings
from services.common.exceptions import NotFound, RepseqError
from services.common.models import utcnow
from services.fuse import post_scripts
from services.fuse.models import EMPTY, FAILED, OK, FusedMember, FusedResult
from services.fuse.runner import run_fuse_process
from services.fuse.schemas import FuseInput, FuseJob

log = logging.getLogger(__name__)

#: Sorts samples without a sampling date after the dated ones.
_NO_DATE = "9999-12-31"


def display_order(samples: Iterable[dict]) -> list[dict]:
    """Samples in follow-up order: sampling date (undated last), then sample id."""
    return sorted(samples, key=lambda s: (s.get("sampling_date") or _NO_DATE, s.get("sample_id") or 0))


def fused_key(sample_set_id: int, config_id: int, now: datetime | None = None) -> str:
    """Object key of a new fused result (results bucket); never reused, so older ones stay readable."""
    now = now or utcnow()
    return (f"fused/set-{sample_set_id}/config-{config_id}/"
            f"{now:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}.vidjil")


def fuse_inputs(sample_set_id: int, samples: Iterable[dict], results: Iterable[dict]) -> list[FuseInput]:
    """One :class:`FuseInput` per sample (display order) that has a result with a ``.vidjil`` file.

    ``samples``: ``[{"sample_id", "sampling_date", "filename", ...}]`` (``sets_of_sample`` form, or
    ``get_sample_set`` samples with ``id``); ``results``: ``latest_results`` dicts."""
    by_sample = {int(r["sample_id"]): r for r in results if r.get("vidjil_key")}
    inputs = []
    for sample in display_order({**s, "sample_id": s.get("sample_id", s.get("id"))} for s in samples):
        result = by_sample.get(int(sample["sample_id"]))
        if result is None:
            continue
        name = sample.get("filename") or f"sample {sample['sample_id']}"
        inputs.append(FuseInput(bucket=result["bucket"], key=result["vidjil_key"], name=name, original_name=name,
                                sample_id=int(sample["sample_id"]), result_id=result.get("id"),
                                sampling_date=sample.get("sampling_date"), info=sample.get("info") or None,
                                sample_set_id=sample_set_id))
    return inputs


class Rebuilder:
    """Rebuilds fused results for the fuse service (one instance per worker call).

    ``samples`` / ``jobs``: RPC proxies (or any object with the same methods); ``publish(event, data)`` dispatches
    ``fused.updated``; ``run`` runs a :class:`FuseJob` (default: in a child process).
    """

    def __init__(self, session: Session, settings: Settings, samples, jobs, publish: Callable[[str, dict], Any],
                 run: Callable[[FuseJob, float], dict] | None = None):
        self.session = session
        self.settings = settings
        self.samples = samples
        self.jobs = jobs
        self.publish = publish
        self.run = run or run_fuse_process

    # -- what to rebuild -------------------------------------------------------------------------------------
    def for_sample(self, sample_id: int, config_ids: Iterable[int] | None, trigger: str,
                   extra_set_ids: Iterable[int] = (), only_where_fused: bool = False) -> list[FusedResult]:
        """Rebuild every set holding ``sample_id`` (and ``extra_set_ids``, sets it was removed from) for each of
        ``config_ids`` (None: every config this service has fused for those sets). Errors of one set are
        recorded and do not stop the others. With ``only_where_fused`` (a sample removed), only the sets and
        configs whose served fused result holds a result of the sample: removing a sample that brought nothing
        (an upload refused, never analysed) leaves their fused result as it is."""
        sets: dict[int, list[dict] | None] = {}
        try:
            for item in self.samples.sets_of_sample(sample_id):
                sets[int(item["sample_set_id"])] = item["samples"]
        except NotFound:
            pass  # the sample is gone: rebuild the sets that held it from their other samples
        for set_id in set(int(i) for i in extra_set_ids) | set(self._sets_with_member(sample_id)):
            sets.setdefault(set_id, None)
        rows = []
        for set_id, samples in sorted(sets.items()):
            configs = list(config_ids) if config_ids is not None else self._configs_of_set(set_id)
            for config_id in configs:
                if only_where_fused and not self._served_holds(set_id, int(config_id), sample_id):
                    continue
                if samples is None:
                    samples = self._samples_of_set(set_id, exclude=sample_id)
                rows.append(self.set(set_id, int(config_id), samples or [], trigger))
        return rows

    def _served_holds(self, sample_set_id: int, config_id: int, sample_id: int) -> bool:
        """Whether the latest successful fused result of the set and config has a result of ``sample_id``."""
        latest = self.session.scalar(
            sa.select(FusedResult.id).where(FusedResult.sample_set_id == sample_set_id,
                                            FusedResult.config_id == config_id, FusedResult.status == OK)
            .order_by(FusedResult.id.desc()).limit(1))
        if latest is None:
            return False
        return self.session.scalar(
            sa.select(sa.func.count()).select_from(FusedMember)
            .where(FusedMember.fused_result_id == latest, FusedMember.sample_id == sample_id,
                   FusedMember.result_id.is_not(None))) > 0

    def _sets_with_member(self, sample_id: int) -> list[int]:
        return list(self.session.scalars(
            sa.select(FusedResult.sample_set_id).join(FusedMember, FusedMember.fused_result_id == FusedResult.id)
            .where(FusedMember.sample_id == sample_id).distinct()))

    def _configs_of_set(self, sample_set_id: int) -> list[int]:
        return list(self.session.scalars(sa.select(FusedResult.config_id)
                                         .where(FusedResult.sample_set_id == sample_set_id).distinct()))

    def _samples_of_set(self, sample_set_id: int, exclude: int) -> list[dict]:
        """The current samples of a set, asked through another sample it held (``sets_of_sample`` is keyed by
        sample); ``[]`` when none of its known samples remains."""
        known = self.session.scalars(
            sa.select(FusedMember.sample_id).join(FusedResult, FusedMember.fused_result_id == FusedResult.id)
            .where(FusedResult.sample_set_id == sample_set_id, FusedMember.sample_id != exclude).distinct())
        for other in known:
            try:
                for item in self.samples.sets_of_sample(other):
                    if int(item["sample_set_id"]) == sample_set_id:
                        return [s for s in item["samples"] if int(s["sample_id"]) != exclude]
            except NotFound:
                continue
        return []

    # -- one set ---------------------------------------------------------------------------------------------
    def set(self, sample_set_id: int, config_id: int, samples: list[dict], trigger: str) -> FusedResult:
        """Fuse the latest ``config_id`` result of each of ``samples`` (the set's samples); record and publish.

        Returns the recorded row: ``ok``, ``failed`` (error recorded, previous fused result still served) or
        ``empty`` (no sample has a result)."""
        # Taken before asking for the inputs: the rebuild that started last has seen every result committed
        # before it started, and it is the one served when rebuilds overlap.
        inputs_at = utcnow()
        sample_ids = [int(s.get("sample_id", s.get("id"))) for s in samples]
        results = self.jobs.latest_results(sample_ids, config_id) if sample_ids else []
        inputs = fuse_inputs(sample_set_id, samples, results)
        scripts = post_scripts.for_config(self.session, config_id)
        row = FusedResult(sample_set_id=sample_set_id, config_id=config_id, inputs_at=inputs_at, trigger=trigger,
                          top=self.settings.fuse_top, post_scripts=[s.name for s in scripts],
                          sample_ids=[i.sample_id for i in inputs], result_ids=[i.result_id for i in inputs],
                          sample_count=len(inputs), clone_count=0, error="")
        row.members = [FusedMember(position=n, sample_id=i.sample_id, result_id=i.result_id)
                       for n, i in enumerate(inputs)]
        started = time.monotonic()
        if not inputs:
            row.status = EMPTY
        else:
            try:
                paths = [str(post_scripts.resolve(self.settings, s.name)) for s in scripts]
                job = FuseJob(inputs=inputs, top=self.settings.fuse_top, output_bucket=self.settings.bucket_results,
                              output_key=fused_key(sample_set_id, config_id), post_scripts=paths,
                              script_time_limit=self.settings.fuse_script_time_limit)
                answer = self.run(job, self.settings.fuse_time_limit)
                row.status, row.bucket, row.object_key = OK, answer["bucket"], answer["key"]
                row.size, row.sha256, row.clone_count = answer["size"], answer["sha256"], answer["clones"]
            except RepseqError as error:
                row.status, row.error_code, row.error = FAILED, error.code, error.message[:5000]
                log.warning("fuse of set %s config %s failed: %s", sample_set_id, config_id, error.message)
        row.duration_ms = int((time.monotonic() - started) * 1000)
        self.session.add(row)
        self.session.commit()  # recorded before anyone hears about it
        self.publish("fused.updated", {
            "sample_set_id": sample_set_id, "config_id": config_id, "fused_id": row.id, "status": row.status,
            "sample_ids": row.sample_ids, "result_ids": row.result_ids, "clone_count": row.clone_count,
            "trigger": trigger, "error": row.error})
        return row


def fused_dict(row: FusedResult) -> dict:
    """A fused result record: ``{"id", "sample_set_id", "config_id", "status", "sample_ids", "result_ids",
    "sample_count", "clone_count", "top", "post_scripts", "size", "error_code", "error", "trigger", "inputs_at",
    "created_at", "duration_ms"}`` (times ISO UTC)."""
    return {"id": row.id, "sample_set_id": row.sample_set_id, "config_id": row.config_id, "status": row.status,
            "sample_ids": list(row.sample_ids or []), "result_ids": list(row.result_ids or []),
            "sample_count": row.sample_count, "clone_count": row.clone_count, "top": row.top,
            "post_scripts": list(row.post_scripts or []), "size": row.size, "error_code": row.error_code,
            "error": row.error, "trigger": row.trigger,
            "inputs_at": row.inputs_at.isoformat() + "Z" if row.inputs_at else None,
            "created_at": row.created_at.isoformat() + "Z" if row.created_at else None,
            "duration_ms": row.duration_ms}
