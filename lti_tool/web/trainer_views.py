"""The trainer's pages in a course: work to assess, assessing it, and a learner's competencies."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import requests
from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from sqlalchemy import select
from werkzeug.utils import secure_filename
from werkzeug.wrappers.response import Response as BaseResponse

from competencies.evidence import EvidenceError, Origin, evidence_by_competency, evidence_of
from competencies.proficiency import proficiencies_of
from course_units.attempts import AttemptError, assessed_in, attempts_to_assess
from course_units.i18n import N_, Message
from course_units.models import Attempt
from course_units.scoring import AnswerError
from lti_tool.access import (
    has_programme_access,
    may_drill_down,
    may_view_context,
    taught_contexts,
    visible_evidence,
)
from lti_tool.cohorts import (
    CohortFilter,
    CourseView,
    FilterError,
    build_course_view,
    read_filter,
    set_group,
    write_course_csv,
)
from lti_tool.credentials import credentials_of
from lti_tool.learning import assess_open
from lti_tool.learning import rate_competency as record_rating
from lti_tool.models import Context, CourseGroup, Membership, Platform, PlatformUser
from lti_tool.principal import Capability
from lti_tool.roster import (
    RosterClient,
    is_stale,
    last_fetch,
    memberships_url_for,
    never_launched,
    refresh_roster,
)
from lti_tool.roster_models import RosterFetch, RosterMember
from lti_tool.services import ServiceError, ServiceTokens
from lti_tool.web import charts_for_pages
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.forms import read_rubric_form
from lti_tool.web.heatmap import HeatmapCells, LearnerUrls
from lti_tool.web.state import app_state, db
from lti_tool.web.tracking import attempt_tracker, learner_tracker
from lti_tool.web.translation import gettext, message_of
from lti_tool.web.unit_views import find_activity, find_unit

bp = Blueprint("trainer", __name__)
ROWS_PER_PAGE = 100


def page_of(raw: str | None, count: int, per_page: int) -> tuple[int, int]:
    """Return the page asked for (1 when absent or unreadable, at most the last) and the page count."""
    pages = max(1, -(-count // per_page))
    page = int(raw) if raw and raw.isdigit() and len(raw) < 7 else 1
    return min(max(page, 1), pages), pages


def _context() -> Context:
    context = launched().context
    if context is None:
        abort(403, description=gettext("This launch did not come from a course, so there is no class "
                                       "to show. Open the tool from an activity in your course."))
    return context


def course_people(context_id: int, learner_ids: Collection[int]) -> dict[int, PlatformUser]:
    """Return the people among ``learner_ids`` who launched in a context, by learner id."""
    if not learner_ids:
        return {}
    users = db().scalars(
        select(PlatformUser).join(Membership, Membership.user_id == PlatformUser.id)
        .where(Membership.context_id == context_id, PlatformUser.learner_id.in_(sorted(set(learner_ids))))
        .order_by(PlatformUser.family_name, PlatformUser.name)
    )
    return {user.learner_id: user for user in users}


def _person_in_course(learner_id: int) -> PlatformUser:
    return _person_in(_context().id, learner_id)


def _person_in(context_id: int, learner_id: int) -> PlatformUser:
    person = db().scalars(
        select(PlatformUser).join(Membership, Membership.user_id == PlatformUser.id)
        .where(Membership.context_id == context_id, PlatformUser.learner_id == learner_id).limit(1)
    ).first()
    if person is None:
        abort(404, description=gettext("This person has not launched the tool in this course. "
                                       "Go back to the trainer dashboard to see your class."))
    return person


@bp.get("/trainer")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def dashboard() -> Any:
    """Show the course dashboard: the class's levels and progress, work waiting, and the roster."""
    return _render_dashboard(_roster_view(_context(), refresh=False))


def _read_course_view(context: Context) -> tuple[CourseView, str | None]:
    """Build the course's view with the request's filters; a bad filter shows everyone, with a notice."""
    state = app_state()
    try:
        cohort_filter, problem = read_filter(request.args, state.catalog, state.framework), None
    except FilterError as exc:
        cohort_filter, problem = CohortFilter(), message_of(exc)
    return build_course_view(db(), state.catalog, state.framework, [context.id], cohort_filter), problem


