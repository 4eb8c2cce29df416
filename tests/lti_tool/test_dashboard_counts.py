"""The dashboards' SQL counts equal counting learner by learner, on SQLite and PostgreSQL.

The course dashboard and the programme view count levels, funnels and proficient learners in
grouped queries, and read standings only for the page shown. Here a random programme (two
institutions, learners in several courses, accounts linked across institutions and within one,
trainers who do not study, learners with no standing) is built, and every figure is recomputed
from the per-learner reads the learner's own pages use.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.dashboard import count_levels, read_standings
from competencies.framework import Framework
from competencies.models import Proficiency
from course_units.cohort import count_funnel, read_cohort_progress, read_last_activity
from course_units.content import Catalog
from course_units.models import Attempt, AttemptStatus, PageVisit, UnitCompletion, UnitPosition
from lti_tool.cohorts import CohortFilter, build_course_view, read_members
from lti_tool.models import Context, CourseGroup, Deployment, Learner, Membership, Platform, PlatformUser
from lti_tool.programme import build_programme_view
from lti_tool.web.state import app_state

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)


def add_platform(session: Session, n: int) -> tuple[Platform, list[Context]]:
    """Add an institution with two courses."""
    platform = Platform(name=f"Institution {n}", issuer=f"https://lms{n}.example.org", client_id="c",
                        auth_login_url="https://x/a", auth_token_url="https://x/t", key_set_url="https://x/k")
    session.add(platform)
    session.flush()
    deployment = Deployment(platform_id=platform.id, deployment_id="1")
    session.add(deployment)
    session.flush()
    courses = [Context(deployment_id=deployment.id, context_id=f"course-{n}-{c}", title=f"Course {n}.{c}")
               for c in range(2)]
    session.add_all(courses)
    session.flush()
    return platform, courses


def join(session: Session, learner_id: int, platform: Platform, course: Context, sub: str, *,
         studies: bool = True) -> None:
    """Give the learner an account of the platform (made once per sub) and a membership of the course."""
    user = session.scalars(select(PlatformUser).where(PlatformUser.issuer == platform.issuer,
                                                      PlatformUser.sub == sub)).one_or_none()
    if user is None:
        user = PlatformUser(issuer=platform.issuer, sub=sub, learner_id=learner_id, name=f"Person {sub}",
                            family_name=f"{sub[::-1]}", last_launch_at=NOW - dt.timedelta(days=len(sub)))
        session.add(user)
        session.flush()
    session.add(Membership(user_id=user.id, context_id=course.id, studies=studies))


def add_work(session: Session, rng: random.Random, catalog: Catalog, framework: Framework,
             learner_id: int) -> None:
    """Give the learner random standings, pages, attempts, positions and completions."""
    levels = [level.level for level in framework.scale.levels]
    for node in framework.competencies():
        if rng.random() < 0.7:
            session.add(Proficiency(learner_id=learner_id, competency_id=node.idnumber, score=rng.random(),
                                    level=rng.choice([None, *levels]), sources=1,
                                    overridden=rng.random() < 0.1))
    for unit in catalog.units:
        if rng.random() < 0.4:
            continue
        for page in rng.sample(unit.pages, rng.randint(0, len(unit.pages))):
            session.add(PageVisit(learner_id=learner_id, unit_id=unit.id, page_id=page.id,
                                  last_at=NOW - dt.timedelta(days=rng.randint(0, 60))))
        if rng.random() < 0.3:
            session.add(UnitPosition(learner_id=learner_id, unit_id=unit.id, kind="page",
                                        target_id=unit.pages[0].id))
        for number, activity in enumerate(rng.sample(unit.activities, rng.randint(0, len(unit.activities)))):
            status = rng.choice([AttemptStatus.DRAFT, AttemptStatus.SUBMITTED, AttemptStatus.GRADED])
            session.add(Attempt(learner_id=learner_id, unit_id=unit.id, activity_id=activity.id,
                                activity_version=1, number=number + 1, status=status.value, score=0.5))
        if rng.random() < 0.3:
            session.add(UnitCompletion(learner_id=learner_id, unit_id=unit.id, unit_version=unit.version))


def build_programme(session: Session, rng: random.Random, catalog: Catalog,
                    framework: Framework) -> list[Context]:
    """Add two institutions of two courses and 40 people in random places; return the courses."""
    (first, first_courses), (second, second_courses) = add_platform(session, 1), add_platform(session, 2)
    courses = first_courses + second_courses
    for n in range(40):
        learner = Learner()
        session.add(learner)
        session.flush()
        platform, places = (first, first_courses) if n % 2 else (second, second_courses)
        join(session, learner.id, platform, rng.choice(places), f"u{n}", studies=n % 9 != 0)
        if n % 5 == 0:      # in both courses of the institution
            for course in places:
                if not session.scalars(select(Membership).join(PlatformUser).where(
                        Membership.context_id == course.id, PlatformUser.learner_id == learner.id)).first():
                    join(session, learner.id, platform, course, f"u{n}")
        if n % 7 == 0:      # an account at the other institution, linked to the same learner
            other, other_places = (second, second_courses) if platform is first else (first, first_courses)
            join(session, learner.id, other, rng.choice(other_places), f"abroad{n}")
        if n % 11 == 0:     # a second account of the same institution in the same course, linked
            join(session, learner.id, platform, places[0], f"twin{n}")
        if n % 4 == 0:
            session.add(CourseGroup(context_id=places[0].id, learner_id=learner.id, name=rng.choice("AB")))
        if n % 13 != 3:
            add_work(session, rng, catalog, framework, learner.id)
        session.flush()
    session.commit()
    return courses


def studying(session: Session) -> list[tuple[int, int, int]]:
    """Return every (learner, course, platform) of a studying membership, as the naive count reads them."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(PlatformUser.learner_id, Membership.context_id, Deployment.platform_id)
        .join(Membership, Membership.user_id == PlatformUser.id)
        .join(Context, Context.id == Membership.context_id)
        .join(Deployment, Deployment.id == Context.deployment_id)
        .where(Membership.studies.is_(True)))]


