"""The milestone path through the REST API, against the running stack (auth, samples, jobs + worker, fuse, S3):
first administrator, login with cookie session and CSRF, API tokens, create a patient, upload a real FASTQ
(streamed to S3), launch the analysis, follow the job, read the fused clone table."""

from __future__ import annotations

import hashlib
import http.client
import json

import pytest

from gateway_helpers import PASSWORD, SPLEEN, Api, make_lab_user, unique_email, wait_fused, wait_jobs
from repseq.client import default_config

#: The largest clone of the ImmuneDB spleen sample (51 of 1,468 reads): IGHV4-34, CDR3 AKMGPNLDY.
TOP_CLONE_CDR3 = "AKMGPNLDY"


def test_login_sets_session_and_csrf_cookies_and_logout_ends_the_session(stack, gateway_admin):
    api = Api(stack.url)
    answer = api.login(gateway_admin["email"], gateway_admin["password"])
    assert answer["user"]["email"] == gateway_admin["email"]
    cookies = {c.name: c for c in api.http.cookies}
    assert cookies["repseq_session"].has_nonstandard_attr("HttpOnly")
    assert cookies["repseq_csrf"].value == answer["csrf_token"]
    me = api.ok("GET", "/auth/me", 200)
    assert me["email"] == gateway_admin["email"] and me["is_admin"] is True
    assert api.ok("POST", "/auth/logout", 200)["logged_out"] is True
    assert api.get("/auth/me").status_code == 401


