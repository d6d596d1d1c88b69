"""Permission matrix of the gateway (issue #4: "one test per endpoint that a user without the right gets 403 (or
404 for records they may not know of), never the data").

Every operation of the OpenAPI document (enumerated from the same registry that serves
``/api/v1/openapi.json``, so a route added later gets a failing case until it has an entry in :data:`EXPECTED`)
is called by six roles against lab A's records (tests/gateway/permission_fixtures.py builds that world through
the API on the real stack): no credentials, a stranger, lab B, lab A's technician (read + upload), lab A's owner
and the administrator. Each answer must have the expected status, and no answer to a caller outside lab A may
hold lab A's patient name, file name, tag or clone sequences (nor the patient's name for the technician, who has
no ``anon``). The browser pages get the same treatment (:data:`PAGES`): login redirect, 403/404, never the data.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

from permission_fixtures import NEUTRAL_SEQUENCE, ROLES, World, build_world, small_fastq, strong_password

# -- what each role may get -------------------------------------------------------------------------------------
OK = "ok"                      # the operation's documented 2xx status
UNAUTH = frozenset({401})
FORBIDDEN = frozenset({403})   # not allowed: a record the caller may see, or a right not tied to a record
HIDDEN = frozenset({404})      # a record the caller may not know of (it must not learn that it exists)


def rule(anonymous=UNAUTH, stranger=HIDDEN, lab_b=HIDDEN, technician=FORBIDDEN, owner=OK, admin=OK) -> dict:
    return {"anonymous": anonymous, "stranger": stranger, "lab_b": lab_b, "technician": technician,
            "owner": owner, "admin": admin}


EVERYONE = rule(stranger=OK, lab_b=OK, technician=OK)
#: administrators only: refused before any record is looked up
ADMIN_ONLY = rule(stranger=FORBIDDEN, lab_b=FORBIDDEN, owner=FORBIDDEN)
#: lab A's records: read (and upload) for the technician; run, save, admin (edit, delete, share) not
READ = rule(technician=OK)
UPLOAD = READ
LAB_RIGHT = rule()
#: a new set owned by lab A: the create right in lab A's group
CREATE_IN_LAB_A = rule(stranger=FORBIDDEN, lab_b=FORBIDDEN)
#: records of lab A's owner themselves (their account, tokens, sessions): self or administrators
SELF = rule(technician=HIDDEN)


def same_for_all(status: int) -> dict:
    return {role: frozenset({status}) for role in ROLES}


@dataclass
class Case:
    """How to call one operation and what each role must get.

    ``path``/``body``/``query``: ``f(world, role) -> dict`` (``path`` entries override lab A's ids); ``body`` may
    return ``bytes`` (raw upload). ``fresh``: ``f(world, role) -> dict`` of path values, used instead of lab A's
    shared records when the role is allowed (destructive calls). ``caller``: ``f(world, role) -> Api`` when the
    role's own session must not be used (login, logout, impersonation). ``after``: ``f(world, role, api,
    response)`` checks or bookkeeping once the call is made."""

    expect: dict
    label: str = ""
    path: Callable[[World, str], dict] | None = None
    body: Callable[[World, str], Any] | None = None
    query: Callable[[World, str], dict] | None = None
    fresh: Callable[[World, str], dict] | None = None
    caller: Callable[[World, str], Any] | None = None
    after: Callable[..., None] | None = None


def const(value):
    return lambda world, role: value


def ids(**names):
    """Path values taken from other world ids, e.g. ``ids(user_id="member_id")``."""
    return lambda world, role: {key: world.ids[source] for key, source in names.items()}


def fresh_session(world: World, role: str):
    return world.roles[role].session()


def still_themselves(world: World, role: str, api, response) -> None:
    """After a refused impersonation the session still acts as its own user."""
    if response.status_code >= 300 and role != "anonymous":
        assert api.ok("GET", "/auth/me", 200)["user_id"] == world.roles[role].user_id


def stop_impersonating(world: World, role: str, api, response) -> None:
    if response.status_code < 300:
        assert response.json()["user_id"] == world.ids["user_id"]
        api.ok("DELETE", "/auth/impersonate", 200)


def remember_password(world: World, role: str, api, response) -> None:
    new = world.info.pop(f"new_password:{role}")
    if response.status_code == 200:
        world.roles[role].password = new


def listed_for(id_key: str, *insiders: str):
    """An ``after`` check of a list answer: lab A's record ``world.ids[id_key]`` is listed to ``insiders`` only."""
    def check(world: World, role: str, api, response) -> None:
        if response.status_code == 200:
            listed = [item["id"] for item in response.json()]
            assert (world.ids[id_key] in listed) == (role in insiders), (role, id_key, listed)
    return check


def roots_for_admins(world: World, role: str, api, response) -> None:
    if response.status_code == 200:
        shown = [item.get("root") for item in response.json()]
        assert all(shown) if role == "admin" else not any(shown), (role, shown)


def found_only_with_anon(world: World, role: str, api, response) -> None:
    if role == "anonymous":
        return
    found = [item["id"] for item in response.json()["items"]]
    assert (world.ids["sample_set_id"] in found) == (role in ("owner", "admin")), (role, found)


def new_password_body(world: World, role: str) -> dict:
    new = strong_password()
    world.info[f"new_password:{role}"] = new
    return {"current_password": world.roles[role].password or "x", "new_password": new}


