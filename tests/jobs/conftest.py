"""Fixtures of the jobs tests (helpers live in jobs_helpers.py)."""

from __future__ import annotations

import pytest

import services.jobs.exceptions  # noqa: F401  (registers the jobs errors for RPC deserialisation)
from jobs_helpers import EventListener, Lab, Workers


@pytest.fixture
def lab() -> Lab:
    return Lab()


@pytest.fixture
def workers(stack):
    """``workers.start(n)``: extra worker processes on the test stack, stopped at the end of the test."""
    handle = Workers(stack)
    yield handle
    handle.close()


@pytest.fixture
def events(stack):
    """``events(["analysis.completed"])`` -> an EventListener on ``jobs.events`` (closed at the end)."""
    listeners = []

    def listen(names, source="jobs"):
        listener = EventListener(stack.settings.amqp_uri, source, names)
        listeners.append(listener)
        return listener

    yield listen
    for listener in listeners:
        listener.close()
