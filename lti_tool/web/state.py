"""Per-application state (settings, database, caches), kept in ``app.extensions``."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from competencies.framework import Framework
from course_units.content import Catalog
from lti_tool.lti.keysets import KeySetCache
from lti_tool.sessions import SessionTokens
from lti_tool.settings import Settings

EXTENSION = "l2i"


@dataclass
class AppState:
    """Everything the views need that outlives a request."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    keysets: KeySetCache
    tokens: SessionTokens
    catalog: Catalog
    framework: Framework


def app_state(app: Flask | None = None) -> AppState:
    """Return the state of ``app`` (default: the current app)."""
    state: AppState = (app or current_app).extensions[EXTENSION]
    return state


def db() -> Session:
    """Return this request's database session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = app_state().session_factory()
    session: Session = g.db_session
    return session


def close_db(_exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and close this request's session."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.rollback()
        session.close()
