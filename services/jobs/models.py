"""Tables of the jobs service (database ``<prefix>jobs``). Only this service reads or writes them.

- ``analysis_config``: how to analyse a sample (program + options); ``analysis_config_access``: which groups
  may use it (``public`` configs are usable by everyone, as if the public group held an access row).
- ``pre_process`` (+ ``pre_process_access``): command templates run on the two files of a paired-end sample.
- ``job``: one analysis or pre-process run of one sample, with its state machine (see :mod:`services.jobs.states`).
- ``result``: what a COMPLETED analysis job stored (object keys in the results bucket, read statistics).
- ``worker``: the worker processes seen by their heartbeats.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.models import make_metadata, utcnow


class Base(DeclarativeBase):
    metadata = make_metadata()


class AnalysisConfig(Base):
    """An analysis configuration (Vidjil ``config``): ``program`` is ``vdj`` (options in ``command``), ``none``
    (the uploaded file is an already analysed ``.vidjil`` / AIRR TSV, stored as the result) or ``command`` (an
    administrator's command template for another installed program, see :mod:`services.jobs.programs`)."""

    __tablename__ = "analysis_config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    program: Mapped[str] = mapped_column(String(20), default="vdj")
    command: Mapped[str] = mapped_column(Text, default="")
    fuse_command: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    classification: Mapped[str] = mapped_column(String(100), default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    time_limit_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    memory_limit_mb: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    access: Mapped[list["ConfigAccess"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def access_group_ids(self) -> list[int]:
        return sorted(a.group_id for a in self.access)


class ConfigAccess(Base):
    """Group ``group_id`` may use analysis config ``config_id`` (with the capability the action needs)."""

    __tablename__ = "analysis_config_access"

    config_id: Mapped[int] = mapped_column(ForeignKey("analysis_config.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class PreProcess(Base):
    """A pre-process: a command template with ``&file1&``, ``&file2&`` and ``&result&`` placeholders."""

    __tablename__ = "pre_process"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    command: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    access: Mapped[list["PreProcessAccess"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def access_group_ids(self) -> list[int]:
        return sorted(a.group_id for a in self.access)


class PreProcessAccess(Base):
    __tablename__ = "pre_process_access"

    pre_process_id: Mapped[int] = mapped_column(ForeignKey("pre_process.id", ondelete="CASCADE"),
                                                primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class Job(Base):
    """One run. ``kind`` is ``analysis`` or ``pre_process``. ``active_key`` is set while the job is not finished
    (unique: an identical job cannot be queued twice) and cleared when it reaches a final state.

    ``queue_token`` identifies the queue message currently standing for the job: a message carrying another token
    is stale (the watchdog re-queued the job) and is dropped by the worker."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_sample_config", "sample_id", "config_id"),
        Index("ix_job_state", "state"),
        Index("ix_job_set", "sample_set_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="analysis")
    sample_id: Mapped[int] = mapped_column(Integer)
    sample_set_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    config_id: Mapped[int | None] = mapped_column(ForeignKey("analysis_config.id"), nullable=True)
    pre_process_id: Mapped[int | None] = mapped_column(ForeignKey("pre_process.id"), nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="PENDING")
    active_key: Mapped[str | None] = mapped_column(String(100), unique=True, nullable=True)
    queue_token: Mapped[str | None] = mapped_column(String(40), nullable=True)
    input_bucket: Mapped[str] = mapped_column(String(63), default="")
    input_key: Mapped[str] = mapped_column(String(1024), default="")
    input_key2: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    input_name: Mapped[str] = mapped_column(String(255), default="")
    grep_reads: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    output_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    program: Mapped[str] = mapped_column(String(20), default="vdj")
    command: Mapped[str] = mapped_column(Text, default="")
    time_limit_s: Mapped[int] = mapped_column(Integer, default=3600)
    memory_limit_mb: Mapped[int] = mapped_column(Integer, default=8192)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    worker_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Result(Base):
    """The stored output of one COMPLETED analysis job (objects in the results bucket) and its read statistics."""

    __tablename__ = "result"
    __table_args__ = (Index("ix_result_sample_config", "sample_id", "config_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id"), unique=True)
    sample_id: Mapped[int] = mapped_column(Integer)
    sample_set_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    config_id: Mapped[int] = mapped_column(ForeignKey("analysis_config.id"))
    bucket: Mapped[str] = mapped_column(String(63))
    vidjil_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    airr_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    log_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    extra_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    reads_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reads_segmented: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reads_by_locus: Mapped[dict] = mapped_column(JSON, default=dict)
    clones_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    run_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Worker(Base):
    """A worker process, as last reported by its heartbeat."""

    __tablename__ = "worker"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(20), default="idle")
    current_job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_heartbeat_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = ["Base", "AnalysisConfig", "ConfigAccess", "PreProcess", "PreProcessAccess", "Job", "Result", "Worker"]