def login_body(world: World, role: str) -> dict:
    me = world.roles[role]
    if me.email is None:
        return {"email": f"nobody-{secrets.token_hex(4)}@lab.example.org", "password": "Not-a-password-1"}
    return {"email": me.email, "password": me.password}


def share_body(world: World, role: str) -> dict:
    """Denied roles try to share lab A's set with their own group; allowed ones share a fresh set."""
    if role in ("owner", "admin"):
        return {"group_id": world.ids["share_target"]}
    return {"group_id": world.roles[role].group_id or world.ids["share_target"]}


def config_body(world: World, role: str) -> dict:
    """The config's own fields (same program and command: only administrators may change those)."""
    config = world.info["config"]
    return {"name": config["name"], "program": config["program"], "command": config["command"],
            "classification": config["classification"], "description": f"edited by {role}"}


def grep_body(world: World, role: str) -> dict:
    # one sequence per role: an identical grep job still running would be a 409
    return {"sample_id": world.ids["sample_id"], "sample_set_id": world.ids["sample_set_id"],
            "config_id": world.ids["config_id"], "sequence": NEUTRAL_SEQUENCE[:30 + ROLES.index(role)]}


def launch_body(world: World, role: str) -> dict:
    return {"sample_id": world.ids["sample_id"], "sample_set_id": world.ids["sample_set_id"],
            "config_id": world.ids["config_id"]}


def pre_process_body(world: World, role: str) -> dict:
    return {"sample_id": world.ids["sample_id"], "sample_set_id": world.ids["sample_set_id"],
            "pre_process_id": world.ids["pre_process_id"]}


def registration(world: World, role: str) -> frozenset:
    return frozenset({201 if world.info["site"].get("self_registration") else 403})


RESULT = "/api/v1/sample_sets/{sample_set_id}/results/{config_id}"

