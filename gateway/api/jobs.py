"""``/api/v1/configs`` and ``/api/v1/jobs``: analysis configurations, launching, following and cancelling jobs."""

from __future__ import annotations

from flask import Response

from gateway.api import bp
from gateway.api.schemas import ConfigAnswer, ConfigBody, JobAnswer, JobsQuery, LaunchBody, LaunchSetBody
from gateway.auth import call_as_user
from gateway.openapi import operation
from services.common.exceptions import RepseqError

TAG_CONFIGS = "configs"
TAG_JOBS = "jobs"


@operation(bp, "/configs", "GET", summary="Analysis configurations the caller may use", tag=TAG_CONFIGS,
           response=list[ConfigAnswer])
def list_configs():
    return call_as_user("jobs", "list_configs")


@operation(bp, "/configs/<int:config_id>", "GET", summary="One analysis configuration", tag=TAG_CONFIGS,
           response=ConfigAnswer)
def get_config(config_id: int):
    return call_as_user("jobs", "get_config", config_id)


@operation(bp, "/configs", "POST", summary="Create an analysis configuration (administrators)", tag=TAG_CONFIGS,
           body=ConfigBody, response=ConfigAnswer, status=201, errors=(409,))
def create_config(body: ConfigBody):
    return call_as_user("jobs", "create_config", body.model_dump(mode="json"))


@operation(bp, "/configs/<int:config_id>", "PUT", summary="Edit an analysis configuration", tag=TAG_CONFIGS,
           body=ConfigBody, response=ConfigAnswer, errors=(409,))
def update_config(config_id: int, body: ConfigBody):
    return call_as_user("jobs", "update_config", config_id, body.model_dump(mode="json"))


@operation(bp, "/configs/<int:config_id>", "DELETE", summary="Delete an unused analysis configuration",
           tag=TAG_CONFIGS, response={"type": "object"}, errors=(409,))
def delete_config(config_id: int):
    """Refused (409) once a result was computed with it."""
    return call_as_user("jobs", "delete_config", config_id) or {"deleted": config_id}


@operation(bp, "/jobs", "POST", summary="Launch the analysis of one sample with a configuration", tag=TAG_JOBS,
           body=LaunchBody, response=JobAnswer, status=201, errors=(409,))
def launch(body: LaunchBody):
    """Needs the ``run`` right on the set and the use of the configuration. The job starts in state QUEUED."""
    return call_as_user("jobs", "launch", body.sample_id, body.sample_set_id, body.config_id)


@operation(bp, "/sample_sets/<int:sample_set_id>/jobs", "POST", tag=TAG_JOBS,
           summary="Launch the analysis of several samples of a set", body=LaunchSetBody,
           response={"type": "object", "properties": {"jobs": {"type": "array"}, "errors": {"type": "array"}}},
           status=201)
def launch_set(sample_set_id: int, body: LaunchSetBody):
    """Without ``sample_ids``: every sample of the set that has a file and no queued, running or completed job
    with this configuration. Each launch is independent: refusals are listed in ``errors``."""
    sample_ids = body.sample_ids
    if sample_ids is None:
        sample_set = call_as_user("samples", "get_sample_set", sample_set_id)
        done = {(j.get("sample_id")) for j in call_as_user("jobs", "list_jobs", sample_set_id)
                if j.get("config_id") == body.config_id and j.get("state") in ("QUEUED", "RUNNING", "COMPLETED")}
        sample_ids = [s["id"] for s in sample_set.get("samples", [])
                      if s["id"] not in done and (s.get("size") or s.get("uploaded"))]
    jobs, errors = [], []
    for sample_id in sample_ids:
        try:
            jobs.append(call_as_user("jobs", "launch", sample_id, sample_set_id, body.config_id))
        except RepseqError as error:
            errors.append({"sample_id": sample_id, **error.to_dict()})
    return {"jobs": jobs, "errors": errors}


@operation(bp, "/jobs", "GET", summary="Jobs of a set (or the caller's recent jobs)", tag=TAG_JOBS,
           query=JobsQuery, response=list[JobAnswer])
def list_jobs(query: JobsQuery):
    jobs = call_as_user("jobs", "list_jobs", query.sample_set_id)
    if query.state:
        jobs = [j for j in jobs if j.get("state") == query.state]
    return jobs


@operation(bp, "/jobs/<int:job_id>", "GET", summary="One job: state, times, sample, configuration", tag=TAG_JOBS,
           response=JobAnswer)
def get_job(job_id: int):
    return call_as_user("jobs", "get_job", job_id)


@operation(bp, "/jobs/<int:job_id>/cancel", "POST", summary="Cancel a queued or running job", tag=TAG_JOBS,
           response=JobAnswer, errors=(409,))
def cancel_job(job_id: int):
    return call_as_user("jobs", "cancel", job_id)


@operation(bp, "/jobs/<int:job_id>/log", "GET", summary="The analysis program's log of a job", tag=TAG_JOBS,
           produces="text/plain")
def job_log(job_id: int):
    text = call_as_user("jobs", "get_job_log", job_id)
    return Response(text or "", mimetype="text/plain")
