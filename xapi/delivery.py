"""Deliver the outbox to learning record stores: batches over one kept-alive client, retries, dead letters.

At least once: a message is marked delivered only after its destination accepted it, and a resend is
harmless because the LRS keeps one statement per id. A batch the LRS refuses (400, 409, 413,
422) is split in halves until the statement at fault stands alone; that one is dead-lettered
with the LRS's reason and the others go through.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from l2i_db import utcnow
from xapi import vocabulary as x
from xapi.outbox import Backoff, Claimed, claim_due, due_destinations, mark_dead, mark_delivered, mark_failed

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500
# The longest wait between two tries while the database cannot be reached.
DATABASE_RETRY_MAX_SECONDS = 30.0
# Statuses that say the destination is misconfigured or busy, not that the statement is wrong.
RETRY_STATUSES = frozenset({401, 403, 404, 405, 408, 425, 429})
SessionFactory = Callable[[], AbstractContextManager[Session]]
LRS_HEADERS = {x.VERSION_HEADER: x.XAPI_VERSION, "Content-Type": "application/json"}


@dataclass(frozen=True)
class LrsTarget:
    """Where one destination's statements go: the LRS's xAPI endpoint and its credentials."""

    name: str
    endpoint: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def statements_url(self) -> str:
        """The statements resource of this LRS."""
        return self.endpoint.rstrip("/") + "/statements"


class Verdict(Enum):
    """What the LRS's answer means for the batch."""

    ACCEPTED = "accepted"
    RETRY = "retry"      # the LRS is down, slow, busy or misconfigured: try again later
    REFUSED = "refused"  # the LRS refuses the content: find the statement at fault


@dataclass(frozen=True)
class SendResult:
    """The verdict on one POST, with the LRS's own words when it did not accept."""

    verdict: Verdict
    detail: str = ""


def verdict_for(status: int) -> Verdict:
    """Classify an HTTP status from the statements resource."""
    if 200 <= status < 300:
        return Verdict.ACCEPTED
    if status >= 500 or status in RETRY_STATUSES:
        return Verdict.RETRY
    return Verdict.REFUSED


def _reason(response: requests.Response) -> str:
    text = response.text.strip()
    try:
        detail = response.json().get("detail", text)
        text = detail if isinstance(detail, str) else json.dumps(detail)
    except (ValueError, AttributeError):
        pass
    return f"HTTP {response.status_code}: {text[:MAX_REASON_CHARS] or response.reason}"


class LrsClient:
    """One kept-alive HTTP client for every LRS a worker talks to, with timeouts."""

    def __init__(self, timeout: float, *, pool_size: int = 4) -> None:
        self.timeout = timeout
        self.http = requests.Session()
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def send(self, target: LrsTarget, statements: Sequence[str]) -> SendResult:
        """POST statements (each already JSON text) to the LRS as one batch; say what its answer means."""
        auth = (target.username, target.password or "") if target.username else None
        body = ("[" + ",".join(statements) + "]").encode()
        try:
            response = self.http.post(target.statements_url, data=body, auth=auth, headers=LRS_HEADERS,
                                      timeout=self.timeout)
        except requests.Timeout:
            return SendResult(Verdict.RETRY, f"no answer within {self.timeout:g} s")
        except requests.ConnectionError as exc:
            return SendResult(Verdict.RETRY, f"cannot connect: {_root_cause(exc)}")
        except requests.RequestException as exc:
            return SendResult(Verdict.RETRY, f"request failed: {exc}")
        verdict = verdict_for(response.status_code)
        return SendResult(verdict, "" if verdict is Verdict.ACCEPTED else _reason(response))

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.http.close()


def database_unreachable(exc: DBAPIError) -> bool:
    """Return whether ``exc`` says the database cannot be reached (down, restarting, connection lost)."""
    return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return (text.splitlines()[0] if text else type(error).__name__)[:MAX_REASON_CHARS]


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc)[:MAX_REASON_CHARS]


class Sender(Protocol):
    """Delivers one destination's messages: an LRS, or (in the app) a platform's grade service."""

    @property
    def name(self) -> str:
        """The destination's name in the outbox."""
        ...

    @property
    def batch_size(self) -> int | None:
        """The most messages one ``send`` takes (None: the courier's batch size)."""
        ...

    def send(self, bodies: Sequence[str]) -> SendResult:
        """Send messages (each stored JSON text) as one batch and say what the answer means."""
        ...


@dataclass(frozen=True)
class LrsSender:
    """Sends statements to one LRS over the worker's shared client."""

    target: LrsTarget
    client: LrsClient
    batch_size: int | None = None

    @property
    def name(self) -> str:
        """The destination's name in the outbox."""
        return self.target.name

    def send(self, bodies: Sequence[str]) -> SendResult:
        """POST the statements to the LRS as one batch."""
        return self.client.send(self.target, bodies)


