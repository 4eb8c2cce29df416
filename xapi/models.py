"""The outbox: messages written in the learner's transaction and delivered later by a worker."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from l2i_db import Base, utcnow

# SQLite only numbers rows automatically with INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
ROW_ID = BigInteger().with_variant(Integer, "sqlite")


class OutboxStatus(StrEnum):
    """Where a message is in its delivery."""

    PENDING = "pending"      # waiting for its first try, or for its next one after a failure
    DELIVERED = "delivered"  # the destination accepted it
    DEAD = "dead"            # refused for good (the reason is in ``last_error``); ``l2i outbox retry``


class OutboxMessage(Base):
    """One message for one destination: an xAPI statement for an LRS (``lrs:<name>``).

    ``message_id`` is the statement id, the same in every destination, so a resend is harmless.
    A worker leases due rows (``lease_owner``/``leased_until``) while it sends them; a lease that
    runs out (the worker died) makes the rows due again.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        UniqueConstraint("destination", "message_id"),
        Index("ix_outbox_due", "destination", "status", "due_at"),
        Index("ix_outbox_learner", "learner_id"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True)
    destination: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(36))
    learner_id: Mapped[int | None] = mapped_column(
        ForeignKey("learner.id", ondelete="CASCADE"), default=None
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    pruned: Mapped[bool] = mapped_column(default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING.value)
    tries: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    leased_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(default=None)
