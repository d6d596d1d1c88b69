"""``/api/v1/configs`` and ``/api/v1/jobs``: analysis configurations, launching, following and cancelling jobs."""

from __future__ import annotations

from gateway.api import bp
from gateway.api.samples import stream_object
from gateway.api.schemas import ConfigAnswer, ConfigBody, DesignateBody, GrepReadsBody, JobAnswer, JobsQuery, \
    LaunchBody, LaunchSetBody, PreProcessBody, PreProcessLaunchBody, ResultsQuery
from gateway.auth import call_as_user
from gateway.openapi import API_PREFIX, operation

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
    return call_as_user("jobs", "create_config", body.model_dump(mode="json", exclude_none=True))


@operation(bp, "/configs/<int:config_id>", "PUT", summary="Edit an analysis configuration", tag=TAG_CONFIGS,
           body=ConfigBody, response=ConfigAnswer, errors=(409,))
def update_config(config_id: int, body: ConfigBody):
    return call_as_user("jobs", "update_config", config_id, body.model_dump(mode="json", exclude_none=True))


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
           response={"type": "object", "properties": {"launched": {"type": "array"}, "skipped": {"type": "array"}}},
           status=201)
def launch_set(sample_set_id: int, body: LaunchSetBody):
    """Without ``sample_ids``: the samples of the set not yet analysed with this configuration or whose last job
    failed. Samples with an active identical job or no stored file are skipped (listed with the reason)."""
    return call_as_user("jobs", "launch_set", sample_set_id, body.config_id, body.sample_ids)


@operation(bp, "/jobs", "GET", summary="Jobs of a set (without a set: the server's active jobs, administrators)", tag=TAG_JOBS,
           query=JobsQuery, response=list[JobAnswer])
def list_jobs(query: JobsQuery):
    """With ``sample_set_id``: the jobs launched from that set (newest first). Without: the active jobs of the
    whole server (administrators)."""
    if query.sample_set_id is None:
        return call_as_user("jobs", "list_all_jobs", [query.state] if query.state else None)
    jobs = call_as_user("jobs", "list_jobs", query.sample_set_id, query.sample_id)
    if query.state:
        jobs = [j for j in jobs if j.get("state") == query.state]
    return jobs


def with_result_links(job: dict) -> dict:
    """A job dict with ``result_id`` and ``links``. The result of a COMPLETED job of a set is the one the jobs
    service lists for it (``jobs.list_results`` of the set, sample and config, matched by ``job_id``); ``None``
    before (or when that result was deleted since)."""
    api = API_PREFIX
    links: dict[str, str] = {"self": f"{api}/jobs/{job['id']}"}
    set_id, config_id = job.get("sample_set_id"), job.get("config_id")
    result = None
    if set_id is not None:
        links["set_jobs"] = f"{api}/jobs?sample_set_id={set_id}"
        if job.get("state") == "COMPLETED":
            results = call_as_user("jobs", "list_results", set_id, job.get("sample_id"), config_id)
            result = next((r for r in results if r.get("job_id") == job["id"]), None)
    if result is not None:
        links["result"] = f"{api}/analysis_results/{result['id']}"
        for what in ("vidjil", "airr", "log", "extra"):
            if result.get(f"{what}_key"):
                links[what] = f"{api}/analysis_results/{result['id']}/{what}"
    if set_id is not None and config_id is not None and job.get("kind", "analysis") == "analysis":
        links["fused"] = f"{api}/sample_sets/{set_id}/results/{config_id}"
        links["page"] = f"/sets/{set_id}/results/{config_id}"
    return {**job, "result_id": result["id"] if result else None, "links": links}


@operation(bp, "/jobs/<int:job_id>", "GET", summary="One job: state, times, sample, configuration; once COMPLETED "
           "its result id and links", tag=TAG_JOBS, response=JobAnswer)
def get_job(job_id: int):
    """``result_id`` and ``links.result`` / ``vidjil`` / ``airr`` / ``log`` appear when the job is COMPLETED;
    ``links.fused`` is the set's fused result for the configuration (404 until the fuse service built it)."""
    return with_result_links(call_as_user("jobs", "get_job", job_id))