def test_wrong_password_is_401_without_saying_why(stack, gateway_admin):
    response = Api(stack.url).post("/auth/login", json={"email": gateway_admin["email"], "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("authentication_failed", "unauthenticated")


def test_init_is_refused_once_a_user_exists(stack, gateway_admin):
    response = Api(stack.url).post("/auth/init", json={"email": unique_email("late"), "password": PASSWORD})
    assert response.status_code == 409
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_cookie_session_needs_the_csrf_token_on_unsafe_requests(stack, lab_user):
    api = Api(stack.url)
    api.login(lab_user["email"], lab_user["password"])
    body = {"kind": "generic", "fields": {"name": "csrf check"}, "group_id": lab_user["group_id"]}
    refused = api.call("POST", "/sample_sets", json=body, headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]["message"]
    api.csrf = None
    assert api.post("/sample_sets", json=body).status_code == 403
    other_origin = api.call("POST", "/sample_sets", json=body, headers={
        "X-CSRF-Token": api.http.cookies["repseq_csrf"], "Origin": "http://evil.example"})
    assert other_origin.status_code == 403
    api.csrf = api.http.cookies["repseq_csrf"]
    assert api.post("/sample_sets", json=body).status_code == 201


def test_api_token_authenticates_and_a_wrong_one_is_401(stack, lab_user):
    assert Api(stack.url, lab_user["token"]).ok("GET", "/auth/me", 200)["email"] == lab_user["email"]
    assert Api(stack.url, "rsq_not-a-token").get("/auth/me").status_code == 401
    tokens = Api(stack.url, lab_user["token"]).ok("GET", "/auth/tokens", 200)
    assert tokens and all("token" not in t for t in tokens)


@pytest.fixture(scope="module")
def patient(stack, lab_user):
    api = Api(stack.url, lab_user["token"])
    return api.ok("POST", "/sample_sets", 201, json={
        "kind": "patient", "group_id": lab_user["group_id"],
        "fields": {"first_name": "Ada", "last_name": "Milestone", "birth_date": "1970-05-04", "label": "MS-1",
                   "info": "gateway milestone #mrd"}})


@pytest.fixture(scope="module")
def uploaded(stack, lab_user, patient):
    api = Api(stack.url, lab_user["token"])
    sample = api.ok("POST", f"/sample_sets/{patient['id']}/samples", 201,
                    json={"filename": SPLEEN.name, "sampling_date": "2024-01-10", "info": "spleen #diagnosis"})
    with SPLEEN.open("rb") as handle:
        stored = api.ok("PUT", f"/samples/{sample['id']}/file", 200, data=handle,
                        params={"filename": SPLEEN.name}, headers={"Content-Type": "application/octet-stream"})
    return stored


def test_upload_streams_the_real_fastq_to_storage(stack, lab_user, uploaded):
    data = SPLEEN.read_bytes()
    assert uploaded["status"] == "ready"
    assert uploaded["size"] == len(data)
    assert uploaded["sha256"] == hashlib.sha256(data).hexdigest()
    download = Api(stack.url, lab_user["token"]).get(f"/samples/{uploaded['id']}/file")
    assert download.status_code == 200 and download.content == data
    assert SPLEEN.name in download.headers["Content-Disposition"]


def test_patient_is_listed_and_found_by_search_and_tag(stack, lab_user, patient, uploaded):
    api = Api(stack.url, lab_user["token"])
    found = api.ok("GET", "/sample_sets", 200, params={"kind": "patient", "search": "#mrd MS-1"})
    assert [s["id"] for s in found["items"]] == [patient["id"]]
    assert found["items"][0]["sample_count"] == 1
    assert api.ok("GET", "/sample_sets", 200, params={"search": "#nosuchtag"})["items"] == []
    full = api.ok("GET", f"/sample_sets/{patient['id']}", 200)
    assert [s["id"] for s in full["samples"]] == [uploaded["id"]]


def test_body_larger_than_the_limit_is_413_before_anything_is_stored(stack, lab_user, patient):
    api = Api(stack.url, lab_user["token"])
    sample = api.ok("POST", f"/sample_sets/{patient['id']}/samples", 201, json={"filename": "huge.fastq"})
    # announce 1 TB and send a few bytes: the gateway must answer from the header alone
    host, port = stack.url.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("PUT", f"/api/v1/samples/{sample['id']}/file")
    connection.putheader("Authorization", f"Bearer {lab_user['token']}")
    connection.putheader("Content-Type", "application/octet-stream")
    connection.putheader("Content-Length", str(10**12))
    connection.endheaders(b"@r\nACGT\n+\nIIII\n")
    response = connection.getresponse()
    assert response.status == 413
    assert json.loads(response.read())["error"]["code"] == "too_large"
    connection.close()
    assert api.ok("GET", f"/samples/{sample['id']}", 200)["status"] == "awaiting_upload"


def test_content_that_is_not_fasta_or_fastq_is_refused_and_can_be_retried(stack, lab_user, patient):
    api = Api(stack.url, lab_user["token"])
    sample = api.ok("POST", f"/sample_sets/{patient['id']}/samples", 201, json={"filename": "bad.fastq"})
    bad = api.put(f"/samples/{sample['id']}/file", data=b"this is not a sequence file\n" * 10,
                  headers={"Content-Type": "application/octet-stream"})
    assert bad.status_code == 400, bad.text
    assert bad.json()["error"]["message"]
    good = api.put(f"/samples/{sample['id']}/file", data=b"@read1\nACGTACGTAC\n+\nIIIIIIIIII\n",
                   headers={"Content-Type": "application/octet-stream"})
    assert good.status_code == 200, good.text
    assert good.json()["status"] == "ready"


def test_another_user_cannot_see_or_upload_to_the_patient(stack, gateway_admin, patient):
    stranger = Api(stack.url, make_lab_user(stack, gateway_admin)["token"])
    assert stranger.get(f"/sample_sets/{patient['id']}").status_code == 404
    refused = stranger.post(f"/sample_sets/{patient['id']}/samples", json={"filename": "x.fastq"})
    assert refused.status_code in (403, 404)
    assert set(refused.json()["error"]) == {"code", "message", "details"}


def test_launch_follow_and_read_the_clone_table(stack, lab_user, patient, uploaded):
    api = Api(stack.url, lab_user["token"])
    config_id = default_config(api.ok("GET", "/configs", 200))["id"]
    job = api.ok("POST", "/jobs", 201, json={"sample_id": uploaded["id"], "sample_set_id": patient["id"],
                                              "config_id": config_id})
    assert job["state"] in ("QUEUED", "PENDING", "RUNNING")
    assert api.ok("GET", f"/jobs/{job['id']}", 200)["id"] == job["id"]
    duplicate = api.post("/jobs", json={"sample_id": uploaded["id"], "sample_set_id": patient["id"],
                                        "config_id": config_id})
    assert duplicate.status_code in (201, 409)
    jobs = wait_jobs(api, patient["id"], config_id, 1, timeout=300)
    assert all(j["state"] == "COMPLETED" for j in jobs), [(j["state"], j.get("reason")) for j in jobs]
    wait_fused(api, patient["id"], config_id, 1)
    table = api.ok("GET", f"/sample_sets/{patient['id']}/results/{config_id}/clones", 200, params={"top": 10})
    top = table["clones"][0]
    assert top["cdr3_aa"] == TOP_CLONE_CDR3, top
    assert top["v"].startswith("IGHV4-34") and top["j"].startswith("IGHJ4") and top["locus"] == "IGH"
    assert top["reads"][0] >= 40 and 0.02 < top["shares"][0] < 0.05
    qc = api.ok("GET", f"/sample_sets/{patient['id']}/results/{config_id}/qc", 200)
    assert qc[0]["total_reads"] == 1468 and qc[0]["loci"].get("IGH")
    tsv = api.get(f"/sample_sets/{patient['id']}/results/{config_id}/clones.tsv")
    assert tsv.status_code == 200 and TOP_CLONE_CDR3 in tsv.text.splitlines()[1]
    airr = api.get(f"/sample_sets/{patient['id']}/results/{config_id}/clones.airr.tsv")
    assert airr.status_code == 200 and airr.text.startswith("sequence_id\t")
    svg = api.get(f"/sample_sets/{patient['id']}/results/{config_id}/plot.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/sample_sets/999999999", None, 404),
    ("GET", "/jobs/999999999", None, 404),
    ("POST", "/sample_sets", {"kind": "alien", "fields": {}, "group_id": 1}, 422),
    ("POST", "/sample_sets", {"kind": "patient", "fields": {"first_name": "A"}, "group_id": 1}, (400, 403)),
    ("GET", "/sample_sets?per_page=0", None, 422),
])
def test_errors_have_one_shape_and_the_right_status(stack, lab_user, method, path, body, status):
    response = Api(stack.url, lab_user["token"]).call(method, path, json=body)
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(response.json()["error"]) == {"code", "message", "details"}
