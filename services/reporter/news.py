"""News items (Vidjil's notifications, reference M6): administrators write them; every logged-in user sees the
active ones (not expired) they have not dismissed, most urgent first. Dismissing leaves a read marker for that
user; editing an item removes its markers, so everybody sees the new text; deleting removes it with its markers.

Title and content are plain text (:func:`services.reporter.schemas.plain_text`), escaped by whoever shows them.
Functions take the worker's session and return JSON-safe dicts; the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.orm import Session

from services.common.exceptions import BadRequest, NotFound
from services.common.ids import require_id
from services.common.models import utcnow
from services.reporter.models import NEWS_PRIORITIES, NewsItem, NewsRead
from services.reporter.schemas import NewsChanges, NewsFields

#: Most items one banner shows (the newest of each priority first); administrators see every item.
BANNER_LIMIT = 20
_PRIORITY_RANK = case({p: rank for rank, p in enumerate(NEWS_PRIORITIES)}, value=NewsItem.priority, else_=99)


def today() -> date:
    """Today's date in UTC: an item is active through its ``expires_on`` day."""
    return datetime.now(timezone.utc).date()


def to_dict(item: NewsItem, read_count: int | None = None) -> dict[str, Any]:
    """``{"id", "title", "content", "priority", "expires_on" (YYYY-MM-DD), "active" (bool), "created_at",
    "created_by", "updated_at", "updated_by"}`` (times ISO 8601 UTC), plus ``"read_count"`` when given."""
    result = {"id": item.id, "title": item.title, "content": item.content, "priority": item.priority,
              "expires_on": item.expires_on.isoformat(), "active": item.expires_on >= today(),
              "created_at": item.created_at.isoformat() + "Z", "created_by": item.created_by,
              "updated_at": item.updated_at.isoformat() + "Z", "updated_by": item.updated_by}
    if read_count is not None:
        result["read_count"] = read_count
    return result


def _get(db: Session, news_id: Any) -> NewsItem:
    require_id(news_id, "news_id")
    item = db.get(NewsItem, news_id)
    if item is None:
        raise NotFound(f"news item {news_id} does not exist", {"news_id": news_id})
    return item


def list_active(db: Session, user_id: int) -> list[dict[str, Any]]:
    """Active items ``user_id`` has not dismissed: most urgent first, then newest; at most :data:`BANNER_LIMIT`."""
    dismissed = select(NewsRead.news_id).where(NewsRead.user_id == user_id)
    query = (select(NewsItem).where(NewsItem.expires_on >= today(), NewsItem.id.not_in(dismissed))
             .order_by(_PRIORITY_RANK, NewsItem.id.desc()).limit(BANNER_LIMIT))
    return [to_dict(item) for item in db.scalars(query)]


def mark_read(db: Session, user_id: int, news_id: Any) -> dict[str, Any]:
    """Dismiss ``news_id`` for ``user_id`` (again: no error). Returns ``{"news_id", "read": true}``; NotFound for
    an unknown item."""
    _get(db, news_id)
    now = utcnow()
    # one statement: two tabs dismissing the same item at once must not collide on the primary key
    db.execute(mysql_insert(NewsRead).values(news_id=news_id, user_id=user_id, read_at=now)
               .on_duplicate_key_update(read_at=now))
    return {"news_id": news_id, "read": True}


def list_all(db: Session, include_expired: bool = True) -> list[dict[str, Any]]:
    """Every item (active first, then by expiry, newest first), each with ``read_count`` (users who dismissed
    it)."""
    if not isinstance(include_expired, bool):
        raise BadRequest("include_expired must be true or false", {"include_expired": repr(include_expired)})
    counts = (select(NewsRead.news_id, func.count().label("n")).group_by(NewsRead.news_id).subquery())
    query = (select(NewsItem, func.coalesce(counts.c.n, 0)).outerjoin(counts, counts.c.news_id == NewsItem.id)
             .order_by((NewsItem.expires_on >= today()).desc(), NewsItem.id.desc()))
    if not include_expired:
        query = query.where(NewsItem.expires_on >= today())
    return [to_dict(item, int(count)) for item, count in db.execute(query)]


def create(db: Session, actor_id: int, fields: NewsFields) -> NewsItem:
    """Store a new item written by ``actor_id``."""
    now = utcnow()
    item = NewsItem(title=fields.title, content=fields.content, priority=fields.priority,
                    expires_on=fields.expires_on, created_at=now, created_by=actor_id, updated_at=now,
                    updated_by=actor_id)
    db.add(item)
    db.flush()
    return item


def update(db: Session, actor_id: int, news_id: Any, changes: NewsChanges) -> tuple[NewsItem, list[str], int]:
    """Apply ``changes``; returns ``(item, changed field names, read markers removed)``. Every edit removes the
    item's read markers (users see the item again). BadRequest when no field is given; NotFound."""
    item = _get(db, news_id)
    given = changes.model_dump(exclude_unset=True)
    if not given:
        raise BadRequest("give at least one of title, content, priority, expires_on", {"fields": {}})
    changed = [name for name, value in given.items() if getattr(item, name) != value]
    for name, value in given.items():
        setattr(item, name, value)
    item.updated_at, item.updated_by = utcnow(), actor_id
    cleared = db.execute(delete(NewsRead).where(NewsRead.news_id == item.id)).rowcount
    db.flush()
    return item, changed, cleared


def remove(db: Session, news_id: Any) -> tuple[NewsItem, int]:
    """Delete an item and its read markers; returns ``(the deleted item, read markers removed)``. NotFound."""
    item = _get(db, news_id)
    cleared = db.execute(delete(NewsRead).where(NewsRead.news_id == item.id)).rowcount
    db.delete(item)
    db.flush()
    return item, cleared
