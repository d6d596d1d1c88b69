"""Fixtures of the auth tests: a real administrator account and logins through the running auth service."""

from __future__ import annotations

import pytest

import services.auth.exceptions  # noqa: F401  (auth errors arrive over RPC as their own classes)
from auth_helpers import PASSWORD, EventListener, unique_email, unique_ip


@pytest.fixture(scope="session")
def auth_admin(settings, migrated):
    """An administrator account created the way `repseq admin create-user --admin` does (directly in the auth
    database), so the tests do not depend on being the first to initialise the platform:
    ``{"id", "email", "password"}``."""
    from services.auth import accounts
    from services.common.db import session_scope

    email = unique_email("admin")
    with session_scope(settings, "auth") as db:
        user = accounts.create_user(db, settings, lambda event, data: None, None, email, PASSWORD, "Ada", "Admin",
                                    admin=True)
    return {"id": user["id"], "email": email, "password": PASSWORD}


@pytest.fixture(scope="session")
def admin_session(rpc, auth_admin):
    """``{"token", "principal"}`` of a logged-in administrator (a real session of the auth service)."""
    answer = rpc.auth.login(auth_admin["email"], auth_admin["password"], "127.0.0.1", "pytest")
    return {"token": answer["session_token"], "principal": answer["principal"]}


@pytest.fixture
def make_user(rpc, admin_session):
    """``make_user(**create_user kwargs)`` -> ``{"id", "email", "password", "personal_group_id", "token",
    "principal"}``: an account created by the administrator over RPC, then logged in."""

    def make(login: bool = True, **fields):
        email = fields.pop("email", None) or unique_email()
        password = fields.pop("password", PASSWORD)
        user = rpc.auth.create_user(admin_session["principal"], email, password, **fields)
        result = {"id": user["id"], "email": email, "password": password,
                  "personal_group_id": user["personal_group_id"], "user": user}
        if login:
            answer = rpc.auth.login(email, password, unique_ip(), "pytest")
            result.update(token=answer["session_token"], principal=answer["principal"])
        return result

    return make


@pytest.fixture
def auth_events(stack):
    """``auth_events(["user.created"])`` -> an EventListener bound to ``auth.events`` (closed at the end)."""
    listeners = []

    def listen(names):
        listener = EventListener(stack.settings.amqp_uri, "auth", names)
        listeners.append(listener)
        return listener

    yield listen
    for listener in listeners:
        listener.close()
