"""The small world of the permission matrix (tests/gateway/test_permission_matrix.py), built through the REST API
of the running test stack:

- an administrator;
- lab A: an organisation group (every capability) with its ``owner``, and a child role group "technician"
  (``read`` + ``upload`` only: no create, run, save, admin or anon) with its ``technician``;
- lab B: another organisation group (every capability) with its ``lab_b`` user;
- a ``stranger`` with no group beyond their personal one (and the public group every user is in);
- lab A's patient (a real FASTQ.gz uploaded under a name of its own), analysed with lab A's configuration (a
  config only lab A may use) and fused, a saved analysis, the analysis job and result, a mounted directory, a
  pre-process, a post-processing script.

Every role calls through its own cookie session (login + CSRF token), as the browser does; routes that end or
change a session (logout, impersonation, login) get a fresh one. Destructive calls by a role that is allowed to
make them are aimed at fresh records of lab A (``World.fresh_*``), so that the shared records survive the matrix.

The only step not made through the REST API: restricting lab A's configurations to lab A (the API's config body
has no ``group_ids``; the jobs RPC ``update_config`` does, called as an administrator).
"""

from __future__ import annotations

import gzip
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway_helpers import COLON, PASSWORD, Api, make_admin, unique_email, wait_fused, wait_jobs

DATA = Path(__file__).resolve().parents[1] / "data"
SPLEEN_GZ = DATA / "real" / "immunedb-d1_spl.fastq.gz"

#: Roles of the matrix, in the order each operation is called.
ROLES = ("anonymous", "stranger", "lab_b", "technician", "owner", "admin")
ALL_CAPABILITIES = ["read", "create", "upload", "run", "save", "admin", "anon"]
TECHNICIAN_CAPABILITIES = ["read", "upload"]

#: A sequence of no one's sample (for /designate and grep-reads bodies: answers may echo what was sent).
NEUTRAL_SEQUENCE = "ACGTTGCAACGTTGCATTGACCAGTACGATCGATCGGCTAGCTAGGATCCA"
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT")


def strong_password() -> str:
    return f"Matrix-{secrets.token_hex(5)}-Lamp-7"


def small_fastq(reads: int = 20) -> bytes:
    """The first ``reads`` reads of the colon sample (not lab A's spleen): fast to analyse."""
    lines = COLON.read_bytes().splitlines(keepends=True)
    return b"".join(lines[: 4 * reads])


@dataclass
class Role:
    """One caller of the matrix. ``api`` is its logged-in cookie session (``None`` for ``anonymous``)."""

    name: str
    base_url: str
    email: str | None = None
    password: str | None = None
    user_id: int | None = None
    group_id: int | None = None          # the group it would share a set with (its own)
    api: Api | None = None

    def session(self) -> Api:
        """A new cookie session of this user (or a client without credentials for ``anonymous``)."""
        api = Api(self.base_url)
        if self.email:
            api.login(self.email, self.password)
        return api

    @property
    def caller(self) -> Api:
        return self.api if self.api is not None else Api(self.base_url)


