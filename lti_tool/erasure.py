"""Erasing a learner (the GDPR's right to erasure): every row about them, and voiding what LRSs received.

One learner record is erased with all of its platform identities. The rows go by bulk deletes in
dependency order (children before parents), so nothing relies on the database's cascades:

- the xAPI statements an LRS received (or may have, while a worker holds them) are voided by
  statements that name only the statement id and the tool (:func:`xapi.erasure.void_learner`);
  every outbox row of the learner goes, statements and LMS scores alike;
- what the tool keeps per identity: launch data (``lti_value``), tool sessions, memberships,
  link codes, link attempts and identity links, what LMS rosters listed, and programme grants;
- every row keyed by ``learner_id``: attempts, page visits, positions, completions, evidence,
  proficiency and its history, course groups and credentials; then the identities and the record.

Other people's rows that name the learner as their trainer (a rating, a grade, a revoked
credential) keep their data and lose only that pointer. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, Text, cast, delete, func, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from badges.models import Credential
from competencies.models import Evidence, Proficiency, ProficiencyChange
from course_units.models import Attempt, PageVisit, UnitCompletion, UnitPosition
from l2i_db import Base, utcnow
from lti_tool.access_models import ProgrammeGrant
from lti_tool.deep_linking import PENDING_PREFIX
from lti_tool.identity_models import IdentityLink, LinkAttempt, LinkCode
from lti_tool.learner_record import user_ids_of
from lti_tool.models import (
    Context,
    CourseGroup,
    Deployment,
    Learner,
    LtiValue,
    Membership,
    Platform,
    PlatformUser,
    ToolSession,
)
from lti_tool.roster_models import RosterMember
from xapi.erasure import void_learner
from xapi.models import OutboxMessage

# pylti1p3's keys in ``lti_value``: a validated launch (its id_token's claims) and an OIDC login state
LAUNCH_PREFIX = "lti1p3-launch-"
STATE_PREFIX = "lti1p3-state-"
STATE_HASH_SUFFIX = "-id-token-hash"  # the id_token hash pylti1p3 keeps beside a state
# Rows of other people that may name one of the learner's identities as their trainer.
TRAINER_POINTERS: tuple[InstrumentedAttribute[int | None], ...] = (
    Evidence.rated_by_id, Attempt.graded_by_id, Credential.revoked_by_id,
)
# Rows keyed by the learner record, children before parents.
LEARNER_ROWS: tuple[type[Base], ...] = (
    ProficiencyChange, Proficiency, Evidence, Attempt, PageVisit, UnitPosition, UnitCompletion,
    CourseGroup, Credential,
)


@dataclass
class ErasureReport:
    """What erasing one learner did: rows removed per table, pointers cleared, statements voided."""

    learner_key: str
    identities: list[tuple[str, str]]
    removed: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)
    voided: int = 0

    @property
    def total_removed(self) -> int:
        """How many rows were removed, in all tables."""
        return sum(self.removed.values())

    def count_removed(self, table: str, rows: int) -> None:
        """Add ``rows`` to the rows removed from ``table``."""
        self.removed[table] = self.removed.get(table, 0) + rows


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _remove(session: Session, report: ErasureReport, model: type[Base], *criteria: Any) -> None:
    """Delete the rows of ``model`` that match ``criteria``, in one statement, and count them."""
    result = session.execute(
        delete(model).where(*criteria).execution_options(synchronize_session=False))
    report.count_removed(model.__tablename__, _rowcount(result))


def void_statements(session: Session, report: ErasureReport, learner_id: int, home_page: str,
                    now: dt.datetime) -> None:
    """Remove the learner's outbox rows, first queueing a voiding for each statement an LRS may hold.

    LMS scores are dropped without voiding (the LMS keeps its own copy of a grade it received):
    :func:`xapi.erasure.void_learner` voids statements only, then forgets every row of the learner.
    """
    rows = session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.learner_id == learner_id)) or 0
    report.voided = void_learner(session, learner_id, home_page, now=now)
    report.count_removed(OutboxMessage.__tablename__, rows)


def _launch_keys(session: Session, learner_id: int) -> set[str]:
    """Return the ``lti_value`` keys of the launches behind the learner's tool sessions."""
    launch_ids = session.scalars(select(ToolSession.launch_id).where(
        ToolSession.user_id.in_(user_ids_of(learner_id)), ToolSession.launch_id.is_not(None)))
    return {key for launch_id in launch_ids if launch_id for key in (launch_id, PENDING_PREFIX + launch_id)}


def _names_identity(key: str, value: Any, issuer: str, sub: str) -> bool:
    """Whether a stored launch (id_token claims) or login state belongs to ``issuer`` + ``sub``."""
    if not isinstance(value, dict):
        return False
    if key.startswith(LAUNCH_PREFIX):
        return bool(value.get("iss") == issuer and value.get("sub") == sub)
    login = value.get("login")
    return isinstance(login, dict) and login.get("iss") == issuer and login.get("login_hint") == sub


