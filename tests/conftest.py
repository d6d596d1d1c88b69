"""Session fixtures shared by every test folder (tests/auth/, tests/samples/, ...).

Real components only: RabbitMQ, MariaDB and an S3 server must be reachable (as configured by the REPSEQ_*
variables / var/secrets.env: ``make services`` starts them), or a Docker engine must exist so that throwaway
containers can be started with testcontainers. Otherwise the session stops with one line saying what is missing.

The S3 server, when none answers, is started like `make services` does and left running (it is infrastructure,
shared by concurrent sessions); `repseq down` stops it.

Isolation: each session gets its own RabbitMQ vhost, databases ``repseq_test_<token>_<service>`` and buckets
``repseq-test-<token>-<role>``, removed at the end (``REPSEQ_TEST_KEEP=1`` keeps them). Several sessions (other
helpers, CI) can therefore run at once against the same servers.

Fixtures (all session-scoped):
- ``base_settings``: Settings of this machine, infrastructure checked.
- ``settings``: test Settings (own vhost, database prefix, buckets, var dir, gateway port).
- ``migrated``: ``settings`` after creating the test databases and upgrading them to head.
- ``object_store``: an ObjectStore on the test buckets (created).
- ``stack``: every service + the gateway running as subprocesses against the above; a :class:`StackHandle`
  (``.url``, ``.settings``, ``.stack``, ``.get(path)``, ``.post(path, json=...)``, ``.logs(name)``).
- ``gateway_url``: ``stack.url``.
- ``rpc``: a started nameko ClusterRpcProxy on the test vhost (``rpc.samples.ping(...)``); needs ``stack``.
- ``admin_principal`` / ``make_principal(**fields)``: principal dicts for RPC calls.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from services.common.config import SERVICE_NAMES, ConfigError, Settings

TOKEN = os.environ.get("REPSEQ_TEST_TOKEN") or secrets.token_hex(3)


def pytest_collection_finish(session):
    """nameko services must run as subprocesses: a test module that monkey-patches eventlet at import (e.g. by
    importing services.common.runner) makes later tests hang, so stop at once, saying so."""
    import sys

    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("socket"):
        pytest.exit("eventlet.monkey_patch() ran inside pytest while collecting tests (a test module imports "
                    "services.common.runner or patches eventlet); run services as subprocesses instead",
                    returncode=3)


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def _docker_engine() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _broker_error(amqp_uri: str) -> str | None:
    from kombu import Connection

    try:
        with Connection(amqp_uri, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:
        return _one_line(error)
    return None


def _database_error(settings: Settings) -> str | None:
    from services.common.db import create_engine_for_url, database_url, ping

    engine = create_engine_for_url(database_url(settings, None), pool_size=1)
    try:
        ping(engine)
    except Exception as error:
        return _one_line(error)
    finally:
        engine.dispose()
    return None


class _Containers:
    """Throwaway RabbitMQ, MariaDB and MinIO containers (only where a Docker engine exists)."""

    def __init__(self):
        from testcontainers.minio import MinioContainer
        from testcontainers.mysql import MySqlContainer
        from testcontainers.rabbitmq import RabbitMqContainer

        self.rabbit = RabbitMqContainer("rabbitmq:3.13")
        self.mysql = MySqlContainer("mariadb:10.11", username="root", password="test", dbname="repseq_test_probe")
        self.minio = MinioContainer("minio/minio:latest")
        for container in (self.rabbit, self.mysql, self.minio):
            container.start()

    def settings(self, base_env: dict[str, str]) -> Settings:
        rabbit = self.rabbit
        minio_config = self.minio.get_config()
        env = dict(base_env)
        env.update({
            "REPSEQ_AMQP_URI": f"pyamqp://guest:guest@{rabbit.get_container_host_ip()}:"
                               f"{rabbit.get_exposed_port(5672)}//",
            "REPSEQ_DB_HOST": self.mysql.get_container_host_ip(),
            "REPSEQ_DB_PORT": str(self.mysql.get_exposed_port(3306)),
            "REPSEQ_DB_USER": "root", "REPSEQ_DB_PASSWORD": "test",
            "REPSEQ_S3_ENDPOINT": minio_config["endpoint"],
            "REPSEQ_S3_ACCESS_KEY": minio_config["access_key"], "REPSEQ_S3_SECRET_KEY": minio_config["secret_key"],
        })
        env.setdefault("REPSEQ_SECRET_KEY", "test-secret")
        return Settings.from_env(env, use_secrets_file=False)

    def stop(self):
        for container in (self.minio, self.mysql, self.rabbit):
            container.stop()


@pytest.fixture(scope="session")
def session_dir():
    """A temporary var dir for this session (pid files and logs of the test stack)."""
    path = Path(tempfile.mkdtemp(prefix=f"repseq-test-{TOKEN}-"))
    yield path
    if not os.environ.get("REPSEQ_TEST_KEEP"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def base_settings():
    """This machine's Settings with RabbitMQ, MariaDB and S3 checked (S3 is started if absent)."""
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        pytest.exit(f"{error} (tests read the same configuration as `repseq up`)", returncode=3)
    broker = _broker_error(settings.amqp_uri)
    database = _database_error(settings)
    containers = None
    if broker or database:
        if _docker_engine():
            containers = _Containers()
            settings = containers.settings(dict(os.environ))
        else:
            missing = []
            if broker:
                missing.append(f"RabbitMQ not reachable at {settings.amqp_uri.rsplit('@', 1)[-1]} ({broker})")
            if database:
                missing.append(f"MariaDB not reachable at {settings.db_host}:{settings.db_port} as "
                               f"{settings.db_user} ({database})")
            pytest.exit("; ".join(missing) + "; no Docker engine either: run `make services`", returncode=3)
    from repseq.stack import Stack, StackError

    if not containers:
        # The S3 server is infrastructure like RabbitMQ and MariaDB: when none answers, start it as
        # `make services` would (data and pid file under REPSEQ_VAR_DIR) and leave it running, so that
        # concurrent test sessions never lose it when one of them ends. `repseq down` stops it.
        try:
            Stack(settings, services=()).start_object_store()
        except StackError as error:
            pytest.exit(f"S3 server not reachable at {settings.s3_endpoint} and could not be started: "
                        f"{_one_line(error)}", returncode=3)
        if not Stack(settings, services=())._s3_ready():
            pytest.exit(f"S3 server at {settings.s3_endpoint} refuses access key {settings.s3_access_key!r} "
                        f"(another checkout's server? set REPSEQ_S3_ENDPOINT)", returncode=3)
    yield settings
    if containers:
        containers.stop()


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