@dataclass
class World:
    """Lab A's records (``ids``: the values of path parameters), the roles, and what must never reach a caller
    without the right (``secrets``; ``identity``: the patient's name, hidden from callers without ``anon``)."""

    stack: Any
    rpc: Any
    admin_principal: dict
    tmp: Path
    roles: dict[str, Role] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    identity: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: secrets.token_hex(3))

    # -- shortcuts -----------------------------------------------------------------------------------------------
    @property
    def admin(self) -> Api:
        return self.roles["admin"].api

    @property
    def owner(self) -> Api:
        return self.roles["owner"].api

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{self.tag}-{secrets.token_hex(3)}"

    # -- fresh records of lab A for the destructive calls of allowed roles ----------------------------------------
    def fresh_user(self) -> dict:
        return self.admin.ok("POST", "/users", 201, json={"email": unique_email("matrix-extra"),
                                                          "password": strong_password()})

    def fresh_member(self) -> int:
        """A new user added to lab A (by lab A's owner): its id."""
        user = self.fresh_user()
        self.owner.ok("POST", f"/groups/{self.ids['lab_a']}/members", 201, json={"user_id": user["id"]})
        return user["id"]

    def fresh_set(self, shared_with: int | None = None) -> int:
        created = self.owner.ok("POST", "/sample_sets", 201, json={
            "kind": "generic", "group_id": self.ids["lab_a"], "fields": {"name": self.unique("matrix-scratch")}})
        if shared_with is not None:
            self.owner.ok("POST", f"/sample_sets/{created['id']}/groups", 201, json={"group_id": shared_with})
        return created["id"]

    def fresh_sample(self, with_file: bool = True) -> dict:
        """A sample of lab A's scratch set (with a small FASTQ uploaded unless ``with_file`` is false)."""
        set_id = self.ids["scratch_set"]
        sample = self.owner.ok("POST", f"/sample_sets/{set_id}/samples", 201,
                               json={"filename": "scratch.fastq"})
        if with_file:
            self.owner.ok("PUT", f"/samples/{sample['id']}/file", 200, data=small_fastq(),
                          headers={"Content-Type": "application/octet-stream"})
        return {"sample_id": sample["id"], "sample_set_id": set_id}

    def fresh_paired_sample(self) -> dict:
        """A sample of the scratch set made of the mounted R1/R2 pair, to be merged by lab A's pre-process."""
        set_id = self.ids["scratch_set"]
        sample = self.owner.ok("POST", f"/sample_sets/{set_id}/mounted_samples", 201, json={
            "source_id": self.ids["source_id"], "path": "mounted-r1.fastq", "path2": "mounted-r2.fastq",
            "pre_process_id": self.ids["pre_process_id"]})
        return {"sample_id": sample["id"], "sample_set_id": set_id}

    def fresh_result(self, timeout: float = 240) -> int:
        """A completed analysis result of a fresh scratch sample (lab A's config): its id."""
        sample = self.fresh_sample()
        job = self.owner.ok("POST", "/jobs", 201, json={**sample, "config_id": self.ids["config_id"]})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.owner.ok("GET", f"/jobs/{job['id']}", 200)
            if job["state"] in FINAL_STATES:
                break
            time.sleep(0.5)
        assert job["state"] == "COMPLETED", job
        results = self.owner.ok("GET", f"/sample_sets/{sample['sample_set_id']}/analysis_results", 200,
                                params={"sample_id": sample["sample_id"]})
        return results[0]["id"]

    def fresh_active_job(self) -> int:
        """A queued (or running) job of a scratch sample, with lab A's slow config: its id."""
        sample = self.fresh_sample()
        job = self.owner.ok("POST", "/jobs", 201, json={**sample, "config_id": self.ids["slow_config_id"]})
        assert job["state"] not in FINAL_STATES, job
        return job["id"]

    def fresh_config(self) -> int:
        return self.lab_config(self.unique("matrix-config"), "vdj", self.info["command"])

    def fresh_owner_token(self) -> int:
        return self.owner.ok("POST", "/auth/tokens", 201, json={"name": "matrix spare"})["id"]

    def fresh_owner_session(self) -> int:
        """A new session of lab A's owner (another browser): its id."""
        self.roles["owner"].session()
        return self.owner.ok("GET", "/auth/sessions", 200)[0]["id"]

    def fresh_source(self) -> int:
        return self.admin.ok("POST", "/file_sources", 201, json={
            "name": self.unique("matrix-source"), "root": str(self.tmp / "mounted"), "extensions": ["fastq"]})["id"]

    def fresh_script(self) -> int:
        return self.admin.ok("POST", "/admin/post_scripts", 201, json={
            "name": self.info["post_script"], "config_id": self.ids["slow_config_id"]})["id"]

    def fresh_news(self) -> int:
        return self.admin.ok("POST", "/news", 201, json={"title": self.unique("matrix news"),
                                                         "expires_on": "2099-01-01"})["id"]

    def lab_config(self, name: str, program: str, command: str) -> int:
        """An analysis config that only lab A may use (created by the administrator)."""
        config = self.admin.ok("POST", "/configs", 201, json={"name": name, "program": program, "command": command,
                                                              "classification": "multi-locus"})
        self.rpc.jobs.update_config(self.admin_principal, config["id"], {"group_ids": [self.ids["lab_a"]]})
        return config["id"]

    # -- checks ----------------------------------------------------------------------------------------------------
    def leaked(self, content: bytes, role: str) -> list[str]:
        """What of lab A's data ``content`` shows to ``role``: every secret for callers outside lab A, the patient's
        identity for lab A's technician (no ``anon``)."""
        if role in ("owner", "admin"):
            return []
        wanted = self.identity if role == "technician" else self.secrets + self.identity
        return [s for s in wanted if s.encode() in content]


