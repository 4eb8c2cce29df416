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

from sqlalchemy import Select, bindparam, case, func, select
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


def count_levels_by_group(session: Session, members: Select[Any],
                          competency_ids: Sequence[str]) -> dict[Any, dict[str, dict[int, int]]]:
    """Count learners per (group, competency, level) in SQL, for cohorts too large to load.

    ``members`` selects two columns, ``(learner_id, group_key)``: an institution, say. Learners
    without a level are not counted here; subtract from the group's size to get them.
    """
    grouped = members.subquery()
    learner_col, group_col = list(grouped.columns)[:2]
    rows = session.execute(
        select(group_col, Proficiency.competency_id, Proficiency.level, func.count())
        .join(grouped, learner_col == Proficiency.learner_id)
        .where(Proficiency.competency_id.in_(list(competency_ids)), Proficiency.level.is_not(None))
        .group_by(group_col, Proficiency.competency_id, Proficiency.level)
    )
    counts: dict[Any, dict[str, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
    for group, competency_id, level, count in rows:
        counts[group][competency_id][level] = count
    return {group: dict(by_competency) for group, by_competency in counts.items()}


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

