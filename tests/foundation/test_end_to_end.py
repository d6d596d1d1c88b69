"""The platform end to end: every service running as a process on the real RabbitMQ, MariaDB and S3 server,
reached over RPC and through the gateway, and an event dispatched by one service handled by another."""

import secrets
import time

import pytest

from services.common.config import SERVICE_NAMES
from services.common.exceptions import PermissionDenied, Unauthenticated
from services.common.migrations import current_revision, head_revision


def test_health_reports_every_component_within_a_second(stack):
    started = time.monotonic()
    response = stack.get("/health", timeout=5)
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["components"]) == {*SERVICE_NAMES, "broker", "database", "object_store"}
    assert all(component["status"] == "ok" for component in body["components"].values())
    assert body["components"]["samples"]["checks"]["object_store"]["status"] == "ok"
    assert elapsed < 1.0, f"/health took {elapsed:.2f} s"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_one_rpc_per_service(rpc, service):
    report = getattr(rpc, service).health()
    assert report["service"] == service
    assert report["status"] == "ok"
    assert report["checks"]["database"]["status"] == "ok"


def test_event_from_samples_is_handled_by_reporter(rpc, admin_principal):
    token = secrets.token_hex(8)
    sent = rpc.samples.ping(admin_principal, token)
    assert sent["event"] == "foundation.ping" and sent["version"] == 1
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        events = rpc.reporter.recent_events(admin_principal, event="foundation.ping", limit=20)
        received = [e for e in events if e["data"]["token"] == token]
        if received:
            break
        time.sleep(0.2)
    else:
        pytest.fail("reporter did not record the foundation.ping event within 15 s")
    assert received[0]["source"] == "samples"
    assert received[0]["data"] == {"token": token, "requested_by": 1}
    assert received[0]["occurred_at"] == sent["occurred_at"]


def test_rpc_checks_the_principal(rpc, make_principal):
    with pytest.raises(PermissionDenied):
        rpc.samples.ping(make_principal(user_id=5), "x")
    with pytest.raises(Unauthenticated):
        rpc.reporter.recent_events(None)
    with pytest.raises(Unauthenticated):
        rpc.reporter.recent_events({"user_id": "1", "is_admin": True})


def test_gateway_answers_json_errors(stack):
    response = stack.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_every_service_database_is_at_head(stack):
    for service in SERVICE_NAMES:
        assert current_revision(stack.settings, service) == head_revision(service)


def test_starting_again_does_no_harm(stack):
    pids = {name: stack.stack.running_pid(name) for name in (*SERVICE_NAMES, "gateway")}
    assert stack.stack.up(timeout=30) == stack.url
    assert {name: stack.stack.running_pid(name) for name in pids} == pids
