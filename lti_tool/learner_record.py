"""A learner's whole record as JSON: their "Download all my data", and ``l2i learner export``.

Every table that holds something of the learner is read here, so that the download is complete
(the GDPR's right of access): their LMS identities, how those were linked, link codes, the
sessions they hold, their courses and what the LMS's roster said about them, attempts with
answers and feedback, pages read, units completed, evidence, proficiency and its history,
credentials, programme grants, and the xAPI statements and scores queued about them.
``docs/privacy.md`` lists the tables; ``lti_tool/erasure.py`` removes the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from badges.models import Credential
from competencies.models import Evidence, Proficiency, ProficiencyChange
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from l2i_db import Base, utcnow
from lti_tool.access_models import ProgrammeGrant
from lti_tool.identity_models import IdentityLink, LinkAttempt, LinkCode
from lti_tool.models import (
    Context,
    CourseGroup,
    Deployment,
    Learner,
    Membership,
    Platform,
    PlatformUser,
    ToolSession,
)
from lti_tool.roster_models import RosterMember
from xapi.models import OutboxMessage

FORMAT = "l2i-learner-record/1"
IDENTITY_FIELDS = ("issuer", "sub", "name", "given_name", "family_name", "email", "locale", "created_at",
                   "last_launch_at")
ATTEMPT_FIELDS = ("id", "unit_id", "activity_id", "activity_version", "number", "status", "answers", "score",
                  "result", "feedback", "created_at", "saved_at", "submitted_at", "graded_at")
EVIDENCE_FIELDS = ("id", "competency_id", "kind", "score", "weight", "level", "activity_id", "attempt_id",
                   "note", "created_at")
PROFICIENCY_FIELDS = ("competency_id", "level", "score", "sources", "overridden", "updated_at")
HISTORY_FIELDS = ("competency_id", "level", "score", "sources", "overridden", "at")
LINK_FIELDS = ("method", "absorbed_key", "linked_at", "unlinked_at", "unlinked_by")
LINK_CODE_FIELDS = ("created_at", "expires_at", "used_at")  # never the code's hash
CREDENTIAL_FIELDS = ("id", "competency_id", "level", "issued_at", "revoked_at", "revocation_reason", "token")
ROSTER_FIELDS = ("name", "given_name", "family_name", "email", "roles", "status")
SESSION_FIELDS = ("message_type", "roles", "locale", "created_at", "expires_at")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _fields(row: Base, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in names}


def user_ids_of(learner_id: int) -> Select[tuple[int]]:
    """Return a query for the ids of the learner's platform identities (for ``IN`` clauses)."""
    return select(PlatformUser.id).where(PlatformUser.learner_id == learner_id)


def find_learner(session: Session, *, key: str | None = None, issuer: str | None = None,
                 sub: str | None = None) -> Learner | None:
    """Return the learner record with ``key``, or the one holding the identity ``issuer`` + ``sub``."""
    if key is not None:
        return session.scalars(select(Learner).where(Learner.key == key)).first()
    return session.scalars(select(Learner).join(PlatformUser, PlatformUser.learner_id == Learner.id)
                           .where(PlatformUser.issuer == issuer, PlatformUser.sub == sub)).first()


def _courses_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Context.title, Context.label, Context.context_id, Membership.roles, PlatformUser.issuer,
               CourseGroup.name)
        .join(Membership, Membership.context_id == Context.id)
        .join(PlatformUser, PlatformUser.id == Membership.user_id)
        .outerjoin(CourseGroup, (CourseGroup.context_id == Context.id)
                   & (CourseGroup.learner_id == learner_id))
        .where(PlatformUser.learner_id == learner_id).order_by(Context.id)
    )
    return [{"title": title, "label": label, "lms_context_id": lms_id, "roles": roles, "issuer": issuer,
             "group": group} for title, label, lms_id, roles, issuer, group in rows]


def _statements_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.learner_id == learner_id)
                           .order_by(OutboxMessage.id))
    return [{"destination": m.destination, "statement_id": m.message_id, "status": m.status,
             "queued_at": _plain(m.created_at), "delivered_at": _plain(m.delivered_at),
             "statement": None if m.pruned else m.payload} for m in rows]


def _rows(session: Session, model: type[Base], learner_id: int, order: Any) -> list[Any]:
    return list(session.scalars(select(model).where(model.learner_id == learner_id)  # type: ignore[attr-defined]
                                .order_by(order)))


def _identity_links_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    """List how each identity joined the record (and left it): rows of the record, or of its identities."""
    rows = session.execute(
        select(IdentityLink, PlatformUser.issuer, PlatformUser.sub)
        .join(PlatformUser, PlatformUser.id == IdentityLink.user_id)
        .where(or_(IdentityLink.learner_id == learner_id, IdentityLink.user_id.in_(user_ids_of(learner_id))))
        .order_by(IdentityLink.id)
    )
    return [{"issuer": issuer, "sub": sub, **_fields(link, LINK_FIELDS)} for link, issuer, sub in rows]


def _link_codes_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(LinkCode).where(
        or_(LinkCode.learner_id == learner_id, LinkCode.user_id.in_(user_ids_of(learner_id))))
        .order_by(LinkCode.id))
    return [_fields(code, LINK_CODE_FIELDS) for code in rows]


def _link_attempts_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(PlatformUser.issuer, LinkAttempt.at).join(PlatformUser, PlatformUser.id == LinkAttempt.user_id)
        .where(PlatformUser.learner_id == learner_id).order_by(LinkAttempt.id))
    return [{"issuer": issuer, "at": _plain(at)} for issuer, at in rows]


