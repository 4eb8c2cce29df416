"""The naive way for bench/launch.py: a plain pylti1p3 Flask tool, as its documentation shows one.

    .venv/bin/gunicorn --pythonpath bench 'naive_tool:create_app()'   (bench/launch.py starts it)

Its registration is a JSON file read by pylti1p3's ``ToolConfJsonFile`` (the path in
``NAIVE_LTI_CONFIG``; ``NAIVE_SECRET_KEY`` signs its session cookie). The OIDC login is
``FlaskOIDCLogin`` (state in a cookie, state and nonce in the Flask session cookie); the launch
is ``FlaskMessageLaunch.validate()``, which fetches the platform's JWKS on every launch
(pylti1p3 caches it only when told to, and this tool is not); the launch's claims stay in the
Flask session cookie, as pylti1p3 keeps them, and the launch answers with a redirect to a first
page rendered from them. It stores nothing on the server.

Running this file on its own (as ``make bench`` does with every script in bench/) only says so.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, redirect, render_template_string, request, session, url_for
from pylti1p3.contrib.flask.message_launch import FlaskMessageLaunch
from pylti1p3.contrib.flask.oidc_login import FlaskOIDCLogin
from pylti1p3.contrib.flask.request import FlaskRequest
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.tool_config.json_file import ToolConfJsonFile

CONFIG_VARIABLE = "NAIVE_LTI_CONFIG"
FIRST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Learning 2 Innovate</title></head>
<body>
<h1>Welcome, {{ name }}</h1>
<p>Course: {{ course }}</p>
<p>Link: {{ link }}</p>
<ul>{% for role in roles %}<li>{{ role }}</li>{% endfor %}</ul>
<p>Launch {{ launch_id }}</p>
</body></html>
"""


def create_app() -> Flask:
    """Build the naive tool from the JSON registration named by ``NAIVE_LTI_CONFIG``.

    ``NAIVE_SECRET_KEY`` signs the session cookie; every worker must share it.
    """
    app = Flask(__name__)
    app.config["SECRET_KEY"] = os.environ["NAIVE_SECRET_KEY"]
    tool_conf = ToolConfJsonFile(os.environ[CONFIG_VARIABLE])

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        """Start the OIDC login: redirect the browser to the platform's authorization endpoint."""
        oidc = FlaskOIDCLogin(FlaskRequest(), tool_conf)  # type: ignore[no-untyped-call]
        target = request.values.get("target_link_uri", "")
        try:
            return oidc.redirect(target)
        except (LtiException, OIDCException) as exc:
            return f"login refused: {exc}", 400

    @app.post("/launch")
    def launch() -> Any:
        """Validate the id_token (fetching the platform's JWKS) and go to the first page."""
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf)  # type: ignore[no-untyped-call]
        try:
            message_launch.validate()
        except LtiException as exc:
            return f"launch refused: {exc}", 400
        return redirect(url_for("first_page", launch_id=message_launch.get_launch_id()), code=303)

    @app.get("/first")
    def first_page() -> Any:
        """Render the first page from the launch pylti1p3 kept in the session."""
        launch_id = request.args.get("launch_id", "")
        claims = session.get(launch_id)
        if not isinstance(claims, dict):
            return "no such launch in this session", 404
        context = claims.get("https://purl.imsglobal.org/spec/lti/claim/context") or {}
        link = claims.get("https://purl.imsglobal.org/spec/lti/claim/resource_link") or {}
        roles = claims.get("https://purl.imsglobal.org/spec/lti/claim/roles") or []
        return render_template_string(
            FIRST_PAGE, name=claims.get("name", ""), course=context.get("title", ""),
            link=link.get("title", ""), roles=roles, launch_id=launch_id,
        )

    return app


if __name__ == "__main__":
    print("bench/naive_tool.py is the naive tool that bench/launch.py serves and measures; "
          "run bench/launch.py.")
