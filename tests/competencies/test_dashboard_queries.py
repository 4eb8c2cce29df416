"""The dashboards' grouped queries agree with the per-learner ones, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.dashboard import (
    Cell,
    count_levels,
    proficiency_trend,
    read_standings,
    week_starts,
)
from competencies.models import Proficiency, ProficiencyChange
from course_units.cohort import count_funnel, read_cohort_progress, read_last_activity
from course_units.models import Attempt, AttemptStatus, PageVisit, UnitCompletion
from course_units.progress import programme_progress
from lti_tool.models import Learner
from lti_tool.web.state import app_state

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)   # a Wednesday


def add_learner(session: Session) -> int:
    """Add a learner record and return its id."""
    learner = Learner()
    session.add(learner)
    session.flush()
    return learner.id


def test_cohort_progress_equals_each_learners_own_progress(app: Flask, db_session: Session) -> None:
    catalog = app_state(app).catalog
    unit = catalog.units[0]
    busy, idle, done = (add_learner(db_session) for _ in range(3))
    for page in unit.pages[:3]:
        db_session.add(PageVisit(learner_id=busy, unit_id=unit.id, page_id=page.id))
    db_session.add(PageVisit(learner_id=busy, unit_id=unit.id, page_id="a-page-no-longer-in-the-unit"))
    for number, status in ((1, AttemptStatus.GRADED), (2, AttemptStatus.DRAFT)):
        db_session.add(Attempt(learner_id=busy, unit_id=unit.id, activity_id=unit.activities[0].id,
                               activity_version=1, number=number, status=status.value, score=0.5))
    db_session.add(UnitCompletion(learner_id=done, unit_id=unit.id, unit_version=unit.version))
    db_session.flush()
    ids = [busy, idle, done]
    grouped = read_cohort_progress(db_session, catalog, ids, ids)
    for learner_id in ids:
        own = programme_progress(db_session, catalog, learner_id)
        assert {u: s.percent for u, s in grouped[learner_id].items()} == {
            u: p.percent for u, p in own.items()}
        assert {u: s.state for u, s in grouped[learner_id].items()} == {u: p.state for u, p in own.items()}
    assert grouped[busy][unit.id].pages_seen == 3 and grouped[busy][unit.id].activities_done == 1
    assert count_funnel(grouped, unit.id) == (3, 2, 1, 1)
    by_select = read_cohort_progress(db_session, catalog, select(Learner.id), ids)
    assert by_select == grouped
    last = read_last_activity(db_session, ids)
    assert set(last) == {busy}


def test_levels_are_counted_per_competency_with_no_level_yet_at_zero(db_session: Session) -> None:
    a, b, c = (add_learner(db_session) for _ in range(3))
    db_session.add_all([
        Proficiency(learner_id=a, competency_id="L2I-C1.1", level=3, score=0.8, sources=2),
        Proficiency(learner_id=b, competency_id="L2I-C1.1", level=1, score=0.2, sources=2),
        Proficiency(learner_id=b, competency_id="L2I-C1.2", level=None, score=0.5, sources=1),
        Proficiency(learner_id=c, competency_id="L2I-C9.9", level=4, score=1.0, sources=3),
    ])
    db_session.flush()
    standings = read_standings(db_session, [a, b, c], ["L2I-C1.1", "L2I-C1.2"])
    assert standings[a]["L2I-C1.1"] == Cell(3, 0.8, False)
    assert c not in standings
    counts = count_levels(standings, [a, b, c], ["L2I-C1.1", "L2I-C1.2"], levels=4)
    assert counts == {"L2I-C1.1": [1, 1, 0, 1, 0], "L2I-C1.2": [3, 0, 0, 0, 0]}


def test_the_trend_counts_first_proficiency_per_learner_and_competency(db_session: Session) -> None:
    a, b = add_learner(db_session), add_learner(db_session)
    weeks = week_starts(4, NOW)
    assert weeks[-1] == dt.date(2026, 11, 16) and weeks[0] == dt.date(2026, 10, 26)

    def change(learner: int, competency: str, level: int, at: dt.datetime) -> ProficiencyChange:
        return ProficiencyChange(learner_id=learner, competency_id=competency, level=level, sources=2, at=at)
    db_session.add_all([
        change(a, "L2I-C1.1", 3, NOW - dt.timedelta(weeks=2)),
        change(a, "L2I-C1.1", 2, NOW - dt.timedelta(weeks=1)),   # fell back: the first reach counts
        change(a, "L2I-C1.1", 4, NOW),                            # reached again: not counted twice
        change(b, "L2I-C1.1", 3, NOW - dt.timedelta(days=1)),
        change(b, "L2I-C1.2", 2, NOW - dt.timedelta(days=1)),     # below proficient
        change(b, "L2I-C1.2", 3, NOW - dt.timedelta(weeks=10)),   # before the window: counted from the start
    ])
    db_session.flush()
    trend = proficiency_trend(db_session, [a, b], ["L2I-C1.1", "L2I-C1.2"], 3, weeks=4, now=NOW)
    assert [p.week for p in trend] == weeks
    assert [p.reached for p in trend] == [1, 2, 2, 3]
