"""Database model for the Open Badges 3.0 credentials the tool has issued."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from l2i_db import Base, utcnow


class Credential(Base):
    """One signed credential: a learner reached ``level`` in ``competency_id``.

    ``token`` is the VC-JWT exactly as issued, so a download is always the same bytes and a
    presented copy can be compared with it. A revoked credential keeps its row and its reason.
    """

    __tablename__ = "credential"
    __table_args__ = (Index("ix_credential_learner_competency", "learner_id", "competency_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a random UUID
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column()
    kid: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_user.id", ondelete="SET NULL"), default=None,
    )
    revocation_reason: Mapped[str | None] = mapped_column(String(500), default=None)
