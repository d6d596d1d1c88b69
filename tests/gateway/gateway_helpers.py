"""Helpers of the gateway and browser tests: HTTP sessions against the running gateway, and accounts made
through the REST API (the first administrator through ``POST /api/v1/auth/init`` when the test platform is
fresh, else directly in the auth database as ``repseq admin`` does)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import requests

PASSWORD = "Gateway-Lamp-Harbour-58"
ALL_CAPABILITIES = ["read", "create", "upload", "run", "save", "admin", "anon"]
DATA = Path(__file__).resolve().parents[1] / "data"
SPLEEN = DATA / "real" / "immunedb-d1_spl.fastq"
COLON = DATA / "real" / "immunedb-d1_colon.fastq"


class Api:
    """A requests session on ``/api/v1`` that raises nothing: tests look at status codes themselves."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.csrf: str | None = None
        if token:
            self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if self.csrf and method.upper() not in ("GET", "HEAD"):
            headers.setdefault("X-CSRF-Token", self.csrf)
        url = path if path.startswith("http") else f"{self.base}/api/v1{path}"
        return self.http.request(method, url, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def put(self, path, **kwargs):
        return self.call("PUT", path, **kwargs)

    def ok(self, method: str, path: str, status: int | tuple = (200, 201), **kwargs):
        """The JSON answer; AssertionError naming the error otherwise."""
        response = self.call(method, path, **kwargs)
        expected = status if isinstance(status, tuple) else (status,)
        assert response.status_code in expected, f"{method} {path} -> {response.status_code}: {response.text[:500]}"
        return response.json()

    def login(self, email: str, password: str) -> dict:
        answer = self.ok("POST", "/auth/login", 200, json={"email": email, "password": password})
        self.csrf = answer["csrf_token"]
        return answer


def unique_email(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@lab.example.org"


def make_admin(stack) -> dict:
    """``{"email", "password", "initialized_here"}`` of an administrator."""
    email, api = unique_email("gw-admin"), Api(stack.url)
    response = api.post("/auth/init", json={"email": email, "password": PASSWORD})
    if response.status_code == 201:
        return {"email": email, "password": PASSWORD, "initialized_here": True}
    assert response.status_code == 409, response.text
    from services.auth import accounts
    from services.common.db import session_scope

    with session_scope(stack.settings, "auth") as db:
        accounts.create_user(db, stack.settings, lambda event, data: None, None, email, PASSWORD, "Gate", "Admin",
                             admin=True)
    return {"email": email, "password": PASSWORD, "initialized_here": False}


def make_lab_user(stack, admin: dict, capabilities=ALL_CAPABILITIES) -> dict:
    """A user created by the administrator through the API, with ``capabilities`` on its personal group:
    ``{"id", "email", "password", "group_id", "token"}`` (``token``: an API token of the user)."""
    api = Api(stack.url)
    api.login(admin["email"], admin["password"])
    email = unique_email("lab")
    user = api.ok("POST", "/users", 201, json={"email": email, "password": PASSWORD, "first_name": "Lab",
                                                "last_name": "User"})
    api.ok("PUT", f"/groups/{user['personal_group_id']}/capabilities", 200, json={"capabilities": capabilities})
    own = Api(stack.url)
    own.login(email, PASSWORD)
    token = own.ok("POST", "/auth/tokens", 201, json={"name": "gateway tests"})["token"]
    return {"id": user["id"], "email": email, "password": PASSWORD, "group_id": user["personal_group_id"],
            "token": token}


def wait_jobs(api: Api, sample_set_id: int, config_id: int, count: int, timeout: float = 300) -> list[dict]:
    """Wait until ``count`` analysis jobs of the set/config are final; return them (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    jobs: list[dict] = []
    while time.monotonic() < deadline:
        jobs = [j for j in api.ok("GET", "/jobs", 200, params={"sample_set_id": sample_set_id})
                if j["config_id"] == config_id]
        if len(jobs) >= count and all(j["state"] in ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT") for j in jobs):
            return jobs
        time.sleep(1)
    raise AssertionError(f"jobs not finished after {timeout} s: {[(j['id'], j['state']) for j in jobs]}")


def wait_fused(api: Api, sample_set_id: int, config_id: int, samples: int, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = api.get(f"/sample_sets/{sample_set_id}/results/{config_id}")
        if last.status_code == 200 and last.json().get("samples", {}).get("number", 0) >= samples:
            return last.json()
        time.sleep(1)
    raise AssertionError(f"no fused result with {samples} samples: {last.status_code if last else None} "
                         f"{last.text[:300] if last is not None else ''}")
