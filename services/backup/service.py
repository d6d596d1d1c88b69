"""Backup service: database dumps and object-store exports to the backups bucket.

Entrypoints only; logic lives in domain modules."""

from __future__ import annotations

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.health import database_check, service_report, storage_check
from services.common.storage import Storage


class BackupService:
    """RPC ``backup.*``. Owns the database ``<prefix>backup``."""

    name = "backup"
    db = Database()
    storage = Storage()

    @rpc
    def health(self):
        """Status of this service and of what it uses: ``{"service", "status", "checks": {component: check}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {
            "database": database_check(self.db.get_bind()),
            "object_store": storage_check(self.storage, self.storage.buckets["backups"]),
        })
