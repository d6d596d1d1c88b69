"""Reporter service: site-wide information. The event log (audit trail of facts on the bus), news items shown to
logged-in users (with per-user read markers) and site settings such as the healthcare-compliance flag.

Entrypoints only; logic lives in domain modules (news.py, site_settings.py). Administrators' changes of news and
settings publish ``news.changed`` / ``site_settings.changed`` (docs/events.md) after the commit and are recorded
in the event log in the same transaction as the change.
"""

from __future__ import annotations

from sqlalchemy import select

from services.common.db import Database
from services.common.entrypoints import event_handler, rpc
from services.common.events import Envelope, EventPublisher, make_envelope
from services.common.exceptions import BadRequest
from services.common.health import database_check, service_report
from services.common.principal import Principal
from services.reporter import news, site_settings
from services.common.dependencies import Config
from services.reporter.models import EventRecord
from services.reporter.schemas import NewsChanges, NewsFields, parse


class ReporterService:
    """RPC ``reporter.*``. Owns the database ``<prefix>reporter``; consumes events of other services."""

    name = "reporter"
    db = Database()
    settings = Config()
    publish = EventPublisher()

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

    # -- news (Vidjil reference M6) -------------------------------------------------------------------------------
    @rpc
    def list_active_news(self, principal):
        """News for the caller's banner: active items (``expires_on`` today or later, UTC) the caller has not
        dismissed, most urgent first then newest, at most 20. Each item: ``{"id", "title", "content", "priority"
        ("urgent" | "warning" | "info"), "expires_on" (YYYY-MM-DD), "active", "created_at", "created_by",
        "updated_at", "updated_by"}``; title and content are plain text (escape them to show them).

        Any logged-in user (Unauthenticated for a malformed principal).
        """
        caller = Principal.from_dict(principal)
        return news.list_active(self.db, caller.user_id)

    @rpc
    def mark_news_read(self, principal, news_id):
        """Dismiss news item ``news_id`` for the caller (idempotent): ``{"news_id", "read": true}``.

        Any logged-in user; NotFound for an unknown item, BadRequest for a non-id.
        """
        caller = Principal.from_dict(principal)
        return news.mark_read(self.db, caller.user_id, news_id)

    @rpc
    def list_news(self, principal, include_expired=True):
        """Administrators: every news item (active first, then newest), each as in :meth:`list_active_news` with
        ``read_count`` (users who dismissed it). PermissionDenied otherwise."""
        Principal.from_dict(principal).require_admin()
        return news.list_all(self.db, include_expired)

    @rpc
    def create_news(self, principal, fields):
        """Administrators: create a news item. ``fields``: ``{"title" (1-200 characters), "content" (0-4000,
        newlines kept), "priority" ("urgent" | "warning" | "info", default info), "expires_on" ("YYYY-MM-DD",
        required: the last day it is shown)}``. Text is stored as plain text (markup is not interpreted, control
        characters removed). Returns the item (as :meth:`list_news`). PermissionDenied, BadRequest naming the
        field (``details.fields``). Publishes ``news.changed`` (change "created")."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        item = news.create(self.db, caller.user_id, parse(NewsFields, fields))
        self._audit(caller, "news.changed", {"news_id": item.id, "change": "created",
                                             "fields": ["title", "content", "priority", "expires_on"],
                                             "read_markers_cleared": 0})
        return news.to_dict(item, 0)

    @rpc
    def update_news(self, principal, news_id, changes):
        """Administrators: change any of ``title``, ``content``, ``priority``, ``expires_on`` of an item (fields
        as :meth:`create_news`; a field left out is kept). Every edit clears the item's read markers: users see
        it again. Returns the item. PermissionDenied, NotFound, BadRequest. Publishes ``news.changed``
        (change "updated")."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        item, changed, cleared = news.update(self.db, caller.user_id, news_id, parse(NewsChanges, changes))
        self._audit(caller, "news.changed", {"news_id": item.id, "change": "updated", "fields": changed,
                                             "read_markers_cleared": cleared})
        return news.to_dict(item, 0)

    @rpc
    def delete_news(self, principal, news_id):
        """Administrators: delete an item and its read markers. Returns ``{"news_id", "deleted": true}``.
        PermissionDenied, NotFound. Publishes ``news.changed`` (change "deleted")."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        item, cleared = news.remove(self.db, news_id)
        self._audit(caller, "news.changed", {"news_id": item.id, "change": "deleted", "fields": [],
                                             "read_markers_cleared": cleared})
        return {"news_id": item.id, "deleted": True}

    # -- site settings (Vidjil reference M17) ---------------------------------------------------------------------
    @rpc
    def get_site_settings(self):
        """Site settings every page may show, also before login: ``{"healthcare_compliance": bool,
        "healthcare_compliance_source": "administrator" | "configuration", "healthcare_compliance_default": bool
        (REPSEQ_HEALTHCARE_COMPLIANCE)}``. Needs no principal: the login page shows the compliance banner."""
        return site_settings.effective(self.db, self.settings)

    @rpc
    def set_site_settings(self, principal, compliance):
        """Administrators: declare the server compliant for clinical use (``compliance`` true), Research Use Only
        (false), or follow REPSEQ_HEALTHCARE_COMPLIANCE again (null). Returns :meth:`get_site_settings`.
        PermissionDenied, BadRequest for another value. Publishes ``site_settings.changed`` when the effective
        value or its source changes."""
        caller = Principal.from_dict(principal)
        caller.require_admin()
        before, after = site_settings.set_compliance(self.db, self.settings, caller.user_id, compliance)
        if before != after:
            key = site_settings.COMPLIANCE
            self._audit(caller, "site_settings.changed", {
                "key": key, "value": compliance, "previous": before[key], "effective": after[key],
                "source": after[f"{key}_source"]})
        return after

    def _audit(self, caller: Principal, event: str, data: dict) -> None:
        """Record ``event`` (with who did it) in the event log with the change, commit, then publish it."""
        data = {**data, "changed_by": caller.user_id, "impersonator": caller.impersonator}
        self._record(Envelope.parse(make_envelope(event, data)))
        self.db.commit()
        self.publish(event, data)

    def _record(self, envelope: Envelope) -> None:
        self.db.add(EventRecord(event=envelope.event, version=envelope.version, source=envelope.source,
                                occurred_at=envelope.occurred_at, data=envelope.data))
