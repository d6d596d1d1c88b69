"""Fixtures of the hostile-user tests: real accounts (auth service) with API tokens on the running test stack, a
patient owned by one of them and shared with a no-anon group and a read-only group."""

from __future__ import annotations

import secrets
from types import SimpleNamespace

import pytest

import services.auth.exceptions  # noqa: F401  (auth errors arrive over RPC as their own classes)
import services.samples.exceptions  # noqa: F401
from attack_helpers import Client, make_patient

PASSWORD = "Hostile-Harbour-Lamp-91"


@pytest.fixture(scope="module")
def people(stack, rpc, settings):
    """``.owner`` (personal group: read/create/upload/save/admin/anon), ``.tech`` (group techs: read, upload,
    admin; no anon), ``.reader`` (group readers: read), ``.stranger`` (own personal group only), ``.nobody`` (no
    credentials) as API-token :class:`Client`\\ s; ``.groups`` their group ids; ``.principals`` their principal
    dicts (as the auth service builds them); ``.admin`` an administrator principal."""
    from services.auth import accounts
    from services.common.db import session_scope

    tag = secrets.token_hex(3)
    with session_scope(settings, "auth") as db:
        accounts.create_user(db, settings, lambda event, data: None, None, f"sec-admin-{tag}@lab.org", PASSWORD,
                             "Ada", "Admin", admin=True)
    admin = rpc.auth.login(f"sec-admin-{tag}@lab.org", PASSWORD, "10.9.0.1", "pytest")["principal"]
    clients, users, principals = {}, {}, {}
    for role in ("owner", "tech", "reader", "stranger"):
        email = f"sec-{role}-{tag}@lab.org"
        users[role] = rpc.auth.create_user(admin, email, PASSWORD, role.title(), "Tester")
    techs = rpc.auth.create_group(admin, f"sec-techs-{tag}", None, ["read", "upload", "admin"])
    readers = rpc.auth.create_group(admin, f"sec-readers-{tag}", None, ["read"])
    rpc.auth.add_member(admin, techs["id"], users["tech"]["id"])
    rpc.auth.add_member(admin, readers["id"], users["reader"]["id"])
    for role in ("owner", "tech", "reader", "stranger"):
        principal = rpc.auth.login(f"sec-{role}-{tag}@lab.org", PASSWORD, "10.9.0.2", "pytest")["principal"]
        principals[role] = principal
        clients[role] = Client(stack.url, rpc.auth.create_api_token(principal, "attacks")["token"])
    clients["nobody"] = Client(stack.url, None)
    groups = {"owner": users["owner"]["personal_group_id"], "stranger": users["stranger"]["personal_group_id"],
              "techs": techs["id"], "readers": readers["id"]}
    return SimpleNamespace(**clients, groups=groups, principals=principals, admin=admin, users=users)


@pytest.fixture
def patient(people) -> dict:
    return make_patient(people)


@pytest.fixture
def events_of_samples(stack):
    """Listens to every event of the samples service from now on; calling it returns the bodies received."""
    import json

    from kombu import Connection, Exchange, Queue

    connection = Connection(stack.settings.amqp_uri)
    channel = connection.channel()
    exchange = Exchange("samples.events", type="topic", durable=True)
    queue = Queue(exclusive=True, auto_delete=True, channel=channel)
    queue.declare()
    exchange.maybe_bind(channel)
    exchange.declare()
    queue.bind_to(exchange, routing_key="#")
    received: list[dict] = []

    def drain(wait: float = 1.0) -> list[dict]:
        import time

        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            received.append(json.loads(message.body) if isinstance(message.body, (bytes, str))
                            else message.payload)
        return received

    yield drain
    connection.release()
