"""Samples service: patients, runs, sample sets, sequence files (uploads to S3).

Entrypoints only; logic lives in domain modules.
"""

from __future__ import annotations

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.events import EventPublisher
from services.common.health import database_check, service_report, storage_check
from services.common.principal import Principal
from services.common.storage import Storage


class SamplesService:
    """RPC ``samples.*``. Owns the database ``<prefix>samples``; publishes ``sample.*`` events."""

    name = "samples"
    db = Database()
    storage = Storage()
    publish = EventPublisher()

    @rpc
    def health(self):
        """Status of this service and of what it uses: ``{"service", "status", "checks": {component: check}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {
            "database": database_check(self.db.get_bind()),
            "object_store": storage_check(self.storage, self.storage.buckets["sequences"]),
        })

    @rpc
    def ping(self, principal, token):
        """Dispatch the event ``foundation.ping`` carrying ``token`` (a string up to 100 characters); return
        the envelope sent. Administrators only (raises PermissionDenied otherwise). Used to check the event path
        end to end: the reporter records the event (``reporter.recent_events``)."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        return self.publish("foundation.ping", {"token": str(token)[:100], "requested_by": caller.user_id})
