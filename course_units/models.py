"""Database models for a learner's work in the units: attempts, page visits, position, completion.

Rows point at the learner record (``learner.id``), not at an LMS account, so that work done
under two linked platform identities belongs to one person. Each attempt also keeps where it
was made (platform, context, resource link), because trainers see work per course.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from l2i_db import Base, utcnow

CONTENT_ID = String(64)


class AttemptStatus(StrEnum):
    """Where an attempt is in its life."""

    DRAFT = "draft"            # started; answers saved as the learner works
    SUBMITTED = "submitted"    # handed in; waits for a trainer's assessment (open activities)
    GRADED = "graded"          # scored: by the server (quizzes) or by a trainer (rubric)


class Attempt(Base):
    """One try at an activity, scored on the server and kept with its content version."""

    __tablename__ = "attempt"
    __table_args__ = (
        UniqueConstraint("learner_id", "activity_id", "number"),
        Index("ix_attempt_learner_activity", "learner_id", "activity_id"),
        Index("ix_attempt_context_status", "context_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(CONTENT_ID)
    activity_id: Mapped[str] = mapped_column(CONTENT_ID)
    activity_version: Mapped[int] = mapped_column()
    number: Mapped[int] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default=AttemptStatus.DRAFT.value)
    answers: Mapped[Any] = mapped_column(JSON, default=dict)
    score: Mapped[float | None] = mapped_column(default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    feedback: Mapped[str | None] = mapped_column(Text, default=None)
    platform_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform.id", ondelete="SET NULL"), default=None,
    )
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("context.id", ondelete="SET NULL"), default=None,
    )
    resource_link_id: Mapped[int | None] = mapped_column(
        ForeignKey("resource_link.id", ondelete="SET NULL"), default=None,
    )
    graded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_user.id", ondelete="SET NULL"), default=None,
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    saved_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    graded_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def is_draft(self) -> bool:
        """Whether the learner can still change this attempt."""
        return self.status == AttemptStatus.DRAFT.value

    @property
    def is_graded(self) -> bool:
        """Whether this attempt has its score."""
        return self.status == AttemptStatus.GRADED.value


class PageVisit(Base):
    """The first and latest time a learner opened a content page."""

    __tablename__ = "page_visit"
    __table_args__ = (UniqueConstraint("learner_id", "page_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(CONTENT_ID)
    page_id: Mapped[str] = mapped_column(CONTENT_ID)
    first_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UnitPosition(Base):
    """Where a learner last was in a unit, so that they can resume there."""

    __tablename__ = "unit_position"
    __table_args__ = (UniqueConstraint("learner_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(CONTENT_ID)
    kind: Mapped[str] = mapped_column(String(16))  # "page" or "activity"
    target_id: Mapped[str] = mapped_column(CONTENT_ID)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UnitCompletion(Base):
    """When a learner first met a unit's completion rule."""

    __tablename__ = "unit_completion"
    __table_args__ = (UniqueConstraint("learner_id", "unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    unit_id: Mapped[str] = mapped_column(CONTENT_ID)
    unit_version: Mapped[int] = mapped_column()
    completed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
