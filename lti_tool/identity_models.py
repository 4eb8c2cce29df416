"""Database models for one learner record spanning institutions: link codes, links and their history.

A learner record (``learner``) holds one or more platform identities (``platform_user``: issuer +
``sub``). Identities are joined only by the learner (a short-lived link code made at one
institution and entered at another) or, where both platforms are configured to trust it, by the
same verified email. Each join is kept in ``identity_link`` with how it happened, and an unlink
is recorded there too, so that an unlinked identity is never joined again automatically.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from l2i_db import Base, utcnow


class LinkCode(Base):
    """A one-time code a learner made to join another institution's identity to their record.

    Only a hash of the code is stored. It expires quickly and works once.
    """

    __tablename__ = "link_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("platform_user.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class LinkAttempt(Base):
    """A wrong, expired or used link code entered by one identity: the rate limit counts these."""

    __tablename__ = "link_attempt"
    __table_args__ = (Index("ix_link_attempt_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("platform_user.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IdentityLink(Base):
    """One platform identity joined to a learner record: how, when, and whether it was undone.

    ``absorbed_key`` is the pseudonymous key of the record that was merged away, so that an
    LRS administrator can follow statements sent before the link.
    """

    __tablename__ = "identity_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("platform_user.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(16))  # "code" or "email"
    absorbed_key: Mapped[str | None] = mapped_column(String(64), default=None)
    linked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    unlinked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    unlinked_by: Mapped[str | None] = mapped_column(String(16), default=None)  # "learner" or "admin"