#: ``(METHOD, OpenAPI path) -> Case or [Case, ...]``: one entry per operation of the document.
EXPECTED: dict[tuple[str, str], Case | list[Case]] = {
    # -- administration --------------------------------------------------------------------------------------
    ("GET", "/api/v1/users"): Case(ADMIN_ONLY),
    ("POST", "/api/v1/users"): Case(ADMIN_ONLY, body=lambda w, r: {"email": f"matrix-new-{secrets.token_hex(4)}"
                                                                            f"@lab.example.org",
                                                                   "password": strong_password()}),
    ("GET", "/api/v1/users/{user_id}"): Case(SELF),
    ("PATCH", "/api/v1/users/{user_id}"): Case(SELF, body=const({"first_name": "Owner"})),
    ("PUT", "/api/v1/users/{user_id}/password"): Case(ADMIN_ONLY, body=lambda w, r: {"password": strong_password()},
                                                      fresh=lambda w, r: {"user_id": w.fresh_user()["id"]}),
    ("GET", "/api/v1/groups"): Case(EVERYONE, after=listed_for("lab_a", "technician", "owner", "admin")),
    ("POST", "/api/v1/groups"): Case(ADMIN_ONLY, body=lambda w, r: {"name": w.unique("matrix-group"),
                                                                    "capabilities": ["read"]}),
    ("GET", "/api/v1/groups/{group_id}"): Case(READ),
    ("PATCH", "/api/v1/groups/{group_id}"): Case(ADMIN_ONLY, body=const({"description": "lab A"})),
    ("POST", "/api/v1/groups/{group_id}/members"): [
        Case(LAB_RIGHT, body=lambda w, r: {"user_id": w.fresh_user()["id"] if r in ("owner", "admin")
                                           else w.ids["member_id"]}),
        Case(LAB_RIGHT, label="lab A's technician group", path=ids(group_id="technicians"),
             body=lambda w, r: {"user_id": w.fresh_user()["id"] if r in ("owner", "admin") else w.ids["member_id"]}),
    ],
    ("DELETE", "/api/v1/groups/{group_id}/members/{user_id}"): Case(
        LAB_RIGHT, path=ids(user_id="member_id"), fresh=lambda w, r: {"user_id": w.fresh_member()}),
    ("PUT", "/api/v1/groups/{group_id}/capabilities"): Case(
        ADMIN_ONLY, body=const({"capabilities": ["read", "create", "upload", "run", "save", "admin", "anon"]})),
    ("GET", "/api/v1/audit"): Case(ADMIN_ONLY),
    ("POST", "/api/v1/users/{user_id}/reset_token"): Case(ADMIN_ONLY,
                                                          fresh=lambda w, r: {"user_id": w.fresh_user()["id"]}),
    ("GET", "/api/v1/admin/post_scripts"): Case(ADMIN_ONLY),
    ("POST", "/api/v1/admin/post_scripts"): Case(ADMIN_ONLY, body=lambda w, r: {
        "name": w.info["post_script"], "config_id": w.ids["slow_config_id"]}),
    ("DELETE", "/api/v1/admin/post_scripts/{script_id}"): Case(ADMIN_ONLY,
                                                               fresh=lambda w, r: {"script_id": w.fresh_script()}),
    ("POST", "/api/v1/admin/watchdog"): Case(ADMIN_ONLY),
    ("GET", "/api/v1/site"): Case(same_for_all(200)),
    # -- auth --------------------------------------------------------------------------------------------------
    ("POST", "/api/v1/auth/init"): Case(same_for_all(409), body=lambda w, r: {
        "email": f"matrix-init-{secrets.token_hex(4)}@lab.example.org", "password": strong_password()}),
    ("POST", "/api/v1/auth/login"): Case({**same_for_all(200), "anonymous": UNAUTH}, body=login_body,
                                         caller=lambda w, r: w.roles["anonymous"].caller),
    ("POST", "/api/v1/auth/logout"): Case(EVERYONE, caller=fresh_session),
    ("GET", "/api/v1/auth/me"): Case(EVERYONE),
    ("POST", "/api/v1/auth/tokens"): Case(EVERYONE, body=const({"name": "matrix"})),
    ("GET", "/api/v1/auth/tokens"): Case(EVERYONE, after=listed_for("token_id", "owner")),
    ("DELETE", "/api/v1/auth/tokens/{token_id}"): Case(SELF, fresh=lambda w, r: {"token_id": w.fresh_owner_token()}),
    ("GET", "/api/v1/auth/whoami"): Case(EVERYONE),
    ("PUT", "/api/v1/auth/password"): Case(EVERYONE, body=new_password_body, after=remember_password),
    ("POST", "/api/v1/auth/reset"): Case(same_for_all(401), body=const({"token": "rsr_not-a-reset-token",
                                                                         "new_password": "Matrix-Reset-Lamp-77"})),
    ("POST", "/api/v1/auth/impersonate"): Case(
        ADMIN_ONLY,
        body=lambda w, r: {"user_id": w.ids["user_id"]}, caller=fresh_session,
        after=lambda w, r, api, resp: (still_themselves(w, r, api, resp), stop_impersonating(w, r, api, resp))),
    ("DELETE", "/api/v1/auth/impersonate"): Case(EVERYONE, caller=fresh_session),
    ("GET", "/api/v1/auth/sessions"): Case(SELF, query=lambda w, r: {"user_id": w.ids["user_id"]}),
    ("DELETE", "/api/v1/auth/sessions/{session_id}"): Case(
        SELF, fresh=lambda w, r: {"session_id": w.fresh_owner_session()}),
    ("POST", "/api/v1/auth/register"): Case({}, body=lambda w, r: {
        "email": f"matrix-register-{secrets.token_hex(4)}@lab.example.org", "password": strong_password()}),
    # -- samples -----------------------------------------------------------------------------------------------
    ("POST", "/api/v1/sample_sets/{sample_set_id}/samples"): Case(UPLOAD, body=const({"filename": "extra.fastq"})),
    ("GET", "/api/v1/samples/{sample_id}"): Case(READ),
    ("PATCH", "/api/v1/samples/{sample_id}"): Case(LAB_RIGHT, body=const({"info": "spleen"})),
    ("DELETE", "/api/v1/samples/{sample_id}"): Case(LAB_RIGHT, fresh=lambda w, r: {
        "sample_id": w.fresh_sample()["sample_id"]}),
    ("PUT", "/api/v1/samples/{sample_id}/file"): Case(UPLOAD, body=lambda w, r: small_fastq(), fresh=lambda w, r: {
        "sample_id": w.fresh_sample(with_file=False)["sample_id"]}),
    ("GET", "/api/v1/samples/{sample_id}/file"): Case(READ),
    ("GET", "/api/v1/file_sources"): Case(EVERYONE, after=roots_for_admins),
    ("POST", "/api/v1/file_sources"): Case(ADMIN_ONLY, body=lambda w, r: {
        "name": w.unique("matrix-source"), "root": str(w.tmp / "mounted"), "extensions": ["fastq"]}),
    ("DELETE", "/api/v1/file_sources/{source_id}"): Case(ADMIN_ONLY, fresh=lambda w, r: {
        "source_id": w.fresh_source()}),
    # any user with ``upload`` somewhere may browse the site's mounted directories (they are not lab A's)
    ("GET", "/api/v1/file_sources/{source_id}/browse"): Case(EVERYONE),
    ("POST", "/api/v1/sample_sets/{sample_set_id}/mounted_samples"): Case(UPLOAD, body=lambda w, r: {
        "source_id": w.ids["source_id"], "path": "mounted-r1.fastq"}),
    ("GET", "/api/v1/admin/storage"): Case(ADMIN_ONLY),
    ("PUT", "/api/v1/admin/storage"): Case(ADMIN_ONLY, body=const({})),
    # -- configs and jobs --------------------------------------------------------------------------------------
    ("GET", "/api/v1/configs"): Case(EVERYONE, after=listed_for("config_id", "technician", "owner", "admin")),
    ("POST", "/api/v1/configs"): Case(ADMIN_ONLY, body=lambda w, r: {"name": w.unique("matrix-new-config"),
                                                                     "program": "vdj"}),
    ("GET", "/api/v1/configs/{config_id}"): Case(READ),
    ("PUT", "/api/v1/configs/{config_id}"): Case(LAB_RIGHT, body=config_body),
    ("DELETE", "/api/v1/configs/{config_id}"): Case(LAB_RIGHT, fresh=lambda w, r: {"config_id": w.fresh_config()}),
    ("POST", "/api/v1/jobs"): Case(LAB_RIGHT, body=lambda w, r: (
        {**w.fresh_sample(), "config_id": w.ids["config_id"]} if r in ("owner", "admin") else launch_body(w, r))),
    ("GET", "/api/v1/jobs"): [
        Case(READ, label="of lab A's set", query=lambda w, r: {"sample_set_id": w.ids["sample_set_id"]}),
        Case(ADMIN_ONLY, label="of the whole server"),
    ],
    ("POST", "/api/v1/sample_sets/{sample_set_id}/jobs"): Case(
        LAB_RIGHT, body=lambda w, r: {"config_id": w.ids["config_id"]},
        fresh=lambda w, r: {"sample_set_id": w.fresh_set()}),
    ("GET", "/api/v1/jobs/{job_id}"): Case(READ),
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Case(LAB_RIGHT, fresh=lambda w, r: {"job_id": w.fresh_active_job()}),
    ("GET", "/api/v1/sample_sets/{sample_set_id}/analysis_results"): Case(READ),
    ("GET", "/api/v1/analysis_results/{result_id}/{what}"): [
        Case(READ, label="vidjil"),
        Case(READ, label="airr", path=const({"what": "airr"})),
    ],
    ("DELETE", "/api/v1/analysis_results/{result_id}"): Case(LAB_RIGHT, fresh=lambda w, r: {
        "result_id": w.fresh_result()}),
    ("GET", "/api/v1/analysis_results/{result_id}"): Case(READ),
    ("POST", "/api/v1/designate"): Case(EVERYONE, body=const({"sequences": [NEUTRAL_SEQUENCE]})),
    ("GET", "/api/v1/pre_processes"): Case(EVERYONE),
    ("POST", "/api/v1/pre_processes"): Case(ADMIN_ONLY, body=lambda w, r: {
        "name": w.unique("matrix-pre"), "command": "cat &file1& &file2& > &result&"}),
    ("GET", "/api/v1/workers"): Case(ADMIN_ONLY),
    ("POST", "/api/v1/jobs/grep_reads"): Case(LAB_RIGHT, body=grep_body),
    # allowed roles merge a fresh mounted R1/R2 pair (the workers read both files in place); the others are
    # refused on lab A's single-file sample before any input check
    ("POST", "/api/v1/jobs/pre_process"): Case(
        LAB_RIGHT, body=lambda w, r: ({**w.fresh_paired_sample(), "pre_process_id": w.ids["pre_process_id"]}
                                      if r in ("owner", "admin") else pre_process_body(w, r))),
    # -- fused results and saved analyses ---------------------------------------------------------------------
    ("GET", RESULT): Case(READ),
    ("GET", RESULT + "/clones"): Case(READ),
    ("GET", RESULT + "/qc"): Case(READ),
    ("GET", RESULT + "/vj/{sample_index}"): Case(READ),
    ("GET", RESULT + "/clones.tsv"): Case(READ),
    ("GET", RESULT + "/clones.airr.tsv"): Case(READ),
    ("GET", RESULT + "/plot.svg"): Case(READ),
    ("GET", RESULT + "/mrd"): Case(READ),
    ("GET", RESULT + "/history"): Case(READ),
    ("POST", RESULT + "/rebuild"): Case(LAB_RIGHT),
    ("GET", RESULT + "/analysis"): Case(READ),
    ("PUT", RESULT + "/analysis"): Case(LAB_RIGHT, body=lambda w, r: {
        "clones": [{"id": w.ids["clone_id"], "name": "lab A main clone"}], "comment": f"saved by {r}"}),
    ("GET", RESULT + "/analysis/versions"): Case(READ),
    ("PUT", RESULT + "/clones/{clone_id}"): Case(LAB_RIGHT, body=const({"tag": 2})),
    ("POST", "/api/v1/compare"): Case(READ, body=lambda w, r: {"results": [w.ids["result_id"]]}),
    # -- sample sets -------------------------------------------------------------------------------------------
    # searched by lab A's label / tag prefix: a leak would be on the first page
    ("GET", "/api/v1/sample_sets"): [
        Case(EVERYONE, query=lambda w, r: {"search": w.info["label"]}),
        # a real name is searched only where the caller has anon: else the search would tell who a set is
        Case(EVERYONE, label="by the patient's first name", query=lambda w, r: {"search": w.identity[0]},
             after=found_only_with_anon),
    ],
    ("POST", "/api/v1/sample_sets"): Case(CREATE_IN_LAB_A, body=lambda w, r: {
        "kind": "generic", "group_id": w.ids["lab_a"], "fields": {"name": w.unique("matrix-new-set")}}),
    ("GET", "/api/v1/sample_sets/{sample_set_id}"): Case(READ),
    ("PATCH", "/api/v1/sample_sets/{sample_set_id}"): Case(LAB_RIGHT, body=lambda w, r: {
        "fields": {"info": w.info["set_info"]}}),
    ("DELETE", "/api/v1/sample_sets/{sample_set_id}"): Case(LAB_RIGHT, fresh=lambda w, r: {
        "sample_set_id": w.fresh_set()}),
    ("POST", "/api/v1/sample_sets/{sample_set_id}/groups"): Case(LAB_RIGHT, body=share_body, fresh=lambda w, r: {
        "sample_set_id": w.fresh_set()}),
    ("DELETE", "/api/v1/sample_sets/{sample_set_id}/groups/{group_id}"): Case(
        LAB_RIGHT, fresh=lambda w, r: {"sample_set_id": w.fresh_set(shared_with=w.ids["share_target"]),
                                       "group_id": w.ids["share_target"]}),
    ("GET", "/api/v1/sample_sets/{sample_set_id}/audit"): Case(READ),
    ("GET", "/api/v1/tags"): Case(EVERYONE, query=lambda w, r: {"prefix": "quill"}),
    ("POST", "/api/v1/sample_sets/batch"): Case(CREATE_IN_LAB_A, body=lambda w, r: {
        "kind": "generic", "rows": f"{w.unique('matrix-batch')}\tbatch", "group_id": w.ids["lab_a"]}),
    # -- news banner and site settings (site-wide, not lab A's) -------------------------------------------------
    ("GET", "/api/v1/news"): Case(EVERYONE),
    ("POST", "/api/v1/news/{news_id}/read"): Case(EVERYONE),
    ("GET", "/api/v1/news/all"): Case(ADMIN_ONLY),
    ("POST", "/api/v1/news"): Case(ADMIN_ONLY, body=lambda w, r: {"title": "matrix news", "expires_on": "2099-01-01"}),
    ("PATCH", "/api/v1/news/{news_id}"): Case(ADMIN_ONLY, body=const({"content": "edited"})),
    ("DELETE", "/api/v1/news/{news_id}"): Case(ADMIN_ONLY, fresh=lambda w, r: {"news_id": w.fresh_news()}),
    ("GET", "/api/v1/site_settings"): Case(same_for_all(200)),
    ("PUT", "/api/v1/site_settings"): Case(ADMIN_ONLY, body=const({"healthcare_compliance": None})),
}

