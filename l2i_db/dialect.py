"""What differs between PostgreSQL and SQLite, behind one call each: upserts and advisory locks."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, model: Any) -> Any:
    """Return an INSERT of ``model`` that supports ``on_conflict_do_…`` on the session's database."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def advisory_lock_key(name: str) -> int:
    """Return a PostgreSQL advisory lock key (a signed 64-bit integer) for ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def lock_for_transaction(session: Session, name: str) -> None:
    """Hold a lock on ``name`` until ``session``'s transaction ends.

    On PostgreSQL this is a transaction-level advisory lock, so two workers or two requests doing
    the same find-or-create take turns. SQLite runs one writer at a time, so it does nothing there.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_lock_key(name)})
