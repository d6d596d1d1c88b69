"""The audit log of the auth service: every login, logout, failed or refused login (with IP and user agent),
impersonation start/stop, account change and every change of groups, memberships and capabilities.

Each line names the actor (``actor_user_id``) and, when an administrator acts as another user, the administrator
(``impersonator_id``), so impersonated actions are visible in every line. Administrators list it with the RPC
``auth.list_audit``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.auth.models import AuditEvent
from services.auth.schemas import AuditQuery
from services.common.exceptions import BadRequest
from services.common.principal import Principal


def record(db: Session, action: str, actor: Principal | int | None = None, *, target_user_id: int | None = None,
           group_id: int | None = None, email: str | None = None, ip: str | None = None,
           user_agent: str | None = None, details: dict[str, Any] | None = None) -> AuditEvent:
    """Add one audit line to ``db`` (committed with the call). ``actor``: the principal (its impersonator is kept),
    a user id, or ``None`` (anonymous)."""
    if isinstance(actor, Principal):
        actor_id, impersonator = actor.user_id, actor.impersonator
    else:
        actor_id, impersonator = actor, None
    event = AuditEvent(action=action, actor_user_id=actor_id, impersonator_id=impersonator,
                       target_user_id=target_user_id, group_id=group_id, email=(email or None) and email[:254],
                       ip=(ip or None) and ip[:45], user_agent=(user_agent or None) and user_agent[:255],
                       details=details or None)
    db.add(event)
    return event


def to_dict(event: AuditEvent) -> dict[str, Any]:
    """``{id, occurred_at (ISO, UTC), action, actor_user_id, impersonator_id, target_user_id, group_id, email, ip,
    user_agent, details}``."""
    return {"id": event.id, "occurred_at": event.occurred_at.isoformat() + "Z", "action": event.action,
            "actor_user_id": event.actor_user_id, "impersonator_id": event.impersonator_id,
            "target_user_id": event.target_user_id, "group_id": event.group_id, "email": event.email,
            "ip": event.ip, "user_agent": event.user_agent, "details": event.details or {}}


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: not an ISO 8601 date-time", {"fields": {name: value}}) from None
    if parsed.tzinfo is not None:
        parsed = (parsed - parsed.utcoffset()).replace(tzinfo=None)  # stored times are naive UTC
    return parsed


def query(db: Session, filters: AuditQuery) -> list[dict[str, Any]]:
    """Audit lines, newest first, filtered (``user_id`` matches the actor, the target or the impersonator)."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(filters.limit)
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.user_id:
        uid = filters.user_id
        statement = statement.where((AuditEvent.actor_user_id == uid) | (AuditEvent.target_user_id == uid)
                                    | (AuditEvent.impersonator_id == uid))
    if filters.group_id:
        statement = statement.where(AuditEvent.group_id == filters.group_id)
    since, until = _when(filters.since, "since"), _when(filters.until, "until")
    if since:
        statement = statement.where(AuditEvent.occurred_at >= since)
    if until:
        statement = statement.where(AuditEvent.occurred_at < until)
    if filters.before_id:
        statement = statement.where(AuditEvent.id < filters.before_id)
    return [to_dict(event) for event in db.scalars(statement)]