def levels_of_everyone(session: Session) -> dict[int, dict[str, int | None]]:
    """Return every learner's level per competency."""
    levels: dict[int, dict[str, int | None]] = defaultdict(dict)
    for learner_id, competency_id, level in session.execute(
            select(Proficiency.learner_id, Proficiency.competency_id, Proficiency.level)):
        levels[learner_id][competency_id] = level
    return levels


def expected_rows(session: Session, catalog: Catalog, ids: list[int], competency_ids: list[str],
                  wanted: CohortFilter, members: list) -> list[int]:  # type: ignore[type-arg]
    """Filter and sort the members as the dashboard did when it loaded every learner's details."""
    standings = read_standings(session, ids, competency_ids)
    progress = read_cohort_progress(session, catalog, ids, ids)
    last = read_last_activity(session, ids)

    def level(m: object, c: str) -> int:
        cell = standings.get(m.learner_id, {}).get(c)  # type: ignore[attr-defined]
        return (cell.level if cell else None) or 0

    def percent(m: object) -> int:
        units = progress.get(m.learner_id, {})  # type: ignore[attr-defined]
        if wanted.unit is not None:
            return units[wanted.unit].percent
        values = [s.percent for s in units.values()]
        return round(sum(values) / len(values)) if values else 0

    shown = [m for m in members
             if (wanted.institution is None or m.platform_id == wanted.institution)
             and (wanted.group is None or (m.group or "").casefold() == wanted.group.casefold())
             and (not wanted.search or wanted.search.casefold() in m.name.casefold())
             and (wanted.level is None or any(level(m, c) == wanted.level for c in competency_ids))]
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    if wanted.sort == "last":
        shown.sort(key=lambda m: last.get(m.learner_id) or m.last_launch_at or oldest,
                   reverse=wanted.descending)
    elif wanted.sort == "progress":
        shown.sort(key=percent, reverse=wanted.descending)
    elif wanted.sort != "name":
        shown.sort(key=lambda m: level(m, wanted.sort), reverse=wanted.descending)
    else:
        shown.sort(key=lambda m: (m.family_name.casefold(), m.name.casefold()), reverse=wanted.descending)
    return [m.learner_id for m in shown]


