"""Faults: services retry the broker/database at start and say why; /health names what is down, in < 1 s."""

import os
import signal
import subprocess
import sys
import time

from services.common.config import REPO_ROOT, SERVICE_NAMES


def run_service(settings, **overrides):
    env = {**os.environ, **settings.to_env(), "REPSEQ_STARTUP_TIMEOUT": "3", **overrides}
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "services.common.runner", "fuse"], env=env, cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    return result, time.monotonic() - started


def test_service_retries_unreachable_database_with_backoff_then_exits(settings, migrated):
    result, elapsed = run_service(settings, REPSEQ_DB_PORT="1")
    assert result.returncode == 1
    retries = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(retries) >= 2, result.stderr
    assert "database of fuse (127.0.0.1:1) unreachable" in retries[0]
    assert "retrying in 0.5 s" in retries[0] and "retrying in 1.0 s" in retries[1]
    assert "still unreachable after 3 s" in result.stderr
    assert elapsed >= 1.5


def test_service_retries_unreachable_broker(settings):
    result, _ = run_service(settings, REPSEQ_AMQP_URI="pyamqp://guest:guest@127.0.0.1:1//")
    assert result.returncode == 1
    assert "RabbitMQ (127.0.0.1:1//) unreachable" in result.stderr
    assert "retrying in" in result.stderr


def health_of(settings):
    from gateway.app import create_app

    app = create_app(settings)
    try:
        started = time.monotonic()
        response = app.test_client().get("/health")
        return response, time.monotonic() - started
    finally:
        app.extensions["repseq"].health.close()
        app.extensions["repseq"].rpc.close()


def test_health_names_object_store_and_database_down(stack):
    response, elapsed = health_of(stack.settings.replace(s3_endpoint="127.0.0.1:1", db_port=1))
    assert response.status_code == 503
    components = response.get_json()["components"]
    assert components["object_store"]["status"] == "down"
    assert components["database"]["status"] == "down"
    assert components["broker"]["status"] == "ok"
    assert components["auth"]["status"] == "ok"  # services use their own, working, connections
    assert elapsed < 1.0


def test_health_names_services_and_broker_down(settings):
    response, elapsed = health_of(settings.replace(amqp_uri="pyamqp://guest:guest@127.0.0.1:1//"))
    assert response.status_code == 503
    components = response.get_json()["components"]
    assert components["broker"]["status"] == "down"
    for service in SERVICE_NAMES:
        assert components[service]["status"] == "down"
    assert components["database"]["status"] == "ok"
    assert elapsed < 1.0


def test_health_says_which_service_is_not_running(stack):
    """Stop one service of the test stack: only it is reported down, within a second; then restart it."""
    pid = stack.stack.running_pid("fuse")
    os.killpg(pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 20
        while stack.stack.running_pid("fuse") and time.monotonic() < deadline:
            time.sleep(0.2)
        started = time.monotonic()
        response = stack.get("/health", timeout=5)
        elapsed = time.monotonic() - started
        components = response.json()["components"]
        assert response.status_code == 503
        assert components["fuse"]["status"] == "down"
        assert "no answer within" in components["fuse"]["error"]
        assert [name for name, c in components.items() if c["status"] != "ok"] == ["fuse"]
        assert elapsed < 1.0
    finally:
        stack.stack.start_services()
        stack.stack.wait_healthy(60)
