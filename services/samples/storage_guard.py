"""Low-storage guard (Vidjil ``check_space``, section 2.2 S16): uploads and analysis runs are refused with a clear
message while a filesystem holding the object store or the database has too little free space, and
administrators are notified (event ``storage.low``, at most once an hour, which the reporter turns into a mail).

S3 has no standard "free space" query, so the guard measures the local filesystems that hold the data: by default
the S3 data folder of a local stack (``REPSEQ_VAR_DIR/s3``, else ``REPSEQ_VAR_DIR``) and the MariaDB data directory
(``SELECT @@datadir``) when it is on this host. Administrators may name other folders (a mounted MinIO volume, ...)
with ``configure_storage_guard``. Threshold: ``max(min_free_percent % of the filesystem, min_free_bytes)``
(defaults 1 % and 1 GiB).
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from services.common.config import Settings
from services.common.exceptions import BadRequest
from services.common.models import utcnow
from services.common.principal import Principal
from services.samples.exceptions import LowStorage
from services.samples.models import StorageGuard

COMPONENTS = ("object_store", "database")
ALERT_INTERVAL = timedelta(hours=1)
PURPOSES = {"upload": "Uploads", "run": "Analysis runs"}


def guard_row(session: Session) -> StorageGuard:
    """The settings row (created with the defaults on first use)."""
    row = session.get(StorageGuard, 1)
    if row is None:
        row = StorageGuard(id=1, min_free_percent=1.0, min_free_bytes=1024**3, paths=None)
        session.add(row)
        session.flush()
    return row


def default_paths(session: Session, settings: Settings) -> dict[str, list[str]]:
    """``{"object_store": [...], "database": [...]}`` measured when no administrator chose other folders."""
    s3_dir = Path(settings.var_dir) / "s3"
    paths = {"object_store": [str(s3_dir if s3_dir.is_dir() else settings.var_dir)], "database": []}
    try:
        datadir = session.connection().exec_driver_sql("SELECT @@datadir").scalar()
    except Exception:  # not MariaDB/MySQL, or no right: the database is then not measured
        datadir = None
    if datadir and os.path.isdir(datadir):
        paths["database"].append(datadir)
    return paths


def evaluate(session: Session, settings: Settings) -> dict:
    """``{"ok", "min_free_percent", "min_free_bytes", "checks": [{"component", "path", "free_bytes",
    "total_bytes", "threshold_bytes", "ok"}]}``. A folder that does not exist is reported with ``ok`` true and
    ``error`` (it cannot be measured, it does not block)."""
    row = guard_row(session)
    paths = row.paths or default_paths(session, settings)
    checks = []
    for component in COMPONENTS:
        for path in paths.get(component) or ():
            try:
                usage = shutil.disk_usage(path)
            except OSError as error:
                checks.append({"component": component, "path": path, "ok": True, "error": str(error),
                               "free_bytes": None, "total_bytes": None, "threshold_bytes": None})
                continue
            threshold = max(int(usage.total * row.min_free_percent / 100), int(row.min_free_bytes))
            checks.append({"component": component, "path": path, "free_bytes": usage.free,
                           "total_bytes": usage.total, "threshold_bytes": threshold, "ok": usage.free >= threshold,
                           "error": None})
    return {"ok": all(c["ok"] for c in checks), "min_free_percent": row.min_free_percent,
            "min_free_bytes": row.min_free_bytes, "paths": paths, "checks": checks}


def _size(value: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{value} B"
        value /= 1024
    return str(value)


def refusal(purpose: str, status: dict) -> LowStorage:
    """The error for a low ``status`` (its first failing check named in the message)."""
    low = [c for c in status["checks"] if not c["ok"]]
    first = low[0]
    what = "object store" if first["component"] == "object_store" else "database"
    return LowStorage(f"{PURPOSES.get(purpose, 'This action')} are temporarily disabled: the {what} has "
                      f"{_size(first['free_bytes'])} free, under the threshold of {_size(first['threshold_bytes'])}. "
                      f"The administrators have been notified.",
                      {"purpose": purpose, "component": first["component"], "free_bytes": first["free_bytes"],
                       "threshold_bytes": first["threshold_bytes"]})


def alert_due(session: Session) -> bool:
    """True (and the time noted) if no ``storage.low`` alert was sent in the last hour."""
    row = guard_row(session)
    now = utcnow()
    if row.last_alert_at is not None and now - row.last_alert_at < ALERT_INTERVAL:
        return False
    row.last_alert_at = now
    return True


def alert_event(purpose: str, status: dict) -> dict:
    """Data of ``storage.low``."""
    first = next(c for c in status["checks"] if not c["ok"])
    return {"purpose": purpose, "component": first["component"], "path": first["path"],
            "free_bytes": first["free_bytes"], "total_bytes": first["total_bytes"],
            "threshold_bytes": first["threshold_bytes"]}


def configure(session: Session, principal: Principal, min_free_percent=None, min_free_bytes=None,
              paths=None) -> StorageGuard:
    """Administrators only. ``min_free_percent`` 0-100, ``min_free_bytes`` >= 0, ``paths``
    ``{"object_store": [abs dirs], "database": [abs dirs]}`` or ``{}`` to go back to the defaults."""
    principal.require_admin()
    row = guard_row(session)
    if min_free_percent is not None:
        if isinstance(min_free_percent, bool) or not isinstance(min_free_percent, (int, float)) \
                or not 0 <= min_free_percent <= 100:
            raise BadRequest("min_free_percent must be a number from 0 to 100")
        row.min_free_percent = float(min_free_percent)
    if min_free_bytes is not None:
        if isinstance(min_free_bytes, bool) or not isinstance(min_free_bytes, int) or min_free_bytes < 0:
            raise BadRequest("min_free_bytes must be a non-negative integer")
        row.min_free_bytes = min_free_bytes
    if paths is not None:
        if not isinstance(paths, dict) or set(paths) - set(COMPONENTS):
            raise BadRequest("paths must be {\"object_store\": [...], \"database\": [...]}")
        for component, dirs in paths.items():
            if not isinstance(dirs, list) or not all(isinstance(d, str) and os.path.isabs(d) for d in dirs):
                raise BadRequest(f"paths.{component} must be a list of absolute folder paths")
        row.paths = paths or None
    row.updated_by = principal.user_id
    row.last_alert_at = None
    session.flush()
    return row
