"""The learner's own competency profile: their level in each competency and the evidence behind it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from competencies.evidence import evidence_of
from competencies.proficiency import proficiencies_of
from lti_tool.models import Platform
from lti_tool.principal import Capability
from lti_tool.web.auth import launch_required, launched
from lti_tool.web.state import app_state, db

bp = Blueprint("profile", __name__)


@bp.get("/competencies")
@launch_required(Capability.STUDY)
def my_competencies() -> Any:
    """Show the learner's standing in every competency, with each piece of evidence and its institution."""
    launch = launched()
    learner_id = launch.user.learner_id
    evidence = evidence_of(db(), learner_id)
    return render_template(
        "competencies.html", framework=app_state().framework,
        standings=proficiencies_of(db(), learner_id), evidence=evidence,
        platforms={p.id: p for p in db().scalars(select(Platform))},
        rule=app_state().settings.proficiency, catalog=app_state().catalog, locale=launch.locale,
    )