#: Known leaks left to other owners (gateway files): ``(METHOD, path, label, role) -> reason``. Strict xfails.
KNOWN_LEAKS: dict[tuple[str, str, str, str], str] = {}


# -- enumeration of the document ------------------------------------------------------------------------------
def _document_app():
    """The gateway app (no service reached): its OpenAPI document and URL map are what the stack serves."""
    from gateway.app import create_app
    from services.common.config import Settings

    settings = Settings.from_env().replace(amqp_uri="pyamqp://guest:guest@127.0.0.1:1//", rpc_timeout=1.0)
    return create_app(settings)


APP = _document_app()
DOCUMENT = APP.test_client().get("/api/v1/openapi.json").get_json()
OPERATIONS = [(method.upper(), path, entry) for path, item in DOCUMENT["paths"].items()
              for method, entry in item.items()]


def _cases(method: str, path: str) -> list[Case]:
    found = EXPECTED.get((method, path))
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def _params():
    for method, path, _entry in OPERATIONS:
        cases = _cases(method, path)
        if not cases:
            yield pytest.param(method, path, "", "admin", id=f"{method} {path} NO-EXPECTATION")
            continue
        for case in cases:
            for role in ROLES:
                reason = KNOWN_LEAKS.get((method, path, case.label, role))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                label = f" [{case.label}]" if case.label else ""
                yield pytest.param(method, path, case.label, role, marks=marks, id=f"{method} {path}{label} {role}")


