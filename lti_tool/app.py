"""The Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from flask_babel import Babel, get_locale
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from competencies.framework import Framework, load_framework
from competencies.store import active_framework
from course_units.loader import load_catalog
from course_units.text import language_of, localise
from l2i_db import create_db_engine, create_session_factory
from lti_tool.lti.keysets import KeySetCache
from lti_tool.principal import Launch
from lti_tool.sessions import SessionTokens
from lti_tool.settings import Settings, load_settings
from lti_tool.web import (
    admin_views,
    api_views,
    credential_views,
    deep_linking_views,
    errors,
    health_views,
    home_views,
    link_views,
    lti_views,
    profile_views,
    programme_views,
    registration_views,
    trainer_views,
    unit_views,
)
from lti_tool.web.auth import csrf_token, resolved_launch, session_token, tool_url
from lti_tool.web.markdown import markdown_filter
from lti_tool.web.security import FrameAncestors, apply_security_headers
from lti_tool.web.state import EXTENSION, AppState, close_db

BLUEPRINTS = (
    lti_views.bp, registration_views.bp, home_views.bp, unit_views.bp, trainer_views.bp,
    profile_views.bp, health_views.bp, admin_views.bp, deep_linking_views.bp, programme_views.bp,
    api_views.bp, link_views.bp, credential_views.bp,
)
SUPPORTED_LOCALES = ("en", "sv", "sl", "es")

babel = Babel()
log = logging.getLogger(__name__)


def read_framework(session_factory: sessionmaker[Session]) -> Framework:
    """Return the framework imported into the database, or the bundled one before any import."""
    try:
        with session_factory() as session:
            return active_framework(session)
    except SQLAlchemyError as exc:  # a database not yet upgraded: the bundled framework serves
        log.warning("reading the imported framework failed (%s); using the bundled one", exc)
        return load_framework()


def select_locale() -> str:
    """Pick the UI language: the launch's locale, else the browser's, else English."""
    launch = resolved_launch()
    wanted = launch.locale if isinstance(launch, Launch) else None
    if wanted:
        base = wanted.replace("_", "-").split("-", 1)[0].lower()
        if base in SUPPORTED_LOCALES:
            return base
    best: str | None = request.accept_languages.best_match(SUPPORTED_LOCALES)
    return best or "en"


def warn_uncompiled_catalogues(app: Flask) -> None:
    """Log the supported locales whose compiled catalogue is missing (their pages would be English)."""
    for locale in (loc for loc in SUPPORTED_LOCALES if loc != "en"):
        compiled = Path(app.root_path, "translations", locale, "LC_MESSAGES", "messages.mo")
        if not compiled.exists():
            log.warning("no compiled catalogue %s: the UI shows English instead of %r; run "
                        "`make translations` (pybabel compile -d lti_tool/translations)", compiled, locale)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the tool's Flask app from ``settings`` (default: read from ``L2I_*`` variables)."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_request_bytes,
        SESSION_COOKIE_SECURE=settings.is_https,
        SESSION_COOKIE_SAMESITE="None" if settings.is_https else "Lax",
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES="translations",
    )
    app.config.update(overrides)
    logging.basicConfig(level=settings.log_level)
    engine = create_db_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    framework = read_framework(session_factory)
    app.extensions[EXTENSION] = AppState(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        keysets=KeySetCache(ttl=settings.jwks_cache_seconds, timeout=settings.http_timeout),
        tokens=SessionTokens(settings.secret_key, settings.session_lifetime),
        catalog=load_catalog(settings.content_dir, known_competencies=framework.competency_ids()),
        framework=framework,
    )
    babel.init_app(app, locale_selector=select_locale)
    warn_uncompiled_catalogues(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    errors.register_error_handlers(app)
    app.teardown_appcontext(close_db)
    frame_ancestors = FrameAncestors(session_factory)

    @app.after_request
    def _security_headers(response: Response) -> Response:
        return apply_security_headers(response, frame_ancestors.origins())

    app.jinja_env.filters["markdown"] = markdown_filter
    app.jinja_env.filters["localise"] = localise
    app.jinja_env.filters["language_of"] = language_of
    app.jinja_env.globals.update(
        tool_url=tool_url, csrf_token=csrf_token, session_token=session_token,
        current_launch=resolved_launch, get_locale=get_locale,
    )
    return app
