"""docker-compose.yml without a Docker engine: the Compose schema (Debian's docker-compose), every service and
variable, no committed secret, build contexts and mounted files that exist, commands that resolve."""

import importlib.util
import os
import re
import shutil
import subprocess

import pytest
import yaml

from services.common.config import REPO_ROOT, SERVICE_NAMES, VARIABLES

COMPOSE = REPO_ROOT / "docker-compose.yml"
APP_CONTAINERS = (*SERVICE_NAMES, "gateway", "jobs-worker", "migrate")
SECRETS_FOR_CONFIG = {"RABBITMQ_PASSWORD": "x", "MARIADB_ROOT_PASSWORD": "x", "REPSEQ_DB_PASSWORD": "x",
                      "REPSEQ_S3_SECRET_KEY": "x", "REPSEQ_SECRET_KEY": "x"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def test_docker_compose_validates_the_file():
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed: apt-get install docker-compose (make test installs it)"
    env = {**os.environ, **SECRETS_FOR_CONFIG}
    result = subprocess.run([binary, "-f", str(COMPOSE), "config", "-q"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_to_run_without_the_secrets(tmp_path):
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed"
    env = {k: v for k, v in os.environ.items() if k not in SECRETS_FOR_CONFIG}
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = subprocess.run([binary, "-f", str(COMPOSE), "--env-file", str(empty), "config", "-q"], env=env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "set " in result.stderr and "in .env" in result.stderr


def test_every_component_has_a_container_with_a_health_check(compose):
    services = compose["services"]
    assert {"rabbitmq", "mysql", "minio", *APP_CONTAINERS} <= set(services)
    for name in ("rabbitmq", "mysql", "minio", *SERVICE_NAMES, "gateway"):
        assert "healthcheck" in services[name], name
    assert services["jobs-worker"]["deploy"]["replicas"] >= 1
    assert set(compose["volumes"]) >= {"rabbitmq-data", "mysql-data", "minio-data"}


def test_every_app_container_gets_every_variable(compose):
    names = {variable.name for variable in VARIABLES}
    for name in APP_CONTAINERS:
        assert names <= set(compose["services"][name]["environment"]), name


def test_no_secret_is_committed(compose):
    text = COMPOSE.read_text()
    for variable in VARIABLES:
        if variable.secret and variable.default is None:
            value = compose["services"]["auth"]["environment"][variable.name]
            assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", value), (variable.name, value)
    for key, value in re.findall(r"(\w*(?:PASSWORD|SECRET|SECRET_KEY|_PASS)): \"?([^\"\n]*)", text):
        assert re.fullmatch(r"\$\{\w+(:\?[^}]+|:-)\}", value), f"{key} has a literal value: {value}"


def test_build_contexts_mounts_and_commands_exist(compose):
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (REPO_ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), (name, source)
        command = service.get("command") or []
        if "-m" in command and name not in ("rabbitmq", "mysql", "minio"):
            module = command[command.index("-m") + 1]
            assert importlib.util.find_spec(module) is not None, (name, module)
        if name in SERVICE_NAMES:
            assert command[-1] == name and importlib.util.find_spec(f"services.{name}.service")
