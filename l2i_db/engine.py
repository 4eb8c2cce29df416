"""Engine and session factories for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

#: WAL pages (4 KB each) after which a committing SQLite connection copies the WAL into the
#: database file itself. SQLite's default is 1,000: about one submission in ten paid for a
#: checkpoint (10 ms). The processes that serve (web workers, the outbox worker, the demo) run
#: :func:`keep_wal_checkpointed` instead, off the requests' path; this larger limit only bounds
#: the WAL (about 40 MB) where none runs, as during a long CLI import.
AUTOCHECKPOINT_PAGES = 10_000
#: Seconds between two checkpoints of :func:`keep_wal_checkpointed`.
CHECKPOINT_SECONDS = 1.0


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute(f"PRAGMA wal_autocheckpoint={int(AUTOCHECKPOINT_PAGES)}")
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


def checkpoint_wal(engine: Engine) -> tuple[int, int, int] | None:
    """Copy the WAL into an SQLite database file without waiting for anyone (a PASSIVE checkpoint).

    Returns SQLite's (busy, pages in the WAL, pages copied); None for a database other than SQLite.
    """
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        busy, pages, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    return int(busy), int(pages), int(copied)


def keep_wal_checkpointed(engine: Engine, stop: threading.Event, every: float = CHECKPOINT_SECONDS) -> None:
    """Checkpoint the SQLite WAL every ``every`` seconds until ``stop`` is set; retry a failed one."""
    while not stop.wait(every):
        try:
            checkpoint_wal(engine)
        except SQLAlchemyError as exc:
            log.warning("checkpointing the SQLite WAL failed (%s); trying again",
                        str(exc).splitlines()[0][:200])


def start_wal_checkpointer(engine: Engine, stop: threading.Event | None = None) -> threading.Event | None:
    """On SQLite, run :func:`keep_wal_checkpointed` in a daemon thread; return the event that stops it.

    Nothing is started for another database (None is returned).
    """
    if engine.dialect.name != "sqlite":
        return None
    stop = stop or threading.Event()
    threading.Thread(target=keep_wal_checkpointed, args=(engine, stop), name="wal-checkpointer",
                     daemon=True).start()
    return stop
