"""The learner's work, end to end: an attempt, its evidence, proficiency and completion, together.

Views call these functions; each runs inside the request's transaction and leaves the commit to
the caller, so that an attempt and everything it causes are stored together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from competencies.evidence import Origin, record_attempt_evidence
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
from course_units.progress import check_completion
from course_units.scoring import QuizResult, RubricResult, check_open_answer
from lti_tool.principal import Launch


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
                  competency_scores: Mapping[str, float], rule: ProficiencyRule) -> list[Evidence]:
    return record_attempt_evidence(
        session, learner_id=attempt.learner_id, activity_id=activity.id, attempt_id=attempt.id,
        competency_scores=competency_scores, weights=activity.weights, origin=_origin_of(attempt),
        rule=rule, at=attempt.graded_at,
    )


def hand_in_quiz(session: Session, unit: Unit, activity: Activity, attempt: Attempt,
                 answers: Mapping[str, Any], rule: ProficiencyRule) -> tuple[Outcome, QuizResult]:
    """Score a quiz attempt, write its evidence, update proficiency and check the unit's completion."""
    result = submit_quiz(session, attempt, activity, answers)
    evidence = _evidence_for(session, attempt, activity, result.competency_scores, rule)
    completion = check_completion(session, unit, attempt.learner_id)
    return Outcome(attempt, evidence, completion), result


def hand_in_open(session: Session, unit: Unit, activity: Activity, attempt: Attempt,
                 answer: Any, locale: str | None = "en") -> Outcome:
    """Hand in a reflection or lab canvas for assessment, after checking its length rules.

    ``locale`` is the learner's, for the section titles the problems name.
    """
    problems = check_open_answer(activity, answer, locale)
    if problems:
        raise AttemptError(*problems)
    submit_open(session, attempt, activity, answer)
    completion = check_completion(session, unit, attempt.learner_id)
    return Outcome(attempt, [], completion)


def assess_open(session: Session, unit: Unit, activity: Activity, attempt: Attempt,
                ratings: Mapping[str, int], feedback: str | None, grader_id: int,
                rule: ProficiencyRule) -> tuple[Outcome, RubricResult]:
    """Record a trainer's rubric assessment: the grade, its evidence and the learner's proficiency."""
    result = grade_open(session, attempt, activity, ratings, feedback, grader_id)
    evidence = _evidence_for(session, attempt, activity, result.competency_scores, rule)
    completion = check_completion(session, unit, attempt.learner_id)
    return Outcome(attempt, evidence, completion), result
