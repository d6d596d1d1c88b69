"""A small Python client of the RepSeq REST API (``/api/v1``), used by the ``repseq`` commands ``login``,
``sets``, ``create-set``, ``upload``, ``run``, ``results`` and ``demo``, and usable from scripts::

    from repseq.client import Client
    client = Client("http://127.0.0.1:8080", token="rsq_...")        # or Client.from_saved()
    patient = client.create_set("patient", {"first_name": "Ada", "last_name": "Lovelace"}, group_id=5)
    sample = client.upload(patient["id"], "d1.fastq", sampling_date="2024-01-05")
    client.run(patient["id"], config="multi")
    client.wait(patient["id"], config_id)
    table = client.clones(patient["id"], config_id, top=20)

Errors of the API are raised as :class:`ApiError` (status, code, message, details). Uploads stream the file from
disk (never read whole into memory). Credentials saved by ``repseq login`` live in ``~/.config/repseq/client.json``
(mode 600; ``REPSEQ_CLIENT_CONFIG`` overrides the path): ``{"url", "token", "email"}``.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path
from typing import Any, BinaryIO, Iterable

import requests
import requests.adapters
from urllib3.util.retry import Retry

ACTIVE_STATES = ("PENDING", "QUEUED", "RUNNING")
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")


class ApiError(Exception):
    """An error answer of the API: ``status`` (HTTP), ``code``, ``message``, ``details``."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        self.status, self.code, self.message, self.details = status, code, message, details or {}
        super().__init__(f"{status} {code}: {message}")


class UploadInterrupted(OSError):
    """An upload that the network cut even after retries (the message says what became of the sample)."""


#: Answers after which an upload is sent again (the gateway or a proxy in front of it was briefly unavailable).
RETRY_STATUSES = (502, 503, 504)


def config_path() -> Path:
    """Where ``repseq login`` saves the URL and API token."""
    override = os.environ.get("REPSEQ_CLIENT_CONFIG")
    if override:
        return Path(override)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "repseq" / "client.json"


def save_credentials(url: str, token: str, email: str) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"url": url, "token": token, "email": email}, handle)
    return path


def load_credentials() -> dict[str, str]:
    path = config_path()
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ApiError(401, "not_logged_in", f"no saved credentials in {path}: run `repseq login` first") from None


class _CountingReader:
    """File wrapper that reports progress to ``callback(bytes_sent, total)`` while requests streams it."""

    def __init__(self, handle: BinaryIO, total: int, callback=None):
        self.handle, self.total, self.sent, self.callback = handle, total, 0, callback

    def __len__(self) -> int:
        return self.total

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size if size and size > 0 else 1024 * 1024)
        self.sent += len(data)
        if self.callback:
            self.callback(self.sent, self.total)
        return data


