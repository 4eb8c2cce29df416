"""A learner's attempts at activities: start, save drafts, submit, and trainer grading.

Scores are computed here from the stored answers and the activity's content; nothing the browser
says about a score is read. An attempt keeps the content version it was made on, and its result
keeps what the learner saw, so an edit to an activity never orphans earlier attempts.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from course_units.content import Activity
from course_units.i18n import N_, Message, ReadableError
from course_units.models import Attempt, AttemptStatus
from course_units.scoring import QuizResult, RubricResult, score_quiz, score_rubric
from l2i_db import utcnow
from l2i_db.dialect import lock_for_transaction

MAX_FEEDBACK_CHARS = 10_000


class AttemptError(ReadableError):
    """An attempt operation that is not allowed; the message tells the person what to do."""

    status = 400


class AttemptNotFoundError(AttemptError):
    """No such attempt for this learner (someone else's attempt looks the same as none)."""

    status = 404


class AttemptClosedError(AttemptError):
    """The attempt was already handed in; it can no longer change."""

    status = 409


class AttemptLimitError(AttemptError):
    """The activity's retry policy allows no further attempt."""

    status = 409


@dataclass(frozen=True)
class Where:
    """Where the learner works: the platform, LTI context and resource link of their launch."""

    platform_id: int | None = None
    context_id: int | None = None
    resource_link_id: int | None = None


_ATTEMPTS_AT = (  # built once: building a statement costs more than running it
    select(Attempt).where(Attempt.learner_id == bindparam("learner_id"),
                          Attempt.activity_id == bindparam("activity_id"))
    .order_by(Attempt.number)
)
_ATTEMPT = cast(Table, Attempt.__table__)


def attempts_of(session: Session, learner_id: int, activity_id: str) -> list[Attempt]:
    """Return a learner's attempts at an activity, oldest first."""
    return list(session.scalars(_ATTEMPTS_AT, {"learner_id": learner_id, "activity_id": activity_id}))


def handed_in(attempts: Sequence[Attempt]) -> list[Attempt]:
    """Return the attempts that were submitted (graded or waiting for a trainer)."""
    return [a for a in attempts if not a.is_draft]


def attempts_left(activity: Activity, attempts: Sequence[Attempt]) -> int | None:
    """Return how many more attempts the policy allows (None: unlimited)."""
    if activity.max_attempts == 0:
        return None
    return max(activity.max_attempts - len(handed_in(attempts)), 0)


def best_score(attempts: Sequence[Attempt]) -> float | None:
    """Return the best graded score among ``attempts``."""
    scores = [a.score for a in attempts if a.is_graded and a.score is not None]
    return max(scores) if scores else None


def open_draft(attempts: Sequence[Attempt]) -> Attempt | None:
    """Return the attempt still in progress, if any."""
    return next((a for a in attempts if a.is_draft), None)


def start_attempt(
    session: Session, learner_id: int, unit_id: str, activity: Activity, where: Where,
) -> Attempt:
    """Return the learner's draft for ``activity``, starting one if the retry policy allows it.

    Two requests at once (a double click on "Start") return the same draft: on PostgreSQL the
    second looks for a draft only once the first has committed. (SQLite runs one writer at a time.)
    """
    lock_for_transaction(session, f"l2i-start {learner_id} {activity.id}")
    attempts = attempts_of(session, learner_id, activity.id)
    draft = open_draft(attempts)
    if draft is not None:
        return draft
    if attempts_left(activity, attempts) == 0:
        raise AttemptLimitError(Message(
            N_("You have used all %(n)s attempts at this activity. "
               "Your best result counts; ask your trainer if you need another try."),
            n=activity.max_attempts))
    number = (session.scalar(
        select(func.max(Attempt.number)).where(
            Attempt.learner_id == learner_id, Attempt.activity_id == activity.id)
    ) or 0) + 1
    attempt = Attempt(
        learner_id=learner_id, unit_id=unit_id, activity_id=activity.id,
        activity_version=activity.version, number=number, status=AttemptStatus.DRAFT.value,
        answers={}, platform_id=where.platform_id, context_id=where.context_id,
        resource_link_id=where.resource_link_id,
    )
    session.add(attempt)
    session.flush()
    return attempt


def find_attempt(session: Session, attempt_id: int, learner_id: int) -> Attempt:
    """Return the learner's own attempt ``attempt_id``; anyone else's is reported as not found."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None or attempt.learner_id != learner_id:
        raise AttemptNotFoundError(Message(
            N_("There is no such attempt of yours. Open the activity again from its unit.")))
    return attempt


def _require_draft(attempt: Attempt) -> None:
    if not attempt.is_draft:
        raise AttemptClosedError(Message(N_("This attempt was already submitted, so it cannot change. "
                                            "Start a new attempt if you have one left.")))


def _close_draft(session: Session, attempt: Attempt, status: AttemptStatus, **values: Any) -> None:
    """Move the attempt out of draft atomically with ``values``: of two racing submissions, one wins.

    One UPDATE stores it all, and the object takes the stored values as they are (no second UPDATE).
    """
    values["status"] = status.value
    closed = session.execute(_closing(tuple(values)), {"attempt_id": attempt.id,
                                                       **{f"new_{k}": v for k, v in values.items()}})
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise AttemptClosedError(Message(N_("This attempt was already submitted, so it cannot change.")))
    for key, value in values.items():
        set_committed_value(attempt, key, value)


@functools.lru_cache(maxsize=16)
def _closing(columns: tuple[str, ...]) -> Update:
    """Return the UPDATE that closes a draft setting ``columns`` (each ``new_<column>``), built once."""
    table = _ATTEMPT.c
    return (update(_ATTEMPT)
            .where(table.id == bindparam("attempt_id"), table.status == AttemptStatus.DRAFT.value)
            .values({column: bindparam(f"new_{column}", type_=table[column].type) for column in columns}))


def _refresh_version(attempt: Attempt, activity: Activity) -> None:
    # a draft begun before the activity was edited continues on the new version
    attempt.activity_version = activity.version


def save_draft(session: Session, attempt: Attempt, activity: Activity, answers: Any,
               at: dt.datetime | None = None) -> Attempt:
    """Store the learner's answers so far; only a draft can change."""
    _require_draft(attempt)
    _refresh_version(attempt, activity)
    attempt.answers = answers
    attempt.saved_at = at or utcnow()
    session.flush()
    return attempt


def submit_quiz(session: Session, attempt: Attempt, activity: Activity, answers: Mapping[str, Any],
                at: dt.datetime | None = None) -> QuizResult:
    """Score a quiz attempt on the server and close it. Raises AnswerError for answers that don't fit."""
    _require_draft(attempt)
    result = score_quiz(activity, answers)
    when = at or utcnow()
    _close_draft(  # a draft begun before the activity was edited is scored on the new version
        session, attempt, AttemptStatus.GRADED, activity_version=activity.version, answers=dict(answers),
        score=result.score, result={
            "items": {i.item_id: {"score": i.score, "correct": i.correct} for i in result.items},
            "competencies": result.competency_scores,
            "passed": result.passed,
        }, saved_at=when, submitted_at=when, graded_at=when)
    return result


def submit_open(session: Session, attempt: Attempt, activity: Activity, answer: Any,
                at: dt.datetime | None = None) -> Attempt:
    """Hand in a reflection or lab canvas for a trainer to assess; checks are the caller's."""
    when = at or utcnow()
    _close_draft(session, attempt, AttemptStatus.SUBMITTED, activity_version=activity.version,
                 answers=answer, saved_at=when, submitted_at=when)
    return attempt


def grade_open(session: Session, attempt: Attempt, activity: Activity, ratings: Mapping[str, int],
               feedback: str | None, grader_id: int, at: dt.datetime | None = None) -> RubricResult:
    """Record a trainer's rubric ratings and feedback on a submitted attempt (regrading allowed)."""
    if attempt.is_draft:
        raise AttemptClosedError(
            Message(N_("This attempt has not been submitted yet, so it cannot be assessed.")))
    text = (feedback or "").strip()
    if len(text) > MAX_FEEDBACK_CHARS:
        raise AttemptError(Message(
            N_("The feedback is %(chars)s characters long; keep it under %(limit)s."),
            chars=len(text), limit=MAX_FEEDBACK_CHARS))
    result = score_rubric(activity, ratings)
    attempt.score = result.score
    attempt.result = {"criteria": dict(result.criteria), "competencies": result.competency_scores,
                      "rubric_version": activity.version}
    attempt.feedback = text or None
    attempt.status = AttemptStatus.GRADED.value
    attempt.graded_by_id = grader_id
    attempt.graded_at = at or utcnow()
    session.flush()
    return result


def attempts_to_assess(session: Session, context_id: int, limit: int = 200) -> list[Attempt]:
    """Return the submitted attempts made in a context that wait for a trainer, oldest first."""
    return list(session.scalars(
        select(Attempt).where(Attempt.context_id == context_id,
                              Attempt.status == AttemptStatus.SUBMITTED.value)
        .order_by(Attempt.submitted_at).limit(limit)
    ))


def assessed_in(session: Session, context_id: int, limit: int = 50) -> list[Attempt]:
    """Return recently graded open attempts made in a context, newest first."""
    return list(session.scalars(
        select(Attempt).where(Attempt.context_id == context_id,
                              Attempt.status == AttemptStatus.GRADED.value,
                              Attempt.graded_by_id.is_not(None))
        .order_by(Attempt.graded_at.desc()).limit(limit)
    ))
