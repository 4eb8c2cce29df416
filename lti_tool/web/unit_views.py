"""The learner's pages: a unit's overview, its content pages, its activities and attempts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, redirect, render_template, request
from werkzeug.wrappers.response import Response as BaseResponse

from course_units.attempts import (
    AttemptError,
    attempts_left,
    attempts_of,
    find_attempt,
    open_draft,
    save_draft,
    start_attempt,
)
from course_units.content import Activity, Page, Unit
from course_units.models import Attempt
from course_units.progress import record_page_visit, record_position, unit_progress
from course_units.scoring import AnswerError, shuffled_pairs, shuffled_steps
from l2i_db import utcnow
from lti_tool.learning import hand_in_open, hand_in_quiz, where_of
from lti_tool.principal import Capability
from lti_tool.tracking import Statement
from lti_tool.web.auth import launch_required, launched, tool_url
from lti_tool.web.forms import read_open_form, read_quiz_form
from lti_tool.web.state import app_state, db
from lti_tool.web.tracking import launch_tracker
from lti_tool.web.translation import gettext, message_of
from xapi import events
from xapi.events import Scene

bp = Blueprint("units", __name__)


def _learner_id() -> int:
    return launched().user.learner_id


def _can_study() -> bool:
    return launched().can(Capability.STUDY)


def find_unit(unit_id: str) -> Unit:
    """Return the unit ``unit_id`` or answer 404 with the way back."""
    unit = app_state().catalog.unit(unit_id)
    if unit is None:
        abort(404, description=gettext("There is no unit '%(unit)s' in this programme. "
                                       "Go back to the list of units.", unit=unit_id))
    return unit


def find_activity(unit: Unit, activity_id: str) -> Activity:
    """Return the activity ``activity_id`` of ``unit`` or answer 404."""
    activity = unit.activity(activity_id)
    if activity is None:
        abort(404, description=gettext("Unit %(n)s has no activity '%(activity)s'. "
                                       "Open the unit's overview to see its activities.",
                                       n=unit.order, activity=activity_id))
    return activity


def _own_attempt(attempt_id: int) -> tuple[Unit, Activity, Attempt]:
    try:
        attempt = find_attempt(db(), attempt_id, _learner_id())
    except AttemptError as exc:
        abort(exc.status, description=message_of(exc))
    unit = find_unit(attempt.unit_id)
    return unit, find_activity(unit, attempt.activity_id), attempt



@bp.get("/units/<unit_id>")
@launch_required(Capability.VIEW_UNITS)
def unit_overview(unit_id: str) -> Any:
    """Show a unit: objectives, pages, activities, progress and where to resume."""
    unit = find_unit(unit_id)
    progress = unit_progress(db(), unit, _learner_id()) if _can_study() else None
    return render_template("unit.html", unit=unit, progress=progress,
                           attempts=progress.attempts if progress else {},
                           locale=launched().locale, framework=app_state().framework)


@bp.get("/units/<unit_id>/pages/<page_id>")
@launch_required(Capability.VIEW_UNITS)
def unit_page(unit_id: str, page_id: str) -> Any:
    """Show one content page of a unit, and remember it as the place to resume."""
    unit = find_unit(unit_id)
    page = unit.page(page_id)
    if page is None:
        abort(404, description=gettext("Unit %(n)s has no page '%(page)s'. "
                                       "Open the unit's overview to see its pages.",
                                       n=unit.order, page=page_id))
    if _can_study():
        _record_reading(unit, page)
        db().commit()
    index = unit.pages.index(page)
    return render_template(
        "page.html", unit=unit, page=page, number=index + 1, locale=launched().locale,
        previous=unit.pages[index - 1] if index > 0 else None,
        next_page=unit.pages[index + 1] if index + 1 < len(unit.pages) else None,
        first_activity=unit.activities[0] if unit.activities else None,
    )


def _record_reading(unit: Unit, page: Page) -> None:
    """Remember the visit; queue ``experienced``, and ``progressed`` when the page is new to the learner."""
    learner_id = _learner_id()
    first = record_page_visit(db(), learner_id, unit.id, page.id)
    tracker = launch_tracker()
    if not tracker.active:
        return
    percent = unit_progress(db(), unit, learner_id).percent if first else None
    now = utcnow()

    def build(scene: Scene) -> list[Statement]:
        statements = [events.experienced_page(scene, unit, page, now)]
        if percent is not None:
            statements.append(events.progressed_unit(scene, unit, percent, now))
        return statements
    tracker.queue(db(), build)


@bp.get("/units/<unit_id>/activities/<activity_id>")
@launch_required(Capability.VIEW_UNITS)
def activity_overview(unit_id: str, activity_id: str) -> Any:
    """Show an activity's instructions, the learner's attempts, and how to start or continue."""
    unit = find_unit(unit_id)
    activity = find_activity(unit, activity_id)
    attempts = attempts_of(db(), _learner_id(), activity.id) if _can_study() else []
    if _can_study():
        record_position(db(), _learner_id(), unit.id, "activity", activity.id)
        db().commit()
    return render_template(
        "activity.html", unit=unit, activity=activity, attempts=attempts,
        draft=open_draft(attempts), left=attempts_left(activity, attempts),
        can_study=_can_study(), locale=launched().locale, framework=app_state().framework,
    )


@bp.post("/units/<unit_id>/activities/<activity_id>/attempts")
@launch_required(Capability.STUDY)
def begin_attempt(unit_id: str, activity_id: str) -> BaseResponse:
    """Start (or continue) the learner's attempt and open it."""
    unit = find_unit(unit_id)
    activity = find_activity(unit, activity_id)
    tracker = launch_tracker()
    fresh = tracker.active and open_draft(attempts_of(db(), _learner_id(), activity.id)) is None
    try:
        attempt = start_attempt(db(), _learner_id(), unit.id, activity, where_of(launched()))
    except AttemptError as exc:
        abort(exc.status, description=message_of(exc))
    if fresh:
        tracker.queue(db(), lambda scene: [
            events.initialized_attempt(scene, unit, activity, attempt.created_at)])
    db().commit()
    return redirect(tool_url("units.show_attempt", attempt_id=attempt.id), code=303)