def _learner_urls(context: Context, own_course: bool) -> LearnerUrls:
    """Return how the dashboard's rows link to a learner: their profile here, or read-only elsewhere."""
    if own_course:
        return LearnerUrls(tool_url("trainer.learner_profile", learner_id=LearnerUrls.PLACEHOLDER))
    return LearnerUrls(tool_url("trainer.course_learner", context_id=context.id,
                                learner_id=LearnerUrls.PLACEHOLDER))


def _render_dashboard(roster: RosterView | None, context: Context | None = None) -> Any:
    context = context or _context()
    own_course = roster is not None
    view, problem = _read_course_view(context)
    page, pages = page_of(request.args.get("page"), len(view.rows), ROWS_PER_PAGE)
    waiting = attempts_to_assess(db(), context.id) if own_course else []
    assessed = assessed_in(db(), context.id) if own_course else []
    people = course_people(context.id, {attempt.learner_id for attempt in [*waiting, *assessed]})
    return render_template(
        "trainer.html", launch=launched(), context=context, people=people, view=view, problem=problem,
        cells=HeatmapCells(view.units, view.competencies, launched().locale),
        learner_url=_learner_urls(context, own_course),
        rows=view.rows[(page - 1) * ROWS_PER_PAGE:page * ROWS_PER_PAGE], page=page, pages=pages,
        unit_numbers={unit.id: n for n, unit in enumerate(app_state().catalog.units, start=1)},
        own_course=own_course, other_courses=_other_courses(context),
        waiting=waiting, assessed=assessed,
        catalog=app_state().catalog, framework=app_state().framework, locale=launched().locale,
        done=request.args.get("done"), roster=roster, charts=charts_for_pages,
        programme=has_programme_access(db(), launched()),
    ), 400 if problem else 200


def _is_launch_course(context: Context) -> bool:
    launch_context = launched().context
    return launch_context is not None and launch_context.id == context.id


def _other_courses(shown: Context) -> list[Context]:
    return [c for c in taught_contexts(db(), launched().user.id) if c.id != shown.id]


def _course_in_view(context_id: int) -> Context:
    """Return a course the trainer may see (taught, granted, or the launch's own); 404 otherwise."""
    context = db().get(Context, context_id)
    if context is None or not may_view_context(db(), launched(), context_id):
        abort(404, description=gettext("There is no such course among those you teach. "
                                       "Go back to the trainer dashboard to see your courses."))
    return context


@bp.get("/trainer/courses/<int:context_id>")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def course_dashboard(context_id: int) -> Any:
    """Show another course's dashboard, read-only: one the trainer teaches, or any with programme access."""
    context = _course_in_view(context_id)
    if _is_launch_course(context):
        return dashboard()
    return _render_dashboard(None, context)


@bp.get("/trainer/export.csv")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def export_dashboard() -> Any:
    """Download the dashboard's rows, with the same filters, as CSV."""
    return _csv_of(_context())


@bp.get("/trainer/courses/<int:context_id>/export.csv")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def export_course(context_id: int) -> Any:
    """Download another visible course's dashboard as CSV."""
    return _csv_of(_course_in_view(context_id))


