"""Site settings chosen by administrators in the browser, each with a default from the server configuration
until an administrator sets it (or after they reset it).

- ``healthcare_compliance`` (bool; default REPSEQ_HEALTHCARE_COMPLIANCE): the hosting institution declares this
  server compliant for clinical use. False: the login page, user pages and set forms show "Research Use Only";
  true: "compliant for clinical use, comply with local regulations" (Vidjil reference M17).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.orm import Session

from services.common.config import Settings
from services.common.exceptions import BadRequest
from services.common.models import utcnow
from services.reporter.models import SiteSetting

COMPLIANCE = "healthcare_compliance"


def effective(db: Session, settings: Settings) -> dict[str, Any]:
    """``{"healthcare_compliance": bool, "healthcare_compliance_source": "administrator" | "configuration",
    "healthcare_compliance_default": bool}`` (the default is REPSEQ_HEALTHCARE_COMPLIANCE)."""
    default = bool(settings.healthcare_compliance)
    row = db.execute(select(SiteSetting.value).where(SiteSetting.key == COMPLIANCE)).first()
    chosen = row is not None and isinstance(row.value, bool)
    return {COMPLIANCE: row.value if chosen else default,
            f"{COMPLIANCE}_source": "administrator" if chosen else "configuration",
            f"{COMPLIANCE}_default": default}


def set_compliance(db: Session, settings: Settings, actor_id: int, compliance: Any) -> tuple[dict, dict]:
    """Set the flag to ``compliance`` (true/false), or back to its configured default (``None``).

    Returns ``(before, after)``, each as :func:`effective`. BadRequest unless ``compliance`` is a boolean or null.
    """
    if compliance is not None and not isinstance(compliance, bool):
        raise BadRequest("compliance must be true, false or null (null: follow REPSEQ_HEALTHCARE_COMPLIANCE)",
                         {"fields": {"compliance": repr(compliance)[:40]}})
    before = effective(db, settings)
    if compliance is None:
        db.execute(delete(SiteSetting).where(SiteSetting.key == COMPLIANCE))
    else:
        now = utcnow()
        # one statement: two administrators saving at once must not collide on the primary key
        db.execute(mysql_insert(SiteSetting).values(key=COMPLIANCE, value=compliance, updated_at=now,
                                                    updated_by=actor_id)
                   .on_duplicate_key_update(value=compliance, updated_at=now, updated_by=actor_id))
    return before, effective(db, settings)
