"""Finding the launch behind a request, and guarding views with capabilities and CSRF checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import abort, g, request, url_for
from werkzeug.exceptions import HTTPException

from lti_tool.principal import AbsentLaunch, Capability, Launch
from lti_tool.sessions import find_launch
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext

SESSION_PARAM = "s"
SESSION_HEADER = "X-L2I-Session"
SESSION_COOKIE = "l2i_session"
CSRF_FIELD = "csrf_token"

F = TypeVar("F", bound=Callable[..., Any])


def _form_value(name: str) -> str | None:
    if request.method != "POST":
        return None
    try:
        return request.form.get(name)
    except HTTPException:  # an oversized or malformed body: the view answers for it
        return None


def _token_from_request() -> str | None:
    return (
        request.headers.get(SESSION_HEADER)
        or request.args.get(SESSION_PARAM)
        or _form_value(SESSION_PARAM)
        or request.cookies.get(SESSION_COOKIE)
    )


def current_launch() -> Launch | AbsentLaunch:
    """Return the launch this request belongs to, or an :class:`AbsentLaunch`."""
    if "launch" not in g:
        token = _token_from_request()
        session_id = app_state().tokens.read(token) if token else None
        launch = find_launch(db(), session_id) if session_id else None
        g.launch = launch or AbsentLaunch()
        g.session_token = token if launch else None
    launch_or_absent: Launch | AbsentLaunch = g.launch
    return launch_or_absent


def launched() -> Launch:
    """Return the launch of a view guarded by :func:`launch_required` (typed as present)."""
    launch = current_launch()
    assert isinstance(launch, Launch), "launched() is for views guarded by launch_required"
    return launch


def resolved_launch() -> Launch | AbsentLaunch:
    """Return the launch if this request already resolved it, without touching the database.

    Page layouts use this, so that an error page still renders when the database is down.
    """
    launch: Launch | AbsentLaunch = g.get("launch") or AbsentLaunch()
    return launch


def session_token() -> str | None:
    """Return the token of the current launch session, for links and forms."""
    current_launch()
    token: str | None = g.get("session_token")
    return token


def tool_url(endpoint: str, **values: Any) -> str:
    """Build a URL to a tool view that carries the session token (works without cookies)."""
    token = session_token()
    if token:
        values[SESSION_PARAM] = token
    return url_for(endpoint, **values)


def csrf_token() -> str:
    """Return the CSRF token for the tool's forms in this session."""
    launch = current_launch()
    if not isinstance(launch, Launch):
        return ""
    return app_state().tokens.csrf_token(launch.session_id)


def _check_csrf(launch: Launch) -> None:
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        # reading the form here lets an oversized body answer 413 rather than "token missing"
        sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token")
        if not app_state().tokens.check_csrf(launch.session_id, sent):
            abort(400, description=gettext("The form's security token is missing or wrong. "
                                           "Reload the page and try again."))


def launch_required(capability: Capability | None = None) -> Callable[[F], F]:
    """Guard a view: it needs a launch session (401 otherwise) allowing ``capability`` (403)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            launch = current_launch()
            if not isinstance(launch, Launch):
                abort(401, description=gettext("Your session has expired or this page was opened "
                                               "outside a launch. Open the activity again from your LMS."))
            if capability is not None and not launch.can(capability):
                abort(403, description=gettext("Your role in this course does not allow this page."))
            _check_csrf(launch)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate
