"""Helpers for each service's ``models.py`` (each service declares its own ``Base``; tables are never shared)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import MetaData

#: Constraint names that Alembic autogenerate can diff and drop reliably.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    """A MetaData with :data:`NAMING_CONVENTION`; use it as ``Base.metadata``."""
    return MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-naive UTC now, as stored in DATETIME columns (MariaDB has no time zone in DATETIME)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
