"""Samples through the gateway (real HTTP, real auth sessions/API tokens, real S3): a real FASTQ.gz uploaded and
read back byte-identical, hostile files refused with their own error, and the permission of every samples route
for each role (read, upload, admin, anon, stranger, forged ids, no credentials)."""

from __future__ import annotations

import secrets

import pytest
import requests

import services.auth.exceptions  # noqa: F401  (auth errors arrive over RPC as their own classes)
from samples_helpers import REAL_FASTQ_GZ

PASSWORD = "Blue-Harbour-Lamp-73"
API = "/api/v1"


class Client:
    """An HTTP client of the test gateway authenticated with a user's API token."""

    def __init__(self, base: str, token: str | None):
        self.base = base + API
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.base + path, headers={**self.headers, **kwargs.pop("headers", {})},
                                timeout=120, **kwargs)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.fixture(scope="module")
def people(stack, rpc, settings):
    """owner (personal group: every right but run), tech (group techs: read/upload/admin, no anon), reader (group
    readers: read), stranger (only a personal group) as API-token clients; ``groups`` their group ids."""
    from services.auth import accounts
    from services.common.db import session_scope

    tag = secrets.token_hex(3)
    with session_scope(settings, "auth") as db:
        accounts.create_user(db, settings, lambda event, data: None, None, f"admin-{tag}@lab.org", PASSWORD,
                             "Ada", "Admin", admin=True)
    admin = rpc.auth.login(f"admin-{tag}@lab.org", PASSWORD, "10.9.0.1", "pytest")["principal"]
    clients, users = {}, {}
    for role in ("owner", "tech", "reader", "stranger"):
        email = f"{role}-{tag}@lab.org"
        users[role] = rpc.auth.create_user(admin, email, PASSWORD, role.title(), "Tester")
        principal = rpc.auth.login(email, PASSWORD, "10.9.0.2", "pytest")["principal"]
        token = rpc.auth.create_api_token(principal, "samples tests")["token"]
        clients[role] = Client(stack.url, token)
    techs = rpc.auth.create_group(admin, f"techs-{tag}", None, ["read", "upload", "admin"])
    readers = rpc.auth.create_group(admin, f"readers-{tag}", None, ["read"])
    rpc.auth.add_member(admin, techs["id"], users["tech"]["id"])
    rpc.auth.add_member(admin, readers["id"], users["reader"]["id"])
    clients["nobody"] = Client(stack.url, None)
    groups = {"owner": users["owner"]["personal_group_id"], "techs": techs["id"], "readers": readers["id"]}
    return clients, groups


@pytest.fixture(scope="module")
def patient(people):
    clients, groups = people
    owner = clients["owner"]
    answer = owner.post("/sample_sets", json={"kind": "patient", "group_id": groups["owner"], "fields": {
        "first_name": "Jeanne", "last_name": "Martin", "birth_date": "1950-01-15", "info": "#gateway"}})
    assert answer.status_code == 201, answer.text
    set_id = answer.json()["id"]
    for group in ("techs", "readers"):
        shared = owner.post(f"/sample_sets/{set_id}/groups", json={"group_id": groups[group]})
        assert shared.status_code == 201, shared.text
    return answer.json()


def upload(client: Client, set_id: int, name: str, body) -> tuple[requests.Response, int | None]:
    created = client.post(f"/sample_sets/{set_id}/samples", json={"filename": name})
    if created.status_code != 201:
        return created, None
    sample_id = created.json()["id"]
    return client.put(f"/samples/{sample_id}/file", data=body), sample_id


def test_real_fastq_gz_through_the_gateway_reads_back_identical(people, patient):
    clients, _ = people
    with open(REAL_FASTQ_GZ, "rb") as handle:
        answer, sample_id = upload(clients["tech"], patient["id"], "spleen d1.fastq.gz", handle)
    assert answer.status_code == 200, answer.text
    sample = answer.json()
    assert sample["status"] == "ready" and sample["size"] == REAL_FASTQ_GZ.stat().st_size
    assert sample["filename"] == "spleen_d1.fastq.gz" and sample["original_filename"] == "spleen d1.fastq.gz"
    download = clients["reader"].get(f"/samples/{sample_id}/file")
    assert download.status_code == 200 and download.content == REAL_FASTQ_GZ.read_bytes()
    shown = clients["tech"].get(f"/sample_sets/{patient['id']}").json()
    assert shown["name"] == "Mar" and shown["first_name"] is None and "Jeanne" not in str(shown)
    assert clients["owner"].get(f"/sample_sets/{patient['id']}").json()["name"] == "Martin Jeanne"
    actions = [e["action"] for e in clients["reader"].get(f"/sample_sets/{patient['id']}/audit").json()["items"]]
    assert actions[:3] == ["download", "upload", "create_sample"]


