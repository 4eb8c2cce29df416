"""A learner's whole record as JSON: what they download from "My competencies" (and what GDPR export gives).

Every table that holds something of the learner is read here, so that the download is complete:
their LMS identities and courses, attempts with answers and feedback, pages read, units completed,
evidence, proficiency and its history, and the xAPI statements queued about them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.models import Evidence, Proficiency, ProficiencyChange
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from l2i_db import Base, utcnow
from lti_tool.models import Context, CourseGroup, Learner, Membership, PlatformUser
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


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _fields(row: Base, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(row, name)) for name in names}


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
        "identities": [_fields(u, IDENTITY_FIELDS)
                       for u in _rows(session, PlatformUser, learner_id, PlatformUser.id)],
        "courses": _courses_of(session, learner_id),
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
        "evidence": [_fields(e, EVIDENCE_FIELDS) for e in _rows(session, Evidence, learner_id, Evidence.id)],
        "proficiency": [_fields(p, PROFICIENCY_FIELDS)
                        for p in _rows(session, Proficiency, learner_id, Proficiency.competency_id)],
        "proficiency_history": [_fields(h, HISTORY_FIELDS)
                                for h in _rows(session, ProficiencyChange, learner_id, ProficiencyChange.id)],
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
