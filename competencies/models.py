"""Database models for competency evidence, current proficiency and its history.

Competencies are referred to by their stable idnumber (``L2I-C3.1``), so that evidence outlives
a re-import of the framework. Every evidence row keeps the platform and context it came from,
because one learner record can span institutions.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from l2i_db import Base, utcnow

COMPETENCY_ID = String(64)


class EvidenceKind(StrEnum):
    """Where a piece of evidence comes from."""

    ATTEMPT = "attempt"      # a graded attempt at an activity
    RATING = "rating"        # a trainer's rating of the competency, with a note
    OVERRIDE = "override"    # a trainer sets the level; wins until a later override
    CLEAR = "clear"          # a trainer withdraws their override; the computed level returns


class Evidence(Base):
    """One observation of a learner's competency, normalised to 0..1."""

    __tablename__ = "competency_evidence"
    __table_args__ = (
        Index("ix_evidence_learner_competency", "learner_id", "competency_id", "id"),
        Index("ix_evidence_context", "context_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(COMPETENCY_ID)
    kind: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(default=None)
    weight: Mapped[float] = mapped_column(default=1.0)
    level: Mapped[int | None] = mapped_column(default=None)
    activity_id: Mapped[str | None] = mapped_column(String(64), default=None)
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("attempt.id", ondelete="SET NULL"), default=None,
    )
    note: Mapped[str | None] = mapped_column(Text, default=None)
    rated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_user.id", ondelete="SET NULL"), default=None,
    )
    platform_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform.id", ondelete="SET NULL"), default=None,
    )
    context_id: Mapped[int | None] = mapped_column(
        ForeignKey("context.id", ondelete="SET NULL"), default=None,
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Proficiency(Base):
    """A learner's current standing in one competency (one row per learner and competency)."""

    __tablename__ = "competency_proficiency"
    __table_args__ = (
        UniqueConstraint("learner_id", "competency_id"),
        Index("ix_proficiency_competency_level", "competency_id", "level"),
        # The dashboards count a cohort's levels from this index alone (no table read).
        Index("ix_proficiency_learner_level", "learner_id", "competency_id", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(COMPETENCY_ID)
    score: Mapped[float | None] = mapped_column(default=None)
    level: Mapped[int | None] = mapped_column(default=None)
    sources: Mapped[int] = mapped_column(default=0)
    overridden: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProficiencyChange(Base):
    """The history of a learner's proficiency, one row per change, for trends."""

    __tablename__ = "proficiency_history"
    __table_args__ = (
        Index("ix_history_learner_competency", "learner_id", "competency_id", "at"),
        # When each pair first reached a level (the dashboards' trend), from the index alone.
        Index("ix_history_learner_level", "learner_id", "competency_id", "level", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    competency_id: Mapped[str] = mapped_column(COMPETENCY_ID)
    score: Mapped[float | None] = mapped_column(default=None)
    level: Mapped[int | None] = mapped_column(default=None)
    sources: Mapped[int] = mapped_column(default=0)
    overridden: Mapped[bool] = mapped_column(default=False)
    evidence_id: Mapped[int | None] = mapped_column(
        ForeignKey("competency_evidence.id", ondelete="SET NULL"), default=None,
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
