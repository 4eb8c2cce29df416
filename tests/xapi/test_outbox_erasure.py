"""Voiding a learner's statements: only xAPI statements an LRS received are voided, nothing else."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from l2i_db import utcnow
from lti_tool.models import Learner
from xapi.erasure import void_learner
from xapi.models import OutboxMessage
from xapi.outbox import sent_statements_of


def test_only_statements_an_lrs_may_hold_are_voided(db_session: Session) -> None:
    learner = Learner()
    db_session.add(learner)
    db_session.flush()
    now = utcnow()
    rows = {
        "lrs:programme/delivered": ("lrs:programme", "delivered", None),
        "lrs:platform:1/in-flight": ("lrs:platform:1", "pending", now + dt.timedelta(minutes=1)),
        "lrs:programme/waiting": ("lrs:programme", "pending", None),
        "ags:platform:1/delivered": ("ags:platform:1", "delivered", None),
    }
    for n, (destination, status, leased_until) in enumerate(rows.values()):
        db_session.add(OutboxMessage(
            destination=destination, message_id=f"00000000-0000-4000-8000-00000000000{n}",
            learner_id=learner.id, payload={}, status=status, leased_until=leased_until))
    db_session.flush()
    sent = sent_statements_of(db_session, learner.id, now=now)
    assert [d for d, _ in sent] == ["lrs:programme", "lrs:platform:1"], "an LMS score is no statement"
    assert void_learner(db_session, learner.id, "https://tool.example.org", now=now) == 2
    left = db_session.scalars(select(OutboxMessage.destination)
                              .where(OutboxMessage.learner_id.is_(None))).all()
    assert sorted(left) == ["lrs:platform:1", "lrs:programme"]