@dataclass
class DeliveryReport:
    """What one pass over the outbox did."""

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    batches: int = 0
    failed_destinations: dict[str, str] = field(default_factory=dict)

    @property
    def settled(self) -> int:
        """Messages this pass settled one way or the other."""
        return self.delivered + self.retried + self.dead


def default_owner() -> str:
    """Return a name for this worker in leases: host and process id."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass
class Courier:
    """Takes due messages from the outbox and delivers them, destination by destination.

    ``senders`` maps destination names to senders (read afresh each pass, so a platform's new
    LRS is picked up without a restart). Several couriers may share one outbox.
    """

    sessions: SessionFactory
    senders: Callable[[Session], Mapping[str, Sender]]
    close: Callable[[], None] = lambda: None
    backoff: Backoff = field(default_factory=Backoff)
    batch_size: int = 1000
    lease_seconds: float = 60.0
    owner: str = field(default_factory=default_owner)
    clock: Callable[[], dt.datetime] = utcnow

    def deliver_due(self, stop: threading.Event | None = None) -> DeliveryReport:
        """Deliver everything due now; a destination that fails is left for its backoff."""
        report = DeliveryReport()
        with self.sessions() as session:
            senders = dict(self.senders(session))
            for destination in due_destinations(session, now=self.clock()):
                sender = senders.get(destination)
                limit = (sender.batch_size if sender else None) or self.batch_size
                while not (stop and stop.is_set()):
                    claimed = claim_due(session, destination, limit=limit, owner=self.owner,
                                        lease_seconds=self.lease_seconds, now=self.clock())
                    if not claimed:
                        break
                    if sender is None:
                        self._fail(session, claimed, f"nowhere to deliver {destination}: it is not "
                                   "configured (any more)", report, destination)
                        break
                    if not self._deliver(session, sender, claimed, report):
                        break
        return report

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        """Deliver until ``stop`` is set, resting ``idle_seconds`` whenever nothing was due.

        A database that cannot be reached (restarting, say) is reported in one line per try, and
        tried again after a wait that doubles up to :data:`DATABASE_RETRY_MAX_SECONDS`; a batch
        whose settling it interrupted is sent again once its lease runs out (the LRS keeps one
        statement per id).
        """
        failures = 0
        while not stop.is_set():
            try:
                if failures:
                    self._check_database()
                    log.warning("outbox worker %s: the database is reachable again after %d failed "
                                "tries; delivering", self.owner, failures)
                    failures = 0
                report = self.deliver_due(stop)
            except Exception as exc:
                failures = self._rest_after(exc, failures, stop, idle_seconds)
                continue
            if report.settled == 0 or report.failed_destinations:
                stop.wait(idle_seconds)

    def _check_database(self) -> None:
        """Ask the database for nothing; raise as the pass would if it cannot be reached."""
        with self.sessions() as session:
            session.execute(text("SELECT 1"))

    def _rest_after(self, exc: Exception, failures: int, stop: threading.Event,
                    idle_seconds: float) -> int:
        """Log a failed pass and wait before the next; return how many passes in a row found no database."""
        if not (isinstance(exc, DBAPIError) and database_unreachable(exc)):
            log.error("outbox pass failed; retrying in %s s", idle_seconds, exc_info=exc)
            stop.wait(idle_seconds)
            return failures
        failures += 1
        wait = min(DATABASE_RETRY_MAX_SECONDS, idle_seconds * 2 ** min(failures - 1, 16))
        log.error("outbox worker %s: the database is unreachable (%s); retrying in %.1f s",
                  self.owner, _first_line(exc.orig), wait)
        stop.wait(wait)
        return failures

    def _deliver(self, session: Session, target: Sender, claimed: Sequence[Claimed],
                 report: DeliveryReport) -> bool:
        """Send one leased batch; return False when the destination should rest."""
        report.batches += 1
        result = target.send([c.body for c in claimed])
        if result.verdict is Verdict.ACCEPTED:
            mark_delivered(session, [c.id for c in claimed], now=self.clock())
            report.delivered += len(claimed)
            return True
        if result.verdict is Verdict.RETRY:
            self._fail(session, claimed, result.detail, report, target.name)
            return False
        if len(claimed) == 1:
            log.warning("%s refused statement %s: %s", target.name, claimed[0].message_id,
                        result.detail)
            mark_dead(session, claimed[0], result.detail, now=self.clock())
            report.dead += 1
            return True
        half = len(claimed) // 2
        if not self._deliver(session, target, claimed[:half], report):
            error = report.failed_destinations.get(target.name, result.detail)
            self._fail(session, claimed[half:], error, report, target.name)
            return False
        return self._deliver(session, target, claimed[half:], report)

    def _fail(self, session: Session, claimed: Sequence[Claimed], error: str,
              report: DeliveryReport, destination: str) -> None:
        log.warning("%s: %d statements wait for a retry: %s", destination, len(claimed), error)
        mark_failed(session, claimed, error, self.backoff, now=self.clock())
        report.retried += len(claimed)
        report.failed_destinations[destination] = error
