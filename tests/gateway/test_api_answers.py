"""What a bioinformatician scripting the API needs from the answers themselves (real stack): ``GET /auth/me`` says in
which groups the caller may create sets (``POST /sample_sets`` requires ``group_id``), and ``GET /jobs/{id}`` of a
COMPLETED analysis gives its result id and the links to read and download it."""

from __future__ import annotations

import time

from gateway_helpers import COLON, Api, make_lab_user
from repseq.client import default_config


def test_me_lists_the_groups_the_caller_may_create_sets_in(stack, lab_user, gateway_admin):
    api = Api(stack.url, lab_user["token"])
    me = api.ok("GET", "/auth/me", 200)
    assert me["personal_group_id"] == lab_user["group_id"]
    personal = [g for g in me["create_groups"] if g["id"] == lab_user["group_id"]]
    assert personal and personal[0]["personal"] is True and personal[0]["name"].startswith("user_")
    assert all(set(g) >= {"id", "name", "kind", "personal"} for g in me["create_groups"])
    assert "public" not in [g["name"] for g in me["create_groups"]]
    first = me["create_groups"][0]["id"]
    created = api.ok("POST", "/sample_sets", 201, json={"kind": "generic", "fields": {"name": "from me"},
                                                         "group_id": first})
    assert created["id"]

    reader = make_lab_user(stack, gateway_admin, capabilities=["read"])
    me = Api(stack.url, reader["token"]).ok("GET", "/auth/me", 200)
    assert me["create_groups"] == [] and me["personal_group_id"] == reader["group_id"]


def test_a_completed_job_gives_its_result_id_and_links(stack, lab_user):
    api = Api(stack.url, lab_user["token"])
    set_id = api.ok("POST", "/sample_sets", 201, json={"kind": "generic", "fields": {"name": "job links"},
                                                        "group_id": lab_user["group_id"]})["id"]
    sample = api.ok("POST", f"/sample_sets/{set_id}/samples", 201, json={"filename": COLON.name})
    with COLON.open("rb") as handle:
        api.ok("PUT", f"/samples/{sample['id']}/file", 200, data=handle,
               headers={"Content-Type": "application/octet-stream"})
    config_id = default_config(api.ok("GET", "/configs", 200))["id"]
    job = api.ok("POST", "/jobs", 201, json={"sample_id": sample["id"], "sample_set_id": set_id,
                                              "config_id": config_id})
    assert job.get("result_id") is None

    deadline = time.monotonic() + 300
    while job["state"] in ("PENDING", "QUEUED", "RUNNING"):
        assert time.monotonic() < deadline, job
        assert job.get("result_id") is None
        time.sleep(1)
        job = api.ok("GET", f"/jobs/{job['id']}", 200)
    assert job["state"] == "COMPLETED", job

    results = api.ok("GET", f"/sample_sets/{set_id}/analysis_results", 200, params={"sample_id": sample["id"]})
    assert job["result_id"] == next(r["id"] for r in results if r["job_id"] == job["id"])
    links = job["links"]
    assert links["result"] == f"/api/v1/analysis_results/{job['result_id']}"
    assert links["fused"] == f"/api/v1/sample_sets/{set_id}/results/{config_id}"
    assert links["page"] == f"/sets/{set_id}/results/{config_id}"
    assert api.ok("GET", links["result"].removeprefix("/api/v1"), 200)["job_id"] == job["id"]
    for what in ("vidjil", "airr", "log"):
        download = api.get(links[what].removeprefix("/api/v1"))
        assert download.status_code == 200 and download.content, what
    assert download.text  # the log
    # the set's job list stays as it was (no extra RPC per job)
    listed = api.ok("GET", "/jobs", 200, params={"sample_set_id": set_id})
    assert listed[0]["id"] == job["id"]
