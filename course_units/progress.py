"""Progress through the units: pages visited, activities done, where to resume, completion."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from course_units.attempts import best_score, handed_in
from course_units.content import Catalog, Unit
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from l2i_db import utcnow


def percent_done(done: int, total: int, complete: bool) -> int:
    """Return progress in percent: 100 once complete, otherwise the share done, capped at 99."""
    if complete:
        return 100
    return min(99, round(100 * done / total)) if total else 0


@dataclass(frozen=True)
class UnitProgress:
    """How far one learner is in one unit."""

    unit_id: str
    pages_seen: frozenset[str]
    pages_total: int
    activities_done: frozenset[str]
    activities_total: int
    quiz_score: float | None
    completed_at: dt.datetime | None
    resume: tuple[str, str] | None   # ("page" | "activity", id)
    attempts: dict[str, list[Attempt]] = field(default_factory=dict, compare=False)  # by activity id

    @property
    def percent(self) -> int:
        """Share of pages visited and activities handed in, 0..100 (100 once complete)."""
        return percent_done(len(self.pages_seen) + len(self.activities_done),
                            self.pages_total + self.activities_total, self.completed_at is not None)

    @property
    def state(self) -> str:
        """``not-started``, ``in-progress`` or ``complete``."""
        if self.completed_at is not None:
            return "complete"
        if self.pages_seen or self.activities_done or self.resume:
            return "in-progress"
        return "not-started"


@dataclass
class _LearnerWork:
    visits: dict[str, set[str]]
    attempts: dict[str, list[Attempt]]
    positions: dict[str, tuple[str, str]]
    completions: dict[str, dt.datetime]


# A learner's attempts in some units, oldest first (one statement, built once per process).
ATTEMPTS_IN_UNITS = (
    select(Attempt)
    .where(Attempt.learner_id == bindparam("learner_id"),
           Attempt.unit_id.in_(bindparam("unit_ids", expanding=True)))
    .order_by(Attempt.number)
)


def _marks_in_units(model: type[PageVisit | UnitPosition | UnitCompletion], kind: str,
                    *columns: ColumnElement[Any]) -> Select[Any]:
    """Select ``(kind, unit_id, first, second, at)`` from ``model`` for one learner and some units."""
    return select(literal_column(f"'{kind}'", String).label("kind"), model.unit_id, *columns).where(
        model.learner_id == bindparam("learner_id"), model.unit_id.in_(bindparam("unit_ids", expanding=True)))


# The small per-unit marks a progress bar needs, from three tables in one statement: completions
# (first, so that the union's ``at`` column reads back as a timestamp), positions and page visits.
MARKS_IN_UNITS = union_all(
    _marks_in_units(UnitCompletion, "completion", null().label("first"), null().label("second"),
                    UnitCompletion.completed_at.label("at")),
    _marks_in_units(UnitPosition, "position", UnitPosition.kind.label("first"),
                    UnitPosition.target_id.label("second"), null().label("at")),
    _marks_in_units(PageVisit, "visit", PageVisit.page_id.label("first"), null().label("second"),
                    null().label("at")),
)


def _read_attempts(session: Session, learner_id: int, unit_ids: list[str]) -> dict[str, list[Attempt]]:
    attempts: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in session.scalars(ATTEMPTS_IN_UNITS, {"learner_id": learner_id, "unit_ids": unit_ids}):
        attempts[attempt.activity_id].append(attempt)
    return attempts


def _read_work(session: Session, learner_id: int, unit_ids: Iterable[str]) -> _LearnerWork:
    """Read a learner's work in some units: the marks with one query, the attempts with another."""
    ids = list(unit_ids)
    visits: dict[str, set[str]] = defaultdict(set)
    positions: dict[str, tuple[str, str]] = {}
    completions: dict[str, dt.datetime] = {}
    for kind, unit_id, first, second, at in session.execute(
            MARKS_IN_UNITS, {"learner_id": learner_id, "unit_ids": ids}):
        if kind == "visit":
            visits[unit_id].add(first)
        elif kind == "position":
            positions[unit_id] = (first, second)
        else:
            completions[unit_id] = at
    return _LearnerWork(visits, _read_attempts(session, learner_id, ids), positions, completions)


