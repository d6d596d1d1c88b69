"""Tables of the reporter service (database ``<prefix>reporter``). Only this service reads or writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String
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
