"""Writing evidence: from graded attempts, and from trainers' ratings and overrides.

Each function adds rows and updates the one learner's proficiency in the caller's transaction
(it flushes, never commits), so that an attempt, its evidence and its statements land together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from competencies.models import Evidence, EvidenceKind
from competencies.proficiency import ProficiencyRule, update_standings
from course_units.i18n import N_, Message, ReadableError
from l2i_db import utcnow

MAX_NOTE_CHARS = 5000


@dataclass(frozen=True)
class Origin:
    """Where a piece of evidence was produced: the platform and LTI context of the work."""

    platform_id: int | None = None
    context_id: int | None = None


class EvidenceError(ReadableError):
    """A rating or override that cannot be recorded; the message says why."""


@dataclass(frozen=True)
class AttemptEvidence:
    """A graded attempt's evidence rows (in competency order) and what they did to the learner's levels."""

    rows: list[Evidence]
    levels_before: dict[str, int | None]
    levels_after: dict[str, int | None]


_INSERT_EVIDENCE = insert(Evidence).returning(Evidence)  # built once: rows and their objects back in one go


def insert_evidence(session: Session, rows: Sequence[Mapping[str, Any]]) -> list[Evidence]:
    """Insert evidence rows in one statement; return them as the session's objects, in the given order.

    ``rows`` must name different competencies (one attempt's evidence), which puts them back in order.
    """
    if not rows:
        return []
    inserted = {row.competency_id: row for row in session.scalars(_INSERT_EVIDENCE, rows)}
    return [inserted[row["competency_id"]] for row in rows]


def write_attempt_evidence(
    session: Session,
    *,
    learner_id: int,
    activity_id: str,
    attempt_id: int | None,
    competency_scores: Mapping[str, float],
    weights: Mapping[str, float],
    origin: Origin,
    rule: ProficiencyRule,
    at: dt.datetime | None = None,
) -> AttemptEvidence:
    """Write one row per competency a graded attempt gives evidence for, then update proficiency.

    Returns the rows, and the learner's level in each of their competencies before and after.
    """
    when = at or utcnow()
    values = [
        {"learner_id": learner_id, "competency_id": competency_id, "kind": EvidenceKind.ATTEMPT.value,
         "score": round(min(max(score, 0.0), 1.0), 4), "weight": weights[competency_id],
         "activity_id": activity_id, "attempt_id": attempt_id, "platform_id": origin.platform_id,
         "context_id": origin.context_id, "created_at": when}
        for competency_id, score in sorted(competency_scores.items())
        if weights.get(competency_id, 0) > 0
    ]
    rows = insert_evidence(session, values)
    if not rows:
        return AttemptEvidence(rows, {}, {})
    update = update_standings(session, learner_id, [r.competency_id for r in rows], rule,
                              evidence_id=rows[-1].id, at=when)
    return AttemptEvidence(rows, update.levels_before, update.levels_after)


def _clean_note(note: str | None) -> str | None:
    text = (note or "").strip()
    if len(text) > MAX_NOTE_CHARS:
        raise EvidenceError(Message(N_("The note is %(chars)s characters long; keep it under %(limit)s."),
                                    chars=len(text), limit=MAX_NOTE_CHARS))
    return text or None


def _check_level(level: int, rule: ProficiencyRule) -> None:
    if not 1 <= level <= rule.levels:
        raise EvidenceError(Message(N_("Choose a level between 1 and %(levels)s."), levels=rule.levels))


def add_rating(
    session: Session,
    *,
    learner_id: int,
    competency_id: str,
    level: int,
    note: str | None,
    rated_by_id: int | None,
    origin: Origin,
    rule: ProficiencyRule,
    override: bool = False,
    at: dt.datetime | None = None,
) -> Evidence:
    """Record a trainer's rating (one more source) or override (sets the level) of a competency."""
    _check_level(level, rule)
    when = at or utcnow()
    row = Evidence(
        learner_id=learner_id, competency_id=competency_id,
        kind=(EvidenceKind.OVERRIDE if override else EvidenceKind.RATING).value,
        score=rule.score_for_level(level), weight=rule.rating_weight, level=level,
        note=_clean_note(note), rated_by_id=rated_by_id, platform_id=origin.platform_id,
        context_id=origin.context_id, created_at=when,
    )
    session.add(row)
    session.flush()
    update_standings(session, learner_id, [competency_id], rule, evidence_id=row.id, at=when)
    return row


def clear_override(
    session: Session,
    *,
    learner_id: int,
    competency_id: str,
    note: str | None,
    rated_by_id: int | None,
    origin: Origin,
    rule: ProficiencyRule,
    at: dt.datetime | None = None,
) -> Evidence:
    """Withdraw the override on a competency; the computed level returns, and history keeps both."""
    when = at or utcnow()
    row = Evidence(
        learner_id=learner_id, competency_id=competency_id, kind=EvidenceKind.CLEAR.value,
        weight=0.0, note=_clean_note(note), rated_by_id=rated_by_id,
        platform_id=origin.platform_id, context_id=origin.context_id, created_at=when,
    )
    session.add(row)
    session.flush()
    update_standings(session, learner_id, [competency_id], rule, evidence_id=row.id, at=when)
    return row


def evidence_of(session: Session, learner_id: int, competency_id: str | None = None,
                context_id: int | None = None) -> list[Evidence]:
    """Return a learner's evidence, newest first, optionally for one competency or one context."""
    query = select(Evidence).where(Evidence.learner_id == learner_id)
    if competency_id is not None:
        query = query.where(Evidence.competency_id == competency_id)
    if context_id is not None:
        query = query.where(Evidence.context_id == context_id)
    return list(session.scalars(query.order_by(Evidence.id.desc())))


def evidence_by_competency(evidence: Sequence[Evidence]) -> dict[str, list[Evidence]]:
    """Group evidence into one timeline per competency, oldest first, competencies in id order."""
    timelines: dict[str, list[Evidence]] = {}
    for item in sorted(evidence, key=lambda e: (e.competency_id, e.created_at, e.id)):
        timelines.setdefault(item.competency_id, []).append(item)
    return timelines
