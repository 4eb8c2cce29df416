"""The outbox worker: a :class:`~xapi.delivery.Courier` built from the settings, run until stopped.

Beside delivering, it keeps the programme view's figures counted (:mod:`lti_tool.programme_snapshot`)
and, on SQLite, the WAL checkpointed.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from types import FrameType

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from competencies.store import active_framework
from l2i_db import create_session_factory, utcnow
from l2i_db.engine import start_wal_checkpointer
from lti_tool.grades import score_senders
from lti_tool.programme_snapshot import refresh_when_due
from lti_tool.services import GradeService, ServiceTokens
from lti_tool.settings import Settings
from lti_tool.tracking import lrs_targets
from xapi.delivery import Courier, DeliveryReport, LrsClient, LrsSender, Sender
from xapi.outbox import Backoff

log = logging.getLogger(__name__)


def make_courier(settings: Settings, engine: Engine) -> Courier:
    """Build a courier for the configured LRSs and the platforms' grade services.

    One kept-alive HTTP client serves every destination; the settings give the batch size,
    lease and backoff.
    """
    lrs_client = LrsClient(settings.http_timeout)
    grades = GradeService(lrs_client.http, ServiceTokens(lrs_client.http, settings.http_timeout),
                          settings.http_timeout)

    def senders(session: Session) -> dict[str, Sender]:
        found: dict[str, Sender] = {
            name: LrsSender(target, lrs_client) for name, target in lrs_targets(session, settings).items()}
        found.update(score_senders(session, grades))
        return found

    return Courier(
        sessions=create_session_factory(engine),
        senders=senders,
        close=lrs_client.close,
        backoff=Backoff(settings.outbox_backoff_seconds, settings.outbox_backoff_max_seconds),
        batch_size=settings.outbox_batch_size,
        lease_seconds=settings.outbox_lease_seconds,
    )


def deliver_once(settings: Settings, engine: Engine) -> DeliveryReport:
    """Deliver what is due now and return what happened."""
    courier = make_courier(settings, engine)
    try:
        return courier.deliver_due()
    finally:
        courier.close()


def run_worker(settings: Settings, engine: Engine, *, idle_seconds: float = 1.0) -> None:
    """Deliver until SIGTERM or SIGINT; a batch in flight is finished (or left to its lease) first."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker stopping (signal %d)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    courier = make_courier(settings, engine)
    log.info("outbox worker %s started", courier.owner)
    counter = threading.Thread(target=keep_programme_counted, args=(settings, engine, stop),
                               name="programme-counter", daemon=True)
    counter.start()
    start_wal_checkpointer(engine, stop)
    try:
        courier.run(stop, idle_seconds=idle_seconds)
    finally:
        courier.close()
        counter.join(timeout=5)


def count_programme_if_due(settings: Settings, engine: Engine) -> bool:
    """Count the programme view's figures if due (:func:`refresh_when_due`); return whether it did."""
    interval = dt.timedelta(seconds=settings.programme_refresh_seconds)
    with create_session_factory(engine)() as session:
        counted = refresh_when_due(session, active_framework(session), utcnow(), interval)
        session.commit()
    return counted


def keep_programme_counted(settings: Settings, engine: Engine, stop: threading.Event) -> None:
    """Count the programme's figures whenever due, until ``stop`` is set; a failed count is tried later."""
    pause = min(60.0, max(1.0, settings.programme_refresh_seconds / 4))
    while not stop.is_set():
        try:
            count_programme_if_due(settings, engine)
        except SQLAlchemyError as exc:
            log.warning("counting the programme's figures failed (%s); trying again in %.0f s",
                        str(exc).splitlines()[0][:200], pause)
        stop.wait(pause)