def _sessions_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(ToolSession, PlatformUser.issuer).join(PlatformUser, PlatformUser.id == ToolSession.user_id)
        .where(PlatformUser.learner_id == learner_id).order_by(ToolSession.created_at))
    return [{"issuer": issuer, **_fields(row, SESSION_FIELDS)} for row, issuer in rows]


def _roster_entries_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    """List what each LMS's roster (Names and Role Provisioning) said about the learner's identities."""
    rows = session.execute(
        select(RosterMember, Platform.issuer, Context.context_id, Context.title)
        .join(Context, Context.id == RosterMember.context_id)
        .join(Deployment, Deployment.id == Context.deployment_id)
        .join(Platform, Platform.id == Deployment.platform_id)
        .join(PlatformUser, (PlatformUser.issuer == Platform.issuer) & (PlatformUser.sub == RosterMember.sub))
        .where(PlatformUser.learner_id == learner_id).order_by(RosterMember.id)
    )
    return [{"issuer": issuer, "sub": member.sub, "lms_context_id": lms_id, "course": title,
             **_fields(member, ROSTER_FIELDS)} for member, issuer, lms_id, title in rows]


def _programme_grants_of(session: Session, learner_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(ProgrammeGrant).join(PlatformUser, (PlatformUser.issuer == ProgrammeGrant.issuer)
                                    & (PlatformUser.sub == ProgrammeGrant.sub))
        .where(PlatformUser.learner_id == learner_id).order_by(ProgrammeGrant.id))
    return [_fields(grant, ("issuer", "sub", "note", "granted_at")) for grant in rows]


def _learning_of(session: Session, learner_id: int) -> dict[str, Any]:
    """Return the learner's work: attempts, pages read, positions, completions."""
    return {
        "attempts": [_fields(a, ATTEMPT_FIELDS) for a in _rows(session, Attempt, learner_id, Attempt.id)],
        "pages_read": [{"unit_id": v.unit_id, "page_id": v.page_id, "first_at": _plain(v.first_at),
                        "last_at": _plain(v.last_at)}
                       for v in _rows(session, PageVisit, learner_id, PageVisit.id)],
        "positions": [{"unit_id": p.unit_id, "kind": p.kind, "target_id": p.target_id,
                       "updated_at": _plain(p.updated_at)}
                      for p in _rows(session, UnitPosition, learner_id, UnitPosition.id)],
        "units_completed": [{"unit_id": c.unit_id, "unit_version": c.unit_version,
                             "completed_at": _plain(c.completed_at)}
                            for c in _rows(session, UnitCompletion, learner_id, UnitCompletion.id)],
    }


def _competence_of(session: Session, learner_id: int) -> dict[str, Any]:
    """Return what the work shows: evidence, proficiency and its history, credentials."""
    return {
        "evidence": [_fields(e, EVIDENCE_FIELDS) for e in _rows(session, Evidence, learner_id, Evidence.id)],
        "proficiency": [_fields(p, PROFICIENCY_FIELDS)
                        for p in _rows(session, Proficiency, learner_id, Proficiency.competency_id)],
        "proficiency_history": [_fields(h, HISTORY_FIELDS)
                                for h in _rows(session, ProficiencyChange, learner_id, ProficiencyChange.id)],
        "credentials": [_fields(c, CREDENTIAL_FIELDS)
                        for c in _rows(session, Credential, learner_id, Credential.issued_at)],
    }


def _person_of(session: Session, learner_id: int) -> dict[str, Any]:
    """Return who the learner is to the tool: identities, links, sessions, courses, rosters, grants."""
    return {
        "identities": [_fields(u, IDENTITY_FIELDS)
                       for u in _rows(session, PlatformUser, learner_id, PlatformUser.id)],
        "identity_links": _identity_links_of(session, learner_id),
        "link_codes": _link_codes_of(session, learner_id),
        "link_attempts": _link_attempts_of(session, learner_id),
        "sessions": _sessions_of(session, learner_id),
        "courses": _courses_of(session, learner_id),
        "roster_entries": _roster_entries_of(session, learner_id),
        "programme_grants": _programme_grants_of(session, learner_id),
    }


def export_learner_data(session: Session, learner_id: int, *,
                        now: dt.datetime | None = None) -> dict[str, Any]:
    """Return everything the engine holds about one learner, as JSON-ready data."""
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise LookupError(f"there is no learner {learner_id}")
    return {
        "format": FORMAT,
        "exported_at": _plain(now or utcnow()),
        "learner": {"key": learner.key, "created_at": _plain(learner.created_at),
                    "shares_evidence_since": _plain(learner.shares_evidence_since)},
        **_person_of(session, learner_id),
        **_learning_of(session, learner_id),
        **_competence_of(session, learner_id),
        "xapi_statements": _statements_of(session, learner_id),
    }


def set_sharing(session: Session, learner_id: int, share: bool, *, now: dt.datetime | None = None) -> None:
    """Record whether trainers at the learner's other institutions may see their evidence."""
    learner = session.get(Learner, learner_id)
    if learner is None:
        raise LookupError(f"there is no learner {learner_id}")
    if share and learner.shares_evidence_since is None:
        learner.shares_evidence_since = now or utcnow()
    elif not share:
        learner.shares_evidence_since = None
    session.flush()