def _success_status(entry: dict) -> int:
    return next(int(code) for code in entry["responses"] if code.startswith("2"))


@pytest.fixture(scope="module")
def world(stack, rpc, admin_principal, tmp_path_factory) -> World:
    return build_world(stack, rpc, admin_principal, tmp_path_factory.mktemp("matrix"))


def test_every_operation_of_the_served_document_is_in_the_matrix(stack):
    """The document the stack serves is the one enumerated here, and the table has no stale entries."""
    import requests

    served = requests.get(stack.url + "/api/v1/openapi.json", timeout=30).json()
    served_ops = {(m.upper(), p) for p, item in served["paths"].items() for m in item}
    assert served_ops == {(m, p) for m, p, _ in OPERATIONS}
    missing = sorted(served_ops - set(EXPECTED))
    stale = sorted(set(EXPECTED) - served_ops)
    assert not missing, f"operations without an entry in EXPECTED: {missing}"
    assert not stale, f"EXPECTED entries naming no operation: {stale}"


def _call(world: World, method: str, path: str, entry: dict, case: Case, role: str, allowed: bool):
    values = dict(world.ids)
    if case.path:
        values.update(case.path(world, role))
    if allowed and case.fresh:
        values.update(case.fresh(world, role))
    url = path.removeprefix("/api/v1")
    for name in [p["name"] for p in entry.get("parameters", []) if p["in"] == "path"]:
        url = url.replace("{" + name + "}", str(values[name]))
    kwargs: dict[str, Any] = {}
    if case.query:
        kwargs["params"] = case.query(world, role)
    if case.body:
        body = case.body(world, role)
        if isinstance(body, bytes):
            kwargs["data"] = body
            kwargs["headers"] = {"Content-Type": "application/octet-stream"}
        else:
            kwargs["json"] = body
    elif "requestBody" in entry and "application/json" in entry["requestBody"]["content"]:
        kwargs["json"] = {}
    api = case.caller(world, role) if case.caller else world.roles[role].caller
    return api, api.call(method, url, timeout=180, **kwargs)


@pytest.mark.parametrize("method, path, label, role", list(_params()))
def test_permission(world, method, path, label, role):
    entry = next(e for m, p, e in OPERATIONS if (m, p) == (method, path))
    cases = [c for c in _cases(method, path) if c.label == label]
    assert cases, f"{method} {path} has no entry in EXPECTED: say what each role must get"
    case = cases[0]
    expected = case.expect.get(role) if case.expect else registration(world, role)
    success = _success_status(entry)
    allowed = expected == OK
    wanted = frozenset({success}) if allowed else expected
    api, response = _call(world, method, path, entry, case, role, allowed)
    assert response.status_code in wanted, (
        f"{role}: {method} {response.request.path_url} -> {response.status_code} (expected {sorted(wanted)}): "
        f"{response.text[:400]}")
    leaked = world.leaked(response.content, role)
    assert not leaked, f"{role}: {method} {response.request.path_url} answered lab A's data {leaked}"
    if case.after:
        case.after(world, role, api, response)


