"""The queries behind ``/api/v1``, each scoped to the platform whose API key asks.

A context belongs to a platform through its deployment; a learner belongs to a platform when they
study (LMS role Learner) in one of its contexts, and is known to it by their ``sub`` there. Every
query here filters, counts and pages in SQL. Nothing here imports Flask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, Subquery, func, select
from sqlalchemy.orm import Session

from competencies.models import Proficiency
from lti_tool.models import Context, Deployment, Membership, PlatformUser


@dataclass(frozen=True)
class ContextItem:
    """One course of the platform, as ``/api/v1/contexts`` lists it."""

    id: int
    lms_context_id: str
    title: str | None
    label: str | None
    learners: int


@dataclass(frozen=True)
class ProficiencyItem:
    """One learner's standing in one competency, as ``/api/v1/proficiency`` lists it."""

    user_id: str
    competency_id: str
    level: int | None
    score: float | None
    overridden: bool
    sources: int
    updated_at: dt.datetime


@dataclass(frozen=True)
class ProficiencyQuery:
    """Which proficiency rows a request asks for: a platform's, maybe one course's, maybe recent ones."""

    platform_id: int
    context_id: int | None = None
    updated_since: dt.datetime | None = None


@dataclass(frozen=True)
class SetSummary:
    """The size of a filtered set and when its newest row changed (None: the set is empty)."""

    total: int
    newest: dt.datetime | None


def find_platform_context(session: Session, platform_id: int, context_id: int) -> Context | None:
    """Return the course ``context_id`` if it belongs to the platform, else None."""
    return session.scalar(select(Context).join(Deployment, Deployment.id == Context.deployment_id)
                          .where(Context.id == context_id, Deployment.platform_id == platform_id))


def count_platform_contexts(session: Session, platform_id: int) -> int:
    """Return how many courses the platform has."""
    total = session.scalar(select(func.count(Context.id))
                           .join(Deployment, Deployment.id == Context.deployment_id)
                           .where(Deployment.platform_id == platform_id))
    return int(total or 0)


def list_platform_contexts(session: Session, platform_id: int, offset: int, limit: int) -> list[ContextItem]:
    """Return one page of the platform's courses, oldest first, each with its number of learners."""
    learners = (select(Membership.context_id, func.count(func.distinct(PlatformUser.learner_id)).label("n"))
                .join(PlatformUser, PlatformUser.id == Membership.user_id)
                .where(Membership.studies.is_(True)).group_by(Membership.context_id).subquery())
    rows = session.execute(
        select(Context.id, Context.context_id, Context.title, Context.label, func.coalesce(learners.c.n, 0))
        .join(Deployment, Deployment.id == Context.deployment_id)
        .outerjoin(learners, learners.c.context_id == Context.id)
        .where(Deployment.platform_id == platform_id)
        .order_by(Context.id).offset(offset).limit(limit)
    )
    return [ContextItem(id=id_, lms_context_id=lms_id, title=title, label=label, learners=int(n))
            for id_, lms_id, title, label, n in rows]


def read_member_subs(session: Session, context_id: int) -> dict[int, str]:
    """Return the LMS's ``sub`` of every learner of a course, by learner id, in one query."""
    rows = session.execute(
        select(PlatformUser.learner_id, func.min(PlatformUser.sub))
        .join(Membership, Membership.user_id == PlatformUser.id)
        .where(Membership.context_id == context_id, Membership.studies.is_(True))
        .group_by(PlatformUser.learner_id)
    )
    return {learner_id: sub for learner_id, sub in rows}


def _platform_members(query: ProficiencyQuery) -> Select[Any]:
    """Select (learner_id, sub) of the platform's learners (of one course, if asked), to group by learner."""
    members = (select(PlatformUser.learner_id.label("learner_id"), func.min(PlatformUser.sub).label("sub"))
               .join(Membership, Membership.user_id == PlatformUser.id)
               .join(Context, Context.id == Membership.context_id)
               .join(Deployment, Deployment.id == Context.deployment_id)
               .where(Deployment.platform_id == query.platform_id, Membership.studies.is_(True)))
    if query.context_id is not None:
        members = members.where(Context.id == query.context_id)
    return members


def _platform_learners(query: ProficiencyQuery) -> Subquery:
    """Select (learner_id, sub) of the platform's learners (of one course, if the query names one)."""
    return _platform_members(query).group_by(PlatformUser.learner_id).subquery("platform_learner")


def _proficiency_rows(query: ProficiencyQuery, learners: Subquery, *columns: Any) -> Select[Any]:
    selected = (select(*columns).select_from(Proficiency)
                .join(learners, learners.c.learner_id == Proficiency.learner_id))
    if query.updated_since is not None:
        selected = selected.where(Proficiency.updated_at >= query.updated_since)
    return selected


def summarise_proficiency(session: Session, query: ProficiencyQuery) -> SetSummary:
    """Return how many proficiency rows the query selects and the newest ``updated_at`` among them."""
    learners = _platform_learners(query)
    total, newest = session.execute(
        _proficiency_rows(query, learners, func.count(Proficiency.id), func.max(Proficiency.updated_at))
    ).one()
    if isinstance(newest, str):  # SQLite's MAX() loses the column type: parse its text back
        newest = dt.datetime.fromisoformat(newest)
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=dt.UTC)
    return SetSummary(total=int(total or 0), newest=newest)


def list_proficiency(session: Session, query: ProficiencyQuery, offset: int,
                     limit: int) -> list[ProficiencyItem]:
    """Return one page of the query's proficiency rows, ordered by learner then competency (stable).

    The page is found on the ids alone (an index holds them in that order, so skipping to a late
    page reads no row), then only its rows are read, with their learners' ``sub``.
    """
    learners = _platform_learners(query)
    page = (_proficiency_rows(query, learners, Proficiency.id)
            .order_by(Proficiency.learner_id, Proficiency.competency_id)
            .offset(offset).limit(limit).subquery())
    rows = session.execute(
        select(Proficiency.learner_id, Proficiency.competency_id, Proficiency.level, Proficiency.score,
               Proficiency.overridden, Proficiency.sources, Proficiency.updated_at)
        .join(page, page.c.id == Proficiency.id)
        .order_by(Proficiency.learner_id, Proficiency.competency_id)
    ).all()
    subs = _subs_of(session, query, {row[0] for row in rows})
    return [ProficiencyItem(user_id=subs[learner_id], competency_id=competency_id, level=level, score=score,
                            overridden=bool(overridden), sources=sources, updated_at=updated_at)
            for learner_id, competency_id, level, score, overridden, sources, updated_at in rows]


def _subs_of(session: Session, query: ProficiencyQuery, learner_ids: set[int]) -> dict[int, str]:
    """Return the ``sub`` the platform knows each of these learners by (as :func:`_platform_learners`)."""
    if not learner_ids:
        return {}
    members = _platform_members(query).where(PlatformUser.learner_id.in_(sorted(learner_ids)))
    return {learner_id: sub for learner_id, sub in session.execute(members.group_by(PlatformUser.learner_id))}
