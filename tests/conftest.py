"""Shared fixtures, defined in tests/fixtures/*.py and re-exported here."""

from tests.fixtures.browser import artifacts_dir, chromium, page, playwright_driver
from tests.fixtures.database import database_url, pg_database, sqlite_template, sqlite_url
from tests.fixtures.lrs import lrs_proxy, ralph
from tests.fixtures.lti import app, db_session, driver, registered, tool_settings
from tests.fixtures.platforms import independent_platform, library_driver, moodle_platform
from tests.fixtures.servers import emulator

__all__ = [
    "app",
    "artifacts_dir",
    "chromium",
    "database_url",
    "db_session",
    "driver",
    "emulator",
    "independent_platform",
    "library_driver",
    "lrs_proxy",
    "moodle_platform",
    "page",
    "pg_database",
    "playwright_driver",
    "ralph",
    "registered",
    "sqlite_template",
    "sqlite_url",
    "tool_settings",
]
