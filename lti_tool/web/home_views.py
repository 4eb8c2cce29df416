"""The pages a person lands on after a launch."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from lti_tool.principal import Capability, Launch
from lti_tool.web.auth import current_launch, launch_required
from lti_tool.web.state import app_state

bp = Blueprint("home", __name__)


@bp.get("/")
def index() -> Any:
    """Show the programme's five units; without a launch, explain how to get in."""
    launch = current_launch()
    if not isinstance(launch, Launch):  # every launched role may view the units
        return render_template("welcome.html")
    units = app_state().units
    chosen = request.args.get("unit")
    return render_template(
        "units.html",
        launch=launch,
        units=units,
        chosen=chosen if any(u.id == chosen for u in units) else None,
        unknown_unit=chosen if chosen and not any(u.id == chosen for u in units) else None,
        locale=launch.locale,
    )


@bp.get("/trainer")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def trainer_dashboard() -> Any:
    """Show the trainer's way into the course dashboard."""
    return render_template("trainer.html", launch=current_launch())


@bp.get("/deep-linking")
@launch_required(Capability.PLACE_CONTENT)
def deep_linking() -> Any:
    """Where an instructor's deep-linking request lands: the units that can be placed."""
    return render_template("deep_linking.html", launch=current_launch(), units=app_state().units)
