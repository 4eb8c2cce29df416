"""The programme view's figures, counted now and then rather than on every page view.

Counting a programme of tens of thousands of learners reads all their standings: about a second
on PostgreSQL at 50,000 learners, several on SQLite. The outbox worker counts it every few
minutes (:func:`refresh_when_due`) and keeps the figures in ``programme_snapshot``; the page reads
them, with the time they were counted. Where no worker keeps them fresh (the demo, a deployment
without one), the page counts them itself once they are older than the refresh interval, and a
trainer can ask for a count at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.orm import Session

from competencies.framework import Framework
from l2i_db.dialect import insert_for, lock_for_transaction
from lti_tool.models import ProgrammeSnapshot
from lti_tool.programme import CourseRow, InstitutionRow, ProgrammeView, build_programme_view

log = logging.getLogger(__name__)

#: The one programme's row (the key leaves room for more than one).
PROGRAMME_KEY = "programme"
#: Bumped when the payload's shape changes: an older payload is counted again, not misread.
PAYLOAD_VERSION = 1
#: Held while counting, so that two processes counting at once take turns (PostgreSQL).
COUNTING_LOCK = f"programme-snapshot:{PROGRAMME_KEY}"


@dataclass(frozen=True)
class CountedProgramme:
    """The programme view's figures and when they were counted."""

    view: ProgrammeView
    built_at: dt.datetime


def framework_signature(framework: Framework) -> dict[str, Any]:
    """Return what the figures depend on in the framework: its competencies and its scale's size."""
    return {"competencies": [c.idnumber for c in framework.competencies()],
            "levels": len(framework.scale.levels), "proficient": framework.scale.proficient_level}


def dump_view(view: ProgrammeView, framework: Framework) -> dict[str, Any]:
    """Return the view's figures as JSON-ready data (competencies by id, with the framework's signature)."""
    return {"version": PAYLOAD_VERSION, "framework": framework_signature(framework),
            "learners": view.learners, "levels": view.levels,
            "institutions": [asdict(row) for row in view.institutions],
            "courses": [asdict(row) for row in view.courses]}


def load_view(payload: dict[str, Any], framework: Framework) -> ProgrammeView | None:
    """Rebuild the view from :func:`dump_view`'s data; None if counted for another framework or shape."""
    if (payload.get("version") != PAYLOAD_VERSION
            or payload.get("framework") != framework_signature(framework)):
        return None
    return ProgrammeView(
        competencies=list(framework.competencies()),
        institutions=[InstitutionRow(**row) for row in payload["institutions"]],
        courses=[CourseRow(**row) for row in payload["courses"]],
        levels={competency: list(counts) for competency, counts in payload["levels"].items()},
        learners=int(payload["learners"]),
    )


def read_counted(session: Session, framework: Framework) -> CountedProgramme | None:
    """Return the stored figures, or None if there are none for this framework."""
    row = session.get(ProgrammeSnapshot, PROGRAMME_KEY, populate_existing=True)
    if row is None:
        return None
    view = load_view(row.payload, framework)
    return CountedProgramme(view, row.built_at) if view is not None else None


def count_programme(session: Session, framework: Framework, now: dt.datetime) -> CountedProgramme:
    """Count the programme now, store the figures (replacing the last) and return them.

    The caller commits. On PostgreSQL, two processes counting at once take turns.
    """
    lock_for_transaction(session, COUNTING_LOCK)
    started = time.perf_counter()
    view = build_programme_view(session, framework)
    log.info("programme figures counted in %.0f ms", (time.perf_counter() - started) * 1000)
    values = {"key": PROGRAMME_KEY, "built_at": now, "payload": dump_view(view, framework)}
    statement = insert_for(session, ProgrammeSnapshot).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[ProgrammeSnapshot.key],
        set_={name: statement.excluded[name] for name in ("built_at", "payload")}))
    return CountedProgramme(view, now)


def if_fresh(counted: CountedProgramme | None, now: dt.datetime,
             max_age: dt.timedelta) -> CountedProgramme | None:
    """Return the figures if counted less than ``max_age`` ago (and not in the future), else None."""
    if counted is not None and dt.timedelta(0) <= now - counted.built_at < max_age:
        return counted
    return None


def read_programme(session: Session, framework: Framework, now: dt.datetime,
                   max_age: dt.timedelta) -> CountedProgramme:
    """Return the stored figures if younger than ``max_age``, else count them now (the caller commits).

    After waiting for another process's count (PostgreSQL), its figures are used if fresh.
    """
    counted = if_fresh(read_counted(session, framework), now, max_age)
    if counted is None:
        lock_for_transaction(session, COUNTING_LOCK)
        counted = if_fresh(read_counted(session, framework), now, max_age)
    return counted or count_programme(session, framework, now)


def refresh_when_due(session: Session, framework: Framework, now: dt.datetime,
                     interval: dt.timedelta) -> bool:
    """Count the programme if its figures are half the refresh interval old or more; return whether it did.

    Counting at half the interval keeps the figures younger than the interval, so the page never
    has to count them while a worker runs. The caller commits.
    """
    if if_fresh(read_counted(session, framework), now, interval / 2):
        return False
    count_programme(session, framework, now)
    return True