FILTERS = [
    CohortFilter(),
    CohortFilter(level=0),
    CohortFilter(level=3, competency="L2I-C1.1"),
    CohortFilter(level=2, sort="progress", descending=True),
    CohortFilter(group="a", sort="last"),
    CohortFilter(search="person 1", sort="L2I-C2.1", descending=True),
    CohortFilter(unit="unit-1", sort="progress"),
    CohortFilter(institution=-1),
]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_course_dashboard_counts_equal_counting_each_learner(app: Flask, db_session: Session,
                                                                 seed: int) -> None:
    state = app_state(app)
    catalog, framework = state.catalog, state.framework
    courses = build_programme(db_session, random.Random(seed), catalog, framework)
    levels = len(framework.scale.levels)
    for context_ids in ([courses[0].id], [courses[0].id, courses[1].id], [c.id for c in courses]):
        members = read_members(db_session, context_ids)
        assert members, "the random programme left a course empty"
        for wanted in FILTERS:
            if wanted.unit is not None and wanted.unit not in {u.id for u in catalog.units}:
                wanted = CohortFilter(unit=catalog.units[0].id, sort=wanted.sort)
            view = build_course_view(db_session, catalog, framework, context_ids, wanted, now=NOW)
            competency_ids = [c.idnumber for c in view.competencies]
            ids = [m.learner_id for m in members]
            expected = expected_rows(db_session, catalog, ids, competency_ids, wanted, members)
            assert [row.member.learner_id for row in view.rows] == expected, wanted
            assert view.total == len(members)
            standings = read_standings(db_session, ids, competency_ids)
            assert view.levels == count_levels(standings, expected, competency_ids, levels), wanted
            progress = read_cohort_progress(db_session, catalog, ids, ids)
            shown_progress = {i: progress.get(i, {}) for i in expected}
            assert view.funnels == {u.id: count_funnel(shown_progress, u.id) for u in view.units}, wanted
            for row in view.rows[:5]:
                assert row.cells == standings.get(row.member.learner_id, {})
                assert row.progress == progress.get(row.member.learner_id, {})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_programme_view_counts_each_learner_once(app: Flask, db_session: Session, seed: int) -> None:
    state = app_state(app)
    framework = state.framework
    build_programme(db_session, random.Random(seed), state.catalog, framework)
    view = build_programme_view(db_session, framework)
    memberships, levels = studying(db_session), levels_of_everyone(db_session)
    competency_ids = [c.idnumber for c in framework.competencies()]
    proficient = framework.scale.proficient_level

    everyone = {learner for learner, _, _ in memberships}
    assert view.learners == len(everyone)
    for competency_id in competency_ids:
        per_level = [0] * (len(framework.scale.levels) + 1)
        for learner in everyone:
            per_level[levels[learner].get(competency_id) or 0] += 1
        assert view.levels[competency_id] == per_level, competency_id

    for row in view.institutions:
        theirs = {learner for learner, _, platform in memberships if platform == row.platform_id}
        assert row.learners == len(theirs)
        assert row.proficient == {
            c: sum(1 for learner in theirs if (levels[learner].get(c) or 0) >= proficient)
            for c in competency_ids}, row.name
    for course in view.courses:
        theirs = {learner for learner, context, _ in memberships if context == course.context_id}
        assert course.learners == len(theirs)
        assert course.proficient_pairs == sum(1 for learner in theirs for c in competency_ids
                                              if (levels[learner].get(c) or 0) >= proficient), course.title
    assert any(course.proficient_pairs for course in view.courses), "nothing was proficient: a weak test"
