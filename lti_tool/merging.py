"""Moving a learner's rows between learner records: joining two records, and splitting one identity off.

Every table keyed by ``learner_id`` is handled here, so that a link or an unlink leaves nothing
behind. Rows that may exist once per learner (a page visit, a unit position, a completion, a
standing) are combined rather than duplicated; proficiency is then recomputed from the combined
evidence, and each change is recorded in its history like any other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import ScalarSelect, delete, func, select, update
from sqlalchemy.orm import Session

from badges.models import Credential
from competencies.models import Evidence, Proficiency, ProficiencyChange
from competencies.proficiency import ProficiencyRule, update_standings
from course_units.content import Catalog
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from course_units.progress import check_completion
from l2i_db import utcnow
from lti_tool.identity_models import IdentityLink, LinkCode
from lti_tool.models import Context, CourseGroup, Deployment, Learner, Platform, PlatformUser
from xapi.models import OutboxMessage
from xapi.vocabulary import EXTENSION_PATHS

# the extension IRI is below each installation's base URL, so it is recognised by its path
PLATFORM_ISSUER_PATH = EXTENSION_PATHS["platform_issuer"]
Row = TypeVar("Row", UnitPosition, UnitCompletion)


@dataclass(frozen=True)
class Recompute:
    """What a join or split needs to bring standings and completions up to date."""

    rule: ProficiencyRule
    catalog: Catalog


def _move(session: Session, model: type, source_id: int, target_id: int, *criteria: object) -> None:
    session.execute(
        update(model).where(model.learner_id == source_id, *criteria)  # type: ignore[attr-defined,arg-type]
        .values(learner_id=target_id).execution_options(synchronize_session=False)
    )


def _renumber_attempts(session: Session, keep_id: int, absorb_id: int) -> None:
    """Give the absorbed attempts numbers after the kept record's, activity by activity."""
    highest: dict[str, int] = {activity_id: number for activity_id, number in session.execute(
        select(Attempt.activity_id, func.max(Attempt.number))
        .where(Attempt.learner_id == keep_id).group_by(Attempt.activity_id)
    )}
    absorbed = list(session.scalars(select(Attempt).where(
        Attempt.learner_id == absorb_id, Attempt.activity_id.in_(highest))
        .order_by(Attempt.activity_id, Attempt.created_at, Attempt.id)))
    # (learner, activity, number) is unique: park the absorbed numbers below zero first, or giving
    # one attempt a number another absorbed attempt still holds would break it mid-flush
    for attempt in absorbed:
        attempt.number = -attempt.number
    session.flush()
    for attempt in absorbed:
        highest[attempt.activity_id] += 1
        attempt.number = highest[attempt.activity_id]
    session.flush()


def _combine_page_visits(session: Session, keep_id: int, absorb_id: int) -> None:
    kept = {v.page_id: v for v in session.scalars(select(PageVisit).where(PageVisit.learner_id == keep_id))}
    for visit in session.scalars(select(PageVisit).where(PageVisit.learner_id == absorb_id)):
        mine = kept.get(visit.page_id)
        if mine is None:
            visit.learner_id = keep_id
            continue
        mine.first_at, mine.last_at = min(mine.first_at, visit.first_at), max(mine.last_at, visit.last_at)
        session.delete(visit)
    session.flush()


def _later_position(mine: UnitPosition, theirs: UnitPosition) -> None:
    if theirs.updated_at > mine.updated_at:
        mine.kind, mine.target_id, mine.updated_at = theirs.kind, theirs.target_id, theirs.updated_at


def _earlier_completion(mine: UnitCompletion, theirs: UnitCompletion) -> None:
    if theirs.completed_at < mine.completed_at:
        mine.completed_at, mine.unit_version = theirs.completed_at, theirs.unit_version


def _combine_per_unit(session: Session, model: type[Row], keep_id: int, absorb_id: int,
                      take: Callable[[Row, Row], None]) -> None:
    """Move the absorbed rows of a once-per-unit table; where both have one, ``take`` merges it into ours."""
    kept = {row.unit_id: row for row in session.scalars(select(model).where(model.learner_id == keep_id))}
    for row in session.scalars(select(model).where(model.learner_id == absorb_id)):
        mine = kept.get(row.unit_id)
        if mine is None:
            row.learner_id = keep_id
        else:
            take(mine, row)
    session.flush()
    session.execute(delete(model).where(model.learner_id == absorb_id))


def _combine_groups(session: Session, keep_id: int, absorb_id: int) -> None:
    kept_contexts = select(CourseGroup.context_id).where(CourseGroup.learner_id == keep_id).scalar_subquery()
    session.execute(delete(CourseGroup).where(CourseGroup.learner_id == absorb_id,
                                              CourseGroup.context_id.in_(kept_contexts)))
    _move(session, CourseGroup, absorb_id, keep_id)


