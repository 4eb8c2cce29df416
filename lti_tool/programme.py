"""The programme view: every course of every platform, aggregated in SQL, with a breakdown by institution.

A programme can hold tens of thousands of learners, so nothing here loads them one by one:
learners, courses and levels are counted with grouped queries over the pre-aggregated
proficiency rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from competencies.framework import Framework, Node
from competencies.models import Proficiency
from lti_tool.models import Context, Deployment, Membership, Platform, PlatformUser


@dataclass(frozen=True)
class InstitutionRow:
    """One platform's learners, courses and proficiencies."""

    platform_id: int
    name: str
    courses: int
    learners: int
    proficient: dict[str, int]     # learners at or above proficient, per competency

    def share(self, competency_id: str) -> float:
        """Return the share of this institution's learners proficient in a competency (0..1)."""
        return self.proficient.get(competency_id, 0) / self.learners if self.learners else 0.0


@dataclass(frozen=True)
class CourseRow:
    """One course of the programme, for the list of courses."""

    context_id: int
    title: str
    institution: str
    learners: int
    proficient_pairs: int

    def share(self, competencies: int) -> float:
        """Return the share of (learner, competency) pairs at or above proficient (0..1)."""
        possible = self.learners * competencies
        return self.proficient_pairs / possible if possible else 0.0


@dataclass(frozen=True)
class ProgrammeView:
    """The programme's aggregates."""

    competencies: list[Node]
    institutions: list[InstitutionRow]
    courses: list[CourseRow]
    levels: dict[str, list[int]]   # over distinct learners; index 0 = no level yet
    learners: int


def studying_members() -> Select[Any]:
    """Select (learner_id, platform_id) of every learner of every course, once per platform."""
    return (select(PlatformUser.learner_id, Deployment.platform_id)
            .join(Membership, Membership.user_id == PlatformUser.id)
            .join(Context, Context.id == Membership.context_id)
            .join(Deployment, Deployment.id == Context.deployment_id)
            .where(Membership.studies.is_(True)).distinct())


def studying_rows() -> Select[Any]:
    """Select (learner_id, context_id, platform_id) of every membership of a learner in a course."""
    return (select(PlatformUser.learner_id, Membership.context_id, Deployment.platform_id)
            .join(Membership, Membership.user_id == PlatformUser.id)
            .join(Context, Context.id == Membership.context_id)
            .join(Deployment, Deployment.id == Context.deployment_id)
            .where(Membership.studies.is_(True)))


Counts = dict[str, dict[int, int]]    # competency id -> level -> learners


def _counts(session: Session, query: Select[Any]) -> dict[int, int]:
    return {key: count for key, count in session.execute(query)}


def _count_by_platform(session: Session) -> tuple[dict[int, int], dict[int, int]]:
    members = studying_members().subquery()
    learners = _counts(session, select(members.c.platform_id, func.count(members.c.learner_id))
                       .group_by(members.c.platform_id))
    courses = _counts(session, select(Deployment.platform_id, func.count(Context.id))
                      .join(Context, Context.deployment_id == Deployment.id)
                      .group_by(Deployment.platform_id))
    return learners, courses


def _count_levels_per_course(session: Session, competency_ids: Sequence[str]) -> dict[int, Counts]:
    """Count (course, competency, level) over each learner's courses: one pass over proficiency.

    The memberships are made distinct per (learner, course) first (a learner with two linked
    accounts in one course counts once), which has the database read them once and then look each
    learner's rows up, rather than look the memberships up for every row.
    """
    places = studying_rows().distinct().subquery()
    counted: dict[int, Counts] = defaultdict(lambda: defaultdict(dict))
    for context_id, competency_id, level, count in session.execute(
        select(places.c.context_id, Proficiency.competency_id, Proficiency.level, func.count())
        .select_from(places).join(Proficiency, Proficiency.learner_id == places.c.learner_id)
        .where(Proficiency.competency_id.in_(list(competency_ids)), Proficiency.level.is_not(None))
        .group_by(places.c.context_id, Proficiency.competency_id, Proficiency.level)
    ):
        counted[context_id][competency_id][level] = int(count)
    return counted


def _count_repeats(session: Session, competency_ids: Sequence[str], *,
                   per_platform: bool) -> dict[int, Counts]:
    """Count how often learners in several courses (of one platform, or at all) were counted too often.

    Keyed by platform id, or by 0 for the whole programme. Only such learners' rows are read.
    """
    rows = studying_rows().distinct().subquery()
    keys = [rows.c.learner_id, rows.c.platform_id] if per_platform else [rows.c.learner_id]
    repeated = (select(*keys, (func.count() - 1).label("extra")).group_by(*keys)
                .having(func.count() > 1).subquery())
    group = [repeated.c.platform_id] if per_platform else []
    counted: dict[int, Counts] = defaultdict(lambda: defaultdict(dict))
    for *key, competency_id, level, extra in session.execute(
        select(*group, Proficiency.competency_id, Proficiency.level, func.sum(repeated.c.extra))
        .select_from(repeated).join(Proficiency, Proficiency.learner_id == repeated.c.learner_id)
        .where(Proficiency.competency_id.in_(list(competency_ids)), Proficiency.level.is_not(None))
        .group_by(*group, Proficiency.competency_id, Proficiency.level)
    ):
        counted[key[0] if key else 0][competency_id][level] = int(extra)
    return counted


