"""Reporter service: the event log (audit trail of facts on the bus) and reports built from events.

Entrypoints only; logic lives in domain modules.
"""

from __future__ import annotations

from sqlalchemy import select

from services.common.db import Database
from services.common.entrypoints import event_handler, rpc
from services.common.events import Envelope
from services.common.exceptions import BadRequest
from services.common.health import database_check, service_report
from services.common.principal import Principal
from services.reporter.models import EventRecord


class ReporterService:
    """RPC ``reporter.*``. Owns the database ``<prefix>reporter``; consumes events of other services."""

    name = "reporter"
    db = Database()

    @rpc
    def health(self):
        """Status of this service and of its database: ``{"service", "status", "checks": {"database": ...}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {"database": database_check(self.db.get_bind())})

    @event_handler("samples", "foundation.ping")
    def on_foundation_ping(self, payload):
        """Record a ``foundation.ping`` event (docs/events.md) in the event log."""
        self._record(Envelope.parse(payload, expected_event="foundation.ping"))

    @rpc
    def recent_events(self, principal, event=None, limit=50):
        """The newest ``limit`` (1..500) recorded events, newest first, optionally only those named ``event``.

        Returns a list of ``{"id", "event", "version", "source", "occurred_at", "received_at", "data"}``.
        Administrators only (PermissionDenied otherwise); BadRequest for a bad ``limit``.
        """
        Principal.from_dict(principal).require_admin()
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise BadRequest("limit must be an integer from 1 to 500", {"limit": limit})
        query = select(EventRecord).order_by(EventRecord.id.desc()).limit(limit)
        if event:
            query = query.where(EventRecord.event == event)
        return [record.to_dict() for record in self.db.scalars(query)]

    def _record(self, envelope: Envelope) -> None:
        self.db.add(EventRecord(event=envelope.event, version=envelope.version, source=envelope.source,
                                occurred_at=envelope.occurred_at, data=envelope.data))