def _make_vhost(amqp_uri: str, vhost: str) -> str | None:
    """Create ``vhost`` (rabbitmqctl, else the management API) and return the URI using it; ``None`` if the
    vhost cannot be created."""
    parsed = urllib.parse.urlsplit(amqp_uri)
    user = urllib.parse.unquote(parsed.username or "guest")
    password = urllib.parse.unquote(parsed.password or "guest")
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    except (OSError, subprocess.SubprocessError):
        api = os.environ.get("REPSEQ_RABBIT_API_URI", f"http://{parsed.hostname}:15672")
        try:
            requests.put(f"{api}/api/vhosts/{vhost}", auth=(user, password), timeout=5).raise_for_status()
            requests.put(f"{api}/api/permissions/{vhost}/{user}", auth=(user, password), timeout=5,
                         json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        except requests.RequestException:
            return None
    return urllib.parse.urlunsplit(parsed._replace(path="/" + urllib.parse.quote(vhost, safe="")))


def _drop_vhost(amqp_uri: str, vhost: str) -> None:
    parsed = urllib.parse.urlsplit(amqp_uri)
    try:
        _rabbitmqctl("delete_vhost", vhost)
    except (OSError, subprocess.SubprocessError):
        api = os.environ.get("REPSEQ_RABBIT_API_URI", f"http://{parsed.hostname}:15672")
        auth = (urllib.parse.unquote(parsed.username or "guest"), urllib.parse.unquote(parsed.password or "guest"))
        try:
            requests.delete(f"{api}/api/vhosts/{vhost}", auth=auth, timeout=5)
        except requests.RequestException:
            pass


def _drop_test_databases(settings: Settings) -> None:
    from services.common.db import dispose_engines, get_engine

    dispose_engines()
    with get_engine(settings, None).connect() as connection:
        names = [row[0] for row in connection.exec_driver_sql("SHOW DATABASES")
                 if row[0].startswith(settings.db_prefix)]
        for name in names:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
    dispose_engines()


@pytest.fixture(scope="session")
def settings(base_settings, session_dir):
    """Settings isolated for this session: own vhost, database prefix, buckets, var dir and gateway port."""
    prefix = os.environ.get("REPSEQ_TEST_DB_PREFIX") or f"{base_settings.db_prefix}test_{TOKEN}_"
    vhost = f"repseq_test_{TOKEN}"
    amqp_uri = os.environ.get("REPSEQ_TEST_AMQP_URI") or _make_vhost(base_settings.amqp_uri, vhost)
    if amqp_uri is None:
        pytest.exit("cannot create a RabbitMQ vhost for the tests (need rabbitmqctl as root or the management "
                    "API on :15672); or set REPSEQ_TEST_AMQP_URI to a dedicated vhost", returncode=3)
    test_settings = base_settings.replace(
        var_dir=session_dir,
        amqp_uri=amqp_uri,
        db_prefix=prefix,
        bucket_sequences=f"repseq-test-{TOKEN}-sequences",
        bucket_results=f"repseq-test-{TOKEN}-results",
        bucket_backups=f"repseq-test-{TOKEN}-backups",
        gateway_host="127.0.0.1",
        gateway_port=_free_port(),
        startup_timeout=60,
        secret_key=base_settings.secret_key or "test-secret",
    )
    yield test_settings
    if os.environ.get("REPSEQ_TEST_KEEP"):
        return
    from services.common.storage import ObjectStore

    store = ObjectStore(test_settings)
    for bucket in test_settings.buckets.values():
        try:
            store.remove_bucket(bucket)
        except Exception:
            pass
    _drop_test_databases(test_settings)
    if not os.environ.get("REPSEQ_TEST_AMQP_URI"):
        _drop_vhost(base_settings.amqp_uri, vhost)


@pytest.fixture(scope="session")
def migrated(settings):
    """The test databases created and upgraded to head: ``{service: revision}``."""
    from services.common.migrations import upgrade

    return upgrade(settings)


@pytest.fixture(scope="session")
def object_store(settings):
    """An ObjectStore on the test buckets (created)."""
    from services.common.storage import ObjectStore

    store = ObjectStore(settings)
    store.ensure_buckets()
    return store


@dataclass
class StackHandle:
    """The running test stack."""

    url: str
    settings: Settings
    stack: object

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)

    def logs(self, name: str, lines: int = 40) -> str:
        """Last ``lines`` of the log of ``name`` (a service, "gateway" or "weed")."""
        return self.stack.log_tail(name, lines)


