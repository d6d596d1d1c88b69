"""Auth service: users, groups, capabilities, sessions (issue #3 fills it in). Entrypoints only; logic elsewhere."""

from __future__ import annotations

from services.common.db import Database
from services.common.entrypoints import rpc
from services.common.health import database_check, service_report


class AuthService:
    """RPC ``auth.*``. Owns the database ``<prefix>auth``."""

    name = "auth"
    db = Database()

    @rpc
    def health(self):
        """Status of this service and of its database: ``{"service", "status", "checks": {"database"}}``.

        Needs no principal: it reveals no data.
        """
        return service_report(self.name, {"database": database_check(self.db.get_bind())})