class Client:
    """One user's connection to a RepSeq gateway (API token, or a cookie session after :meth:`login`)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 60.0):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        # the server may close an idle keep-alive connection just as a poll reuses it: retry reads, never writes
        retry = Retry(total=3, connect=3, read=2, status=0, backoff_factor=0.2,
                      allowed_methods=frozenset({"GET", "HEAD"}), raise_on_status=False)
        adapter = requests.adapters.HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.timeout = timeout
        self.csrf_token: str | None = None
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @classmethod
    def from_saved(cls, url: str | None = None) -> "Client":
        saved = load_credentials()
        return cls(url or saved["url"], saved["token"])

    # -- plumbing ------------------------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json_body: Any = None, params: dict | None = None,
                data: Any = None, headers: dict | None = None, stream: bool = False,
                timeout: float | None = None) -> requests.Response:
        """Send a request to ``/api/v1{path}``; raise :class:`ApiError` on an error answer."""
        headers = dict(headers or {})
        if self.csrf_token and method.upper() not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf_token
        response = self.session.request(method, f"{self.url}/api/v1{path}", json=json_body, params=params,
                                        data=data, headers=headers, stream=stream,
                                        timeout=timeout or self.timeout)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "http_error", "message": response.text[:300] or response.reason}
            raise ApiError(response.status_code, error.get("code", "error"), error.get("message", ""),
                           error.get("details"))
        return response

    def get(self, path: str, **params) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json_body=body if body is not None else {}).json()

    # -- auth ----------------------------------------------------------------------------------------------------
    def init_admin(self, email: str, password: str) -> dict:
        return self.post("/auth/init", {"email": email, "password": password})

    def login(self, email: str, password: str) -> dict:
        """Open a cookie session (keeps the CSRF token for later unsafe calls)."""
        answer = self.post("/auth/login", {"email": email, "password": password})
        self.csrf_token = answer["csrf_token"]
        return answer

    def logout(self) -> None:
        self.post("/auth/logout")
        self.csrf_token = None

    def create_token(self, name: str) -> str:
        return self.post("/auth/tokens", {"name": name})["token"]

    def me(self) -> dict:
        return self.get("/auth/me")

    def creation_groups(self) -> list[dict]:
        """Groups in which the caller may create sets, best first: ``[{"id", "name", "kind", "personal", ...}]``
        (``create_groups`` of ``GET /auth/me``; derived from the memberships for a gateway older than that)."""
        principal = self.me()
        if "create_groups" in principal:
            return principal["create_groups"]
        memberships = principal.get("memberships") or [g for g in principal.get("groups", []) if isinstance(g, dict)]
        names = {m["id"]: m.get("name", "") for m in memberships}
        found: dict[int, str] = {}
        for membership in memberships:
            if principal.get("is_admin") or "create" in membership.get("capabilities", []):
                group_id = membership.get("parent_id") or membership["id"]
                found.setdefault(group_id, names.get(group_id, str(group_id)))
        return [{"id": i, "name": n} for i, n in sorted(found.items(), key=lambda item: (
            item[1] == "public", item[1].startswith("user_"), item[1]))]

    # -- sets and samples ----------------------------------------------------------------------------------------
    def list_sets(self, kind: str | None = None, search: str = "", page: int = 1, per_page: int = 50) -> dict:
        return self.get("/sample_sets", kind=kind, search=search or None, page=page, per_page=per_page)

    def create_set(self, kind: str, fields: dict, group_id: int | None = None) -> dict:
        if group_id is None:
            groups = self.creation_groups()
            if not groups:
                raise ApiError(403, "permission_denied", "you may not create sample sets in any group")
            group_id = groups[0]["id"]
        return self.post("/sample_sets", {"kind": kind, "fields": fields, "group_id": group_id})

    def get_set(self, sample_set_id: int) -> dict:
        return self.get(f"/sample_sets/{sample_set_id}")

    def upload(self, sample_set_id: int, path: str | Path, sampling_date: str | None = None, info: str = "",
               progress=None) -> dict:
        """Create a sample in the set and stream ``path`` to it; returns the sample after the upload check.

        Interrupted transfers are retried into the same sample (:meth:`upload_file`). If the file still cannot be
        stored (refused content such as an empty file or a truncated .gz, a network failure, Ctrl-C), the sample
        just created is deleted so that no sample without a file is left behind, and the error is raised with a
        note saying so (:class:`ApiError`, or :class:`UploadInterrupted` for a network failure). When the
        deletion itself is refused (no ``admin`` right on the set), the note gives the sample id to upload into
        again (``repseq upload --sample ID FILE``)."""
        path = Path(path)
        if not path.is_file():  # before creating anything
            raise FileNotFoundError(f"{path}: no such file")
        body: dict[str, Any] = {"filename": path.name, "info": info}
        if sampling_date:
            body["sampling_date"] = sampling_date
        sample = self.post(f"/sample_sets/{sample_set_id}/samples", body)
        try:
            return self.upload_file(sample["id"], path, progress)
        except BaseException as error:
            note = self._remove_sample_without_file(sample["id"])
            if isinstance(error, ApiError):
                raise ApiError(error.status, error.code, f"{error.message} ({note})", error.details) from error
            if isinstance(error, Exception):
                raise UploadInterrupted(f"{path.name}: {error} ({note})") from error
            raise  # KeyboardInterrupt, SystemExit: the sample is already removed

    def _remove_sample_without_file(self, sample_id: int) -> str:
        """Delete a sample whose file could not be uploaded; a note saying what became of it."""
        try:
            self.request("DELETE", f"/samples/{sample_id}", params={"with_results": "true", "confirm": "true"})
        except (ApiError, requests.RequestException) as failure:
            reason = failure.message if isinstance(failure, ApiError) else type(failure).__name__
            return (f"sample {sample_id} was kept without a file ({reason}): upload into it again with "
                    f"`repseq upload --sample {sample_id} FILE`, or delete it")
        return f"sample {sample_id}, created for this file, was removed"

    def upload_file(self, sample_id: int, path: str | Path, progress=None, attempts: int = 3) -> dict:
        """(Re-)upload the file of an existing sample (streamed from disk). A transfer cut by the network
        (connection reset, gateway 502/503/504) is sent again from the start, up to ``attempts`` times in all,
        1 s then 2 s apart; refused content (4xx) is raised at once."""
        for attempt in range(1, attempts + 1):
            try:
                return self._put_file(sample_id, path, progress)
            except ApiError as error:
                if error.status not in RETRY_STATUSES or attempt == attempts:
                    raise
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                if attempt == attempts:
                    raise
            time.sleep(float(attempt))
        raise AssertionError("unreachable")

    def _put_file(self, sample_id: int, path: str | Path, progress=None) -> dict:
        path = Path(path)
        size = path.stat().st_size
        with path.open("rb") as handle:
            reader = _CountingReader(handle, size, progress)
            return self.request("PUT", f"/samples/{sample_id}/file",
                                params={"filename": path.name}, data=reader,
                                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
                                timeout=max(self.timeout, 3600)).json()

    # -- configs, jobs, results ----------------------------------------------------------------------------------
    def configs(self) -> list[dict]:
        return self.get("/configs")

    def config_id(self, name_or_id: str | int | None) -> int:
        """The id of a configuration given by id or name (default: :func:`default_config`)."""
        configs = self.configs()
        if not configs:
            raise ApiError(404, "not_found", "no analysis configuration is available to you")
        if name_or_id is None or name_or_id == "":
            return default_config(configs)["id"]
        text = str(name_or_id)
        for config in configs:
            if str(config["id"]) == text or config["name"] == text:
                return config["id"]
        names = ", ".join(c["name"] for c in configs)
        raise ApiError(404, "not_found", f"no configuration {text!r} (available: {names})")

    def run(self, sample_set_id: int, config_id: int, sample_ids: Iterable[int] | None = None) -> dict:
        body: dict[str, Any] = {"config_id": config_id}
        if sample_ids is not None:
            body["sample_ids"] = list(sample_ids)
        return self.post(f"/sample_sets/{sample_set_id}/jobs", body)

    def jobs(self, sample_set_id: int) -> list[dict]:
        return self.get("/jobs", sample_set_id=sample_set_id)

    def wait(self, sample_set_id: int, config_id: int, timeout: float = 1800, interval: float = 2.0,
             on_change=None) -> list[dict]:
        """Wait until no job of the set with this config is active; return the latest job per sample.
        Raises TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        last: dict[int, str] = {}
        while True:
            latest: dict[int, dict] = {}
            for job in self.jobs(sample_set_id):
                if job.get("config_id") == config_id and job.get("kind", "analysis") == "analysis":
                    if job["sample_id"] not in latest or job["id"] > latest[job["sample_id"]]["id"]:
                        latest[job["sample_id"]] = job
            states = {sample_id: job["state"] for sample_id, job in latest.items()}
            if on_change and states != last:
                on_change(latest)
            last = states
            if latest and not any(state in ACTIVE_STATES for state in states.values()):
                return list(latest.values())
            if time.monotonic() > deadline:
                raise TimeoutError(f"jobs still active after {timeout:.0f} s: {states}")
            time.sleep(interval)

    def wait_fused(self, sample_set_id: int, config_id: int, samples: int, timeout: float = 300) -> dict:
        """Wait until the set's fused result holds ``samples`` samples (fuse rebuilds after each analysis)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                fused = self.fused(sample_set_id, config_id)
                if (fused.get("samples") or {}).get("number", 0) >= samples:
                    return fused
            except ApiError as error:
                if error.status != 404:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"fused result of set {sample_set_id} not complete after {timeout:.0f} s")
            time.sleep(1.0)

    def wait_fused_jobs(self, sample_set_id: int, config_id: int, jobs: list[dict], timeout: float = 120) -> dict:
        """Wait until the set's fused result holds the results of ``jobs`` (completed analyses): the fuse service
        rebuilds it after each ``analysis.completed``, a moment after the job shows COMPLETED. Returns the fused
        document; raises TimeoutError."""
        job_ids = {job["id"] for job in jobs if job.get("state") == "COMPLETED"}
        results = self.get(f"/sample_sets/{sample_set_id}/analysis_results", config_id=config_id)
        wanted = {r["id"] for r in results if r.get("job_id") in job_ids}
        deadline = time.monotonic() + timeout
        while True:
            try:
                fused = self.fused(sample_set_id, config_id)
                if wanted <= set((fused.get("fused") or {}).get("result_ids") or []):
                    return fused
            except ApiError as error:
                if error.status != 404:
                    raise
            if time.monotonic() > deadline:
                raise TimeoutError(f"the fused result of set {sample_set_id} does not hold the new results after "
                                   f"{timeout:.0f} s")
            time.sleep(0.3)

    def fused(self, sample_set_id: int, config_id: int) -> dict:
        return self.get(f"/sample_sets/{sample_set_id}/results/{config_id}")

    def clones(self, sample_set_id: int, config_id: int, top: int = 50) -> dict:
        return self.get(f"/sample_sets/{sample_set_id}/results/{config_id}/clones", top=top)

    def export(self, sample_set_id: int, config_id: int, what: str, top: int | None = None) -> bytes:
        """``what``: clones.tsv, clones.airr.tsv, plot.svg, or "" for the fused .vidjil JSON."""
        suffix = f"/{what}" if what else ""
        params = {"top": top} if top else None
        return self.request("GET", f"/sample_sets/{sample_set_id}/results/{config_id}{suffix}",
                            params=params).content


def default_config(configs: list[dict]) -> dict:
    """The configuration used when none is named: the first running the analysis program on all loci
    ("multi-locus"), else the first running it, else the first."""
    for wanted in (lambda c: c.get("program") == "vdj" and c.get("classification") == "multi-locus",
                   lambda c: c.get("program") == "vdj", lambda c: True):
        for config in configs:
            if wanted(config):
                return config
    raise ApiError(404, "not_found", "no analysis configuration is available to you")


def page_url(base_url: str, sample_set_id: int, config_id: int | None = None) -> str:
    """Browser URL of a set's results page (or of the set page without a config)."""
    if config_id is None:
        return f"{base_url.rstrip('/')}/sets/{sample_set_id}"
    return f"{base_url.rstrip('/')}/sets/{sample_set_id}/results/{config_id}"


def quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")
