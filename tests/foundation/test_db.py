"""The Database dependency and session_scope against the real MariaDB: commit on success, rollback on error,
a failing commit reported as the call's error."""

import sys
from types import SimpleNamespace

import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common import db
from services.common.models import make_metadata

SERVICE = "dbunit"


class Base(DeclarativeBase):
    metadata = make_metadata()


class Thing(Base):
    __tablename__ = "thing"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(50))


class WorkerContext:
    """Stands in for nameko's WorkerContext (only identity matters to the dependency)."""


@pytest.fixture
def database(settings):
    db.ensure_database(settings, SERVICE)
    engine = db.get_engine(settings, SERVICE)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    dependency = db.Database(settings=settings)
    dependency.container = SimpleNamespace(service_name=SERVICE)
    dependency.setup()
    yield dependency
    dependency.stop()
    db.drop_database(settings, SERVICE)


def names(settings):
    with db.session_scope(settings, SERVICE) as session:
        return sorted(session.scalars(select(Thing.name)))


def test_database_name_uses_prefix(settings):
    assert db.database_name(settings, "auth") == settings.db_prefix + "auth"


def test_worker_session_commits_when_call_succeeds(settings, database):
    worker = WorkerContext()
    session = database.get_dependency(worker)
    session.add(Thing(id=1, name="kept"))
    assert database.finish(worker, None) is None
    assert names(settings) == ["kept"]


def test_worker_session_rolls_back_when_call_raises(settings, database):
    worker = WorkerContext()
    session = database.get_dependency(worker)
    session.add(Thing(id=1, name="lost"))
    session.flush()
    try:
        raise ValueError("call failed")
    except ValueError:
        exc_info = sys.exc_info()
    assert database.finish(worker, exc_info) is exc_info
    assert names(settings) == []


def test_failing_commit_becomes_the_calls_error(settings, database):
    with db.session_scope(settings, SERVICE) as session:
        session.add(Thing(id=7, name="first"))
    worker = WorkerContext()
    database.get_dependency(worker).add(Thing(id=7, name="duplicate"))
    exc_info = database.finish(worker, None)
    assert exc_info is not None and issubclass(exc_info[0], IntegrityError)
    assert names(settings) == ["first"]


def test_each_worker_gets_its_own_session(database):
    first, second = WorkerContext(), WorkerContext()
    assert database.get_dependency(first) is not database.get_dependency(second)
    database.worker_teardown(first)
    database.worker_teardown(second)


def test_finish_twice_is_harmless(settings, database):
    worker = WorkerContext()
    database.get_dependency(worker).add(Thing(id=2, name="once"))
    database.finish(worker, None)
    database.worker_result(worker, None, None)  # what nameko calls afterwards
    database.worker_teardown(worker)
    assert names(settings) == ["once"]


def test_session_scope_rolls_back_on_exception(settings, database):
    with pytest.raises(RuntimeError):
        with db.session_scope(settings, SERVICE) as session:
            session.add(Thing(id=3, name="never"))
            session.flush()
            raise RuntimeError("boom")
    assert names(settings) == []
