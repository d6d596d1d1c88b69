"""SQLAlchemy 2 access to the per-service MariaDB/MySQL databases.

Each service owns one database, ``<REPSEQ_DB_PREFIX><service>`` (``repseq_auth``, ``repseq_samples``, ...), and
no service reads another's tables.

Inside a nameko service::

    from services.common.db import Database
    from services.common.entrypoints import rpc

    class SamplesService:
        name = "samples"
        db = Database()          # a fresh Session per worker call

        @rpc
        def rename(self, principal, sample_id, name):
            sample = self.db.get(Sample, sample_id)
            sample.name = name   # committed before the reply leaves; rolled back if the call raises

Outside nameko (CLI, migrations, tests)::

    with session_scope(settings, "samples") as session:
        session.add(...)         # commit on normal exit, rollback on exception
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from nameko.extensions import DependencyProvider
from sqlalchemy.engine import Engine, URL
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import Settings

log = logging.getLogger(__name__)

#: Seconds PyMySQL waits to open a connection (health checks must answer within 1 s overall).
CONNECT_TIMEOUT = 2

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def database_name(settings: Settings, service: str) -> str:
    """``<prefix><service>``, e.g. ``repseq_auth``."""
    return f"{settings.db_prefix}{service}"


def database_url(settings: Settings, database: str | None) -> str:
    """SQLAlchemy URL (password included) for ``database``; ``None`` gives a server-level URL (no database)."""
    if settings.db_url_template:
        return settings.db_url_template.format(database=database or "")
    url = URL.create(
        "mysql+pymysql",
        username=settings.db_user,
        password=settings.db_password or None,
        host=settings.db_host,
        port=settings.db_port,
        database=database,
        query={"charset": "utf8mb4"},
    )
    return url.render_as_string(hide_password=False)


def service_url(settings: Settings, service: str) -> str:
    """SQLAlchemy URL of the database of ``service``."""
    return database_url(settings, database_name(settings, service))


def create_engine_for_url(url: str, pool_size: int = 10) -> Engine:
    """An Engine with the options every RepSeq engine uses (pre-ping, recycle, short connect timeout)."""
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_recycle=3600,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={"connect_timeout": CONNECT_TIMEOUT},
    )


def get_engine(settings: Settings, service: str | None) -> Engine:
    """The process-wide Engine for ``service``'s database (``None``: server level), created on first use."""
    url = service_url(settings, service) if service else database_url(settings, None)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = create_engine_for_url(url, pool_size=max(5, settings.max_workers))
        return engine


def dispose_engines() -> None:
    """Close every pooled connection of every Engine made by :func:`get_engine` (tests, shutdown)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def ensure_database(settings: Settings, service: str) -> str:
    """Create the database of ``service`` if missing (utf8mb4, unicode collation); return its name."""
    name = database_name(settings, service)
    with get_engine(settings, None).connect() as connection:
        connection.exec_driver_sql(
            f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return name


def drop_database(settings: Settings, service: str) -> None:
    """Drop the database of ``service`` if it exists (tests only: this deletes data)."""
    name = database_name(settings, service)
    url = service_url(settings, service)
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()
    with get_engine(settings, None).connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")


def ping(engine: Engine) -> None:
    """Run ``SELECT 1``; raises the driver's error when the database cannot be reached."""
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


@contextmanager
def session_scope(settings: Settings, service: str) -> Iterator[Session]:
    """A Session on ``service``'s database: commit on normal exit, rollback on exception, always closed."""
    session = Session(bind=get_engine(settings, service), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class Database(DependencyProvider):
    """nameko dependency: each worker call gets its own :class:`sqlalchemy.orm.Session` on the service's database.

    The session commits when the call returns and rolls back when it raises; with the entrypoints of
    :mod:`services.common.entrypoints` this happens before the reply/ack, so a failed commit is reported to the
    caller. The session is closed after every call. ``expire_on_commit`` is False so returned objects stay readable.

    ``service`` defaults to the container's service name. ``settings`` defaults to ``Settings.from_env()`` at
    container setup.
    """

    def __init__(self, service: str | None = None, settings: Settings | None = None):
        self.service = service
        self.settings = settings
        self.engine: Engine | None = None
        self._sessions: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def setup(self):
        self.service = self.service or self.container.service_name
        self.settings = self.settings or Settings.from_env()
        self.engine = get_engine(self.settings, self.service)
        self._sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    def stop(self):
        if self.engine is not None:
            self.engine.dispose()

    kill = stop

    def get_dependency(self, worker_ctx):
        session = self._sessionmaker()
        self._sessions[worker_ctx] = session
        return session

    def finish(self, worker_ctx, exc_info):
        """Commit (``exc_info is None``) or roll back the worker's session; return the resulting ``exc_info``.

        Called once per worker, before the reply; later calls for the same worker do nothing.
        """
        session = self._sessions.pop(worker_ctx, None)
        if session is None:
            return exc_info
        try:
            if exc_info is None:
                session.commit()
            else:
                session.rollback()
        except Exception:
            log.exception("commit failed for %s", worker_ctx)
            session.rollback()
            exc_info = sys.exc_info()
        finally:
            session.close()
        return exc_info

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        # Entrypoints not from services.common.entrypoints (e.g. timers) end their transaction here.
        self.finish(worker_ctx, exc_info)

    def worker_teardown(self, worker_ctx):
        session = self._sessions.pop(worker_ctx, None)
        if session is not None:
            session.close()
