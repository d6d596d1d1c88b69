"""Fuse service: merges analysis results of a patient's samples for follow-up (MRD).

Entrypoints only; logic lives in domain modules."""

from __future__ import annotations

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.health import database_check, service_report


class FuseService:
    """RPC ``fuse.*``. Owns the database ``<prefix>fuse``."""

    name = "fuse"
    db = Database()

    @rpc
    def health(self):
        """Status of this service and of what it uses: ``{"service", "status", "checks": {component: check}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {"database": database_check(self.db.get_bind())})
