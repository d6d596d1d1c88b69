"""Tables of the fuse service (database ``<prefix>fuse``). Only this service reads or writes them.

- ``fused_result``: every fuse of a (sample set, analysis config): the fused ``.vidjil`` object in the results
  bucket, or why it failed. Rows are never overwritten: the latest ``ok`` row (by ``inputs_at``) is served, older
  ones stay available. ``empty`` rows record that no sample of the set had a result any more.
- ``fused_member``: which sample / result went into a fused result (to find the sets to rebuild when a sample
  or a result disappears).
- ``saved_analysis``: the user's annotations of a set and config (clone names, tags, clusters, display
  settings), one row per save (versions), the highest version served.
- ``post_script``: post-processing scripts an administrator registered (run on every fused result of a config).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.mysql import DATETIME
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.models import make_metadata, utcnow

#: ``fused_result.status`` values.
OK, FAILED, EMPTY = "ok", "failed", "empty"
#: Microsecond times on MariaDB (two rebuilds of one set may start within the same second).
_PRECISE_TIME = DateTime().with_variant(DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = make_metadata()


class FusedResult(Base):
    """One fuse of the latest results of a set's samples for one config.

    ``inputs_at``: when the inputs were resolved (the freshest snapshot wins when two rebuilds overlap).
    ``trigger``: what caused it (``analysis.completed``, ``result.deleted``, ``sample.deleted``, ``manual``).
    """

    __tablename__ = "fused_result"
    __table_args__ = (Index("ix_fused_result_set_config", "sample_set_id", "config_id", "status", "inputs_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_set_id: Mapped[int] = mapped_column(Integer)
    config_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=OK)
    bucket: Mapped[str | None] = mapped_column(String(63), nullable=True)
    object_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sample_ids: Mapped[list] = mapped_column(JSON, default=list)
    result_ids: Mapped[list] = mapped_column(JSON, default=list)
    sample_count: Mapped[int] = mapped_column(Integer, default=0)
    clone_count: Mapped[int] = mapped_column(Integer, default=0)
    top: Mapped[int] = mapped_column(Integer, default=100)
    post_scripts: Mapped[list] = mapped_column(JSON, default=list)
    error_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(40), default="manual")
    inputs_at: Mapped[datetime] = mapped_column(_PRECISE_TIME, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(_PRECISE_TIME, default=utcnow)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)

    members: Mapped[list["FusedMember"]] = relationship(cascade="all, delete-orphan", lazy="selectin")


class FusedMember(Base):
    """Sample ``sample_id`` (its result ``result_id``) is in fused result ``fused_result_id`` at ``position``."""

    __tablename__ = "fused_member"
    __table_args__ = (Index("ix_fused_member_sample", "sample_id"),)

    fused_result_id: Mapped[int] = mapped_column(ForeignKey("fused_result.id", ondelete="CASCADE"),
                                                 primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_id: Mapped[int] = mapped_column(Integer)
    result_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class SavedAnalysis(Base):
    """One save of the user's analysis of a set and config (``content``: the ``.analysis`` JSON object)."""

    __tablename__ = "saved_analysis"
    __table_args__ = (UniqueConstraint("sample_set_id", "config_id", "version",
                                       name="uq_saved_analysis_set_config_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sample_set_id: Mapped[int] = mapped_column(Integer)
    config_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer, default=0)
    comment: Mapped[str] = mapped_column(String(500), default="")
    user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(_PRECISE_TIME, default=utcnow)


class PostScript(Base):
    """A post-processing script (a file of the scripts folder, ``name`` without any path) run on the fused results
    of ``config_id`` (every config when null), in ``position`` order."""

    __tablename__ = "post_script"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    config_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
