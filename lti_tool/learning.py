"""The learner's work, end to end: an attempt, its evidence, proficiency, completion, statements and score.

Views call these functions; each runs inside the request's transaction and leaves the commit to
the caller, so that an attempt and everything it causes are stored together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from competencies.evidence import AttemptEvidence, Origin, add_rating, clear_override, write_attempt_evidence
from competencies.models import Evidence
from competencies.proficiency import ProficiencyRule
from course_units.attempts import (
    AttemptError,
    Where,
    grade_open,
    submit_open,
    submit_quiz,
)
from course_units.content import Activity, Unit
from course_units.models import Attempt, UnitCompletion
from course_units.progress import check_completion, rule_met, unit_progress
from course_units.scoring import QuizResult, RubricResult, check_open_answer
from l2i_db import utcnow
from lti_tool.grades import score_envelope
from lti_tool.principal import Launch
from lti_tool.tracking import Statement, Tracker, levels_of, newly_proficient
from xapi import events
from xapi.events import Scene
from xapi.outbox import Envelope, enqueue


@dataclass(frozen=True)
class Outcome:
    """What handing in or grading an attempt produced."""

    attempt: Attempt
    evidence: list[Evidence]
    completion: UnitCompletion | None


def where_of(launch: Launch) -> Where:
    """Return where a launch's learner works (platform, context, resource link ids)."""
    return Where(
        platform_id=launch.platform.id,
        context_id=launch.context.id if launch.context else None,
        resource_link_id=launch.resource_link.id if launch.resource_link else None,
    )


def _origin_of(attempt: Attempt) -> Origin:
    return Origin(platform_id=attempt.platform_id, context_id=attempt.context_id)


def _evidence_for(session: Session, attempt: Attempt, activity: Activity,
                  competency_scores: Mapping[str, float], rule: ProficiencyRule) -> AttemptEvidence:
    return write_attempt_evidence(
        session, learner_id=attempt.learner_id, activity_id=activity.id, attempt_id=attempt.id,
        competency_scores=competency_scores, weights=activity.weights, origin=_origin_of(attempt),
        rule=rule, at=attempt.graded_at,
    )


def _duration(attempt: Attempt) -> dt.timedelta | None:
    if attempt.submitted_at is None:
        return None
    return max(attempt.submitted_at - attempt.created_at, dt.timedelta(0))


def _closing_statements(scene: Scene, tracker: Tracker, unit: Unit, completion: UnitCompletion | None,
                        reached: Mapping[str, int], now: dt.datetime) -> list[Statement]:
    """Build the statements that may follow any grading: the unit completed, competencies mastered."""
    statements = [events.completed_unit(scene, unit, now)] if completion is not None else []
    scale = tracker.framework.scale
    for competency_id, level in reached.items():
        node = tracker.framework.node(competency_id)
        if node is not None:
            statements.append(events.mastered_competency(scene, node, level, len(scale.levels), unit, now))
    return statements


def _active(tracker: Tracker | None) -> Tracker | None:
    """Return the tracker if any LRS wants its statements, else None (nothing to build or read)."""
    return tracker if tracker is not None and tracker.active else None


def _reached(tracker: Tracker, evidence: AttemptEvidence) -> dict[str, int]:
    """Return the competencies the evidence made the learner proficient in, with their new level."""
    after = evidence.levels_after
    reached = newly_proficient(evidence.levels_before, after, tracker.framework.scale.proficient_level)
    return {competency_id: after[competency_id] or 0 for competency_id in reached}


@dataclass(frozen=True)
class _UnitState:
    """The unit after a hand-in: its completion if this made it complete, and how far the learner is.

    ``attempts`` holds the learner's attempts in the unit by activity id when they were read.
    """

    completion: UnitCompletion | None
    percent: int
    attempts: Mapping[str, Sequence[Attempt]]


def _complete(session: Session, unit: Unit, learner_id: int, tracker: Tracker | None) -> _UnitState:
    """Record the unit's completion if its rule now holds; with a tracker, also say how far the learner is.

    With a tracker the learner's work in the unit is read once for both (the common case, a unit
    not yet complete, then needs no completion queries); without one, the percentage is 0.
    """
    if tracker is None:
        return _UnitState(check_completion(session, unit, learner_id), 0, {})
    progress = unit_progress(session, unit, learner_id)
    if progress.completed_at is not None or not rule_met(unit, progress.attempts):
        return _UnitState(None, progress.percent, progress.attempts)
    # None here: another request completed it
    return _UnitState(check_completion(session, unit, learner_id), 100, progress.attempts)


def _queue(session: Session, score: Envelope | None, statements: Sequence[Envelope]) -> None:
    """Queue the LMS score (if any) and the statements in one INSERT, the score first."""
    envelopes = [score, *statements] if score is not None else list(statements)
    if envelopes:
        enqueue(session, envelopes, now=utcnow())