def _combined_sharing(keep: Learner, absorb: Learner) -> dt.datetime | None:
    """Sharing stays on only if both records shared: evidence is never shown more widely by a link."""
    if keep.shares_evidence_since is None or absorb.shares_evidence_since is None:
        return None
    return min(keep.shares_evidence_since, absorb.shares_evidence_since)


def refresh_record(session: Session, learner_id: int, recompute: Recompute, *,
                   at: dt.datetime | None = None) -> None:
    """Recompute a record's standings from its evidence and record any unit it now completes.

    A competency whose evidence all left the record falls back to no level, with a history row.
    """
    competency_ids = set(session.scalars(
        select(Evidence.competency_id).where(Evidence.learner_id == learner_id)))
    competency_ids |= set(session.scalars(select(Proficiency.competency_id)
                                          .where(Proficiency.learner_id == learner_id)))
    update_standings(session, learner_id, competency_ids, recompute.rule, at=at)
    for unit in recompute.catalog.units:
        check_completion(session, unit, learner_id, at=at)


def join_records(session: Session, keep: Learner, absorb: Learner, recompute: Recompute, *,
                 method: str, now: dt.datetime | None = None) -> list[PlatformUser]:
    """Move everything of ``absorb`` into ``keep`` and delete ``absorb``; return the identities that joined.

    Each joining identity gets an :class:`IdentityLink` row naming ``method`` and the absorbed
    record's key. Flushes, doesn't commit.
    """
    when = now or utcnow()
    joined = list(session.scalars(select(PlatformUser).where(PlatformUser.learner_id == absorb.id)))
    _renumber_attempts(session, keep.id, absorb.id)
    _combine_page_visits(session, keep.id, absorb.id)
    _combine_per_unit(session, UnitPosition, keep.id, absorb.id, _later_position)
    _combine_per_unit(session, UnitCompletion, keep.id, absorb.id, _earlier_completion)
    _combine_groups(session, keep.id, absorb.id)
    session.execute(delete(Proficiency).where(Proficiency.learner_id == absorb.id))
    session.execute(delete(LinkCode).where(LinkCode.learner_id == absorb.id))
    moved: tuple[type, ...] = (PlatformUser, Attempt, Evidence, ProficiencyChange, OutboxMessage,
                               IdentityLink, Credential)
    for model in moved:
        _move(session, model, absorb.id, keep.id)
    keep.shares_evidence_since = _combined_sharing(keep, absorb)
    session.add_all(IdentityLink(learner_id=keep.id, user_id=user.id, method=method, absorbed_key=absorb.key,
                                 linked_at=when) for user in joined)
    session.flush()
    session.execute(delete(Learner).where(Learner.id == absorb.id))
    session.expire_all()
    refresh_record(session, keep.id, recompute, at=when)
    return joined


def platform_ids_of(session: Session, issuer: str) -> list[int]:
    """Return the ids of the platform rows registered for ``issuer``."""
    return list(session.scalars(select(Platform.id).where(Platform.issuer == issuer)))


def _context_ids_of(platform_ids: Iterable[int]) -> ScalarSelect[int]:
    return (select(Context.id).join(Deployment, Deployment.id == Context.deployment_id)
            .where(Deployment.platform_id.in_(list(platform_ids))).scalar_subquery())


def _statements_from(session: Session, learner_id: int, issuer: str) -> list[int]:
    """Return the ids of the record's queued statements made at ``issuer``'s platform."""
    rows = session.execute(select(OutboxMessage.id, OutboxMessage.payload)
                           .where(OutboxMessage.learner_id == learner_id))
    found = []
    for row_id, payload in rows:
        extensions = ((payload or {}).get("context") or {}).get("extensions") or {}
        if any(iri.endswith(PLATFORM_ISSUER_PATH) and value == issuer for iri, value in extensions.items()):
            found.append(row_id)
    return found


def split_identity(session: Session, user: PlatformUser, recompute: Recompute, *,
                   now: dt.datetime | None = None) -> Learner:
    """Give ``user`` a record of their own again, taking the work and evidence made at their platform.

    Attempts, evidence, groups and queued statements from that platform move to the new record;
    page visits, positions, credentials and the history stay with the record. Both records'
    standings and completions are recomputed. Flushes, doesn't commit.
    """
    when = now or utcnow()
    old_id = user.learner_id
    platforms = platform_ids_of(session, user.issuer)
    fresh = Learner()
    session.add(fresh)
    session.flush()
    statements = _statements_from(session, old_id, user.issuer)
    user.learner_id = fresh.id
    session.flush()
    for model in (Attempt, Evidence):
        _move(session, model, old_id, fresh.id, model.platform_id.in_(platforms))
    _move(session, CourseGroup, old_id, fresh.id, CourseGroup.context_id.in_(_context_ids_of(platforms)))
    _move(session, OutboxMessage, old_id, fresh.id, OutboxMessage.id.in_(statements))
    session.expire_all()
    refresh_record(session, old_id, recompute, at=when)
    refresh_record(session, fresh.id, recompute, at=when)
    refreshed = session.get(Learner, fresh.id)
    assert refreshed is not None
    return refreshed
