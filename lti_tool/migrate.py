"""Schema migrations with Alembic: ``l2i db upgrade`` and the demo's automatic upgrade."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData

from l2i_db import Base

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MODEL_MODULES = ("lti_tool.models", "course_units.models", "competencies.models", "competencies.store",
                 "xapi.models", "lti_tool.roster_models", "lti_tool.access_models",
                 "lti_tool.identity_models", "badges.models")


def load_metadata() -> MetaData:
    """Import every models module and return the metadata they fill."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata


def alembic_config(database_url: str) -> Config:
    """Return an Alembic configuration for ``database_url`` (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Bring the schema at ``database_url`` up to ``revision``, creating a SQLite folder if needed."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)
