"""Helpers of the samples tests: principals with per-group capabilities, uploads through the object store,
listening to events on the real broker."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import socket
from pathlib import Path

from services.common.principal import Membership, Principal

DATA = Path(__file__).resolve().parents[1] / "data"
REAL_FASTQ_GZ = DATA / "real" / "immunedb-d1_spl.fastq.gz"
REAL_FASTQ = DATA / "real" / "immunedb-d1_spl.fastq"

# group and user ids far from those other tests use (the samples service does not check that groups exist)
_ids = itertools.count(7000)


def new_id() -> int:
    return next(_ids)


def principal(user_id: int, groups: dict[int, tuple[str, ...]], parents: dict[int, int] | None = None,
              is_admin: bool = False) -> dict:
    """A principal dict: ``groups`` maps group id -> capabilities; ``parents`` group id -> parent id."""
    parents = parents or {}
    members = [Membership(id=g, name=f"g{g}", parent_id=parents.get(g), capabilities=frozenset(caps))
               for g, caps in groups.items()]
    return Principal.build(user_id, email=f"u{user_id}@lab.org", memberships=members, is_admin=is_admin).to_dict()


ALL = ("read", "create", "upload", "run", "save", "admin", "anon")
NO_ANON = ("read", "create", "upload", "run", "save", "admin")


class Lab:
    """A lab group with three members: ``owner`` (every capability), ``tech`` (no anon), ``reader`` (read only),
    and ``stranger`` in another group (every capability there)."""

    def __init__(self):
        self.group = new_id()
        self.other_group = new_id()
        self.owner = principal(new_id(), {self.group: ALL})
        self.tech = principal(new_id(), {self.group: NO_ANON})
        self.reader = principal(new_id(), {self.group: ("read",)})
        self.stranger = principal(new_id(), {self.other_group: ALL})


def store_and_complete(rpc, object_store, caller: dict, sample: dict, data: bytes, file_number: int = 1,
                       size: int | None = None, sha256: str | None = None) -> dict:
    """Do what the gateway does: stream ``data`` to the upload key, then ``complete_upload``."""
    key = sample["upload_key"] if file_number == 1 else sample["upload_key2"]
    stored = object_store.put_stream(sample["upload_bucket"], key, io.BytesIO(data))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    return rpc.samples.complete_upload(caller, sample["id"], key, stored.size if size is None else size,
                                       sha256 or stored.sha256, file_number)


class EventListener:
    """An exclusive queue bound to ``<source>.events`` for some event names, on the test vhost."""

    def __init__(self, amqp_uri: str, source: str, names: list[str]):
        from kombu import Connection, Exchange, Queue

        self.connection = Connection(amqp_uri)
        exchange = Exchange(f"{source}.events", type="topic", durable=True)
        channel = self.connection.channel()
        self.queue = Queue(exclusive=True, auto_delete=True, channel=channel)
        self.queue.declare()
        exchange.maybe_bind(channel)
        exchange.declare()
        for name in names:
            self.queue.bind_to(exchange, routing_key=name)

    def collect(self, predicate, timeout: float = 10.0) -> dict:
        """The first message body for which ``predicate(body)`` is true (AssertionError after ``timeout``)."""
        import time

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
