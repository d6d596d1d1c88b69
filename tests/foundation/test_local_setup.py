"""Two RepSeq installs on one machine (another clone, CI, another REPSEQ_VAR_DIR) must not break each other:
a new install gets its own database user and never changes the password of an existing one (real MariaDB, as
its root over the unix socket, like `make setup`); the stack's RabbitMQ vhost is created when missing; `repseq up`
refuses, before starting anything, when another stack serves the same vhost, the S3 endpoint belongs to another
install, or the gateway port is taken."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pymysql
import pytest

from repseq import localsetup
from services.common.config import read_env_file

ROOT = Path(__file__).resolve().parents[2]


def mariadb_root(sql: str) -> subprocess.CompletedProcess:
    argv = ["mariadb", "--batch"] if os.geteuid() == 0 else ["sudo", "-n", "mariadb", "--batch"]
    return subprocess.run(argv, input=sql, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def root_sql():
    """Runs SQL as MariaDB's root (what `make setup` needs too); fails the test when that is impossible."""
    try:
        probe = mariadb_root("SELECT 1;")
    except OSError as error:
        pytest.fail(f"MariaDB root over the unix socket is needed (as `make setup`): {error}", pytrace=False)
    if probe.returncode:
        pytest.fail(f"MariaDB root over the unix socket is needed (run as root or with sudo rights, as `make setup`)"
                    f": {probe.stderr.strip()}", pytrace=False)
    return mariadb_root


@pytest.fixture
def db_users(root_sql):
    """Names registered here are dropped (at localhost and 127.0.0.1) after the test."""
    names: list[str] = []
    yield names
    for name in names:
        root_sql(f"DROP USER IF EXISTS '{name}'@'localhost', '{name}'@'127.0.0.1';")


def can_log_in(settings, user: str, password: str) -> bool:
    try:
        pymysql.connect(host=settings.db_host, port=settings.db_port, user=user, password=password,
                        connect_timeout=5).close()
        return True
    except pymysql.err.OperationalError:
        return False


