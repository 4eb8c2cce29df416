"""The programme view: every course of the programme across institutions, for trainers granted it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template

from lti_tool.access import has_programme_access
from lti_tool.principal import Capability
from lti_tool.programme import build_programme_view
from lti_tool.web import charts_for_pages
from lti_tool.web.auth import launch_required, launched
from lti_tool.web.state import app_state, db
from lti_tool.web.translation import gettext

bp = Blueprint("programme", __name__)


@bp.get("/programme")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def overview() -> Any:
    """Show the programme's aggregates by institution, level counts, and every course."""
    if not has_programme_access(db(), launched()):
        abort(403, description=gettext("The programme view is for trainers granted access to the whole "
                                       "programme. Ask the tool's operator to run `l2i trainer grant` "
                                       "for you."))
    framework = app_state().framework
    return render_template("programme.html", view=build_programme_view(db(), framework), framework=framework,
                           charts=charts_for_pages, locale=launched().locale)