# -- browser pages ----------------------------------------------------------------------------------------------
LOGIN = "login"          # a redirect to the login page
REDIRECT = "redirect"    # any redirect (e.g. / -> /sets)
PAGE_DENIED = frozenset({404})     # the error page of a record the caller may not know of


def page_rule(anonymous=LOGIN, stranger=PAGE_DENIED, lab_b=PAGE_DENIED, technician=200, owner=200, admin=200):
    return {"anonymous": anonymous, "stranger": stranger, "lab_b": lab_b, "technician": technician,
            "owner": owner, "admin": admin}


LOGGED_IN_PAGE = page_rule(stranger=200, lab_b=200)
ADMIN_PAGE = page_rule(technician=403, owner=403, stranger=403, lab_b=403)
PUBLIC_PAGE = {role: 200 for role in ROLES}


@dataclass
class Page:
    url: Callable[[World], str]
    expect: dict
    method: str = "GET"
    form: Callable[[World, str], dict] | None = None
    #: also never shown: the deployment's secrets (public pages such as /health describe the components)
    extra: Callable[[World], list[str]] | None = None


def deployment_secrets(world: World) -> list[str]:
    settings = world.stack.settings
    values = [settings.s3_secret_key, settings.db_password, settings.secret_key]
    return [v for v in values if v and len(v) >= 6]


def _new_set_form(world: World, role: str) -> dict:
    return {"kind": "generic", "name": world.unique("matrix-page-set"), "group_id": str(world.ids["lab_a"])}


#: ``(METHOD, Flask rule) -> Page``: every browser route (static files aside).
PAGES: dict[tuple[str, str], Page] = {
    ("GET", "/health"): Page(lambda w: "/health", {role: frozenset({200, 503}) for role in ROLES},
                             extra=deployment_secrets),
    ("GET", "/login"): Page(lambda w: "/login", {**page_rule(anonymous=200), "stranger": REDIRECT,
                                                 "lab_b": REDIRECT, "technician": REDIRECT, "owner": REDIRECT,
                                                 "admin": REDIRECT}),
    ("GET", "/init"): Page(lambda w: "/init", PUBLIC_PAGE, extra=deployment_secrets),
    ("GET", "/"): Page(lambda w: "/", {**page_rule(), **{r: REDIRECT for r in ROLES if r != "anonymous"}}),
    ("GET", "/sets"): Page(lambda w: "/sets?kind=patient", LOGGED_IN_PAGE),
    ("GET", "/sets/new"): Page(lambda w: "/sets/new", LOGGED_IN_PAGE),
    ("POST", "/sets/new"): Page(lambda w: "/sets/new?kind=generic", page_rule(
        stranger=frozenset({400, 403, 404}), lab_b=frozenset({400, 403, 404}),
        technician=frozenset({400, 403}), owner=REDIRECT, admin=REDIRECT), method="POST", form=_new_set_form),
    ("GET", "/sets/<int:sample_set_id>"): Page(lambda w: f"/sets/{w.ids['sample_set_id']}", page_rule()),
    ("GET", "/sets/<int:sample_set_id>/results/<int:config_id>"): Page(
        lambda w: f"/sets/{w.ids['sample_set_id']}/results/{w.ids['config_id']}", page_rule()),
    ("GET", "/sets/<int:sample_set_id>/history"): Page(lambda w: f"/sets/{w.ids['sample_set_id']}/history",
                                                       page_rule()),
    ("GET", "/compare"): Page(lambda w: f"/compare?sets={w.ids['sample_set_id']}&config={w.ids['config_id']}",
                              page_rule()),
    ("GET", "/api"): Page(lambda w: "/api", {role: REDIRECT for role in ROLES}),
    ("GET", "/api/v1/openapi.json"): Page(lambda w: "/api/v1/openapi.json", PUBLIC_PAGE, extra=deployment_secrets),
    ("GET", "/api/v1/docs"): Page(lambda w: "/api/v1/docs", PUBLIC_PAGE),
    ("GET", "/admin"): Page(lambda w: "/admin", ADMIN_PAGE, extra=deployment_secrets),
    ("GET", "/admin/users"): Page(lambda w: "/admin/users", ADMIN_PAGE),
    ("GET", "/admin/groups"): Page(lambda w: "/admin/groups", ADMIN_PAGE),
    ("GET", "/admin/groups/<int:group_id>"): Page(lambda w: f"/admin/groups/{w.ids['lab_a']}", ADMIN_PAGE),
    ("GET", "/admin/configs"): Page(lambda w: "/admin/configs", ADMIN_PAGE),
    ("GET", "/admin/queue"): Page(lambda w: "/admin/queue", ADMIN_PAGE),
    ("GET", "/admin/audit"): Page(lambda w: "/admin/audit", ADMIN_PAGE),
    ("GET", "/account"): Page(lambda w: "/account", LOGGED_IN_PAGE),
    ("GET", "/admin/news"): Page(lambda w: "/admin/news", ADMIN_PAGE),
    ("POST", "/admin/site_settings"): Page(lambda w: "/admin/site_settings", {**ADMIN_PAGE, "admin": REDIRECT},
                                           method="POST", form=lambda w, r: {"healthcare_compliance": "default"}),
    ("POST", "/news/<int:news_id>/dismiss"): Page(lambda w: f"/news/{w.ids['news_id']}/dismiss",
                                                  {**LOGGED_IN_PAGE, **{r: REDIRECT for r in ROLES[1:]}},
                                                  method="POST", form=lambda w, r: {}),
}
#: Routes that are not pages of data: static files, and the form posts of login, first administrator, logout.
NOT_PAGES = {("GET", "/static/<path:filename>"), ("GET", "/favicon.ico"), ("GET", "/assets/<path:filename>"), ("POST", "/login"),
             ("POST", "/init"), ("POST", "/logout")}