def _add_up(parts: Sequence[Counts], minus: Counts | None) -> Counts:
    """Return the sum of ``parts`` less ``minus``, level by level."""
    total: Counts = defaultdict(dict)
    for part in parts:
        for competency_id, per_level in part.items():
            for level, count in per_level.items():
                total[competency_id][level] = total[competency_id].get(level, 0) + count
    for competency_id, per_level in (minus or {}).items():
        for level, count in per_level.items():
            total[competency_id][level] = total[competency_id].get(level, 0) - count
    return total


@dataclass(frozen=True)
class _Course:
    context_id: int
    title: str
    institution: str
    platform_id: int


def _list_courses(session: Session) -> list[_Course]:
    rows = session.execute(
        select(Context.id, Context.title, Context.label, Context.context_id, Platform.name, Platform.id)
        .join(Deployment, Deployment.id == Context.deployment_id)
        .join(Platform, Platform.id == Deployment.platform_id)
        .order_by(Platform.name, Context.title, Context.id))
    return [_Course(cid, title or label or lms_id, institution, platform_id)
            for cid, title, label, lms_id, institution, platform_id in rows]


def _read_institutions(session: Session, per_course: dict[int, Counts], courses: Sequence[_Course],
                       competency_ids: Sequence[str], proficient_level: int) -> list[InstitutionRow]:
    learners, course_counts = _count_by_platform(session)
    repeats = _count_repeats(session, competency_ids, per_platform=True)
    rows = []
    for platform in session.scalars(select(Platform).order_by(Platform.name)):
        own = [per_course.get(c.context_id, {}) for c in courses if c.platform_id == platform.id]
        by_competency = _add_up(own, repeats.get(platform.id))
        rows.append(InstitutionRow(
            platform_id=platform.id, name=platform.name, courses=course_counts.get(platform.id, 0),
            learners=learners.get(platform.id, 0),
            proficient={c: _at_least(by_competency.get(c, {}), proficient_level) for c in competency_ids},
        ))
    return rows


def _at_least(per_level: dict[int, int], level: int) -> int:
    return sum(n for at, n in per_level.items() if at >= level)


def _read_courses(session: Session, per_course: dict[int, Counts], courses: Sequence[_Course],
                  proficient_level: int) -> list[CourseRow]:
    distinct_learners = func.count(func.distinct(PlatformUser.learner_id))
    learners = _counts(session, select(Membership.context_id, distinct_learners)
        .join(PlatformUser, PlatformUser.id == Membership.user_id)
        .where(Membership.studies.is_(True)).group_by(Membership.context_id))
    return [CourseRow(context_id=c.context_id, title=c.title, institution=c.institution,
                      learners=learners.get(c.context_id, 0),
                      proficient_pairs=sum(_at_least(per_level, proficient_level)
                                           for per_level in per_course.get(c.context_id, {}).values()))
            for c in courses]


def _count_overall_levels(session: Session, per_course: dict[int, Counts], competency_ids: Sequence[str],
                          levels: int) -> tuple[dict[str, list[int]], int]:
    members = studying_members().subquery()
    total = session.scalar(select(func.count(func.distinct(members.c.learner_id)))) or 0
    repeats = _count_repeats(session, competency_ids, per_platform=False).get(0)
    counted = _add_up(list(per_course.values()), repeats)
    distribution = {}
    for competency_id in competency_ids:
        per_level = [counted.get(competency_id, {}).get(level, 0) for level in range(levels + 1)]
        per_level[0] = total - sum(per_level[1:])
        distribution[competency_id] = per_level
    return distribution, total


def build_programme_view(session: Session, framework: Framework) -> ProgrammeView:
    """Assemble the programme's aggregates: per institution, per course, and level counts overall.

    Proficiency is read once, counted per course over membership rows; the institutions' and the
    programme's counts add the courses up, less the learners counted more than once (those in
    several courses), whose rows alone are read again.
    """
    competencies = list(framework.competencies())
    ids, proficient_level = [c.idnumber for c in competencies], framework.scale.proficient_level
    per_course = _count_levels_per_course(session, ids)
    courses = _list_courses(session)
    levels, learners = _count_overall_levels(session, per_course, ids, len(framework.scale.levels))
    return ProgrammeView(
        competencies=competencies,
        institutions=_read_institutions(session, per_course, courses, ids, proficient_level),
        courses=_read_courses(session, per_course, courses, proficient_level),
        levels=levels, learners=learners,
    )
