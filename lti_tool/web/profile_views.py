"""The learner's own competency profile: levels, the evidence behind them, what to do next, and their data."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request
from sqlalchemy import select

from competencies.evidence import evidence_by_competency, evidence_of
from competencies.proficiency import proficiencies_of
from course_units.models import Attempt, AttemptStatus
from course_units.suggestions import suggest_activities
from lti_tool.credentials import learner_credentials
from lti_tool.learner_record import export_learner_data, set_sharing
from lti_tool.models import Learner, Platform
from lti_tool.principal import Capability
from lti_tool.web import charts_for_pages
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.state import app_state, db

bp = Blueprint("profile", __name__)


def handed_in_activities(learner_id: int) -> set[str]:
    """Return the ids of the activities the learner has handed in at least once."""
    return set(db().scalars(select(Attempt.activity_id).where(
        Attempt.learner_id == learner_id, Attempt.status != AttemptStatus.DRAFT.value)))


@bp.get("/competencies")
@launch_required(Capability.STUDY)
def my_competencies() -> Any:
    """Show the learner's level in every competency, as a chart and a table, with evidence and next steps."""
    launch = launched()
    learner_id, state = launch.user.learner_id, app_state()
    standings = proficiencies_of(db(), learner_id)
    levels = {competency_id: row.level for competency_id, row in standings.items()}
    evidence = evidence_of(db(), learner_id)
    return render_template(
        "competencies.html", framework=state.framework, standings=standings, evidence=evidence,
        timeline=evidence_by_competency(evidence),
        profile_chart=charts_for_pages.draw_profile("profile-chart", state.framework.competencies(), levels,
                                                    state.framework),
        suggestions=suggest_activities(state.catalog, levels, handed_in_activities(learner_id),
                                       state.framework.scale.proficient_level),
        sharing=db().get(Learner, learner_id).shares_evidence_since,  # type: ignore[union-attr]
        platforms={p.id: p for p in db().scalars(select(Platform))}, done=request.args.get("done"),
        rule=state.settings.proficiency, catalog=state.catalog, locale=launch.locale,
        credentials=learner_credentials(db(), state.framework, learner_id),
    )


@bp.post("/competencies/sharing")
@launch_required(Capability.STUDY)
def change_sharing() -> Any:
    """Record whether trainers at the learner's other institutions may see their evidence."""
    set_sharing(db(), launched().user.learner_id, request.form.get("share") == "yes")
    db().commit()
    return redirect(tool_url("profile.my_competencies", done="sharing", _anchor="sharing"), code=303)


@bp.get("/competencies/my-data.json")
@launch_required(Capability.VIEW_UNITS)
def download_my_data() -> Response:
    """Download everything the tool holds about the signed-in learner, as JSON."""
    record = export_learner_data(db(), launched().user.learner_id)
    return Response(json.dumps(record, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="my-l2i-record.json"'})
