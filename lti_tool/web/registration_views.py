"""The Dynamic Registration page the LMS opens."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from lti_tool import keys
from lti_tool.registration import RegistrationError, canvas_configuration, register_platform
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext

bp = Blueprint("registration", __name__, url_prefix="/lti")


@bp.get("/register")
def register() -> Any:
    """Register the tool with the platform that opened this page, then tell it to close."""
    session = db()
    url = request.args.get("openid_configuration", "")[:2048]
    if not url:
        return render_template(
            "error.html", title=gettext("Nothing to register"),
            message=gettext("This address is the tool's Dynamic Registration URL. Paste it into your "
                            "LMS's tool management page (Moodle: Manage tools, Tool URL) to register "
                            "the tool."),
            hint=None,
        ), 400
    try:
        registered = register_platform(
            session, app_state().settings, openid_configuration=url,
            registration_token=request.args.get("registration_token", "")[:4096] or None,
        )
    except RegistrationError as exc:
        session.rollback()
        return render_template("error.html", title=gettext("Registration failed"), message=exc.message,
                               hint=None), exc.status
    keys.ensure_signing_key(session)
    session.commit()
    return render_template("registered.html", registered=registered)


@bp.get("/config.json")
def config_json() -> Response:
    """Publish the tool's JSON configuration, for LMSs (Canvas) that take one pasted or by URL."""
    response = jsonify(canvas_configuration(app_state().settings))
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response