def _launch_data_of(session: Session, identities: Sequence[tuple[str, str]]) -> set[str]:
    """Return the keys of stored launches and login states naming one of ``identities``.

    Launch data lives a day, also after its tool session is purged, so it is found by its
    claims: the database narrows the short-lived rows to those whose text holds the ``sub``.
    """
    keys: set[str] = set()
    for issuer, sub in identities:
        rows = session.execute(select(LtiValue.key, LtiValue.value).where(
            or_(LtiValue.key.startswith(LAUNCH_PREFIX, autoescape=True),
                LtiValue.key.startswith(STATE_PREFIX, autoescape=True)),
            cast(LtiValue.value, Text).contains(json.dumps(sub), autoescape=True)))
        for key, value in rows:
            if _names_identity(key, value, issuer, sub):
                keys.update((key, key + STATE_HASH_SUFFIX))
    return keys


def remove_launch_data(session: Session, report: ErasureReport, learner_id: int) -> None:
    """Remove the learner's stored launches (their id_token claims), login states and deep-linking data."""
    keys = _launch_keys(session, learner_id) | _launch_data_of(session, report.identities)
    _remove(session, report, LtiValue, LtiValue.key.in_(sorted(keys)))


def remove_identity_rows(session: Session, report: ErasureReport, learner_id: int) -> None:
    """Remove what hangs on the learner's identities: sessions, memberships, link codes, attempts, links."""
    users = user_ids_of(learner_id)
    _remove(session, report, ToolSession, ToolSession.user_id.in_(users))
    _remove(session, report, Membership, Membership.user_id.in_(users))
    _remove(session, report, LinkAttempt, LinkAttempt.user_id.in_(users))
    _remove(session, report, LinkCode, or_(LinkCode.learner_id == learner_id, LinkCode.user_id.in_(users)))
    _remove(session, report, IdentityLink,
            or_(IdentityLink.learner_id == learner_id, IdentityLink.user_id.in_(users)))


def remove_learner_rows(session: Session, report: ErasureReport, learner_id: int) -> None:
    """Remove every row keyed by the learner record: work, evidence, standing, groups, credentials."""
    for model in LEARNER_ROWS:
        _remove(session, report, model, model.learner_id == learner_id)  # type: ignore[attr-defined]


def clear_trainer_pointers(session: Session, report: ErasureReport, learner_id: int) -> None:
    """Keep other people's ratings, grades and revocations by the learner, without naming them."""
    for pointer in TRAINER_POINTERS:
        result = session.execute(
            update(pointer.class_).where(pointer.in_(user_ids_of(learner_id))).values({pointer.key: None})
            .execution_options(synchronize_session=False))
        report.cleared[f"{pointer.class_.__tablename__}.{pointer.key}"] = _rowcount(result)


def _contexts_of(issuer: str) -> Select[tuple[int]]:
    """Return a query for the ids of the courses of every registration of ``issuer``."""
    return (select(Context.id).join(Deployment, Deployment.id == Context.deployment_id)
            .join(Platform, Platform.id == Deployment.platform_id).where(Platform.issuer == issuer))


def remove_listings(session: Session, report: ErasureReport) -> None:
    """Remove what names the learner's identities by issuer + ``sub``: roster entries, programme grants."""
    for issuer, sub in report.identities:
        _remove(session, report, RosterMember,
                RosterMember.sub == sub, RosterMember.context_id.in_(_contexts_of(issuer)))
        _remove(session, report, ProgrammeGrant, ProgrammeGrant.issuer == issuer, ProgrammeGrant.sub == sub)


def erase_learner(session: Session, learner_id: int, home_page: str,
                  *, now: dt.datetime | None = None) -> ErasureReport:
    """Erase one learner record, its identities and everything about them; return what was done.

    Statements an LRS received are voided on behalf of the tool (``home_page`` is its xAPI
    account's), and ``l2i worker`` sends the voidings. Flushes, does not commit: the caller's
    commit makes the erasure happen at once or not at all. Raises LookupError for an unknown id.
    """
    session.flush()
    learner = session.get(Learner, learner_id, with_for_update=True)
    if learner is None:
        raise LookupError(f"there is no learner {learner_id}")
    identities = session.execute(select(PlatformUser.issuer, PlatformUser.sub)
                                 .where(PlatformUser.learner_id == learner_id).order_by(PlatformUser.id))
    report = ErasureReport(learner.key, [(issuer, sub) for issuer, sub in identities])
    void_statements(session, report, learner_id, home_page, now or utcnow())
    remove_launch_data(session, report, learner_id)
    remove_identity_rows(session, report, learner_id)
    remove_learner_rows(session, report, learner_id)
    clear_trainer_pointers(session, report, learner_id)
    remove_listings(session, report)
    _remove(session, report, PlatformUser, PlatformUser.learner_id == learner_id)
    _remove(session, report, Learner, Learner.id == learner_id)
    session.expire_all()
    return report
