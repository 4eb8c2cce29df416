"""SQLite's WAL is checkpointed by a background thread, not by the request that crosses 1,000 pages."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

from l2i_db.engine import (
    AUTOCHECKPOINT_PAGES,
    checkpoint_wal,
    create_db_engine,
    keep_wal_checkpointed,
    start_wal_checkpointer,
)


def write_a_megabyte(engine: Engine) -> None:
    """Write about 1 MB in 100 transactions (256 WAL pages or more)."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS filler (body TEXT)"))
    for n in range(100):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO filler VALUES (:body)"), {"body": f"{n}" * 10_000})


def test_connections_leave_checkpoints_to_the_checkpointer(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == AUTOCHECKPOINT_PAGES
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        write_a_megabyte(engine)
        database = tmp_path / "wal.sqlite3"
        assert database.stat().st_size < 200_000            # the writes are still in the WAL only
        busy, pages, copied = checkpoint_wal(engine) or (1, 0, 0)
        assert busy == 0 and pages >= 256 and copied == pages
        assert database.stat().st_size > 1_000_000          # now in the database file
    finally:
        engine.dispose()


def test_the_thread_checkpoints_until_stopped(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    stop = threading.Event()
    thread = threading.Thread(target=keep_wal_checkpointed, args=(engine, stop, 0.02))
    try:
        thread.start()
        write_a_megabyte(engine)
        deadline = time.monotonic() + 10
        while (tmp_path / "wal.sqlite3").stat().st_size < 1_000_000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "wal.sqlite3").stat().st_size > 1_000_000
    finally:
        stop.set()
        thread.join(timeout=5)
        engine.dispose()
    assert not thread.is_alive()


def test_nothing_to_checkpoint_on_postgresql() -> None:
    engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")   # never connected
    assert checkpoint_wal(engine) is None
    assert start_wal_checkpointer(engine) is None


def test_the_checkpointer_starts_on_sqlite(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'wal.sqlite3'}")
    stop = start_wal_checkpointer(engine)
    try:
        assert stop is not None and not stop.is_set()
        assert any(t.name == "wal-checkpointer" and t.is_alive() for t in threading.enumerate())
    finally:
        if stop:
            stop.set()
        engine.dispose()
