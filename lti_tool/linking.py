"""Joining a learner's identities at several institutions into one record, and undoing it.

Identities are joined only when the learner asks (a one-time link code made at one institution
and entered at another, confirmed there) or, if both platforms are configured to trust their
email addresses, when the same verified address arrives from both. Never two identities of one
platform in one record. An identity that was unlinked is never joined again automatically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from course_units.i18n import N_, Count, Message, ReadableError
from l2i_db import utcnow
from lti_tool.identity_models import IdentityLink, LinkAttempt, LinkCode
from lti_tool.merging import Recompute, join_records, split_identity
from lti_tool.models import Learner, Platform, PlatformUser

# Crockford-like: no 0/O, 1/I/L, U. 10 characters of 30 symbols are about 49 bits.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 10
CODE_LIFETIME = dt.timedelta(minutes=15)
# Wrong, expired or used codes one identity may enter in RATE_WINDOW before it must wait.
MAX_FAILED_ATTEMPTS = 5
RATE_WINDOW = dt.timedelta(minutes=15)

METHOD_CODE = "code"
METHOD_EMAIL = "email"
METHOD_ORIGINAL = "original"  # the record's own identity, recorded when it is unlinked
BY_LEARNER = "learner"
BY_ADMIN = "admin"


class LinkError(ReadableError):
    """A link or unlink that cannot be done; ``status`` is the HTTP status a view answers with."""

    def __init__(self, *messages: str, status: int = 422) -> None:
        super().__init__(*messages)
        self.status = status


@dataclass(frozen=True)
class IssuedCode:
    """A link code as shown to the learner once (only its hash is stored)."""

    code: str
    expires_at: dt.datetime

    @property
    def shown(self) -> str:
        """The code in two groups of five, easier to read and type."""
        return f"{self.code[:5]}-{self.code[5:]}"


@dataclass(frozen=True)
class LinkPreview:
    """What entering a code would join: the identities of the record the code came from."""

    code: str
    identities: tuple[PlatformUser, ...]


def hash_code(code: str) -> str:
    """Return the SHA-256 of a normalised code, as stored."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def normalise_code(text: str) -> str | None:
    """Return the code as typed without spaces or dashes, upper-cased; None if it cannot be one."""
    cleaned = "".join(text.split()).replace("-", "").upper()[: CODE_LENGTH + 1]
    if len(cleaned) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in cleaned):
        return None
    return cleaned


def issue_link_code(session: Session, user: PlatformUser, *, now: dt.datetime | None = None) -> IssuedCode:
    """Make a new link code for ``user``'s record; earlier unused codes of the record stop working."""
    when = now or utcnow()
    session.execute(delete(LinkCode).where(LinkCode.learner_id == user.learner_id,
                                           LinkCode.used_at.is_(None)))
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expires = when + CODE_LIFETIME
    session.add(LinkCode(learner_id=user.learner_id, user_id=user.id, code_hash=hash_code(code),
                         created_at=when, expires_at=expires))
    session.flush()
    return IssuedCode(code, expires)


def _failures_since(session: Session, user_id: int, since: dt.datetime) -> int:
    return session.scalar(select(func.count(LinkAttempt.id)).where(
        LinkAttempt.user_id == user_id, LinkAttempt.at > since)) or 0