@pytest.fixture(scope="session")
def stack(settings, migrated):
    """All services and the gateway as subprocesses on the test settings; stopped at the end of the session."""
    from repseq.stack import Stack, StackError

    test_stack = Stack(settings)
    try:
        url = test_stack.up(timeout=120)
    except StackError as error:
        test_stack.down()
        pytest.fail(f"test stack did not start: {error}", pytrace=False)
    yield StackHandle(url=url, settings=settings, stack=test_stack)
    test_stack.down()


@pytest.fixture(scope="session")
def gateway_url(stack) -> str:
    return stack.url


@pytest.fixture(scope="session")
def rpc(stack):
    """A started nameko ClusterRpcProxy on the test vhost (10 s reply timeout). Single-threaded use only."""
    from nameko.standalone.rpc import ClusterRpcProxy

    with ClusterRpcProxy(stack.settings.nameko_config(), timeout=10) as proxy:
        yield proxy


@pytest.fixture(scope="session")
def admin_principal() -> dict:
    """Principal dict of an administrator (user id 1) for RPC calls."""
    from services.common.principal import Principal

    return Principal(user_id=1, email="admin@example.org", is_admin=True).to_dict()


@pytest.fixture(scope="session")
def make_principal():
    """``make_principal(user_id=2, groups=[3], capabilities=["upload"], ...)`` -> principal dict."""
    from services.common.principal import Principal

    def make(user_id: int = 2, email: str = "user@example.org", groups=(), capabilities=(), is_admin=False,
             impersonator=None) -> dict:
        return Principal(user_id=user_id, email=email, groups=frozenset(groups),
                         capabilities=frozenset(capabilities), is_admin=is_admin,
                         impersonator=impersonator).to_dict()

    return make
