"""The Python client as a lab script uses it: `repseq login`, `create-set`, `upload`, `run --wait`, `results`
against the running stack (real processes, real HTTP), then `repseq demo` building the demo patient with the two
real ImmuneDB samples."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from gateway_helpers import COLON, SPLEEN, Api

REPSEQ = str(Path(sys.executable).parent / "repseq")


def repseq(*args, env, stdin: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([REPSEQ, *args], input=stdin, capture_output=True, text=True, env=env, timeout=timeout)


def client_env(stack, tmp_path) -> dict:
    env = {**os.environ, **stack.settings.to_env(), "REPSEQ_CLIENT_CONFIG": str(tmp_path / "client.json")}
    env.pop("REPSEQ_TOKEN", None)
    return env


def test_script_creates_a_set_uploads_runs_and_downloads(stack, lab_user, tmp_path):
    env = client_env(stack, tmp_path)
    login = repseq("login", "--url", stack.url, "--email", lab_user["email"], "--password-stdin", env=env,
                   stdin=lab_user["password"] + "\n")
    assert login.returncode == 0, login.stderr
    saved = json.loads((tmp_path / "client.json").read_text())
    assert saved["url"] == stack.url and saved["token"]
    assert oct((tmp_path / "client.json").stat().st_mode & 0o777) == "0o600"

    created = repseq("create-set", "patient", "--first-name", "Cli", "--last-name", "Script", "--label", "CLI-1",
                     "--info", "#cli", env=env)
    assert created.returncode == 0, created.stderr
    set_id = int(created.stdout.strip())

    uploaded = repseq("upload", "--set", str(set_id), "--sampling-date", "2024-03-12", str(COLON), env=env)
    assert uploaded.returncode == 0, uploaded.stderr
    assert f"{COLON.stat().st_size} bytes\tready" in uploaded.stdout

    run = repseq("run", "--set", str(set_id), "--wait", "--timeout", "400", env=env, timeout=500)
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(rf"/sets/{set_id}/results/\d+", run.stdout)

    table_file = tmp_path / "clones.tsv"
    # `run --wait` returns once the fused result holds the analysis: `results` right after it finds it
    results = repseq("results", "--set", str(set_id), "--format", "tsv", "--top", "5", "-o", str(table_file), env=env)
    assert results.returncode == 0, results.stderr
    lines = table_file.read_text().splitlines()
    assert lines[0].startswith("rank\tname\tlocus\tv_call") and len(lines) == 6
    assert all("\tIGH\t" in line for line in lines[1:])

    # a second sample: once `run --wait` returns, the table already has both samples (not the previous fuse)
    assert repseq("upload", "--set", str(set_id), "--sampling-date", "2024-06-12", str(SPLEEN), env=env).returncode == 0
    rerun = repseq("run", "--set", str(set_id), "--wait", "--timeout", "400", env=env, timeout=500)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    table = repseq("results", "--set", str(set_id), "--format", "table", "--top", "3", env=env)
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0]
    assert COLON.name in header and SPLEEN.name in header, header

    listed = repseq("sets", "--kind", "patient", "--search", "#cli", env=env)
    assert listed.returncode == 0 and f"{set_id}" in listed.stdout
    line = next(x for x in listed.stdout.splitlines() if x.split()[0] == str(set_id))
    assert re.search(r"\b2 samples\b", line), line


def test_client_errors_are_one_line_and_exit_1(stack, lab_user, tmp_path):
    env = {**client_env(stack, tmp_path), "REPSEQ_TOKEN": lab_user["token"], "REPSEQ_URL": stack.url}
    missing = repseq("upload", "--set", "999999999", str(COLON), env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: 404 ")
    bad_token = repseq("sets", env={**env, "REPSEQ_TOKEN": "rsq_wrong"})
    assert bad_token.returncode == 1 and bad_token.stderr.startswith("error: 401 ")


def test_demo_builds_a_patient_with_two_real_samples_analysed_and_fused(stack, gateway_admin, tmp_path):
    env = client_env(stack, tmp_path)
    state = tmp_path / "demo.json"
    state.write_text(json.dumps({"admin_email": gateway_admin["email"], "admin_password": gateway_admin["password"]}))
    demo = repseq("demo", "--url", stack.url, "--state", str(state), "--timeout", "600", env=env, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    match = re.search(r"Demo ready: (\S+/sets/(\d+)/results/(\d+))", demo.stdout)
    assert match, demo.stdout
    credentials = re.search(r"log in as (\S+) / (\S+)", demo.stdout)
    assert credentials and credentials.group(1) == "demo@repseq.local"

    api = Api(stack.url)
    api.login(credentials.group(1), credentials.group(2))
    set_id, config_id = int(match.group(2)), int(match.group(3))
    table = api.ok("GET", f"/sample_sets/{set_id}/results/{config_id}/clones", 200, params={"top": 5})
    assert [s["name"] for s in table["samples"]] == ["immunedb-d1_spl.fastq", "immunedb-d1_colon.fastq"]
    assert table["clones"][0]["locus"] == "IGH"
    assert any(all(r > 0 for r in c["reads"]) for c in
               api.ok("GET", f"/sample_sets/{set_id}/results/{config_id}/clones", 200, params={"top": 200})["clones"]), \
        "the two samples of one donor share clones"

    again = repseq("demo", "--url", stack.url, "--state", str(state), env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert match.group(1) in again.stdout
    assert len(api.ok("GET", f"/sample_sets/{set_id}", 200)["samples"]) == 2