def hand_in_quiz(session: Session, unit: Unit, activity: Activity, attempt: Attempt,
                 answers: Mapping[str, Any], rule: ProficiencyRule,
                 tracker: Tracker | None = None) -> tuple[Outcome, QuizResult]:
    """Score a quiz attempt, write its evidence, update proficiency and check the unit's completion.

    With a ``tracker``, the statements of it all are queued in the same transaction.
    """
    tracker = _active(tracker)
    result = submit_quiz(session, attempt, activity, answers)
    evidence = _evidence_for(session, attempt, activity, result.competency_scores, rule)
    state = _complete(session, unit, attempt.learner_id, tracker)
    score = score_envelope(session, attempt, activity, state.attempts.get(activity.id))
    statements: list[Envelope] = []
    if tracker is not None:
        reached = _reached(tracker, evidence)
        now, duration = attempt.graded_at or attempt.created_at, _duration(attempt)
        passed = None if activity.pass_score is None else result.passed

        def build(scene: Scene) -> list[Statement]:
            return [
                *events.answered_items(scene, unit, activity, result.items, now),
                events.graded_attempt(scene, unit, activity, result.score, passed=passed,
                                      duration=duration, now=now),
                events.terminated_attempt(scene, unit, activity, duration, now),
                events.progressed_unit(scene, unit, state.percent, now),
                *_closing_statements(scene, tracker, unit, state.completion, reached, now),
            ]
        statements = tracker.envelopes(build)
    _queue(session, score, statements)
    return Outcome(attempt, evidence.rows, state.completion), result


def hand_in_open(session: Session, unit: Unit, activity: Activity, attempt: Attempt,
                 answer: Any, locale: str | None = "en", tracker: Tracker | None = None) -> Outcome:
    """Hand in a reflection or lab canvas for assessment, after checking its length rules.

    ``locale`` is the learner's, for the section titles the problems name.
    """
    problems = check_open_answer(activity, answer, locale)
    if problems:
        raise AttemptError(*problems)
    submit_open(session, attempt, activity, answer)
    tracker = _active(tracker)
    state = _complete(session, unit, attempt.learner_id, tracker)
    score = score_envelope(session, attempt, activity, state.attempts.get(activity.id))
    statements: list[Envelope] = []
    if tracker is not None:
        now, duration = attempt.submitted_at or attempt.created_at, _duration(attempt)

        def build(scene: Scene) -> list[Statement]:
            return [
                events.handed_in(scene, unit, activity, duration, now),
                events.terminated_attempt(scene, unit, activity, duration, now),
                events.progressed_unit(scene, unit, state.percent, now),
                *_closing_statements(scene, tracker, unit, state.completion, {}, now),
            ]
        statements = tracker.envelopes(build)
    _queue(session, score, statements)
    return Outcome(attempt, [], state.completion)


def assess_open(session: Session, unit: Unit, activity: Activity, attempt: Attempt,
                ratings: Mapping[str, int], feedback: str | None, grader_id: int,
                rule: ProficiencyRule, tracker: Tracker | None = None) -> tuple[Outcome, RubricResult]:
    """Record a trainer's rubric assessment: the grade, its evidence and the learner's proficiency.

    The ``tracker`` is the learner's (statements are about them, not about the trainer).
    """
    tracker = _active(tracker)
    result = grade_open(session, attempt, activity, ratings, feedback, grader_id)
    evidence = _evidence_for(session, attempt, activity, result.competency_scores, rule)
    completion = check_completion(session, unit, attempt.learner_id)
    score = score_envelope(session, attempt, activity)
    statements: list[Envelope] = []
    if tracker is not None:
        reached = _reached(tracker, evidence)
        now = attempt.graded_at or attempt.created_at
        passed = None if activity.pass_score is None else result.score + 1e-9 >= activity.pass_score

        def build(scene: Scene) -> list[Statement]:
            return [
                events.graded_attempt(scene, unit, activity, result.score, passed=passed,
                                      duration=_duration(attempt), now=now),
                *_closing_statements(scene, tracker, unit, completion, reached, now),
            ]
        statements = tracker.envelopes(build)
    _queue(session, score, statements)
    return Outcome(attempt, evidence.rows, completion), result


def rate_competency(session: Session, *, action: str, level: int | None, tracker: Tracker | None,
                    **rating: Any) -> None:
    """Record a trainer's rating (``rate``), override (``override``) or withdrawn override (``clear``).

    ``rating`` holds :func:`competencies.evidence.add_rating`'s other arguments. With a
    ``tracker`` (the learner's), reaching proficiency queues a ``mastered`` statement.
    """
    learner_id, competency_id = rating["learner_id"], rating["competency_id"]
    tracker = _active(tracker)
    before = levels_of(session, learner_id, [competency_id]) if tracker else {}
    if action == "clear":
        clear_override(session, **rating)
    else:
        add_rating(session, level=level if level is not None else 0, override=action == "override",
                   **rating)
    if tracker is None:
        return
    after = levels_of(session, learner_id, before)
    node = tracker.framework.node(competency_id)
    if node is None or not newly_proficient(before, after, tracker.framework.scale.proficient_level):
        return
    levels, reached, now = len(tracker.framework.scale.levels), after[competency_id] or 0, utcnow()
    tracker.queue(session, lambda scene: [
        events.mastered_competency(scene, node, reached, levels, None, now)])
