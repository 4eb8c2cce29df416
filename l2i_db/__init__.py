"""Shared database foundation: the declarative base, engines and time helpers.

Every package's SQLAlchemy models derive from :class:`Base`, so that one metadata
(and one Alembic history) covers the whole engine. Nothing here imports Flask.
"""

from l2i_db.base import Base, utcnow
from l2i_db.engine import create_db_engine, create_session_factory

__all__ = ["Base", "create_db_engine", "create_session_factory", "utcnow"]