def _render_attempt(unit: Unit, activity: Activity, attempt: Attempt, *, problem: str | None = None,
                    answers: Any = None, status: int = 200) -> Any:
    seed = f"{attempt.id}-{attempt.number}"
    return render_template(
        "attempt.html", unit=unit, activity=activity, attempt=attempt, problem=problem,
        answers=attempt.answers if answers is None else answers, locale=launched().locale,
        steps={i.id: shuffled_steps(i, seed) for i in activity.items if i.type == "ordering"},
        pairs={i.id: shuffled_pairs(i, seed) for i in activity.items if i.type == "matching"},
        left=attempts_left(activity, attempts_of(db(), attempt.learner_id, activity.id)),
        saved=request.args.get("saved") == "1",
    ), status


@bp.get("/attempts/<int:attempt_id>")
@launch_required(Capability.STUDY)
def show_attempt(attempt_id: int) -> Any:
    """Show an attempt: its form while a draft, its result and feedback once handed in."""
    unit, activity, attempt = _own_attempt(attempt_id)
    return _render_attempt(unit, activity, attempt)


def _read_answers(activity: Activity) -> Any:
    if activity.auto_graded:
        return read_quiz_form(activity, request.form)
    return read_open_form(activity, request.form)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/attempts/<int:attempt_id>/save")
@launch_required(Capability.STUDY)
def save_attempt(attempt_id: int) -> Any:
    """Save the learner's answers so far (the page's autosave calls this too)."""
    unit, activity, attempt = _own_attempt(attempt_id)
    try:
        answers = _read_answers(activity)
        save_draft(db(), attempt, activity, answers)
    except (AnswerError, AttemptError) as exc:
        status = exc.status if isinstance(exc, AttemptError) else 422
        if _wants_json():
            return jsonify(error="not saved", message=message_of(exc)), status
        return _render_attempt(unit, activity, attempt, problem=message_of(exc), status=status)
    db().commit()
    if _wants_json():
        return jsonify(saved_at=attempt.saved_at.isoformat())
    return redirect(tool_url("units.show_attempt", attempt_id=attempt.id, saved=1), code=303)


@bp.post("/attempts/<int:attempt_id>/submit")
@launch_required(Capability.STUDY)
def submit_attempt(attempt_id: int) -> Any:
    """Hand in an attempt: a quiz is scored at once, open work goes to the trainer."""
    unit, activity, attempt = _own_attempt(attempt_id)
    if not attempt.is_draft:  # a replayed or double submission changes nothing
        return redirect(tool_url("units.show_attempt", attempt_id=attempt.id), code=303)
    try:
        answers = _read_answers(activity)
    except AnswerError as exc:
        return _render_attempt(unit, activity, attempt, problem=message_of(exc), status=422)
    try:
        if activity.auto_graded:
            hand_in_quiz(db(), unit, activity, attempt, answers, app_state().settings.proficiency,
                         launch_tracker())
        else:
            save_draft(db(), attempt, activity, answers)
            db().commit()  # the text is kept even if it is not ready to hand in
            hand_in_open(db(), unit, activity, attempt, answers, launched().locale, launch_tracker())
    except (AnswerError, AttemptError) as exc:
        db().rollback()
        return _render_attempt(unit, activity, attempt, problem=message_of(exc), answers=answers,
                               status=422)
    db().commit()
    return redirect(tool_url("units.show_attempt", attempt_id=attempt.id), code=303)
