"""Grades back to the LMS (LTI Assignment and Grade Services), through the outbox.

A graded attempt queues a score in the learner's transaction; the worker posts it with retries.
Which line item: the launch's own (``lineitem`` claim) when the link is this activity's; otherwise
the course's line item for the activity, found by ``resourceId`` and ``tag`` or created.
Scores carry the learner's best result so far and a timestamp, so the platform keeps the latest
even if two arrive out of order; open work posts ``PendingManual`` when handed in, then
``FullyGraded`` once a trainer has rated it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from course_units.attempts import attempts_of, best_score
from course_units.content import Activity
from course_units.models import Attempt
from course_units.text import localise
from l2i_db import utcnow
from l2i_db.dialect import lock_for_transaction
from lti_tool import vocabulary as v
from lti_tool.keys import SigningKey, find_signing_key
from lti_tool.models import Platform, PlatformUser, ResourceLink
from lti_tool.services import GradeService, PlatformAccess, ServiceError, platform_access
from xapi.delivery import Sender, SendResult, Verdict
from xapi.outbox import Envelope

SCORE_MAXIMUM = 100.0
_PROGRESS = {v.ACTIVITY_SUBMITTED, v.ACTIVITY_COMPLETED}
_GRADING = {v.GRADING_PENDING_MANUAL, v.GRADING_FULLY_GRADED}


def ags_destination(platform_id: int) -> str:
    """Return the outbox destination of a platform's grade service."""
    return f"ags:platform:{platform_id}"


def score_problems(message: Mapping[str, Any]) -> list[str]:
    """Return what is wrong with a queued score message (an empty list when it can be sent)."""
    problems = []
    score = message.get("score")
    if not isinstance(score, Mapping) or not score.get("userId") or not score.get("timestamp"):
        problems.append("score: needs userId and timestamp")
    elif score.get("activityProgress") not in _PROGRESS or score.get("gradingProgress") not in _GRADING:
        problems.append("score: unknown activityProgress or gradingProgress")
    elif "scoreGiven" in score and not 0 <= score["scoreGiven"] <= score.get("scoreMaximum", -1):
        problems.append("score: scoreGiven must be between 0 and scoreMaximum")
    if not message.get("line_item") and not message.get("lineitems"):
        problems.append("line item: neither a line item nor a line items URL")
    return problems


_SUB_OF = select(PlatformUser.sub).where(  # built once: building a statement costs more than running it
    PlatformUser.learner_id == bindparam("learner_id"), PlatformUser.issuer == bindparam("issuer"))


def _learner_sub(session: Session, learner_id: int, issuer: str) -> str | None:
    return session.scalars(_SUB_OF, {"learner_id": learner_id, "issuer": issuer}).first()


def _score(attempt: Attempt, best: float | None, sub: str) -> dict[str, Any]:
    score: dict[str, Any] = {"userId": sub, "timestamp": utcnow().isoformat(timespec="milliseconds")}
    if attempt.is_graded and best is not None:
        score.update(scoreGiven=round(best * SCORE_MAXIMUM, 2), scoreMaximum=SCORE_MAXIMUM,
                     activityProgress=v.ACTIVITY_COMPLETED, gradingProgress=v.GRADING_FULLY_GRADED)
    else:
        score.update(activityProgress=v.ACTIVITY_SUBMITTED, gradingProgress=v.GRADING_PENDING_MANUAL)
    return score


def score_envelope(session: Session, attempt: Attempt, activity: Activity,
                   attempts: Sequence[Attempt] | None = None) -> Envelope | None:
    """Return the learner's score in this activity addressed to the LMS, or None if the launch offered no AGS.

    ``attempts`` are the learner's attempts at the activity when the caller has them at hand
    (otherwise they are read).
    """
    link = session.get(ResourceLink, attempt.resource_link_id) if attempt.resource_link_id else None
    platform = session.get(Platform, attempt.platform_id) if attempt.platform_id else None
    if link is None or platform is None or not (link.lineitem_url or link.lineitems_url):
        return None
    sub = _learner_sub(session, attempt.learner_id, platform.issuer)
    if sub is None:
        return None
    own_link = link.custom.get(v.CUSTOM_ACTIVITY) == activity.id or not link.lineitems_url
    if attempts is None:
        attempts = attempts_of(session, attempt.learner_id, activity.id)
    message = {
        "id": str(uuid.uuid4()),
        "line_item": link.lineitem_url if own_link else None,
        "lineitems": link.lineitems_url,
        "item": {"scoreMaximum": SCORE_MAXIMUM, "label": localise(activity.title, "en"),
                 "resourceId": activity.id, "tag": v.LINE_ITEM_TAG},
        "score": _score(attempt, best_score(attempts), sub),
    }
    return Envelope(ags_destination(platform.id), message, attempt.learner_id, check=score_problems)


def _no_lock(_name: str) -> None:
    """Take no lock (a sender used outside a worker's transaction)."""


@dataclass(frozen=True)
class ScoreSender:
    """Posts queued scores to one platform, one score per call.

    ``lock`` names what is about to be found or created on the platform (a course's column for an
    activity) and returns once this worker may do so; the worker's next commit releases it.
    """

    name: str
    access: PlatformAccess
    key: SigningKey | None
    grades: GradeService
    batch_size: int | None = 1
    lock: Callable[[str], None] = _no_lock

    def send(self, bodies: Sequence[str]) -> SendResult:
        """Post each score (the courier gives one at a time) and say what the platform answered."""
        if self.key is None:
            return SendResult(Verdict.RETRY, "the tool has no signing key yet (run l2i db upgrade)")
        for body in bodies:
            message = json.loads(body)
            try:
                line_item = message.get("line_item") or self._course_column(self.key, message)
                self.grades.post_score(self.access, self.key, line_item, message["score"])
            except ServiceError as exc:
                if exc.status == 401:
                    self.grades.tokens.forget(self.access)
                return SendResult(Verdict.RETRY if exc.retryable else Verdict.REFUSED, str(exc))
        return SendResult(Verdict.ACCEPTED)

    def _course_column(self, key: SigningKey, message: Mapping[str, Any]) -> str:
        """Find (or create) the activity's column in the course, one worker at a time."""
        item = message["item"]
        self.lock(f"l2i-line-item {message['lineitems']} {item['resourceId']} {item['tag']}")
        return self.grades.line_item_for(self.access, key, message["lineitems"], item)


def score_senders(session: Session, grades: GradeService) -> dict[str, Sender]:
    """Return a score sender for every enabled platform, by outbox destination.

    The senders lock through ``session``, the worker's own, which commits after each score.
    """
    key_row = find_signing_key(session)
    key = SigningKey(key_row.kid, key_row.private_key_pem) if key_row else None
    senders: dict[str, Sender] = {}
    for platform in session.scalars(select(Platform).where(Platform.disabled_at.is_(None))):
        name = ags_destination(platform.id)
        senders[name] = ScoreSender(name, platform_access(platform), key, grades,
                                    lock=partial(lock_for_transaction, session))
    return senders
