"""Tables of the samples service (database ``<prefix>samples``). Only this service reads or writes them.

- ``sample_set``: a patient, a run or a generic set (one table; the columns of the other kinds stay NULL).
- ``sample_set_access``: the groups that own or see a set (the "access rows" of the permission rule).
- ``sample``: one sequence file (or an R1/R2 pair) with its metadata and where its bytes are.
- ``sample_set_membership``: which sets hold which samples (a sample may be in a patient *and* a run).
- ``tag``, ``group_tag``, ``sample_set_tag``, ``sample_tag``: ``#words`` found in info fields, the vocabulary
  of each group (autocomplete) and the occurrences (search).
- ``audit_entry``: who created, edited, deleted, shared, uploaded or downloaded what, and when.
- ``file_source``: directories (e.g. a hospital NFS share) configured by an administrator, from which users add
  files without copying them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.models import make_metadata, utcnow


class Base(DeclarativeBase):
    metadata = make_metadata()


#: Kinds of sample sets.
PATIENT, RUN, GENERIC = "patient", "run", "generic"
SAMPLE_SET_KINDS = (PATIENT, RUN, GENERIC)

#: Sample states: no file stored yet; every expected file stored and checked; raw file(s) deleted (metadata and
#: results kept).
AWAITING_UPLOAD, READY, RAW_DELETED = "awaiting_upload", "ready", "raw_deleted"


class SampleSet(Base):
    """A patient, a run or a generic set. ``sort_name`` is what lists sort and search on by name."""

    __tablename__ = "sample_set"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    creator_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # every kind
    name: Mapped[str | None] = mapped_column(String(255))          # run and generic
    info: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str | None] = mapped_column(String(255))         # patient/run "id label" (lab identifier)
    # patient
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    birth_date: Mapped[date | None] = mapped_column(Date)
    # run
    run_date: Mapped[date | None] = mapped_column(Date)
    sequencer: Mapped[str | None] = mapped_column(String(255))
    pcr: Mapped[str | None] = mapped_column(String(255))
    sort_name: Mapped[str] = mapped_column(String(255), default="", index=True)

    access: Mapped[list["SampleSetAccess"]] = relationship(
        back_populates="sample_set", cascade="all, delete-orphan", lazy="selectin")
    memberships: Mapped[list["SampleSetMembership"]] = relationship(
        back_populates="sample_set", cascade="all, delete-orphan")

    @property
    def access_group_ids(self) -> list[int]:
        return sorted(row.group_id for row in self.access)


class SampleSetAccess(Base):
    """Group ``group_id`` owns or sees sample set ``sample_set_id`` (access row)."""

    __tablename__ = "sample_set_access"

    sample_set_id: Mapped[int] = mapped_column(ForeignKey("sample_set.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    granted_by: Mapped[int | None] = mapped_column(Integer)
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    sample_set: Mapped[SampleSet] = relationship(back_populates="access")


class Sample(Base):
    """A sequence file (``file 1``) and, for a pair to merge, its mate (``file 2``).

    Where the bytes are: ``bucket``/``object_key`` in the object store, or ``file_source_id``/``source_path``
    for a file of a mounted directory (never copied). ``pending_key``/``pending_key2`` are the object keys an
    upload in progress writes to; they become ``object_key``/``object_key2`` only once the stored object has
    been checked (so an interrupted upload leaves no half sample). ``pending_filename`` and
    ``pending_original_filename`` (``...2``) are the name the latest upload attempt of that file was sent under
    (sanitised, and as sent; NULL: the current name): they become ``filename``/``original_filename`` (``...2``)
    together with its key.
    """

    __tablename__ = "sample"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default=AWAITING_UPLOAD, index=True)
    filename: Mapped[str] = mapped_column(String(255))             # sanitised
    original_filename: Mapped[str] = mapped_column(String(1024))   # as the user sent it
    filename2: Mapped[str | None] = mapped_column(String(255))
    original_filename2: Mapped[str | None] = mapped_column(String(1024))
    sampling_date: Mapped[date | None] = mapped_column(Date)
    info: Mapped[str] = mapped_column(Text, default="")
    pcr: Mapped[str | None] = mapped_column(String(255))
    sequencer: Mapped[str | None] = mapped_column(String(255))
    producer: Mapped[str | None] = mapped_column(String(255))
    provider_id: Mapped[int | None] = mapped_column(Integer)       # user who added it
    pre_process_id: Mapped[int | None] = mapped_column(Integer)    # jobs' pre-process (R1/R2 merge), if any
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    uploaded_at: Mapped[datetime | None] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16), default="upload")    # "upload" | "mounted"
    file_source_id: Mapped[int | None] = mapped_column(ForeignKey("file_source.id", ondelete="RESTRICT"))
    source_path: Mapped[str | None] = mapped_column(String(2048))
    source_path2: Mapped[str | None] = mapped_column(String(2048))
    bucket: Mapped[str | None] = mapped_column(String(63))
    object_key: Mapped[str | None] = mapped_column(String(512), index=True)
    object_key2: Mapped[str | None] = mapped_column(String(512), index=True)
    pending_key: Mapped[str | None] = mapped_column(String(512))
    pending_key2: Mapped[str | None] = mapped_column(String(512))
    pending_filename: Mapped[str | None] = mapped_column(String(255))
    pending_original_filename: Mapped[str | None] = mapped_column(String(1024))
    pending_filename2: Mapped[str | None] = mapped_column(String(255))
    pending_original_filename2: Mapped[str | None] = mapped_column(String(1024))
    size: Mapped[int | None] = mapped_column(BigInteger)
    size2: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    sha256_2: Mapped[str | None] = mapped_column(String(64))
    file_format: Mapped[str | None] = mapped_column(String(16))    # fastq, fasta, vidjil, airr
    compressed: Mapped[bool] = mapped_column(Boolean, default=False)
    check_report: Mapped[dict | None] = mapped_column(JSON)        # CheckReport.to_dict() of file 1 (and 2)

    memberships: Mapped[list["SampleSetMembership"]] = relationship(
        back_populates="sample", cascade="all, delete-orphan", lazy="selectin")

    @property
    def sample_set_ids(self) -> list[int]:
        return sorted(m.sample_set_id for m in self.memberships)

    @property
    def is_pair(self) -> bool:
        return self.original_filename2 is not None


class SampleSetMembership(Base):
    """Sample ``sample_id`` belongs to set ``sample_set_id``."""

    __tablename__ = "sample_set_membership"

    sample_set_id: Mapped[int] = mapped_column(ForeignKey("sample_set.id", ondelete="CASCADE"), primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)

    sample_set: Mapped[SampleSet] = relationship(back_populates="memberships")
    sample: Mapped[Sample] = relationship(back_populates="memberships")


class Tag(Base):
    """A tag word, stored lower-case (tags match case-insensitively)."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class GroupTag(Base):
    """Tag ``tag_id`` is in the vocabulary of group ``group_id`` (autocomplete)."""

    __tablename__ = "group_tag"

    group_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True)


