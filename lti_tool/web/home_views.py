"""The pages a person lands on after a launch: the programme's units, and deep linking."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from course_units.progress import programme_progress
from lti_tool.principal import Capability, Launch
from lti_tool.web.auth import current_launch, launch_required, launched
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


@bp.get("/deep-linking")
@launch_required(Capability.PLACE_CONTENT)
def deep_linking() -> Any:
    """Where an instructor's deep-linking request lands: the units that can be placed."""
    launch = launched()
    return render_template("deep_linking.html", launch=launch, units=app_state().catalog.units,
                           locale=launch.locale)
