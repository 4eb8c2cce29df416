"""Erasing a learner from the LRSs: void what was sent, drop what was not."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from l2i_db import utcnow
from xapi.outbox import Envelope, enqueue, forget_learner, sent_statements_of
from xapi.statements import ActorRef, build_voiding

TOOL_ACCOUNT_NAME = "l2i-engine"


def tool_actor(home_page: str) -> ActorRef:
    """Return the tool itself as an xAPI agent, the actor of its voiding statements."""
    return ActorRef(key=TOOL_ACCOUNT_NAME, home_page=home_page)


def void_learner(session: Session, learner_id: int, home_page: str,
                 *, now: dt.datetime | None = None) -> int:
    """Queue a voiding statement for each of the learner's statements an LRS has (or may have) received.

    Their other outbox rows (never sent, or refused) are deleted, and so are the sent ones once
    their voiding is queued; the voiding statements name only statement ids, not the learner.
    Returns how many voiding statements were queued. Does not commit.
    """
    when = now or utcnow()
    actor = tool_actor(home_page)
    envelopes = [
        Envelope(destination, build_voiding(statement_id, actor, timestamp=when), learner_id=None)
        for destination, statement_id in sent_statements_of(session, learner_id, now=when)
    ]
    forget_learner(session, learner_id)
    return enqueue(session, envelopes, now=when)