def build_world(stack, rpc, admin_principal, tmp: Path) -> World:
    """Create the accounts, groups and lab A's records through the API; wait for the analysis and the fuse."""
    world = World(stack=stack, rpc=rpc, admin_principal=admin_principal, tmp=tmp)
    base = stack.url
    tag = world.tag

    admin_account = make_admin(stack)
    admin = Role("admin", base, admin_account["email"], admin_account["password"])
    admin.api = admin.session()
    admin.user_id = admin.api.ok("GET", "/auth/me", 200)["user_id"]
    world.roles["anonymous"] = Role("anonymous", base)

    lab_a = admin.api.ok("POST", "/groups", 201, json={"name": f"matrix-lab-a-{tag}",
                                                        "capabilities": ALL_CAPABILITIES})
    technicians = admin.api.ok("POST", "/groups", 201, json={"name": f"matrix-lab-a-{tag}/technician",
                                                              "parent_id": lab_a["id"],
                                                              "capabilities": TECHNICIAN_CAPABILITIES})
    lab_b = admin.api.ok("POST", "/groups", 201, json={"name": f"matrix-lab-b-{tag}",
                                                        "capabilities": ALL_CAPABILITIES})
    share_target = admin.api.ok("POST", "/groups", 201, json={"name": f"matrix-share-target-{tag}",
                                                               "capabilities": ["read"]})
    assert technicians["parent_id"] == lab_a["id"], technicians

    memberships = {"owner": lab_a["id"], "technician": technicians["id"], "lab_b": lab_b["id"], "stranger": None}
    for name, group_id in memberships.items():
        email = unique_email(f"matrix-{name.replace('_', '-')}")
        user = admin.api.ok("POST", "/users", 201, json={"email": email, "password": PASSWORD,
                                                         "first_name": name.title(), "last_name": "Matrix"})
        if group_id is not None:
            admin.api.ok("POST", f"/groups/{group_id}/members", 201, json={"user_id": user["id"]})
        role = Role(name, base, email, PASSWORD, user["id"], group_id or user["personal_group_id"])
        if name == "technician":
            role.group_id = user["personal_group_id"]
        role.api = role.session()
        world.roles[name] = role
    world.roles["admin"] = admin
    world.roles = {name: world.roles[name] for name in ROLES}
    world.ids.update(lab_a=lab_a["id"], technicians=technicians["id"], lab_b=lab_b["id"],
                     share_target=share_target["id"], user_id=world.roles["owner"].user_id, group_id=lab_a["id"])
    owner = world.owner

    # lab A's patient, its real FASTQ.gz (under a name of its own), lab A's configs, the analysis and the fuse
    first_name, last_name, filename = "Perpetua", f"Quillfeather{tag}", f"quillfeather-{tag}-spleen.fastq.gz"
    patient_tag = f"quill{tag}"
    world.identity = [first_name, last_name]
    world.info["set_info"] = f"lab A follow-up #{patient_tag}"
    world.info["label"] = f"LA-{tag}"
    patient = owner.ok("POST", "/sample_sets", 201, json={
        "kind": "patient", "group_id": lab_a["id"],
        "fields": {"first_name": first_name, "last_name": last_name, "label": world.info["label"],
                   "info": world.info["set_info"]}})
    sample = owner.ok("POST", f"/sample_sets/{patient['id']}/samples", 201,
                      json={"filename": filename, "sampling_date": "2024-01-10", "info": "spleen"})
    stored = owner.ok("PUT", f"/samples/{sample['id']}/file", 200, data=SPLEEN_GZ.read_bytes(),
                      headers={"Content-Type": "application/octet-stream"})
    assert stored["status"] == "ready", stored
    world.ids.update(sample_set_id=patient["id"], sample_id=sample["id"])

    configs = admin.api.ok("GET", "/configs", 200)
    default = next(c for c in configs if c["program"] == "vdj" and c.get("classification") == "multi-locus")
    world.info["command"] = default["command"]
    world.ids["config_id"] = world.lab_config(f"matrix-lab-a-vdj-{tag}", "vdj", default["command"])
    world.ids["slow_config_id"] = world.lab_config(f"matrix-lab-a-slow-{tag}", "command", "sleep 600")
    world.info["config"] = admin.api.ok("GET", f"/configs/{world.ids['config_id']}", 200)

    job = owner.ok("POST", "/jobs", 201, json={"sample_id": sample["id"], "sample_set_id": patient["id"],
                                               "config_id": world.ids["config_id"]})
    jobs = wait_jobs(owner, patient["id"], world.ids["config_id"], 1, timeout=300)
    assert [j["state"] for j in jobs] == ["COMPLETED"], jobs
    fused = wait_fused(owner, patient["id"], world.ids["config_id"], 1)
    results = owner.ok("GET", f"/sample_sets/{patient['id']}/analysis_results", 200,
                       params={"sample_id": sample["id"], "config_id": world.ids["config_id"]})
    clones = sorted((c for c in fused["clones"] if c.get("top")), key=lambda c: c["top"])[:5]
    top_cdr3 = ((clones[0].get("seg") or {}).get("cdr3") or {}).get("aa")
    world.ids.update(job_id=job["id"], result_id=results[0]["id"], sample_index=0, what="vidjil",
                     clone_id=clones[0]["id"])
    owner.ok("PUT", f"/sample_sets/{patient['id']}/results/{world.ids['config_id']}/analysis", 200,
             json={"clones": [{"id": clones[0]["id"], "name": "lab A main clone"}], "comment": "matrix world"})

    # what no one outside lab A may ever receive
    world.secrets = [filename, f"#{patient_tag}", *(c["id"] for c in clones), *([top_cdr3] if top_cdr3 else [])]

    # a set to hold the fresh samples of allowed destructive calls; the owner's spare token and session
    world.ids["scratch_set"] = world.fresh_set()
    world.ids["token_id"] = world.fresh_owner_token()
    world.ids["session_id"] = world.fresh_owner_session()
    world.ids["member_id"] = world.fresh_member()

    # a mounted directory (neutral files), lab A's pre-process, a post-processing script
    mounted = tmp / "mounted"
    mounted.mkdir(parents=True, exist_ok=True)
    (mounted / "mounted-r1.fastq").write_bytes(small_fastq())
    (mounted / "mounted-r2.fastq").write_bytes(small_fastq())
    world.ids["source_id"] = world.fresh_source()
    pre = admin.api.ok("POST", "/pre_processes", 201, json={"name": f"matrix-merge-{tag}", "public": True,
                                                            "command": "cat &file1& &file2& > &result&"})
    world.ids["pre_process_id"] = pre["id"]
    scripts = admin.api.ok("GET", "/admin/post_scripts", 200)["available"]
    assert scripts, "the fuse service offers no post-processing script"
    world.info["post_script"] = scripts[0]
    world.ids["script_id"] = world.fresh_script()
    world.info["site"] = Api(base).ok("GET", "/site", 200)
    if admin.api.get("/news").status_code == 200:      # the news routes (reporter) are being added
        world.ids["news_id"] = world.fresh_news()

    _check_world(world)
    return world


def _check_world(world: World) -> None:
    """The world is what the matrix assumes: the owner sees the patient's identity, the technician sees the set
    pseudonymised, the others do not see it."""
    set_id = world.ids["sample_set_id"]
    seen = world.owner.ok("GET", f"/sample_sets/{set_id}", 200)
    assert seen["last_name"] == world.identity[1] and seen["permissions"]["run"] is True, seen
    tech = world.roles["technician"].api.ok("GET", f"/sample_sets/{set_id}", 200)
    assert tech["identity_visible"] is False and tech["permissions"] == {
        "admin": False, "anon": False, "create": False, "read": True, "run": False, "save": False,
        "upload": True}, tech
    for name in ("stranger", "lab_b"):
        assert world.roles[name].api.get(f"/sample_sets/{set_id}").status_code == 404
    assert gzip.decompress(world.owner.get(f"/samples/{world.ids['sample_id']}/file").content)[:1] == b"@"
