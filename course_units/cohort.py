"""Progress of a whole cohort through the units, read with grouped queries (for dashboards and the API).

The per-learner page (:mod:`course_units.progress`) reads one learner's attempts in full; a
dashboard of a thousand learners instead counts pages and handed-in activities per learner and
unit in SQL. Both use :func:`course_units.progress.percent_done`, so they agree on the figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from course_units.content import Catalog
from course_units.models import Attempt, AttemptStatus, PageVisit, UnitCompletion, UnitPosition
from course_units.progress import percent_done
from l2i_db.cohort import Cohort, in_cohort

HANDED_IN = (AttemptStatus.SUBMITTED.value, AttemptStatus.GRADED.value)


@dataclass(frozen=True)
class UnitSummary:
    """One learner's progress in one unit, as counts."""

    pages_seen: int
    pages_total: int
    activities_done: int
    activities_total: int
    started: bool
    completed: bool

    @property
    def percent(self) -> int:
        """Progress in percent, as the learner's own unit page shows it."""
        return percent_done(self.pages_seen + self.activities_done,
                            self.pages_total + self.activities_total, self.completed)

    @property
    def state(self) -> str:
        """``not-started``, ``in-progress`` or ``complete``."""
        if self.completed:
            return "complete"
        return "in-progress" if self.started or self.pages_seen or self.activities_done else "not-started"


def _count_pages(session: Session, catalog: Catalog, cohort: Cohort) -> dict[tuple[int, str], int]:
    known = or_(*(and_(PageVisit.unit_id == unit.id, PageVisit.page_id.in_([p.id for p in unit.pages]))
                  for unit in catalog.units))
    rows = session.execute(
        select(PageVisit.learner_id, PageVisit.unit_id, func.count(PageVisit.page_id))
        .where(in_cohort(PageVisit.learner_id, cohort), known)
        .group_by(PageVisit.learner_id, PageVisit.unit_id)
    )
    return {(learner_id, unit_id): count for learner_id, unit_id, count in rows}


def _count_activities(session: Session, catalog: Catalog, cohort: Cohort) -> dict[tuple[int, str], int]:
    known = or_(*(and_(Attempt.unit_id == unit.id, Attempt.activity_id.in_([a.id for a in unit.activities]))
                  for unit in catalog.units))
    rows = session.execute(
        select(Attempt.learner_id, Attempt.unit_id, func.count(func.distinct(Attempt.activity_id)))
        .where(in_cohort(Attempt.learner_id, cohort), Attempt.status.in_(HANDED_IN), known)
        .group_by(Attempt.learner_id, Attempt.unit_id)
    )
    return {(learner_id, unit_id): count for learner_id, unit_id, count in rows}


def _pairs(session: Session, query: Select[Any]) -> set[tuple[int, str]]:
    return {(learner_id, unit_id) for learner_id, unit_id in session.execute(query)}


def read_cohort_progress(session: Session, catalog: Catalog, cohort: Cohort,
                         learner_ids: Sequence[int]) -> dict[int, dict[str, UnitSummary]]:
    """Return every learner's progress in every unit, in four grouped queries."""
    pages, activities = _count_pages(session, catalog, cohort), _count_activities(session, catalog, cohort)
    started = _pairs(session, select(UnitPosition.learner_id, UnitPosition.unit_id)
                     .where(in_cohort(UnitPosition.learner_id, cohort)))
    completed = _pairs(session, select(UnitCompletion.learner_id, UnitCompletion.unit_id)
                       .where(in_cohort(UnitCompletion.learner_id, cohort)))
    return {
        learner_id: {
            unit.id: UnitSummary(
                pages_seen=pages.get((learner_id, unit.id), 0), pages_total=len(unit.pages),
                activities_done=activities.get((learner_id, unit.id), 0),
                activities_total=len(unit.activities), started=(learner_id, unit.id) in started,
                completed=(learner_id, unit.id) in completed,
            )
            for unit in catalog.units
        }
        for learner_id in learner_ids
    }


def read_last_activity(session: Session, cohort: Cohort) -> dict[int, dt.datetime]:
    """Return when each learner last read a page or saved work (learners with neither are absent)."""
    latest: dict[int, dt.datetime] = {}
    for query in (
        select(PageVisit.learner_id, func.max(PageVisit.last_at))
        .where(in_cohort(PageVisit.learner_id, cohort)).group_by(PageVisit.learner_id),
        select(Attempt.learner_id, func.max(Attempt.saved_at))
        .where(in_cohort(Attempt.learner_id, cohort)).group_by(Attempt.learner_id),
    ):
        for learner_id, moment in session.execute(query):
            if moment is not None and (learner_id not in latest or moment > latest[learner_id]):
                latest[learner_id] = moment
    return latest


def count_funnel(progress: dict[int, dict[str, UnitSummary]], unit_id: str) -> tuple[int, int, int, int]:
    """Return (in the cohort, started, handed in work, completed) for one unit."""
    summaries = [by_unit[unit_id] for by_unit in progress.values() if unit_id in by_unit]
    return (
        len(summaries),
        sum(1 for s in summaries if s.state != "not-started"),
        sum(1 for s in summaries if s.activities_done > 0),
        sum(1 for s in summaries if s.completed),
    )

