"""The programme view: every course of the programme across institutions, for trainers granted it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, redirect, render_template

from l2i_db import utcnow
from lti_tool.access import has_programme_access
from lti_tool.principal import Capability
from lti_tool.programme_snapshot import count_programme, read_programme
from lti_tool.web import charts_for_pages
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext

bp = Blueprint("programme", __name__)


def _require_programme_access() -> None:
    if not has_programme_access(db(), launched()):
        abort(403, description=gettext("The programme view is for trainers granted access to the whole "
                                       "programme. Ask the tool's operator to run `l2i trainer grant` "
                                       "for you."))


@bp.get("/programme")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def overview() -> Any:
    """Show the programme's aggregates by institution, level counts, and every course.

    The figures are those last counted (by the worker, or by this page when they are older than
    the refresh interval), with the time they were counted.
    """
    _require_programme_access()
    state = app_state()
    refresh = dt.timedelta(seconds=state.settings.programme_refresh_seconds)
    counted = read_programme(db(), state.framework, utcnow(), refresh)
    db().commit()
    return render_template("programme.html", view=counted.view, counted=counted,
                           refresh_minutes=max(1, round(refresh.total_seconds() / 60)),
                           framework=state.framework, charts=charts_for_pages, locale=launched().locale)


@bp.post("/programme/refresh")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def refresh() -> Any:
    """Count the programme's figures now, then show them."""
    _require_programme_access()
    count_programme(db(), app_state().framework, utcnow())
    db().commit()
    return redirect(tool_url("programme.overview"), code=303)
