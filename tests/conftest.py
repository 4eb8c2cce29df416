"""Shared fixtures, defined in tests/fixtures/*.py and re-exported here."""

from tests.fixtures.database import database_url, pg_database, sqlite_template, sqlite_url
from tests.fixtures.lti import app, db_session, driver, registered, tool_settings
from tests.fixtures.servers import emulator

__all__ = [
    "app",
    "database_url",
    "db_session",
    "driver",
    "emulator",
    "pg_database",
    "registered",
    "sqlite_template",
    "sqlite_url",
    "tool_settings",
]