def clean_env(**values: str) -> dict[str, str]:
    """The process environment without any REPSEQ_* variable (so the developer's own never leak in), plus
    ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPSEQ_")}
    env.update(values)
    return env


def repseq(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "repseq", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=120)


# -- secrets of a new install ----------------------------------------------------------------------------------
def test_new_install_generates_its_own_database_user(tmp_path, monkeypatch):
    monkeypatch.delenv("REPSEQ_DB_USER", raising=False)
    monkeypatch.delenv("REPSEQ_DB_PASSWORD", raising=False)
    first = read_env_file(localsetup.init_secrets(tmp_path / "one"))
    second = read_env_file(localsetup.init_secrets(tmp_path / "two"))
    assert re.fullmatch(r"repseq_[0-9a-f]{6}", first["REPSEQ_DB_USER"])
    assert first["REPSEQ_DB_USER"] != second["REPSEQ_DB_USER"]
    assert first["REPSEQ_DB_PASSWORD"] != second["REPSEQ_DB_PASSWORD"]
    assert read_env_file(localsetup.init_secrets(tmp_path / "one")) == first  # twice: nothing changes


def test_existing_install_keeps_its_user_and_given_users_are_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("REPSEQ_DB_USER", raising=False)
    monkeypatch.delenv("REPSEQ_DB_PASSWORD", raising=False)
    old = tmp_path / "old"
    old.mkdir()
    (old / "secrets.env").write_text("REPSEQ_DB_PASSWORD=kept\n")  # made before user names were generated
    assert "REPSEQ_DB_USER" not in read_env_file(localsetup.init_secrets(old))  # still the default `repseq`
    monkeypatch.setenv("REPSEQ_DB_USER", "chosen")
    assert "REPSEQ_DB_USER" not in read_env_file(localsetup.init_secrets(tmp_path / "given"))


def test_db_user_sql_never_changes_a_password(tmp_path):
    # The tester's reproduction: a fresh var dir with the default user name.
    result = repseq("admin", "db-user-sql", env=clean_env(
        REPSEQ_VAR_DIR=str(tmp_path), REPSEQ_DB_PREFIX="repseq_x_", REPSEQ_DB_PASSWORD="xxx",
        REPSEQ_S3_SECRET_KEY="x", REPSEQ_SECRET_KEY="x"))
    assert result.returncode == 0, result.stderr
    assert "ALTER USER" not in result.stdout.upper()
    assert "SIGNAL SQLSTATE" in result.stdout and "GRANT ALL PRIVILEGES ON `repseq\\_x\\_%`.*" in result.stdout


# -- the database user, against the real MariaDB -----------------------------------------------------------------
def test_existing_user_of_another_install_is_refused_and_keeps_its_password(base_settings, settings, root_sql,
                                                                             db_users, tmp_path):
    other = f"rst_{secrets.token_hex(4)}"
    db_users.append(other)
    created = root_sql(f"CREATE USER '{other}'@'localhost' IDENTIFIED BY 'theirs';"
                       f"CREATE USER '{other}'@'127.0.0.1' IDENTIFIED BY 'theirs';")
    assert created.returncode == 0, created.stderr
    # SQL piped by hand into `mariadb` stops at once
    sql = localsetup.database_user_sql(other, "mine", settings.db_prefix)
    piped = root_sql(sql)
    assert piped.returncode != 0 and "REPSEQ_DB_USER" in piped.stderr
    # `make setup`'s step: one line naming the variables, exit 1
    result = repseq("admin", "ensure-db-user", env=clean_env(
        REPSEQ_VAR_DIR=str(tmp_path), REPSEQ_DB_HOST=base_settings.db_host, REPSEQ_DB_PORT=str(base_settings.db_port),
        REPSEQ_DB_USER=other, REPSEQ_DB_PASSWORD="mine", REPSEQ_DB_PREFIX=settings.db_prefix,
        REPSEQ_S3_SECRET_KEY="x", REPSEQ_SECRET_KEY="x"))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "REPSEQ_DB_USER" in result.stderr and "REPSEQ_DB_PASSWORD" in result.stderr
    assert can_log_in(base_settings, other, "theirs")
    assert not can_log_in(base_settings, other, "mine")


def test_new_install_creates_its_user_and_a_second_run_changes_nothing(base_settings, settings, root_sql, db_users,
                                                                       tmp_path):
    env = clean_env(REPSEQ_VAR_DIR=str(tmp_path), REPSEQ_DB_HOST=base_settings.db_host,
                    REPSEQ_DB_PORT=str(base_settings.db_port), REPSEQ_DB_PREFIX=settings.db_prefix)
    assert repseq("admin", "init-secrets", env=env).returncode == 0
    generated = read_env_file(tmp_path / "secrets.env")
    user, password = generated["REPSEQ_DB_USER"], generated["REPSEQ_DB_PASSWORD"]
    db_users.append(user)
    first = repseq("admin", "ensure-db-user", env=env)
    assert first.returncode == 0, first.stderr
    assert f"database user {user}: created" in first.stdout
    assert can_log_in(base_settings, user, password)
    again = repseq("admin", "ensure-db-user", env=env)
    assert again.returncode == 0 and f"database user {user}: ok" in again.stdout
    assert can_log_in(base_settings, user, password)
    access = repseq("admin", "db-access", env=env)
    assert access.returncode == 0 and access.stdout.startswith("ok")


def test_user_that_logs_in_gets_the_grant_of_a_new_prefix(base_settings, root_sql, db_users):
    user = f"rst_{secrets.token_hex(4)}"
    db_users.append(user)
    mine = base_settings.replace(db_user=user, db_password="pw-" + secrets.token_hex(8),
                                 db_prefix=f"rst_{secrets.token_hex(3)}_")
    assert localsetup.database_access(mine) == "no-login"
    assert localsetup.ensure_database_user(mine) == "created"
    assert localsetup.database_access(mine) == "ok"
    moved = mine.replace(db_prefix=f"rst_{secrets.token_hex(3)}_")
    assert localsetup.database_access(moved) == "no-grant"
    assert localsetup.ensure_database_user(moved) == "granted"
    assert localsetup.database_access(moved) == "ok"
    assert localsetup.database_access(mine.replace(db_password="wrong")) == "no-login"


# -- RabbitMQ vhost and `repseq up` refusing to run into another stack ---------------------------------------------
def vhost_uri(amqp_uri: str, vhost: str) -> str:
    parsed = urllib.parse.urlsplit(amqp_uri)
    return urllib.parse.urlunsplit(parsed._replace(path="/" + urllib.parse.quote(vhost, safe="")))


@pytest.fixture
def fresh_vhost(base_settings):
    """The URI of a vhost that does not exist yet (deleted after the test)."""
    vhost = f"rst_{secrets.token_hex(4)}"
    yield vhost_uri(base_settings.amqp_uri, vhost)
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)


def test_missing_local_vhost_is_created_once(fresh_vhost):
    assert localsetup.ensure_vhost(fresh_vhost) == "created"
    assert localsetup.ensure_vhost(fresh_vhost) == "exists"
    with pytest.raises(RuntimeError, match="REPSEQ_AMQP_URI"):
        localsetup.ensure_vhost("pyamqp://guest:guest@127.0.0.1:1/nowhere", timeout=2)


def test_up_refuses_a_vhost_another_stack_serves_and_starts_nothing(settings, fresh_vhost, tmp_path):
    import amqp

    from repseq.stack import Stack, StackError

    localsetup.ensure_vhost(fresh_vhost)
    parsed = urllib.parse.urlsplit(fresh_vhost)
    other = amqp.Connection(host=f"{parsed.hostname}:{parsed.port or 5672}", userid=parsed.username,
                            password=parsed.password, virtual_host=urllib.parse.unquote(parsed.path[1:]))
    other.connect()
    try:  # the other stack's auth service, listening for calls
        channel = other.channel()
        channel.queue_declare("rpc-auth", auto_delete=True)
        channel.basic_consume("rpc-auth", callback=lambda message: None)
        stack = Stack(settings.replace(var_dir=tmp_path, amqp_uri=fresh_vhost), services=("auth",), gateway=False,
                      workers=0)
        with pytest.raises(StackError, match=r"another RepSeq stack already serves 'auth'.*REPSEQ_AMQP_URI"):
            stack.up(timeout=30)
        assert not stack.pid_file("auth").exists()
    finally:
        other.collect()


def test_up_refuses_a_busy_gateway_port_before_starting_services(settings, fresh_vhost, tmp_path):
    from repseq.stack import Stack, StackError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        stack = Stack(settings.replace(var_dir=tmp_path, amqp_uri=fresh_vhost, gateway_port=port),
                      services=("auth",), workers=0)
        with pytest.raises(StackError, match="REPSEQ_GATEWAY_PORT"):
            stack.up(timeout=30)
    assert not stack.pid_file("auth").exists()


def test_up_refuses_an_s3_server_of_another_install(settings, tmp_path):
    from repseq.stack import Stack, StackError

    stack = Stack(settings.replace(var_dir=tmp_path, s3_secret_key="another-install"), services=("auth",),
                  workers=0)
    with pytest.raises(StackError, match="REPSEQ_S3_ENDPOINT"):
        stack.check_object_store(timeout=1)  # the first check of up()'s preflight
    assert not stack.pid_file("auth").exists()