def _progress_from(unit: Unit, work: _LearnerWork) -> UnitProgress:
    page_ids = {p.id for p in unit.pages}
    done = frozenset(a.id for a in unit.activities if handed_in(work.attempts.get(a.id, [])))
    quiz_scores = [best_score(work.attempts.get(a.id, [])) for a in unit.activities if a.auto_graded]
    known = [s for s in quiz_scores if s is not None]
    return UnitProgress(
        unit_id=unit.id,
        pages_seen=frozenset(work.visits.get(unit.id, set()) & page_ids),
        pages_total=len(unit.pages),
        activities_done=done,
        activities_total=len(unit.activities),
        quiz_score=min(known) if known and len(known) == len(quiz_scores) else None,
        completed_at=work.completions.get(unit.id),
        resume=work.positions.get(unit.id),
        attempts={a.id: work.attempts.get(a.id, []) for a in unit.activities},
    )


def programme_progress(session: Session, catalog: Catalog, learner_id: int) -> dict[str, UnitProgress]:
    """Return a learner's progress in every unit, read in a handful of queries."""
    work = _read_work(session, learner_id, [u.id for u in catalog.units])
    return {unit.id: _progress_from(unit, work) for unit in catalog.units}


def unit_progress(session: Session, unit: Unit, learner_id: int) -> UnitProgress:
    """Return a learner's progress in one unit."""
    return _progress_from(unit, _read_work(session, learner_id, [unit.id]))


def record_position(session: Session, learner_id: int, unit_id: str, kind: str, target_id: str,
                    at: dt.datetime | None = None) -> None:
    """Remember where the learner is in a unit, for "Resume"."""
    when = at or utcnow()
    position = session.scalar(select(UnitPosition).where(
        UnitPosition.learner_id == learner_id, UnitPosition.unit_id == unit_id))
    if position is None:
        session.add(UnitPosition(learner_id=learner_id, unit_id=unit_id, kind=kind,
                                 target_id=target_id, updated_at=when))
    else:
        position.kind, position.target_id, position.updated_at = kind, target_id, when
    session.flush()


def record_page_visit(session: Session, learner_id: int, unit_id: str, page_id: str,
                      at: dt.datetime | None = None) -> bool:
    """Mark a page as visited and make it the place to resume; return whether it is the first visit."""
    when = at or utcnow()
    visit = session.scalar(select(PageVisit).where(
        PageVisit.learner_id == learner_id, PageVisit.page_id == page_id))
    if visit is None:
        session.add(PageVisit(learner_id=learner_id, unit_id=unit_id, page_id=page_id,
                              first_at=when, last_at=when))
    else:
        visit.last_at = when
    record_position(session, learner_id, unit_id, "page", page_id, at=when)
    return visit is None


def rule_met(unit: Unit, attempts: Mapping[str, Sequence[Attempt]]) -> bool:
    """Return whether the unit's completion rule holds for these attempts (by activity id)."""
    rule = unit.completion
    if rule.all_activities and not all(handed_in(attempts.get(a.id, [])) for a in unit.activities):
        return False
    if rule.min_quiz_score is not None:
        for activity in unit.activities:
            if activity.auto_graded:
                score = best_score(attempts.get(activity.id, []))
                if score is None or score + 1e-9 < rule.min_quiz_score:
                    return False
    return True


def check_completion(session: Session, unit: Unit, learner_id: int,
                     at: dt.datetime | None = None) -> UnitCompletion | None:
    """Record the unit as complete the first time its rule holds; return the new row, else None."""
    already = session.scalar(select(UnitCompletion).where(
        UnitCompletion.learner_id == learner_id, UnitCompletion.unit_id == unit.id))
    if already is not None:
        return None
    if not rule_met(unit, _read_attempts(session, learner_id, [unit.id])):
        return None
    completion = UnitCompletion(learner_id=learner_id, unit_id=unit.id, unit_version=unit.version,
                                completed_at=at or utcnow())
    session.add(completion)
    session.flush()
    return completion