KNOWN_PAGE_LEAKS: dict[tuple[str, str, str], str] = {}

API_RULES = {(op.method, op.rule) for op in __import__("gateway.openapi", fromlist=["REGISTRY"]).REGISTRY}
BROWSER_ROUTES = sorted({(method, rule.rule) for rule in APP.url_map.iter_rules()
                         for method in rule.methods - {"HEAD", "OPTIONS"}} - API_RULES)


def _page_params():
    for method, rule_text in BROWSER_ROUTES:
        if (method, rule_text) in NOT_PAGES:
            continue
        if (method, rule_text) not in PAGES:
            yield pytest.param(method, rule_text, "admin", id=f"{method} {rule_text} NO-EXPECTATION")
            continue
        for role in ROLES:
            reason = KNOWN_PAGE_LEAKS.get((method, rule_text, role))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(method, rule_text, role, marks=marks, id=f"page {method} {rule_text} {role}")


@pytest.mark.parametrize("method, rule_text, role", list(_page_params()))
def test_page_permission(world, method, rule_text, role):
    page = PAGES.get((method, rule_text))
    assert page is not None, f"browser route {method} {rule_text} has no entry in PAGES"
    api = world.roles[role].caller
    url = world.stack.url + page.url(world)
    headers = {"Accept": "text/html"}
    if page.form:
        data = {**page.form(world, role), "csrf_token": api.csrf or ""}
        response = api.http.post(url, data=data, headers=headers, allow_redirects=False, timeout=60)
    else:
        response = api.http.get(url, headers=headers, allow_redirects=False, timeout=60)
    expected = page.expect[role]
    location = response.headers.get("Location", "")
    if expected == LOGIN:
        assert response.status_code in (302, 303) and "/login" in location, (response.status_code, location)
    elif expected == REDIRECT:
        assert response.status_code in (301, 302, 303, 308), (response.status_code, response.text[:300])
    else:
        wanted = expected if isinstance(expected, frozenset) else frozenset({expected})
        assert response.status_code in wanted, f"{role}: {method} {url} -> {response.status_code}: " \
                                               f"{response.text[:300]}"
    leaked = world.leaked(response.content, role) + [
        "a deployment secret" for secret in (page.extra(world) if page.extra else []) if secret.encode() in response.content]
    assert not leaked, f"{role}: page {method} {url} showed lab A's data {leaked}"


# -- checks the matrix cannot make with lab A's ids alone ---------------------------------------------------------
def test_the_leak_detector_sees_lab_a_data_in_the_owners_answers(world):
    """The strings the matrix looks for are in lab A's answers (else "never the data" would prove nothing)."""
    set_id, config_id = world.ids["sample_set_id"], world.ids["config_id"]
    answers = {
        "set": world.owner.get(f"/sample_sets/{set_id}"),
        "clones": world.owner.get(f"/sample_sets/{set_id}/results/{config_id}/clones"),
        "page": world.owner.http.get(f"{world.stack.url}/sets/{set_id}/results/{config_id}", timeout=60),
    }
    for what, answer in answers.items():
        assert answer.status_code == 200, (what, answer.text[:300])
    assert set(world.leaked(answers["set"].content, "stranger")) >= set(world.identity)
    assert world.leaked(answers["set"].content, "technician") == world.identity
    assert any(s in world.leaked(answers["clones"].content, "stranger") for s in world.secrets[2:])
    assert any(s in world.leaked(answers["page"].content, "stranger") for s in world.secrets[2:])
    assert world.leaked(answers["set"].content, "owner") == []


@pytest.fixture
def paired_sample(world, rpc, object_store) -> dict:
    """A sample of lab A's scratch set with both files (R1, R2) uploaded, to be merged by lab A's pre-process.
    Made over RPC as lab A's owner: the REST API uploads only the first file of a sample."""
    owner = world.roles["owner"]
    principal = rpc.auth.login(owner.email, owner.password, "10.77.0.1", "permission matrix")["principal"]
    sample = rpc.samples.create_sample(principal, [world.ids["scratch_set"]], "pair-r1.fastq", None, "",
                                       "pair-r2.fastq", None, None, None, world.ids["pre_process_id"])
    for number, key in ((1, sample["upload_key"]), (2, sample["upload_key2"])):
        stored = object_store.put_bytes(sample["upload_bucket"], key, small_fastq())
        rpc.samples.complete_upload(principal, sample["id"], key, stored.size, stored.sha256, number)
    return {"sample_id": sample["id"], "sample_set_id": world.ids["scratch_set"]}


