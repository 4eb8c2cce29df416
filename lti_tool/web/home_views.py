"""The page a person lands on after a launch: the programme's units."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from course_units.progress import programme_progress
from lti_tool.principal import Capability, Launch
from lti_tool.web.auth import current_launch
from lti_tool.web.state import app_state, db

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> Any:
    """Show the five units with the learner's progress; without a launch, explain how to get in."""
    launch = current_launch()
    if not isinstance(launch, Launch):  # every launched role may view the units
        return render_template("welcome.html")
    catalog = app_state().catalog
    studying = launch.can(Capability.STUDY)
    return render_template(
        "units.html",
        launch=launch,
        units=catalog.units,
        progress=programme_progress(db(), catalog, launch.user.learner_id) if studying else {},
        unknown_unit=request.args.get("unknown"),
        locale=launch.locale,
    )

