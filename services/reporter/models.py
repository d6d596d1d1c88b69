"""Tables of the reporter service (database ``<prefix>reporter``). Only this service reads or writes them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.models import make_metadata, utcnow


class Base(DeclarativeBase):
    metadata = make_metadata()


class EventRecord(Base):
    """One event received from the bus, kept as an audit trail (payload as received, envelope fields split)."""

    __tablename__ = "event_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(50))
    occurred_at: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    data: Mapped[dict] = mapped_column(JSON)

    def to_dict(self) -> dict:
        return {"id": self.id, "event": self.event, "version": self.version, "source": self.source,
                "occurred_at": self.occurred_at, "received_at": self.received_at.isoformat(),
                "data": self.data}


#: Banner priorities, most urgent first (pages show news in this order, then newest first).
NEWS_PRIORITIES: tuple[str, ...] = ("urgent", "warning", "info")


class NewsItem(Base):
    """A news item (site-wide notification) shown to logged-in users until ``expires_on`` (inclusive, UTC date).

    ``title`` and ``content`` are plain text (never HTML): pages escape them when they show them.
    """

    __tablename__ = "news_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(20), default="info")
    expires_on: Mapped[date] = mapped_column(Date, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class NewsRead(Base):
    """A read marker: user ``user_id`` dismissed news item ``news_id`` (it is no longer shown to them). Markers of
    an item are removed when it is edited (shown again) or deleted."""

    __tablename__ = "news_reads"

    news_id: Mapped[int] = mapped_column(Integer, ForeignKey("news_items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SiteSetting(Base):
    """A site-wide setting chosen by an administrator (``key`` -> JSON ``value``). A key without a row follows
    its default from the server configuration (e.g. ``healthcare_compliance``: REPSEQ_HEALTHCARE_COMPLIANCE)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
