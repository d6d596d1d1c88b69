"""Reading fused results for users: the served fused ``.vidjil`` (enriched, analysis merged), its history, the
on-demand comparison of any readable results, and saved analyses.

Permission checks are the samples service's (``samples.authorize`` for sets, ``jobs.get_result`` for results,
which itself asks samples), so the rule is the same everywhere.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.config import Settings
from services.common.principal import Principal
from services.fuse.exceptions import BadRequest, Conflict, NoResults, NotFound, TooLarge, Unavailable
from services.fuse.fusing import merge_analysis, mrd_follow_up
from services.fuse.models import EMPTY, FAILED, OK, FusedResult, SavedAnalysis
from services.fuse.rebuild import fused_dict
from services.fuse.runner import run_fuse_process
from services.fuse.schemas import AnalysisContent, FuseInput, FuseJob

#: Fields of the set dict (samples.get_sample_set) copied into the served fused result.
_SET_FIELDS = ("id", "kind", "name", "info", "label", "tags", "identity_visible", "first_name", "last_name",
               "birth_date", "age", "run_date", "sequencer", "pcr", "permissions")


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise BadRequest(f"{name} must be an integer", {name: value}) from None
    return value


# -- fused results ---------------------------------------------------------------------------------------------

def served_row(session: Session, sample_set_id: int, config_id: int) -> FusedResult:
    """The fused result served for a set and config: the newest ``ok`` one, unless a newer rebuild found no result
    at all (``empty``). Failed rebuilds never hide the previous result. Raises :class:`NoResults`."""
    row = session.scalars(
        sa.select(FusedResult).where(FusedResult.sample_set_id == sample_set_id,
                                     FusedResult.config_id == config_id, FusedResult.status.in_((OK, EMPTY)))
        .order_by(FusedResult.inputs_at.desc(), FusedResult.id.desc()).limit(1)).first()
    if row is None or row.status == EMPTY:
        raise NoResults(f"sample set {sample_set_id} has no fused result for config {config_id}",
                        {"sample_set_id": sample_set_id, "config_id": config_id})
    return row


def latest_failure(session: Session, sample_set_id: int, config_id: int, after: FusedResult) -> FusedResult | None:
    """A failed rebuild newer than the served row ``after`` (shown to users: their result may be outdated)."""
    return session.scalars(
        sa.select(FusedResult).where(FusedResult.sample_set_id == sample_set_id,
                                     FusedResult.config_id == config_id, FusedResult.status == FAILED,
                                     FusedResult.inputs_at > after.inputs_at)
        .order_by(FusedResult.inputs_at.desc(), FusedResult.id.desc()).limit(1)).first()


def history(session: Session, sample_set_id: int, config_id: int | None, limit: int = 100) -> list[dict]:
    """Every recorded fuse of a set (optionally of one config), newest first (:func:`fused_dict` form)."""
    query = sa.select(FusedResult).where(FusedResult.sample_set_id == sample_set_id)
    if config_id is not None:
        query = query.where(FusedResult.config_id == config_id)
    rows = session.scalars(query.order_by(FusedResult.inputs_at.desc(), FusedResult.id.desc())
                           .limit(max(1, min(int(limit), 1000))))
    return [fused_dict(row) for row in rows]


def load(store, row: FusedResult) -> dict:
    """The fused ``.vidjil`` of ``row`` from the object store."""
    try:
        return json.loads(store.get_bytes(row.bucket, row.object_key))
    except NotFound:
        raise NotFound(f"the file of fused result {row.id} is missing from the object store",
                       {"fused_id": row.id}) from None
    except ValueError:
        raise Unavailable(f"the file of fused result {row.id} is damaged", {"fused_id": row.id}) from None
    except Exception as error:  # S3 errors, connection errors
        raise Unavailable(f"object store unavailable: {error}", {"component": "object_store"}) from None


def enrich(fused: dict, row: FusedResult, sample_set: dict, failure: FusedResult | None = None) -> dict:
    """Add the set's metadata (already pseudonymised by the samples service unless ``anon``), the current sample
    names, sampling dates and info, and the record of the fuse. Samples no longer in the set keep their fused
    name and are flagged in ``samples.deleted``."""
    fused["sample_set_id"] = row.sample_set_id
    fused["config_id"] = row.config_id
    fused["sample_set"] = {key: sample_set[key] for key in _SET_FIELDS if key in sample_set}
    current = {int(s["id"]): s for s in sample_set.get("samples") or []}
    samples = fused.setdefault("samples", {})
    ids = samples.get("id") or []
    names, dates, infos = (list(samples.get(k) or [""] * len(ids)) for k in ("names", "timestamp", "info"))
    deleted = []
    for index, sample_id in enumerate(ids):
        sample = current.get(sample_id) if sample_id is not None else None
        deleted.append(sample is None)
        if sample is not None:
            names[index] = sample.get("filename") or names[index]
            dates[index] = sample.get("sampling_date") or ""
            infos[index] = sample.get("info") or ""
    samples.update(names=names, timestamp=dates, info=infos, deleted=deleted)
    fused["fused"] = fused_dict(row)
    if failure is not None:
        fused["fused"]["newer_failure"] = {"id": failure.id, "error": failure.error, "error_code": failure.error_code,
                                           "inputs_at": failure.inputs_at.isoformat() + "Z"}
    return fused


def mrd_view(fused: dict) -> dict:
    """MRD follow-up data of a served fused result, with its set and record (see :func:`mrd_follow_up`)."""
    view = mrd_follow_up(fused)
    view.update(sample_set_id=fused.get("sample_set_id"), config_id=fused.get("config_id"),
                fused=fused.get("fused"))
    return view


# -- compare ---------------------------------------------------------------------------------------------------

def compare(settings: Settings, samples, jobs, principal: dict, result_ids: list, top: int | None = None,
            run=run_fuse_process) -> dict:
    """Fuse any results the caller may read (``read`` on each result's set, checked by the jobs and samples
    services), in the order given; within ``settings.fuse_compare_time_limit`` seconds.

    Sample names are ``"<set name>_<file name> (<result id>)"`` (set names pseudonymised unless ``anon``).
    Raises BadRequest (empty, too many or repeated ids), NotFound (missing or unreadable result),
    FuseTimeLimit (over the time limit), InvalidResult (a result file is not valid JSON)."""
    if not isinstance(result_ids, (list, tuple)) or not result_ids:
        raise BadRequest("result_ids must be a non-empty list of result ids")
    ids = [_int(r, "result_id") for r in result_ids]
    if len(set(ids)) != len(ids):
        raise BadRequest("a result appears twice in the comparison", {"result_ids": ids})
    if len(ids) > settings.fuse_compare_max:
        raise BadRequest(f"at most {settings.fuse_compare_max} results may be compared at once",
                         {"max": settings.fuse_compare_max})
    top = settings.fuse_top if top is None else _int(top, "top")
    if top < 0:
        raise BadRequest("top must be >= 0", {"top": top})
    set_names: dict[int, str] = {}
    inputs = []
    for result_id in ids:
        result = jobs.get_result(principal, result_id)
        if not result.get("vidjil_key"):
            raise NotFound(f"result {result_id} has no .vidjil file", {"result_id": result_id})
        sample = samples.get_sample(principal, result["sample_id"])
        set_id = result.get("sample_set_id")
        if set_id is not None and set_id not in set_names:
            set_names[set_id] = samples.get_sample_set(principal, set_id).get("name") or f"set {set_id}"
        filename = sample.get("filename") or f"sample {sample.get('id')}"
        prefix = f"{set_names[set_id]}_" if set_id is not None else ""
        inputs.append(FuseInput(bucket=result["bucket"], key=result["vidjil_key"],
                                name=f"{prefix}{filename} ({result_id})", original_name=filename,
                                sample_id=result["sample_id"], result_id=result_id,
                                sampling_date=sample.get("sampling_date"), info=sample.get("info") or None,
                                sample_set_id=set_id))
    job = FuseJob(inputs=inputs, top=top, script_time_limit=settings.fuse_script_time_limit)
    answer = run(job, settings.fuse_compare_time_limit)
    fused = answer["fused"]
    fused["compare"] = {"result_ids": ids, "top": top, "seconds": round(answer.get("wall_seconds", 0.0), 3)}
    return fused


# -- saved analyses --------------------------------------------------------------------------------------------

def analysis_dict(row: SavedAnalysis, with_content: bool = True) -> dict:
    data = {"id": row.id, "sample_set_id": row.sample_set_id, "config_id": row.config_id, "version": row.version,
            "size": row.size, "comment": row.comment, "user_id": row.user_id,
            "created_at": row.created_at.isoformat() + "Z" if row.created_at else None}
    if with_content:
        data["content"] = row.content
    return data


def latest_analysis(session: Session, sample_set_id: int, config_id: int,
                    version: int | None = None) -> SavedAnalysis | None:
    query = sa.select(SavedAnalysis).where(SavedAnalysis.sample_set_id == sample_set_id,
                                           SavedAnalysis.config_id == config_id)
    if version is not None:
        query = query.where(SavedAnalysis.version == version)
    return session.scalars(query.order_by(SavedAnalysis.version.desc()).limit(1)).first()


def save_analysis(session: Session, settings: Settings, principal: Principal, sample_set_id: int, config_id: int,
                  content: Any, comment: str = "") -> SavedAnalysis:
    """Store a new version of the analysis of a set and config (the caller's ``save`` right is checked by the
    service before). BadRequest for a malformed analysis, TooLarge over ``fuse_analysis_max_bytes``, Conflict if
    another save took the same version at the same time."""
    if not isinstance(content, dict):
        raise BadRequest("an analysis must be a JSON object")
    try:
        analysis = AnalysisContent.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise BadRequest(f"invalid analysis: {where}: {first.get('msg')}", {"field": where}) from None
    data = analysis.model_dump(exclude_defaults=True)
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > settings.fuse_analysis_max_bytes:
        raise TooLarge(f"the analysis is {size} bytes; at most {settings.fuse_analysis_max_bytes} may be saved",
                       {"size": size, "max": settings.fuse_analysis_max_bytes})
    previous = latest_analysis(session, sample_set_id, config_id)
    row = SavedAnalysis(sample_set_id=sample_set_id, config_id=config_id,
                        version=(previous.version + 1) if previous else 1, content=data, size=size,
                        comment=str(comment or "")[:500], user_id=principal.user_id)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("another save of this analysis happened at the same time; reload and save again",
                       {"sample_set_id": sample_set_id, "config_id": config_id}) from None
    return row


def analysis_versions(session: Session, sample_set_id: int, config_id: int) -> list[dict]:
    rows = session.scalars(sa.select(SavedAnalysis).where(SavedAnalysis.sample_set_id == sample_set_id,
                                                          SavedAnalysis.config_id == config_id)
                           .order_by(SavedAnalysis.version.desc()))
    return [analysis_dict(row, with_content=False) for row in rows]


def served(session: Session, store, samples, principal: dict, sample_set_id: int, config_id: int,
           fused_id: int | None = None, analysis: bool = True) -> dict:
    """The fused result of a set and config as users get it (read right checked by the caller)."""
    if fused_id is None:
        row = served_row(session, sample_set_id, config_id)
        failure = latest_failure(session, sample_set_id, config_id, row)
    else:
        row = session.get(FusedResult, _int(fused_id, "fused_id"))
        if row is None or row.sample_set_id != sample_set_id or row.config_id != config_id or row.status != OK:
            raise NotFound(f"fused result {fused_id} of set {sample_set_id} and config {config_id} does not exist",
                           {"fused_id": fused_id})
        failure = None
    fused = load(store, row)
    enrich(fused, row, samples.get_sample_set(principal, sample_set_id), failure)
    if analysis:
        saved = latest_analysis(session, sample_set_id, config_id)
        if saved is not None:
            merge_analysis(fused, saved.content)
            fused["analysis_version"] = saved.version
    return fused
