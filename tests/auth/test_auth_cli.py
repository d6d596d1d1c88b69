"""``repseq admin init`` and the other account commands, run as real subprocesses on a fresh auth database
(the first-start route: the first account becomes the administrator, then the route is closed)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from auth_helpers import EventListener, PASSWORD
from services.common.config import REPO_ROOT


@pytest.fixture
def fresh_auth(settings):
    """Settings whose auth database is new and migrated (dropped at the end)."""
    from services.common.db import drop_database
    from services.common.migrations import upgrade

    fresh = settings.replace(db_prefix=settings.db_prefix + "cli_")
    upgrade(fresh, ["auth"])
    yield fresh
    drop_database(fresh, "auth")


def repseq(settings, *args, stdin: str = "", **extra_env) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings.to_env(), **extra_env}
    return subprocess.run([sys.executable, "-m", "repseq", "admin", *args], input=stdin, env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


def test_first_administrator_then_route_closed(fresh_auth, settings):
    listener = EventListener(settings.amqp_uri, "auth", ["user.created"])
    try:
        weak = repseq(fresh_auth, "init", "--email", "root@lab.org", "--password-stdin", stdin="short\n")
        assert weak.returncode == 1 and "at least 10 characters" in weak.stderr
        done = repseq(fresh_auth, "init", "--email", "Root@Lab.org", "--password-stdin", stdin=PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
        assert "administrator root@lab.org created (user 1)" in done.stdout
        event = listener.collect(lambda body: body["event"] == "user.created")
        assert event["data"]["user_id"] == 1 and event["data"]["created_by"] is None
    finally:
        listener.close()
    again = repseq(fresh_auth, "init", "--email", "other@lab.org", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "already initialised" in again.stderr

    from services.auth import sessions
    from services.common.db import session_scope

    with session_scope(fresh_auth, "auth") as db:
        answer = sessions.login(db, fresh_auth, lambda *a: None, "root@lab.org", PASSWORD, "127.0.0.1", "cli")
    assert answer["principal"]["is_admin"] is True


def test_account_commands(fresh_auth):
    created = repseq(fresh_auth, "create-user", "--email", "tech@lab.org", "--no-password")
    assert created.returncode == 0, created.stderr
    assert "password-reset token (single use" in created.stdout and "rs_r_" in created.stdout
    assert repseq(fresh_auth, "create-user", "--email", "tech@lab.org", "--no-password").returncode == 1
    org = repseq(fresh_auth, "create-group", "lab-lille")
    role = repseq(fresh_auth, "create-group", "lab-lille/tech", "--parent", "lab-lille",
                  "--capabilities", "read,upload")
    assert org.returncode == role.returncode == 0, org.stderr + role.stderr
    assert "capabilities read,upload" in role.stdout
    added = repseq(fresh_auth, "add-member", "--group", "lab-lille/tech", "--email", "tech@lab.org")
    assert added.returncode == 0 and "added to lab-lille/tech" in added.stdout
    granted = repseq(fresh_auth, "capabilities", "--user", "tech@lab.org", "--grant", "run")
    assert granted.returncode == 0 and "+run" in granted.stdout
    assert repseq(fresh_auth, "capabilities", "--user", "tech@lab.org", "--grant", "fly").returncode == 1
    password = repseq(fresh_auth, "set-password", "--email", "tech@lab.org", "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert password.returncode == 0, password.stderr
    users = repseq(fresh_auth, "users")
    assert "tech@lab.org" in users.stdout
    audit = repseq(fresh_auth, "audit", "--email", "tech@lab.org")
    for action in ("user_created", "membership_added", "capabilities_changed", "password_set"):
        assert action in audit.stdout

    from services.auth import sessions
    from services.common.db import session_scope
    from services.common.permissions import Resource, can

    with session_scope(fresh_auth, "auth") as db:
        principal = sessions.login(db, fresh_auth, lambda *a: None, "tech@lab.org", PASSWORD, "127.0.0.1",
                                   "cli")["principal"]
    org_id = next(m["parent_id"] for m in principal["memberships"] if m["name"] == "lab-lille/tech")
    assert can(principal, "upload", Resource("sample_set", 1, [org_id]))
    assert not can(principal, "run", Resource("sample_set", 1, [org_id]))


def test_default_run_setting(fresh_auth):
    created = repseq(fresh_auth, "create-user", "--email", "runner@lab.org", "--no-password",
                     REPSEQ_AUTH_DEFAULT_RUN="true")
    assert created.returncode == 0, created.stderr
    from services.auth import directory
    from services.common.db import session_scope

    with session_scope(fresh_auth, "auth") as db:
        user = directory.user_by_email(db, "runner@lab.org")
        group_id = directory.personal_group_id(db, user.id)
        assert "run" in directory.capabilities_of(db, [group_id])[group_id]


def test_unmigrated_database_is_one_clear_line(settings):
    result = repseq(settings.replace(db_prefix=settings.db_prefix + "none_"), "users")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("run `repseq admin migrate` first") or "auth database" in result.stderr


def test_concurrent_first_administrators_only_one_wins(fresh_auth):
    """Two set-ups racing on an empty database: the admin group row serialises them."""
    import threading

    from services.auth import accounts
    from services.common.db import session_scope
    from services.common.exceptions import Conflict

    outcomes = []

    def initialise(email):
        try:
            with session_scope(fresh_auth, "auth") as db:
                accounts.init_admin(db, fresh_auth, lambda *a: None, email, PASSWORD)
            outcomes.append("created")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=initialise, args=(f"first{n}@lab.org",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["conflict", "created"]
