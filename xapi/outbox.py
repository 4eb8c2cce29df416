"""The durable outbox: queue statements in the caller's transaction; lease, settle and report them.

Everything here takes the SQLAlchemy session from its caller and never commits, except where a
function says so: a learner's statements are stored with their work or not at all.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, Text, and_, cast, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from l2i_db import utcnow
from xapi.models import OutboxMessage, OutboxStatus
from xapi.validation import statement_problems

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 2000
PENDING = OutboxStatus.PENDING.value
DELIVERED = OutboxStatus.DELIVERED.value
DEAD = OutboxStatus.DEAD.value
# Destinations of xAPI statements start with this (``lrs:programme``, ``lrs:platform:<id>``); the
# outbox also carries other messages (an LMS's scores), which are not statements.
STATEMENT_DESTINATION_PREFIX = "lrs:"


Check = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class Envelope:
    """A statement addressed to one destination, on behalf of a learner (None for the tool's own).

    ``check`` lists what is wrong with a message that is not an xAPI statement (an LMS score);
    None leaves it to :func:`enqueue`'s.
    """

    destination: str
    statement: Mapping[str, Any]
    learner_id: int | None
    check: Check | None = None


@dataclass(frozen=True)
class Claimed:
    """A message a worker has leased for sending; ``body`` is its statement as stored JSON text."""

    id: int
    message_id: str
    body: str
    tries: int


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: try ``n`` waits between half and all of ``base * 2**n``."""

    base_seconds: float = 2.0
    max_seconds: float = 900.0

    def delay(self, tries: int, rng: random.Random | None = None) -> float:
        """Return the seconds to wait before the next try, after ``tries`` failed ones."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** min(tries, 32))
        return float(ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


@dataclass(frozen=True)
class DestinationStatus:
    """The state of one destination's queue, for ``l2i outbox status`` and the admin page."""

    destination: str
    pending: int
    due: int
    delivered: int
    dead: int
    oldest_pending_at: dt.datetime | None
    last_error: str | None

    def lag_seconds(self, now: dt.datetime) -> float:
        """How long the oldest undelivered message has waited (0 when none waits)."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (now - self.oldest_pending_at).total_seconds())


def _truncate(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


# A plain (not ORM) INSERT: the rows need no objects, and it is the cheaper way to write them.
_INSERT_MESSAGES = insert(typing.cast(Table, OutboxMessage.__table__))


def enqueue(session: Session, envelopes: Iterable[Envelope], *, now: dt.datetime | None = None,
            check: Check = statement_problems) -> int:
    """Validate each message and insert all the outbox rows in one statement; return how many were queued.

    ``check`` lists a message's problems (unless its envelope brings its own): by default the
    xAPI 1.0.3 rules. A message that breaks them is kept as a dead message with its problems, so
    nothing is lost silently and the learner's work is never refused because of it. Each
    message's ``id`` is its message id.
    """
    when = now or utcnow()
    rows: list[dict[str, Any]] = []
    for envelope in envelopes:
        statement = dict(envelope.statement)
        problems = (envelope.check or check)(statement)
        if problems:
            log.error("message %s for %s is not valid: %s", statement.get("id"),
                      envelope.destination, "; ".join(problems))
        rows.append({
            "destination": envelope.destination, "message_id": str(statement.get("id")),
            "learner_id": envelope.learner_id, "payload": statement,
            "status": DEAD if problems else PENDING, "tries": 0, "due_at": when,
            "created_at": when,
            "last_error": _truncate("invalid message: " + "; ".join(problems)) if problems else None,
        })
    if rows:
        session.execute(_INSERT_MESSAGES, rows)
    return len(rows)


def _lease_free(now: dt.datetime) -> Any:
    return or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until < now)


def _due(destination: str, now: dt.datetime) -> Any:
    return and_(OutboxMessage.destination == destination, OutboxMessage.status == PENDING,
                OutboxMessage.due_at <= now, _lease_free(now))


def due_destinations(session: Session, *, now: dt.datetime | None = None) -> list[str]:
    """Return the destinations that have messages due now."""
    when = now or utcnow()
    rows = session.scalars(
        select(OutboxMessage.destination).where(
            OutboxMessage.status == PENDING, OutboxMessage.due_at <= when, _lease_free(when),
        ).distinct()
    )
    return sorted(rows)


def claim_due(session: Session, destination: str, *, limit: int, owner: str, lease_seconds: float,
              now: dt.datetime | None = None) -> list[Claimed]:
    """Lease up to ``limit`` due messages of ``destination`` for ``owner``, oldest first.

    On PostgreSQL the candidates are picked ``FOR UPDATE SKIP LOCKED``, so workers running at
    once take different rows without waiting; on both databases the lease is taken by a
    conditional UPDATE, so a row is only ever leased by one worker at a time. Commits.
    """
    when = now or utcnow()
    candidates = (
        select(OutboxMessage.id).where(_due(destination, when))
        .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(candidates))
    if not ids:
        session.rollback()
        return []
    leased = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING, _lease_free(when))
        .values(lease_owner=owner, leased_until=when + dt.timedelta(seconds=lease_seconds))
        # The stored JSON text goes out as it is: no decoding and encoding again per statement.
        .returning(OutboxMessage.id, OutboxMessage.message_id, cast(OutboxMessage.payload, Text),
                   OutboxMessage.tries)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return sorted((Claimed(*row) for row in leased), key=lambda c: c.id)


def mark_delivered(session: Session, ids: Sequence[int], *, now: dt.datetime | None = None) -> None:
    """Record that the destination accepted these messages (``lease_owner`` keeps who sent them). Commits."""
    if ids:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=DELIVERED, delivered_at=now or utcnow(), leased_until=None,
                    last_error=None)
            .execution_options(synchronize_session=False)
        )
    session.commit()


def mark_failed(session: Session, claimed: Sequence[Claimed], error: str, backoff: Backoff, *,
                now: dt.datetime | None = None) -> None:
    """Record a failure worth retrying: each message waits its backoff before it is due again. Commits."""
    when = now or utcnow()
    if claimed:
        session.execute(update(OutboxMessage), [
            {"id": c.id, "tries": c.tries + 1, "leased_until": None, "lease_owner": None,
             "last_error": _truncate(error),
             "due_at": when + dt.timedelta(seconds=backoff.delay(c.tries))}
            for c in claimed
        ])
    session.commit()


def mark_dead(session: Session, claimed: Claimed, reason: str, *, now: dt.datetime | None = None) -> None:
    """Record that the destination refused this message for good, with its reason. Commits."""
    session.execute(
        update(OutboxMessage).where(OutboxMessage.id == claimed.id)
        .values(status=DEAD, tries=claimed.tries + 1, leased_until=None, lease_owner=None,
                last_error=_truncate(reason), due_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()


def retry_dead(session: Session, *, destination: str | None = None,
               now: dt.datetime | None = None) -> int:
    """Make dead messages (of one destination, or all) due again; return how many. Does not commit."""
    when = now or utcnow()
    statement = update(OutboxMessage).where(OutboxMessage.status == DEAD)
    if destination is not None:
        statement = statement.where(OutboxMessage.destination == destination)
    result = session.execute(
        statement.values(status=PENDING, tries=0, due_at=when, leased_until=None, lease_owner=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def outbox_status(session: Session, *, now: dt.datetime | None = None) -> list[DestinationStatus]:
    """Count each destination's messages by state, with the oldest waiting one and the latest error."""
    when = now or utcnow()
    is_pending = OutboxMessage.status == PENDING
    rows = session.execute(
        select(
            OutboxMessage.destination,
            func.count().filter(is_pending),
            func.count().filter(and_(is_pending, OutboxMessage.due_at <= when)),
            func.count().filter(OutboxMessage.status == DELIVERED),
            func.count().filter(OutboxMessage.status == DEAD),
            func.min(OutboxMessage.created_at).filter(is_pending),
        ).group_by(OutboxMessage.destination).order_by(OutboxMessage.destination)
    ).all()
    errors = _latest_errors(session)
    return [
        DestinationStatus(destination=name, pending=pending, due=due, delivered=delivered,
                          dead=dead, oldest_pending_at=oldest, last_error=errors.get(name))
        for name, pending, due, delivered, dead, oldest in rows
    ]


def _latest_errors(session: Session) -> dict[str, str]:
    latest = (
        select(OutboxMessage.destination, func.max(OutboxMessage.id).label("id"))
        .where(OutboxMessage.last_error.is_not(None), OutboxMessage.status != DELIVERED)
        .group_by(OutboxMessage.destination).subquery()
    )
    rows = session.execute(
        select(OutboxMessage.destination, OutboxMessage.last_error)
        .join(latest, OutboxMessage.id == latest.c.id)
    )
    return {name: error for name, error in rows if error}


def recent_errors(session: Session, *, destinations: Sequence[str] | None = None,
                  limit: int = 20) -> list[OutboxMessage]:
    """Return the latest messages that failed (dead, or waiting for a retry), newest first.

    With ``destinations``, only theirs: another destination's failures neither show nor crowd
    these out.
    """
    statement = select(OutboxMessage).where(
        OutboxMessage.last_error.is_not(None), OutboxMessage.status != DELIVERED)
    if destinations is not None:
        statement = statement.where(OutboxMessage.destination.in_(destinations))
    return list(session.scalars(
        statement.order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def sent_statements_of(session: Session, learner_id: int,
                       *, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """Return (destination, statement id) of a learner's statements that were, or may have been, sent.

    A message counts once delivered, or while a worker holds it (it may be in flight). Only xAPI
    statements count: an LMS score in the outbox is not something an LRS can void.
    """
    when = now or utcnow()
    in_flight = and_(OutboxMessage.status == PENDING, OutboxMessage.leased_until >= when)
    rows = session.execute(
        select(OutboxMessage.destination, OutboxMessage.message_id)
        .where(OutboxMessage.learner_id == learner_id,
               OutboxMessage.destination.startswith(STATEMENT_DESTINATION_PREFIX, autoescape=True),
               or_(OutboxMessage.status == DELIVERED, in_flight))
        .order_by(OutboxMessage.id)
    )
    return [(destination, message_id) for destination, message_id in rows]


def prune_delivered(session: Session, *, before: dt.datetime) -> int:
    """Drop the bodies of statements delivered before ``before``; return how many rows were pruned.

    The rows themselves stay (destination, statement id, learner), so erasing a learner can still
    void everything that was sent. Does not commit.
    """
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == DELIVERED, OutboxMessage.delivered_at < before,
               OutboxMessage.pruned.is_(False))
        .values(payload={}, pruned=True)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def forget_learner(session: Session, learner_id: int) -> int:
    """Delete every outbox message of a learner (after their voiding statements are queued)."""
    result = session.execute(
        delete(OutboxMessage).where(OutboxMessage.learner_id == learner_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