@pytest.mark.parametrize("name, body, code", [
    ("cut.fastq.gz", REAL_FASTQ_GZ.read_bytes()[:100_000], "corrupt_gzip"),
    ("plain.fastq.gz", b"@r\nACGT\n+\nIIII\n", "not_gzip"),
    ("photo.fastq", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 10, "binary_file"),
    ("bad.fastq", b"@r\nACGT\n+\nII\n", "sequence_syntax_error"),
    ("prose.fa", b">r1\nTHIS IS NOT DNA\n", "invalid_bases"),
])
def test_hostile_uploads_get_their_error(people, patient, name, body, code):
    clients, _ = people
    answer, _ = upload(clients["owner"], patient["id"], name, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code


def test_unaccepted_type_is_refused_before_any_byte(people, patient):
    clients, _ = people
    answer = clients["owner"].post(f"/sample_sets/{patient['id']}/samples", json={"filename": "report.docx"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "unsupported_file_type"


def test_permissions_of_every_samples_route(people, patient):
    clients, groups = people
    owner, tech, reader, stranger, nobody = (clients[k] for k in ("owner", "tech", "reader", "stranger", "nobody"))
    set_id = patient["id"]
    answer, sample_id = upload(owner, set_id, "p.fastq", b"@r\nACGT\n+\nIIII\n")
    assert answer.status_code == 200, answer.text
    forged = 2_000_000_000

    def status(client, method, path, **kw):
        return client.request(method, path, **kw).status_code

    # read
    assert status(reader, "GET", f"/sample_sets/{set_id}") == 200
    assert status(stranger, "GET", f"/sample_sets/{set_id}") == 404
    assert status(stranger, "GET", f"/sample_sets/{forged}") == 404
    assert status(nobody, "GET", f"/sample_sets/{set_id}") == 401
    assert set_id not in [i["id"] for i in stranger.get("/sample_sets").json()["items"]]
    assert set_id in [i["id"] for i in reader.get("/sample_sets").json()["items"]]
    assert status(reader, "GET", f"/samples/{sample_id}") == 200
    assert status(stranger, "GET", f"/samples/{sample_id}") == 404
    assert status(reader, "GET", f"/samples/{sample_id}/file") == 200
    assert status(stranger, "GET", f"/samples/{sample_id}/file") == 404
    assert status(nobody, "GET", f"/samples/{sample_id}/file") == 401
    assert status(reader, "GET", f"/sample_sets/{set_id}/audit") == 200
    assert status(stranger, "GET", f"/sample_sets/{set_id}/audit") == 404
    # upload
    new = {"json": {"filename": "x.fastq"}}
    assert status(reader, "POST", f"/sample_sets/{set_id}/samples", **new) == 403
    assert status(stranger, "POST", f"/sample_sets/{set_id}/samples", **new) == 404
    assert status(stranger, "POST", f"/sample_sets/{forged}/samples", **new) == 404
    assert status(nobody, "POST", f"/sample_sets/{set_id}/samples", **new) == 401
    assert status(tech, "POST", f"/sample_sets/{set_id}/samples", **new) == 201
    body = {"data": b"@r\nACGT\n+\nIIII\n"}
    assert status(reader, "PUT", f"/samples/{sample_id}/file", **body) == 403
    assert status(stranger, "PUT", f"/samples/{sample_id}/file", **body) == 404
    assert status(stranger, "PUT", f"/samples/{forged}/file", **body) == 404
    # admin (edit, share, delete)
    edit = {"json": {"fields": {"info": "changed"}}}
    assert status(reader, "PATCH", f"/sample_sets/{set_id}", **edit) == 403
    assert status(stranger, "PATCH", f"/sample_sets/{set_id}", **edit) == 404
    assert status(reader, "POST", f"/sample_sets/{set_id}/groups", json={"group_id": groups["owner"]}) == 403
    assert status(stranger, "POST", f"/sample_sets/{set_id}/groups", json={"group_id": groups["owner"]}) == 404
    assert status(reader, "DELETE", f"/samples/{sample_id}") == 403
    assert status(stranger, "DELETE", f"/samples/{sample_id}") == 404
    assert status(reader, "DELETE", f"/sample_sets/{set_id}") == 403
    assert status(stranger, "DELETE", f"/sample_sets/{set_id}") == 404
    assert status(stranger, "DELETE", f"/sample_sets/{forged}") == 404
    # anon: identity only for the owner's group (anon), never for techs or readers
    for client in (tech, reader):
        shown = client.get(f"/sample_sets/{set_id}").json()
        assert shown["name"] == "Mar" and shown["last_name"] is None and shown["birth_date"] is None
    assert "Martin" not in reader.get("/sample_sets", params={"search": "Martin"}).text
    assert owner.get(f"/sample_sets/{set_id}").json()["last_name"] == "Martin"
    # the raw file is deleted by an admin of the set; metadata stays
    assert status(tech, "DELETE", f"/samples/{sample_id}") == 200
    assert reader.get(f"/samples/{sample_id}").json()["status"] == "raw_deleted"
    assert status(reader, "GET", f"/samples/{sample_id}/file") == 404
