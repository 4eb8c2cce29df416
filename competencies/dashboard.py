"""The dashboards' competency queries: a cohort's standings, level counts and proficiency over time.

Everything here reads the pre-aggregated ``competency_proficiency`` table (one row per learner and
competency, kept current as evidence arrives) or its history, never the raw evidence, so a
dashboard's cost grows with the cohort, not with how much work the cohort has done.

A cohort is given as learner ids: a list, or a ``select()`` of one column of learner ids.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, select
from sqlalchemy.orm import Session

from competencies.models import Proficiency, ProficiencyChange
from l2i_db.base import UTCDateTime
from l2i_db.cohort import Cohort, in_cohort


@dataclass(frozen=True)
class Cell:
    """One learner's standing in one competency, as a dashboard shows it."""

    level: int | None
    score: float | None
    overridden: bool = False


NO_LEVEL = Cell(level=None, score=None)


def read_standings(session: Session, cohort: Cohort,
                   competency_ids: Iterable[str] | None = None) -> dict[int, dict[str, Cell]]:
    """Return each cohort member's standings by competency id (members with none are absent)."""
    query = select(Proficiency.learner_id, Proficiency.competency_id, Proficiency.level, Proficiency.score,
                   Proficiency.overridden).where(in_cohort(Proficiency.learner_id, cohort))
    if competency_ids is not None:
        query = query.where(Proficiency.competency_id.in_(list(competency_ids)))
    standings: dict[int, dict[str, Cell]] = defaultdict(dict)
    for learner_id, competency_id, level, score, overridden in session.connection().execute(query).all():
        standings[learner_id][competency_id] = Cell(level, score, bool(overridden))
    return dict(standings)


def count_levels(standings: Mapping[int, Mapping[str, Cell]], learner_ids: Iterable[int],
                 competency_ids: Sequence[str], levels: int) -> dict[str, list[int]]:
    """Count learners per level for each competency: index 0 is "no level yet", index n is level n."""
    counts = {competency_id: [0] * (levels + 1) for competency_id in competency_ids}
    for learner_id in learner_ids:
        cells = standings.get(learner_id, {})
        for competency_id in competency_ids:
            level = cells.get(competency_id, NO_LEVEL).level
            counts[competency_id][level if level and 0 < level <= levels else 0] += 1
    return counts


def count_cohort_levels(session: Session, cohort: Cohort, size: int, competency_ids: Sequence[str],
                        levels: int) -> dict[str, list[int]]:
    """Count a cohort of ``size`` learners per level for each competency in SQL, as :func:`count_levels` does.

    Index 0 is "no level yet": the learners without a level from 1 to ``levels``.
    """
    counts = {competency_id: [0] * (levels + 1) for competency_id in competency_ids}
    if size and competency_ids:
        for competency_id, level, count in session.execute(_level_counts(cohort, competency_ids)):
            if level is not None and 0 < level <= levels:
                counts[competency_id][level] = count
    for per_level in counts.values():
        per_level[0] = size - sum(per_level[1:])
    return counts


def _level_counts(cohort: Cohort, competency_ids: Sequence[str]) -> Select[Any]:
    """Select (competency, level, learners) for a cohort, looked up learner by learner.

    A select of learners is joined (deduplicated) rather than put in ``IN``: with ``IN`` and this
    grouping, SQLite would walk every learner's rows through the (competency, level) index. Listed
    learner ids are put in ``IN``, which PostgreSQL answers by index (it estimates a join worse).
    """
    query = select(Proficiency.competency_id, Proficiency.level, func.count())
    if isinstance(cohort, Select):
        learners = cohort.distinct().subquery()
        query = (query.select_from(learners).join(Proficiency, Proficiency.learner_id == learners.c[0])
                 .where(Proficiency.competency_id.in_(list(competency_ids))))
    else:
        query = query.where(in_cohort(Proficiency.learner_id, cohort), competency_among(competency_ids))
    return query.group_by(Proficiency.competency_id, Proficiency.level)


def competency_among(competency_ids: Iterable[str]) -> ColumnElement[bool]:
    """Return "the proficiency row's competency is one of these", for queries that look learners up.

    Written on ``competency_id || ''`` so that no planner takes the (competency, level) index for
    it: with learner ids listed, SQLite would otherwise read every learner's rows of those
    competencies, and PostgreSQL looks the listed learners up by the (learner, competency) index.
    """
    return (Proficiency.competency_id + "").in_(list(competency_ids))


@dataclass(frozen=True)
class TrendPoint:
    """How many proficiencies the cohort had reached by the end of one week."""

    week: dt.date      # the Monday the week starts on
    reached: int


def week_starts(weeks: int, now: dt.datetime) -> list[dt.date]:
    """Return the Mondays of the last ``weeks`` weeks, oldest first, ending with this week's."""
    this_monday = now.date() - dt.timedelta(days=now.date().weekday())
    return [this_monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def first_proficient_times(cohort: Cohort, competency_ids: Sequence[str],
                           proficient_level: int) -> Select[Any]:
    """Select when each (learner, competency) pair of the cohort first reached ``proficient_level``."""
    return (select(func.min(ProficiencyChange.at).label("first_at"))
            .where(in_cohort(ProficiencyChange.learner_id, cohort),
                   ProficiencyChange.competency_id.in_(list(competency_ids)),
                   ProficiencyChange.level >= proficient_level)
            .group_by(ProficiencyChange.learner_id, ProficiencyChange.competency_id))


def proficiency_trend(session: Session, cohort: Cohort, competency_ids: Sequence[str],
                      proficient_level: int, *, weeks: int, now: dt.datetime) -> list[TrendPoint]:
    """Return, week by week, how many (learner, competency) pairs had reached proficiency (cumulative).

    One query: the first time each pair reached proficiency, counted below each week's end in SQL.
    """
    firsts = first_proficient_times(cohort, competency_ids, proficient_level).subquery()
    mondays = week_starts(weeks, now)
    ends = [dt.datetime.combine(m + dt.timedelta(weeks=1), dt.time(), tzinfo=dt.UTC) for m in mondays]
    before = [firsts.c.first_at < bindparam(f"end_{n}", end, type_=UTCDateTime) for n, end in enumerate(ends)]
    sums = [func.coalesce(func.sum(case((b, 1), else_=0)), 0) for b in before]
    counts = session.execute(select(*sums)).one()
    return [TrendPoint(week=monday, reached=int(n)) for monday, n in zip(mondays, counts, strict=True)]