def test_pre_process_of_another_sets_sample_is_refused(world, paired_sample):
    """``run`` on one's own set does not let one pre-process a sample of another set one may only read (the
    merged file would replace the input of that sample's analyses)."""
    from gateway_helpers import PASSWORD, Api, unique_email

    admin = world.admin
    email = unique_email("matrix-tech-runner")
    user = admin.ok("POST", "/users", 201, json={"email": email, "password": PASSWORD})
    admin.ok("POST", f"/groups/{world.ids['technicians']}/members", 201, json={"user_id": user["id"]})
    admin.ok("PUT", f"/groups/{user['personal_group_id']}/capabilities", 200,
             json={"capabilities": ["read", "create", "upload", "run"]})
    attacker = Api(world.stack.url)
    attacker.login(email, PASSWORD)
    own = attacker.ok("POST", "/sample_sets", 201, json={"kind": "generic", "group_id": user["personal_group_id"],
                                                         "fields": {"name": world.unique("matrix-own")}})
    assert attacker.ok("GET", f"/samples/{paired_sample['sample_id']}", 200)["id"] == paired_sample["sample_id"]
    answer = attacker.post("/jobs/pre_process", json={"sample_id": paired_sample["sample_id"],
                                                      "sample_set_id": own["id"],
                                                      "pre_process_id": world.ids["pre_process_id"]})
    assert answer.status_code in (400, 403, 404), answer.text
    # the same call on the set holding the sample, by one with `run` there, is accepted: the refusal above is
    # about the set, not the sample
    launched = world.owner.post("/jobs/pre_process", json={**paired_sample,
                                                           "pre_process_id": world.ids["pre_process_id"]})
    assert launched.status_code == 201, launched.text


def test_a_user_cannot_add_others_to_their_personal_group(world):
    """A personal group belongs to its user alone. If its owner could add anyone by id, any user could list
    every account's e-mail and name (GET /groups/{id} shows the members) and attach other users to their group
    without their consent."""
    stranger = world.roles["stranger"]
    victim = world.roles["owner"]
    answer = stranger.api.post(f"/groups/{stranger.group_id}/members", json={"user_id": victim.user_id})
    assert answer.status_code == 403, answer.text
    members = stranger.api.ok("GET", f"/groups/{stranger.group_id}", 200)["members"]
    assert [m["id"] for m in members] == [stranger.user_id]
    assert victim.email.encode() not in stranger.api.get(f"/groups/{stranger.group_id}").content
    # administrators still manage every group's members
    assert world.admin.post(f"/groups/{stranger.group_id}/members",
                            json={"user_id": world.fresh_user()["id"]}).status_code == 201


def test_replacing_an_accepted_file_needs_the_admin_right(world):
    """``upload`` adds samples and gives them their file (a failed upload may be sent again); replacing the file a
    sample already has is an edit of lab A's raw data, like deleting it: ``admin`` on a set holding the sample
    (Vidjil: re-uploading is a sample edit, ``can_modify_file``). The technician may not do it."""
    sample = world.fresh_sample()
    before = world.owner.ok("GET", f"/samples/{sample['sample_id']}", 200)
    technician = world.roles["technician"].api
    answer = technician.put(f"/samples/{sample['sample_id']}/file", data=b"@r\nACGT\n+\nIIII\n",
                            headers={"Content-Type": "application/octet-stream"})
    assert answer.status_code == 403, answer.text
    after = world.owner.ok("GET", f"/samples/{sample['sample_id']}", 200)
    assert (after["object_key"], after["sha256"]) == (before["object_key"], before["sha256"])
    assert world.owner.get(f"/samples/{sample['sample_id']}/file").content == small_fastq()
    # the technician still gives new samples their file, and the owner (admin on the set) may replace one
    new = technician.ok("POST", f"/sample_sets/{world.ids['sample_set_id']}/samples", 201,
                        json={"filename": "tech.fastq"})
    assert technician.put(f"/samples/{new['id']}/file", data=small_fastq(),
                          headers={"Content-Type": "application/octet-stream"}).status_code == 200
    assert world.owner.put(f"/samples/{sample['sample_id']}/file", data=b"@r\nACGT\n+\nIIII\n",
                           headers={"Content-Type": "application/octet-stream"}).status_code == 200


def test_a_member_removed_from_lab_a_loses_access_in_their_open_session(world):
    """Rights come from the groups at each request, not from the session's start: removed from lab A's
    technician group, a user's open session and API token no longer see lab A's patient."""
    from gateway_helpers import PASSWORD, Api, unique_email

    email = unique_email("matrix-leaver")
    user = world.admin.ok("POST", "/users", 201, json={"email": email, "password": PASSWORD})
    world.owner.ok("POST", f"/groups/{world.ids['technicians']}/members", 201, json={"user_id": user["id"]})
    session = Api(world.stack.url)
    session.login(email, PASSWORD)
    token = Api(world.stack.url, session.ok("POST", "/auth/tokens", 201, json={"name": "leaver"})["token"])
    set_url = f"/sample_sets/{world.ids['sample_set_id']}"
    assert session.get(set_url).status_code == 200 and token.get(set_url).status_code == 200
    world.owner.ok("DELETE", f"/groups/{world.ids['technicians']}/members/{user['id']}", 200)
    for api in (session, token):
        answer = api.get(set_url)
        assert answer.status_code == 404, answer.text
        assert not world.leaked(answer.content, "stranger")
    world.admin.ok("PATCH", f"/users/{user['id']}", 200, json={"is_active": False})
    assert token.get("/auth/me").status_code == 401 and session.get("/auth/me").status_code == 401