def check_rate(session: Session, user: PlatformUser, *, now: dt.datetime | None = None) -> None:
    """Refuse (429) an identity that entered too many wrong codes lately."""
    when = now or utcnow()
    if _failures_since(session, user.id, when - RATE_WINDOW) >= MAX_FAILED_ATTEMPTS:
        raise LinkError(Message(N_("Too many wrong link codes. Wait %(minutes)s minutes, then try again "
                                   "with a new code."), minutes=Count(RATE_WINDOW.seconds // 60)), status=429)


def _refuse_code(session: Session, user: PlatformUser, message: Message, when: dt.datetime) -> LinkError:
    session.add(LinkAttempt(user_id=user.id, at=when))
    session.flush()
    return LinkError(message)


def find_link_code(session: Session, user: PlatformUser, text: str, *,
                   now: dt.datetime | None = None) -> LinkCode:
    """Return the valid code ``text`` names, or raise :class:`LinkError` saying what is wrong with it.

    Every refusal counts towards the identity's rate limit (the caller commits it).
    """
    when = now or utcnow()
    check_rate(session, user, now=when)
    code = normalise_code(text)
    if code is None:
        raise _refuse_code(session, user, Message(N_(
            "A link code has %(length)s letters and digits, like ABCDE-23456. Check what you typed."),
            length=Count(CODE_LENGTH)), when)
    row = session.scalar(select(LinkCode).where(LinkCode.code_hash == hash_code(code)))
    if row is None:
        raise _refuse_code(session, user, Message(N_(
            "This link code is not known. Check it, or make a new one at your other institution.")), when)
    if row.used_at is not None:
        raise _refuse_code(session, user, Message(N_(
            "This link code was already used. Make a new one at your other institution.")), when)
    if row.expires_at <= when:
        raise _refuse_code(session, user, Message(N_(
            "This link code has expired (codes work for 15 minutes). Make a new one at your other "
            "institution.")), when)
    return row


def identities_of(session: Session, learner_id: int) -> list[PlatformUser]:
    """Return the platform identities of one learner record, oldest first."""
    return list(session.scalars(select(PlatformUser).where(PlatformUser.learner_id == learner_id)
                                .order_by(PlatformUser.created_at, PlatformUser.id)))


def _platform_name(session: Session, issuer: str) -> str:
    name = session.scalar(select(Platform.name).where(Platform.issuer == issuer).order_by(Platform.id))
    return name or issuer


def check_joinable(session: Session, keep_id: int, absorb_id: int) -> None:
    """Refuse to join a record with itself, or two records that both hold an identity at one platform."""
    if keep_id == absorb_id:
        raise LinkError(Message(N_("These identities are already linked: they share one record.")),
                        status=409)
    keep_issuers = {u.issuer for u in identities_of(session, keep_id)}
    for user in identities_of(session, absorb_id):
        if user.issuer in keep_issuers:
            raise LinkError(Message(N_(
                "Both accounts include an identity at %(platform)s. One record holds one identity per "
                "institution, so these cannot be linked. Ask that institution's administrator if you "
                "have two accounts there."), platform=_platform_name(session, user.issuer)), status=409)


def preview_link(session: Session, user: PlatformUser, text: str, *,
                 now: dt.datetime | None = None) -> LinkPreview:
    """Check a code entered by ``user`` and return what linking would join, without linking."""
    row = find_link_code(session, user, text, now=now)
    check_joinable(session, row.learner_id, user.learner_id)
    return LinkPreview(normalise_code(text) or "", tuple(identities_of(session, row.learner_id)))


def redeem_link_code(session: Session, user: PlatformUser, text: str, recompute: Recompute, *,
                     now: dt.datetime | None = None) -> Learner:
    """Join ``user``'s record into the record the code came from; the code then stops working.

    Returns the joined record. Raises :class:`LinkError` for a bad code or a conflict.
    Flushes, doesn't commit.
    """
    when = now or utcnow()
    row = find_link_code(session, user, text, now=when)
    check_joinable(session, row.learner_id, user.learner_id)
    row.used_at = when
    keep, absorb = session.get(Learner, row.learner_id), session.get(Learner, user.learner_id)
    assert keep is not None and absorb is not None
    join_records(session, keep, absorb, recompute, method=METHOD_CODE, now=when)
    return keep


def _was_unlinked(session: Session, user_ids: list[int]) -> bool:
    return session.scalar(select(func.count(IdentityLink.id)).where(
        IdentityLink.user_id.in_(user_ids), IdentityLink.unlinked_at.is_not(None))) != 0


def _trusting_issuers(session: Session) -> set[str]:
    return set(session.scalars(select(Platform.issuer).where(Platform.trusts_email.is_(True),
                                                              Platform.disabled_at.is_(None))))


def email_match(session: Session, user: PlatformUser) -> Learner | None:
    """Return the one other record ``user`` should join by verified email, if linking by email applies.

    Both platforms must trust email addresses; exactly one other record may carry the address;
    no identity involved may have been unlinked before; the join must be allowed.
    """
    if not user.email_key:
        return None  # most launches: no query at all
    trusting = _trusting_issuers(session)
    if user.issuer not in trusting:
        return None
    others = [u for u in session.scalars(select(PlatformUser).where(
        PlatformUser.email_key == user.email_key, PlatformUser.learner_id != user.learner_id))
        if u.issuer in trusting]
    records = {u.learner_id for u in others}
    if len(records) != 1:
        return None
    (record_id,) = records
    involved = [u.id for u in identities_of(session, record_id) + identities_of(session, user.learner_id)]
    if _was_unlinked(session, involved):
        return None
    try:
        check_joinable(session, record_id, user.learner_id)
    except LinkError:
        return None
    return session.get(Learner, record_id)


def link_by_email(session: Session, user: PlatformUser, recompute: Recompute, *,
                  now: dt.datetime | None = None) -> Learner | None:
    """Join ``user``'s record into the record with the same verified email, when that applies.

    Returns the joined record, or None when nothing was linked. Flushes, doesn't commit.
    """
    keep = email_match(session, user)
    if keep is None:
        return None
    absorb = session.get(Learner, user.learner_id)
    assert absorb is not None
    join_records(session, keep, absorb, recompute, method=METHOD_EMAIL, now=now)
    session.refresh(user)
    return keep


def _active_link(session: Session, user: PlatformUser) -> IdentityLink:
    link = session.scalar(select(IdentityLink).where(IdentityLink.user_id == user.id,
                                                     IdentityLink.unlinked_at.is_(None))
                          .order_by(IdentityLink.id.desc()))
    if link is None:  # the identity the record started with
        link = IdentityLink(learner_id=user.learner_id, user_id=user.id, method=METHOD_ORIGINAL,
                            linked_at=user.created_at)
        session.add(link)
    return link


def unlink_identity(session: Session, user: PlatformUser, recompute: Recompute, *, by: str,
                    now: dt.datetime | None = None) -> Learner:
    """Give ``user`` its own record again (see :func:`lti_tool.merging.split_identity`).

    Raises :class:`LinkError` if it is the record's only identity. Returns the new record.
    Flushes, doesn't commit.
    """
    when = now or utcnow()
    if len(identities_of(session, user.learner_id)) < 2:
        raise LinkError(Message(N_("This identity is not linked to any other: there is nothing to unlink.")),
                        status=409)
    link = _active_link(session, user)
    link.unlinked_at, link.unlinked_by = when, by
    session.flush()
    return split_identity(session, user, recompute, now=when)


def links_of(session: Session, learner_id: int) -> dict[int, IdentityLink]:
    """Return each identity's current link row (absent for the record's first identity)."""
    rows = session.scalars(select(IdentityLink).where(IdentityLink.learner_id == learner_id,
                                                      IdentityLink.unlinked_at.is_(None))
                           .order_by(IdentityLink.id))
    return {row.user_id: row for row in rows}


@dataclass(frozen=True)
class LinkedRecord:
    """A learner record with more than one identity, for the administrators' view."""

    learner_id: int
    identities: tuple[PlatformUser, ...]
    links: dict[int, IdentityLink]


def count_linked_records(session: Session) -> int:
    """Return how many learner records hold more than one identity."""
    linked = (select(PlatformUser.learner_id).group_by(PlatformUser.learner_id)
              .having(func.count(PlatformUser.id) > 1).subquery())
    return session.scalar(select(func.count()).select_from(linked)) or 0


def list_linked_records(session: Session, *, offset: int = 0, limit: int = 100) -> list[LinkedRecord]:
    """Return the records with more than one identity, most recently linked first."""
    latest = func.max(IdentityLink.linked_at)
    ids = session.scalars(
        select(PlatformUser.learner_id)
        .outerjoin(IdentityLink, IdentityLink.learner_id == PlatformUser.learner_id)
        .group_by(PlatformUser.learner_id).having(func.count(func.distinct(PlatformUser.id)) > 1)
        .order_by(latest.desc().nulls_last(), PlatformUser.learner_id).offset(offset).limit(limit)
    ).all()
    return [LinkedRecord(learner_id, tuple(identities_of(session, learner_id)), links_of(session, learner_id))
            for learner_id in ids]


def list_unlinks(session: Session, *, limit: int = 50) -> list[tuple[IdentityLink, PlatformUser]]:
    """Return the latest unlinks with the identity each one concerned."""
    rows = session.execute(select(IdentityLink, PlatformUser)
                           .join(PlatformUser, PlatformUser.id == IdentityLink.user_id)
                           .where(IdentityLink.unlinked_at.is_not(None))
                           .order_by(IdentityLink.unlinked_at.desc()).limit(limit))
    return [(link, user) for link, user in rows.tuples()]
