"""``repseq demo``: what a new user sees first. Through the REST API of a running gateway (as any client would):

1. the first administrator is created if the server has no user yet (credentials saved in
   ``$REPSEQ_VAR_DIR/demo.json``, mode 600), otherwise the saved administrator logs in;
2. a demo account ``demo@repseq.local`` is created (its password is saved in the same file);
3. as the demo user: a demo patient (tag ``#demo``) holding the two ImmuneDB donor samples (spleen, colon: real
   human IGH reads, tests/data/real/, MIT licence) is created, both files uploaded, analysed with the default
   configuration, and fused;
4. the URL of the results page and the demo credentials are printed.

Running it again reuses the existing demo patient (its samples are not uploaded twice) and prints the same URL.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
from pathlib import Path

from repseq.client import ApiError, Client, page_url

DEMO_EMAIL = "demo@repseq.local"
ADMIN_EMAIL = "admin@repseq.local"
DEMO_PATIENT = {"first_name": "Demo", "last_name": "Donor-One", "label": "DEMO-D1",
                "info": "ImmuneDB donor 1, spleen and colon (real IGH reads) #demo"}
#: (file, sampling date) of the demo samples, in tests/data/real/.
DEMO_SAMPLES = (("immunedb-d1_spl.fastq", "2024-01-10"), ("immunedb-d1_colon.fastq", "2024-03-12"))


def _say(text: str) -> None:
    print(f"demo: {text}", file=sys.stderr, flush=True)


def _state_file() -> Path:
    from services.common.config import Settings

    return Settings.from_env().var_dir / "demo.json"


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)


def data_dir() -> Path:
    from services.common.config import REPO_ROOT

    return Path(os.environ.get("REPSEQ_DEMO_DATA") or REPO_ROOT / "tests" / "data" / "real")


def ensure_accounts(url: str, state_path: Path) -> dict:
    """Make sure the administrator and the demo account exist; return the saved state (passwords)."""
    state = _load(state_path)
    state.setdefault("admin_email", ADMIN_EMAIL)
    state.setdefault("admin_password", secrets.token_urlsafe(12))
    state.setdefault("demo_email", DEMO_EMAIL)
    state.setdefault("demo_password", "Lab-" + secrets.token_urlsafe(12))
    admin = Client(url)
    try:
        admin.init_admin(state["admin_email"], state["admin_password"])
        _say(f"created the first administrator {state['admin_email']}")
        _save(state_path, state)
    except ApiError as error:
        if error.status != 409:
            raise
    demo = Client(url)
    try:
        demo.login(state["demo_email"], state["demo_password"])
        demo.logout()
        return state
    except ApiError as error:
        if error.status not in (401, 403):
            raise
    try:
        admin.login(state["admin_email"], state["admin_password"])
    except ApiError as error:
        raise ApiError(error.status, error.code,
                       f"the server already has users and the demo administrator of {state_path} cannot log in "
                       f"({error.message}); log in as an administrator and create {state['demo_email']} by hand, "
                       f"or run the demo on a fresh installation") from None
    try:
        admin.post("/users", {"email": state["demo_email"], "password": state["demo_password"],
                              "first_name": "Demo", "last_name": "User"})
        _say(f"created the demo account {state['demo_email']}")
    except ApiError as error:
        if error.status != 409:
            raise
        _say(f"{state['demo_email']} exists with another password: resetting it is an administrator's task")
        raise
    _grant_run(admin, state["demo_email"])
    admin.logout()
    _save(state_path, state)
    return state


def _grant_run(admin: Client, email: str) -> None:
    """Give the demo user's personal group every capability on its own sets (a new account may not run
    analyses by default, as in Vidjil)."""
    users = admin.get("/users")
    user = next((u for u in users if u.get("email") == email), None)
    if not user:
        return
    group_id = user.get("personal_group_id")
    if group_id:
        admin.request("PUT", f"/groups/{group_id}/capabilities", json_body={
            "capabilities": ["read", "create", "upload", "run", "save", "admin", "anon"]})


def find_demo_patient(client: Client) -> dict | None:
    listing = client.list_sets("patient", "#demo DEMO-D1")
    for item in listing.get("items", []):
        if item.get("label") == DEMO_PATIENT["label"]:
            return client.get_set(item["id"])
    return None


def run_demo(url: str | None = None, timeout: float = 900, state_path: str | Path | None = None) -> int:
    """Build the demo (see module docstring); print URL and credentials. Returns the exit code.

    ``state_path``: where the demo administrator's and demo user's passwords are kept (default
    ``$REPSEQ_VAR_DIR/demo.json``)."""
    from services.common.config import Settings

    url = (url or Settings.from_env().gateway_url).rstrip("/")
    try:
        state = ensure_accounts(url, Path(state_path) if state_path else _state_file())
        client = Client(url)
        client.login(state["demo_email"], state["demo_password"])
        patient = find_demo_patient(client)
        if patient is None:
            created = client.create_set("patient", DEMO_PATIENT)
            patient = client.get_set(created["id"])
            _say(f"created the demo patient (set {patient['id']})")
        present = {s.get("filename"): s for s in patient.get("samples", [])}
        for name, sampling_date in DEMO_SAMPLES:
            sample = present.get(name)
            if sample and sample.get("status") == "ready":
                continue
            path = data_dir() / name
            if sample:
                client.upload_file(sample["id"], path)
            else:
                client.upload(patient["id"], path, sampling_date, "#demo")
            _say(f"uploaded {name}")
        config_id = client.config_id(None)
        launched = client.run(patient["id"], config_id)
        if launched.get("launched"):
            _say(f"launched {len(launched['launched'])} analyses; waiting (a worker must be running)")
        jobs = client.wait(patient["id"], config_id, timeout=timeout)
        failed = [j for j in jobs if j["state"] != "COMPLETED"]
        if failed:
            print(f"demo: analysis failed: {[(j['sample_id'], j['state'], j.get('reason')) for j in failed]}",
                  file=sys.stderr)
            return 1
        client.wait_fused(patient["id"], config_id, len(DEMO_SAMPLES), timeout=min(timeout, 300))
        client.logout()
    except ApiError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    except TimeoutError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    print(f"Demo ready: {page_url(url, patient['id'], config_id)}")
    print(f"  log in as {state['demo_email']} / {state['demo_password']}")
    return 0
