"""Database models for who may see more than their own course: programme grants and API keys.

A programme grant names a platform identity (issuer + ``sub``), so that an operator can grant
access before the person's first launch. An API key belongs to one platform and sees only that
platform's data; only a hash of its secret is stored.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from l2i_db import Base, utcnow
from lti_tool.models import LTI_ID, URL, Platform


class ProgrammeGrant(Base):
    """Access to the programme view (every context, every platform) for one platform identity."""

    __tablename__ = "programme_grant"
    __table_args__ = (UniqueConstraint("issuer", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(URL)
    sub: Mapped[str] = mapped_column(LTI_ID)
    note: Mapped[str | None] = mapped_column(String(255), default=None)
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A key an institution's reporting tools use for ``/api/v1``, scoped to one platform."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)    # public half, shown in lists
    secret_hash: Mapped[str] = mapped_column(String(64))             # SHA-256 of the secret half
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    platform: Mapped[Platform] = relationship()

    @property
    def is_active(self) -> bool:
        """Whether the key still opens the API."""
        return self.revoked_at is None
