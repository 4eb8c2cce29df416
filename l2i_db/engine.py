"""Engine and session factories for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_db_engine(url: str, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Create an engine for ``url`` with the settings each backend needs.

    SQLite gets foreign keys, WAL and a busy timeout so that several processes
    (web workers and the outbox worker) can share the file. PostgreSQL gets a
    bounded pool with pre-ping, so a restarted server costs one retry, not an error.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _enable_sqlite_pragmas)
        return engine
    return create_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to ``engine`` that keeps objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)
