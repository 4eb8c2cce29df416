"""The programme view: every course of every platform, aggregated in SQL, with a breakdown by institution.

A programme can hold tens of thousands of learners, so nothing here loads them one by one:
learners, courses and levels are counted with grouped queries over the pre-aggregated
proficiency rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, literal, select
from sqlalchemy.orm import Session

from competencies.dashboard import count_levels_by_group
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


def _read_institutions(session: Session, competency_ids: Sequence[str],
                       proficient_level: int) -> list[InstitutionRow]:
    learners, courses = _count_by_platform(session)
    levels = count_levels_by_group(session, studying_members(), competency_ids)
    rows = []
    for platform in session.scalars(select(Platform).order_by(Platform.name)):
        by_competency = levels.get(platform.id, {})
        rows.append(InstitutionRow(
            platform_id=platform.id, name=platform.name, courses=courses.get(platform.id, 0),
            learners=learners.get(platform.id, 0),
            proficient={c: _at_least(by_competency.get(c, {}), proficient_level) for c in competency_ids},
        ))
    return rows


def _at_least(per_level: dict[int, int], level: int) -> int:
    return sum(n for at, n in per_level.items() if at >= level)


def _read_courses(session: Session, competency_ids: Sequence[str], proficient_level: int) -> list[CourseRow]:
    distinct_learners = func.count(func.distinct(PlatformUser.learner_id))
    learners = _counts(session, select(Membership.context_id, distinct_learners)
        .join(PlatformUser, PlatformUser.id == Membership.user_id)
        .where(Membership.studies.is_(True)).group_by(Membership.context_id))
    proficient = _counts(session, select(Membership.context_id, func.count())
        .join(PlatformUser, PlatformUser.id == Membership.user_id)
        .join(Proficiency, Proficiency.learner_id == PlatformUser.learner_id)
        .where(Membership.studies.is_(True), Proficiency.level >= proficient_level,
               Proficiency.competency_id.in_(list(competency_ids)))
        .group_by(Membership.context_id))
    rows = session.execute(
        select(Context.id, Context.title, Context.label, Context.context_id, Platform.name)
        .join(Deployment, Deployment.id == Context.deployment_id)
        .join(Platform, Platform.id == Deployment.platform_id)
        .order_by(Platform.name, Context.title, Context.id))
    return [CourseRow(context_id=cid, title=title or label or lms_id, institution=institution,
                      learners=learners.get(cid, 0), proficient_pairs=proficient.get(cid, 0))
            for cid, title, label, lms_id, institution in rows]


def _count_overall_levels(session: Session, competency_ids: Sequence[str],
                          levels: int) -> tuple[dict[str, list[int]], int]:
    distinct_learners = select(studying_members().subquery().c.learner_id, literal(0)).distinct()
    total = session.scalar(select(func.count()).select_from(distinct_learners.subquery())) or 0
    counted = count_levels_by_group(session, distinct_learners, competency_ids).get(0, {})
    distribution = {}
    for competency_id in competency_ids:
        per_level = [counted.get(competency_id, {}).get(level, 0) for level in range(levels + 1)]
        per_level[0] = total - sum(per_level[1:])
        distribution[competency_id] = per_level
    return distribution, total


def build_programme_view(session: Session, framework: Framework) -> ProgrammeView:
    """Assemble the programme's aggregates: per institution, per course, and level counts overall."""
    competencies = list(framework.competencies())
    ids, proficient_level = [c.idnumber for c in competencies], framework.scale.proficient_level
    levels, learners = _count_overall_levels(session, ids, len(framework.scale.levels))
    return ProgrammeView(
        competencies=competencies, institutions=_read_institutions(session, ids, proficient_level),
        courses=_read_courses(session, ids, proficient_level), levels=levels, learners=learners,
    )
