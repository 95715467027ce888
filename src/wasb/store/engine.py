"""Engines and sessions for SQLite and PostgreSQL.

SQLite: WAL, synchronous=FULL (a 200 to Meta must mean the body is on disk), and
write transactions that start with BEGIN IMMEDIATE so that two writers queue on the
busy timeout instead of failing with SQLITE_BUSY when a read upgrades to a write.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(url: str, *, immediate: bool = True, pool_size: int = 10) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001 - SQLAlchemy event signature
            conn.exec_driver_sql(begin)

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


@dataclass
class Database:
    """The write engine (transactions that change data) and a read engine (pages, lists)."""

    url: str
    engine: Engine
    read_engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    disposed: bool = False  # the process is done with it: background threads stop using it

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.disposed = True
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()


def open_database(url: str) -> Database:
    engine = make_engine(url)
    read_engine = make_engine(url, immediate=False) if url.startswith("sqlite") else engine
    return Database(
        url=url,
        engine=engine,
        read_engine=read_engine,
        sessions=sessionmaker(engine, expire_on_commit=False),
        read_sessions=sessionmaker(read_engine, expire_on_commit=False),
    )


def after_commit(session: Session, callback) -> None:
    """Run `callback` once the session's transaction has committed (never on rollback)."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a released savepoint is not a commit: wait for the outer one
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_transaction_end")
def _drop_after_commit(session: Session, transaction) -> None:
    # The outer transaction ended without committing (a commit has run and emptied the
    # list). A savepoint rolled back keeps the others' callbacks: they only wake the worker.
    if transaction.parent is None:
        session.info.pop("after_commit", None)
