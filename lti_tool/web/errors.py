"""Error pages: every refusal is a 4xx page (or JSON) with a message a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from lti_tool.lti.errors import LaunchRefused
from lti_tool.web.translation import gettext, http_error_text

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _render(status: int, title: str, message: str, hint: str | None) -> Any:
    if _wants_json():
        return jsonify(error=title, message=message, hint=hint), status
    return render_template("error.html", title=title, message=message, hint=hint), status


def rollback_request_session() -> None:
    """Roll back this request's database session, so an error page can still read from it."""
    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except SQLAlchemyError:
            log.exception("could not roll back the request's session")


def handle_launch_refused(exc: LaunchRefused) -> Any:
    """Render a refused login or launch."""
    log.info("launch refused (%s): %s", exc.status, exc.message)
    return _render(exc.status, gettext("The launch was refused"), exc.message, exc.hint)


def handle_http_error(exc: HTTPException) -> Any:
    """Render an HTTP error with its description."""
    status = exc.code or 500
    if status >= 500:
        rollback_request_session()   # the page reads the database (who is signed in)
    title, message = http_error_text(status, exc.name, exc.description or "")
    if status == 413:
        message = gettext("The request is larger than this tool accepts.")
    return _render(status, title, message, None)


def handle_database_down(exc: OperationalError) -> Any:
    """Answer 503 when the database cannot be reached, instead of a traceback."""
    log.error("database unavailable: %s", exc.orig)
    rollback_request_session()
    return _render(503, gettext("Temporarily unavailable"),
                   gettext("The tool cannot reach its database just now. Nothing you did was lost."),
                   gettext("Try again in a minute. If it persists, tell the tool's administrator."))


def register_error_handlers(app: Flask) -> None:
    """Attach the error handlers to ``app``."""
    app.register_error_handler(LaunchRefused, handle_launch_refused)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(OperationalError, handle_database_down)
