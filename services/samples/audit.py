"""Audit trail of the samples service: every create, edit, delete, share, upload and download, with user and time
(Vidjil ``user_log``, section 2.8 M8). Entries hold ids and field names, never a patient's identity, so they can be
listed to anyone who may read the set.

Set-level actions carry ``sample_set_id``; sample-level actions (create_sample, upload, edit_sample, delete_raw,
download, ...) carry ``sample_id`` only and appear in the trail of every set holding the sample.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.common.principal import Principal
from services.samples.models import AuditEntry

#: Recorded actions.
ACTIONS = ("create_set", "edit_set", "delete_set", "share", "unshare", "create_sample", "edit_sample",
           "upload", "upload_rejected", "download", "delete_raw", "delete_sample", "remove_sample_from_set")


def record(session: Session, principal: Principal | None, action: str, sample_set_id: int | None = None,
           sample_id: int | None = None, **details: Any) -> AuditEntry:
    """Add an entry (committed with the caller's transaction). ``details`` must be JSON-safe and identity-free."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(user_id=principal.user_id if principal else None,
                       impersonator_id=principal.impersonator if principal else None,
                       action=action, sample_set_id=sample_set_id, sample_id=sample_id, details=details)
    session.add(entry)
    return entry


def entry_dict(entry: AuditEntry) -> dict:
    """``{"id", "at" (ISO, UTC), "user_id", "impersonator_id", "action", "sample_set_id", "sample_id",
    "details"}``."""
    return {"id": entry.id, "at": entry.at.isoformat() + "Z", "user_id": entry.user_id,
            "impersonator_id": entry.impersonator_id, "action": entry.action, "sample_set_id": entry.sample_set_id,
            "sample_id": entry.sample_id, "details": entry.details or {}}


def entries_of_set(session: Session, sample_set_id: int, sample_ids: list[int], page: int = 1,
                   per_page: int = 100) -> dict:
    """Entries about the set or its current samples, newest first:
    ``{"items": [entry_dict], "page", "per_page", "has_next"}``."""
    condition = AuditEntry.sample_set_id == sample_set_id
    if sample_ids:
        condition = sa.or_(condition, AuditEntry.sample_id.in_(sample_ids))
    rows = list(session.scalars(sa.select(AuditEntry).where(condition)
                                .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                .offset((page - 1) * per_page).limit(per_page + 1)))
    return {"items": [entry_dict(e) for e in rows[:per_page]], "page": page, "per_page": per_page,
            "has_next": len(rows) > per_page}
