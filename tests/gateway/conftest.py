"""Fixtures of the gateway tests: an administrator and a lab user (with an API token) on the running stack."""

from __future__ import annotations

import pytest

from gateway_helpers import make_admin, make_lab_user


@pytest.fixture(scope="session")
def gateway_admin(stack):
    return make_admin(stack)


@pytest.fixture(scope="session")
def lab_user(stack, gateway_admin):
    return make_lab_user(stack, gateway_admin)
