"""Fixtures of the samples tests (helpers live in samples_helpers.py)."""

from __future__ import annotations

import pytest

from samples_helpers import EventListener, Lab


@pytest.fixture
def lab() -> Lab:
    """A fresh lab group with an owner, a technician (no anon), a reader and a stranger."""
    return Lab()


@pytest.fixture
def events(stack):
    """``events(["sample.uploaded"])`` -> an :class:`EventListener` on the test vhost (closed at the end)."""
    listeners = []

    def listen(names: list[str], source: str = "samples") -> EventListener:
        listener = EventListener(stack.settings.amqp_uri, source, names)
        listeners.append(listener)
        return listener

    yield listen
    for listener in listeners:
        listener.close()