def _csv_of(context: Context) -> Response:
    view, problem = _read_course_view(context)
    if problem:
        abort(400, description=problem)
    name = secure_filename(f"{context.label or context.context_id}-competencies.csv") or "competencies.csv"
    return Response(write_course_csv(view), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _attempt_in_course(attempt_id: int) -> Attempt:
    attempt = db().get(Attempt, attempt_id)
    if attempt is None or attempt.context_id != _context().id:
        abort(404, description=gettext("There is no such submission in this course. "
                                       "Go back to the trainer dashboard to see the work waiting for you."))
    return attempt


def _render_assessment(attempt: Attempt, problem: str | None = None, status: int = 200) -> Any:
    unit = find_unit(attempt.unit_id)
    activity = find_activity(unit, attempt.activity_id)
    return render_template(
        "assess.html", attempt=attempt, unit=unit, activity=activity,
        person=_person_in_course(attempt.learner_id), problem=problem, locale=launched().locale,
    ), status


@bp.get("/trainer/attempts/<int:attempt_id>")
@launch_required(Capability.ASSESS_WORK)
def show_assessment(attempt_id: int) -> Any:
    """Show a learner's submitted work with the rubric to assess it."""
    attempt = _attempt_in_course(attempt_id)
    if attempt.is_draft:
        abort(404, description=gettext("This work has not been submitted yet."))
    return _render_assessment(attempt)


@bp.post("/trainer/attempts/<int:attempt_id>")
@launch_required(Capability.ASSESS_WORK)
def save_assessment(attempt_id: int) -> Any:
    """Record the trainer's rubric ratings and feedback: the grade, its evidence and proficiency."""
    attempt = _attempt_in_course(attempt_id)
    unit = find_unit(attempt.unit_id)
    activity = find_activity(unit, attempt.activity_id)
    if activity.auto_graded:
        abort(409, description=gettext("Quizzes are scored automatically; there is nothing to assess."))
    try:
        ratings = read_rubric_form(activity, request.form)
        assess_open(db(), unit, activity, attempt, ratings, request.form.get("feedback"),
                    launched().user.id, app_state().settings.proficiency, attempt_tracker(attempt))
    except (AnswerError, AttemptError) as exc:
        db().rollback()
        return _render_assessment(attempt, problem=message_of(exc), status=422)
    db().commit()
    return redirect(tool_url("trainer.dashboard", done="assessed"), code=303)


@bp.get("/trainer/learners/<int:learner_id>")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def learner_profile(learner_id: int) -> Any:
    """Show one learner: competencies, evidence by competency, attempts, and the rating form."""
    return _render_learner(learner_id)


@bp.get("/trainer/courses/<int:context_id>/learners/<int:learner_id>")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def course_learner(context_id: int, learner_id: int) -> Any:
    """Show a learner of another visible course, read-only (another institution's: with their consent)."""
    context = _course_in_view(context_id)
    if _is_launch_course(context):
        return _render_learner(learner_id)
    person = _person_in(context.id, learner_id)
    if not may_drill_down(db(), launched().platform.id, learner_id):
        abort(403, description=gettext("This learner studies at another institution and has not agreed "
                                       "to share their record with trainers elsewhere."))
    return _render_learner(learner_id, context=context, person=person)


def _render_learner(learner_id: int, problem: str | None = None, status: int = 200,
                    context: Context | None = None, person: PlatformUser | None = None) -> Any:
    own_course = context is None
    context = context or _context()
    person = person or _person_in_course(learner_id)
    evidence = visible_evidence(db(), evidence_of(db(), learner_id), launched().platform.id, learner_id)
    attempts = db().scalars(select(Attempt).where(Attempt.learner_id == learner_id,
                                                  Attempt.context_id == context.id)
                            .order_by(Attempt.created_at.desc())).all()
    group = db().scalar(select(CourseGroup.name).where(CourseGroup.context_id == context.id,
                                                      CourseGroup.learner_id == learner_id))
    return render_template(
        "trainer_learner.html", person=person, learner_id=learner_id, context=context, own_course=own_course,
        framework=app_state().framework, standings=proficiencies_of(db(), learner_id),
        evidence=evidence, timeline=evidence_by_competency(evidence), attempts=attempts, group=group,
        catalog=app_state().catalog, platforms={p.id: p for p in db().scalars(select(Platform))},
        rule=app_state().settings.proficiency, problem=problem, locale=launched().locale,
        done=request.args.get("done"), credentials=credentials_of(db(), learner_id),
    ), status


@bp.post("/trainer/learners/<int:learner_id>/group")
@launch_required(Capability.ASSESS_WORK)
def set_learner_group(learner_id: int) -> Any:
    """Put the learner in a group of this course (or take them out with an empty name)."""
    _person_in_course(learner_id)
    try:
        set_group(db(), _context().id, learner_id, request.form.get("group"))
    except FilterError as exc:
        db().rollback()
        return _render_learner(learner_id, problem=message_of(exc), status=422)
    db().commit()
    return redirect(tool_url("trainer.learner_profile", learner_id=learner_id, done="grouped"), code=303)


@bp.post("/trainer/learners/<int:learner_id>/ratings")
@launch_required(Capability.ASSESS_WORK)
def rate_competency(learner_id: int) -> Any:
    """Add a trainer's rating or override of one competency, or clear an override."""
    _person_in_course(learner_id)
    competency_id = request.form.get("competency", "")
    if app_state().framework.node(competency_id) is None:
        return _render_learner(learner_id, problem=gettext("Choose a competency from the list."),
                               status=422)
    action = request.form.get("action", "rate")
    origin = Origin(platform_id=launched().platform.id, context_id=_context().id)
    common: dict[str, Any] = {
        "learner_id": learner_id, "competency_id": competency_id, "note": request.form.get("note"),
        "rated_by_id": launched().user.id, "origin": origin, "rule": app_state().settings.proficiency,
    }
    try:
        level = request.form.get("level", "")
        if action != "clear" and not level.isdigit():
            raise EvidenceError(Message(N_("Choose a level for the competency.")))
        record_rating(db(), action=action, level=int(level) if level.isdigit() else None,
                      tracker=learner_tracker(learner_id), **common)
    except EvidenceError as exc:
        db().rollback()
        return _render_learner(learner_id, problem=message_of(exc), status=422)
    db().commit()
    return _redirect_to_learner(learner_id)


def _redirect_to_learner(learner_id: int) -> BaseResponse:
    return redirect(tool_url("trainer.learner_profile", learner_id=learner_id, done="rated"), code=303)


# -- the course roster (LTI Names and Role Provisioning Services) ---------------------------

ROSTER_CLIENT = "l2i.roster_client"


@dataclass
class RosterView:
    """What the dashboard's roster section shows."""

    available: bool
    fetch: RosterFetch | None = None
    missing: list[RosterMember] | None = None
    problem: str | None = None


def _roster_client() -> RosterClient:
    client: RosterClient | None = current_app.extensions.get(ROSTER_CLIENT)
    if client is None:
        http, timeout = requests.Session(), app_state().settings.http_timeout
        client = RosterClient(http, ServiceTokens(http, timeout), timeout)
        current_app.extensions[ROSTER_CLIENT] = client
    return client


def _roster_view(context: Context, *, refresh: bool) -> RosterView:
    """Return the roster section, fetching the roster first when asked or when it is over an hour old."""
    launch = launched()
    url = memberships_url_for(db(), context.id, launch.resource_link)
    if url is None:
        return RosterView(available=False)
    fetch = last_fetch(db(), context.id)
    problem = None
    if refresh or (fetch is not None and fetch.fetched_at is not None and is_stale(fetch)):
        try:
            fetch = refresh_roster(db(), _roster_client(), launch.platform, context, url)
        except ServiceError as exc:
            fetch = last_fetch(db(), context.id)
            problem = gettext("The LMS did not answer the roster request: %(error)s", error=str(exc))
        db().commit()
    missing = never_launched(db(), context, launch.platform) if fetch and fetch.fetched_at else None
    return RosterView(available=True, fetch=fetch, missing=missing, problem=problem)


@bp.post("/trainer/roster")
@launch_required(Capability.VIEW_COURSE_DASHBOARD)
def refresh_course_roster() -> Any:
    """Fetch the course roster from the LMS now; show the dashboard with a notice if that fails."""
    roster = _roster_view(_context(), refresh=True)
    if roster.problem is not None or not roster.available:
        return _render_dashboard(roster)
    return redirect(tool_url("trainer.dashboard", done="roster", _anchor="roster"), code=303)