@operation(bp, "/jobs/<int:job_id>/cancel", "POST", summary="Cancel a queued or running job", tag=TAG_JOBS,
           response=JobAnswer, errors=(409,))
def cancel_job(job_id: int):
    """Needs the ``run`` right on the job's set; a running job stops within one worker heartbeat."""
    return call_as_user("jobs", "cancel_job", job_id)


@operation(bp, "/sample_sets/<int:sample_set_id>/analysis_results", "GET", tag=TAG_JOBS,
           summary="Stored analysis results of a set's samples (latest first)", query=ResultsQuery,
           response={"type": "array", "items": {"type": "object"}})
def list_results(sample_set_id: int, query: ResultsQuery):
    return call_as_user("jobs", "list_results", sample_set_id, query.sample_id, query.config_id)


@operation(bp, "/analysis_results/<int:result_id>/<any(vidjil, airr, log, extra):what>", "GET", tag=TAG_JOBS,
           summary="Download one file of an analysis result: .vidjil, AIRR TSV, log, or extracted reads",
           produces="application/octet-stream")
def download_result(result_id: int, what: str):
    where = call_as_user("jobs", "result_download", result_id, what)
    mimetype = {"vidjil": "application/json", "airr": "text/tab-separated-values", "log": "text/plain"}.get(
        what, "application/octet-stream")
    return stream_object(where["bucket"], where["key"], where.get("filename") or f"result-{result_id}.{what}",
                         mimetype)


@operation(bp, "/analysis_results/<int:result_id>", "DELETE", tag=TAG_JOBS, response={"type": "object"},
           summary="Delete an analysis result (the set's fused result is rebuilt)")
def delete_result(result_id: int):
    call_as_user("jobs", "delete_result", result_id)
    return {"deleted": result_id}


@operation(bp, "/designate", "POST", tag=TAG_JOBS, body=DesignateBody, errors=(413,),
           summary="Designate up to 10 pasted sequences (V/D/J, junction, CDR3) at once",
           response={"type": "array", "items": {"type": "object"}})
def designate(body: DesignateBody):
    return call_as_user("jobs", "designate", body.sequences, body.germline)


@operation(bp, "/pre_processes", "GET", summary="Pre-processes the caller may use", tag=TAG_CONFIGS,
           response={"type": "array", "items": {"type": "object"}})
def list_pre_processes():
    return call_as_user("jobs", "list_pre_processes")


@operation(bp, "/pre_processes", "POST", summary="Create a pre-process (administrators)", tag=TAG_CONFIGS,
           body=PreProcessBody, response={"type": "object"}, status=201, errors=(409,))
def create_pre_process(body: PreProcessBody):
    return call_as_user("jobs", "create_pre_process", body.model_dump(mode="json", exclude_none=True))


@operation(bp, "/workers", "GET", summary="Worker processes and their current job (administrators)",
           tag=TAG_JOBS, response={"type": "array", "items": {"type": "object"}})
def list_workers():
    return call_as_user("jobs", "list_workers")


@operation(bp, "/jobs/grep_reads", "POST", summary="Extract the reads of one clone (FASTA stored as a hidden result)",
           tag=TAG_JOBS, body=GrepReadsBody, response=JobAnswer, status=201, errors=(409,))
def launch_grep_reads(body: GrepReadsBody):
    return call_as_user("jobs", "launch_grep_reads", body.sample_id, body.sample_set_id, body.config_id,
                        body.sequence)


@operation(bp, "/jobs/pre_process", "POST", summary="Run a pre-process (e.g. merge paired-end reads) on a sample",
           tag=TAG_JOBS, body=PreProcessLaunchBody, response=JobAnswer, status=201, errors=(409,))
def launch_pre_process(body: PreProcessLaunchBody):
    return call_as_user("jobs", "launch_pre_process", body.sample_id, body.sample_set_id, body.pre_process_id)


@operation(bp, "/analysis_results/<int:result_id>", "GET", summary="One analysis result (keys, read statistics)",
           tag=TAG_JOBS, response={"type": "object"})
def get_result(result_id: int):
    return call_as_user("jobs", "get_result", result_id)