class SampleSetTag(Base):
    """Tag ``tag_id`` occurs in the info of sample set ``sample_set_id``."""

    __tablename__ = "sample_set_tag"

    sample_set_id: Mapped[int] = mapped_column(ForeignKey("sample_set.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True)


class SampleTag(Base):
    """Tag ``tag_id`` occurs in the info of sample ``sample_id``."""

    __tablename__ = "sample_tag"

    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True)


class AuditEntry(Base):
    """One recorded action. ``details`` never holds a patient's identity (ids and field names only), so the
    audit list can be shown to anyone who may read the set."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_set_time", "sample_set_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(Integer)
    impersonator_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    sample_set_id: Mapped[int | None] = mapped_column(Integer)     # not a foreign key: entries outlive the set
    sample_id: Mapped[int | None] = mapped_column(Integer, index=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)


class FileSource(Base):
    """A directory users may add files from without copying (``root`` is an absolute path on the hosts running
    the samples service and the jobs workers). ``extensions`` are the accepted name endings, e.g.
    ``["fastq", "fastq.gz", "fa"]``."""

    __tablename__ = "file_source"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    root: Mapped[str] = mapped_column(String(2048))
    extensions: Mapped[list] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StorageGuard(Base):
    """The low-storage guard's settings (one row, id 1, written by administrators): uploads and runs are refused
    when a checked filesystem has less free space than ``min_free_percent`` % of its size or ``min_free_bytes``,
    whichever is larger. ``paths`` = ``{"object_store": [dirs], "database": [dirs]}`` replaces the defaults (the
    S3 data folder under REPSEQ_VAR_DIR, the MariaDB data directory when on this host). ``last_alert_at`` limits
    the ``storage.low`` notification to one per hour."""

    __tablename__ = "storage_guard"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    min_free_percent: Mapped[float] = mapped_column(Float, default=1.0)
    min_free_bytes: Mapped[int] = mapped_column(BigInteger, default=1024**3)
    paths: Mapped[dict | None] = mapped_column(JSON)
    last_alert_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
