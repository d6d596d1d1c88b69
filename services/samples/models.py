"""Tables of the samples service (database ``<prefix>samples``). Only this service reads or writes them."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from services.common.models import make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()
