"""Database models for course rosters fetched over LTI Names and Role Provisioning Services.

A roster is a snapshot: each refresh replaces a context's members, and ``roster_fetch``
records when that happened, how many members came and the last error, if any.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from l2i_db import Base, utcnow
from lti_tool.models import LTI_ID, name_to_show


class RosterMember(Base):
    """One member of a context's roster, as the platform listed them at the last refresh."""

    __tablename__ = "roster_member"
    __table_args__ = (UniqueConstraint("context_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"), index=True)
    sub: Mapped[str] = mapped_column(LTI_ID)
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    given_name: Mapped[str | None] = mapped_column(String(255), default=None)
    family_name: Mapped[str | None] = mapped_column(String(255), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="Active")

    @property
    def display_name(self) -> str:
        """Return the best name the platform gave, or a neutral stand-in."""
        return name_to_show(self.name, self.given_name, self.family_name, self.sub)


class RosterFetch(Base):
    """When a context's roster was last fetched (successfully or not) and what came of it."""

    __tablename__ = "roster_fetch"

    context_id: Mapped[int] = mapped_column(ForeignKey("context.id", ondelete="CASCADE"), primary_key=True)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    attempted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
