"""Helpers of the auth tests: accounts made through the real auth service, direct access to the auth database
(to age a session or a token without waiting), and an event listener on the real broker."""

from __future__ import annotations

import itertools
import json
import secrets
import socket
import time
from contextlib import contextmanager

from sqlalchemy import text

from services.common.db import session_scope

PASSWORD = "Blue-Harbour-Lamp-73"
_serial = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_serial)}-{secrets.token_hex(3)}@lab.example.org"


def unique_ip() -> str:
    """A fresh client address per test, so that per-IP rate limits of different tests never meet."""
    return f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


@contextmanager
def auth_sql(settings):
    """A SQLAlchemy session on the test auth database (committed at the end)."""
    with session_scope(settings, "auth") as db:
        yield db


def run_sql(settings, statement: str, **params):
    with auth_sql(settings) as db:
        result = db.execute(text(statement), params)
        return result.all() if result.returns_rows else result.rowcount


class EventListener:
    """An exclusive queue bound to ``<source>.events`` for some event names, on the test vhost."""

    def __init__(self, amqp_uri: str, source: str, names: list[str]):
        from kombu import Connection, Exchange, Queue

        self.connection = Connection(amqp_uri)
        channel = self.connection.channel()
        exchange = Exchange(f"{source}.events", type="topic", durable=True, channel=channel)
        exchange.declare()
        self.queue = Queue(exclusive=True, auto_delete=True, channel=channel)
        self.queue.declare()
        for name in names:
            self.queue.bind_to(exchange, routing_key=name)

    def collect(self, predicate, timeout: float = 10.0) -> dict:
        """The first event body for which ``predicate(body)`` is true (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            body = message.payload if not isinstance(message.payload, (bytes, str)) else json.loads(message.body)
            if predicate(body):
                return body
        raise AssertionError("expected event not received")

    def close(self):
        try:
            self.connection.release()
        except (OSError, socket.error):
            pass
