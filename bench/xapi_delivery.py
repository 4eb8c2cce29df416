"""Benchmark: xAPI statements queued in the learner's request and delivered by the outbox worker.

    .venv/bin/python bench/xapi_delivery.py [--statements 20000] [--naive-statements 1000]
        [--requests 300] [--naive-requests 30] [--batch-sizes 1000,500] [--database-url URL]

Runs real Ralph LRSs (``make ralph`` builds their venv) and measures, in the same run:

* delivery: ``--statements`` statements, built with ``xapi.events`` for many learners, are put
  in the outbox and drained by the worker (``lti_tool.worker.deliver_once``: batches of
  ``outbox_batch_size`` over one kept-alive connection), then read back from Ralph's store;
  against the naive way, one POST per statement with tincan's ``RemoteLRS.save_statement``, on
  ``--naive-statements`` statements. Each batch size is tried on its own Ralph.
* enqueue: what a learner's request pays for its statements with the outbox, ``--requests``
  quiz hand-ins and as many page reads: the statements built with ``xapi.events`` exactly as the
  views build them, validated and inserted by ``Tracker.queue``, and the transaction committed;
  against the naive way, a request that POSTs each of its statements to the LRS with tincan
  before it answers (``--naive-requests`` requests).

Every measurement runs against its own freshly started, empty Ralph: its file-system backend
gets slower as its file grows, so each way starts from the same empty store. A statement the
outbox refuses as invalid xAPI is kept as a dead message and never sent: the benchmark counts
those and says why, and checks that Ralph holds every other statement, each once.

SQLite by default (a temporary file); with a PostgreSQL URL, a fresh database
``l2i_bench_xapi_<random>`` is created on that server (through its ``postgres`` database),
migrated, and dropped afterwards.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import platform
import random
import secrets
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from tincan import RemoteLRS, Statement

from competencies.framework import Framework, load_framework
from course_units.content import Activity, Catalog
from course_units.loader import load_catalog
from course_units.scoring import score_quiz
from l2i_db import create_db_engine, create_session_factory, utcnow
from l2i_db.engine import start_wal_checkpointer
from lms_emulator.lrs import RalphLRS, ralph_python
from lti_tool.migrate import upgrade_database
from lti_tool.models import Context, Deployment, Learner, Platform
from lti_tool.settings import Settings
from lti_tool.tracking import PROGRAMME_DESTINATION, Subject, Tracker
from lti_tool.worker import deliver_once
from xapi import events
from xapi.delivery import LrsClient, LrsTarget, SendResult
from xapi.events import Scene
from xapi.models import OutboxMessage, OutboxStatus
from xapi.outbox import Envelope, enqueue

BASE_URL = "http://127.0.0.1:8000"
LEARNERS = 200
WARM_UP_REQUESTS = 20
FILL_CHUNK = 1000
ENQUEUE_GOAL_MS = 2.0
THROUGHPUT_GOAL = 1500.0
RATIO_GOAL = 10.0
DRAIN_DEADLINE_SECONDS = 900.0
Statements = list[dict[str, Any]]


# --- the learners' requests ---------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One learner request that records statements: a quiz handed in, or a content page read."""

    kind: str
    subject: Subject
    build: Callable[[Scene], Statements]


def random_answers(activity: Activity, rng: random.Random) -> dict[str, Any]:
    """Answer every item of a quiz, right or wrong, in the shapes ``score_quiz`` takes."""
    answers: dict[str, Any] = {}
    for item in activity.items:
        if item.type == "single":
            answers[item.id] = rng.choice(item.options).id
        elif item.type == "multiple":
            answers[item.id] = [o.id for o in rng.sample(item.options, rng.randint(1, len(item.options)))]
        elif item.type == "matching":
            ids = [p.id for p in item.pairs]
            answers[item.id] = dict(zip(ids, rng.sample(ids, len(ids)), strict=True))
        else:
            answers[item.id] = [s.id for s in rng.sample(item.steps, len(item.steps))]
    return answers


class Learning:
    """Makes realistic requests: the programme's quizzes and pages, done by the seeded learners."""

    def __init__(self, catalog: Catalog, subjects: Sequence[Subject], seed: int) -> None:
        self.rng = random.Random(seed)
        self.subjects = list(subjects)
        self.quizzes = [(unit, a) for unit in catalog.units for a in unit.activities if a.kind == "quiz"]
        self.pages = [(unit, page) for unit in catalog.units for page in unit.pages]

    def quiz(self) -> Request:
        """A quiz hand-in, as ``lti_tool.learning.hand_in_quiz`` records it (answers scored first)."""
        unit, activity = self.rng.choice(self.quizzes)
        result = score_quiz(activity, random_answers(activity, self.rng))
        now, duration = utcnow(), dt.timedelta(seconds=self.rng.randint(60, 1800))

        def build(scene: Scene) -> Statements:
            return [
                *events.answered_items(scene, unit, activity, result.items, now),
                events.graded_attempt(scene, unit, activity, result.score, passed=result.passed,
                                      duration=duration, now=now),
                events.terminated_attempt(scene, unit, activity, duration, now),
            ]
        return Request("quiz", self.rng.choice(self.subjects), build)

    def reading(self) -> Request:
        """A page read, as the unit views record it: ``progressed`` too when the page is new (half)."""
        unit, page = self.rng.choice(self.pages)
        percent = self.rng.randint(5, 100) if self.rng.random() < 0.5 else None
        now = utcnow()

        def build(scene: Scene) -> Statements:
            statements = [events.experienced_page(scene, unit, page, now)]
            if percent is not None:
                statements.append(events.progressed_unit(scene, unit, percent, now))
            return statements
        return Request("page", self.rng.choice(self.subjects), build)

    def mixed(self, count: int) -> list[Request]:
        """Return ``count`` quiz hand-ins and ``count`` page reads, shuffled."""
        requests = [self.quiz() for _ in range(count)] + [self.reading() for _ in range(count)]
        self.rng.shuffle(requests)
        return requests

    def envelopes(self, settings: Settings, framework: Framework, count: int) -> list[Envelope]:
        """Return ``count`` statements for the programme's LRS, from quiz hand-ins and page reads."""
        found: list[Envelope] = []
        while len(found) < count:
            request = self.quiz() if self.rng.random() < 0.5 else self.reading()
            scene = Tracker(settings, framework, request.subject).scene()
            found.extend(Envelope(PROGRAMME_DESTINATION, statement, request.subject.learner_id)
                         for statement in request.build(scene))
        return found[:count]


# --- the database -------------------------------------------------------------------------------

def seed(factory: sessionmaker[Session], learners: int) -> list[Subject]:
    """Insert a platform, a deployment, a course and the learners; return the learners as subjects."""
    with factory() as session:
        lms = Platform(name="Bench LMS", issuer="https://lms.bench.test", client_id="l2i-bench",
                       auth_login_url="https://lms.bench.test/auth",
                       auth_token_url="https://lms.bench.test/token",
                       key_set_url="https://lms.bench.test/jwks")
        session.add(lms)
        session.flush()
        deployment = Deployment(platform_id=lms.id, deployment_id="bench-1")
        session.add(deployment)
        session.flush()
        course = Context(deployment_id=deployment.id, context_id="course-1",
                         title="Innovation in social services")
        people = [Learner() for _ in range(learners)]
        session.add_all([course, *people])
        session.commit()
        return [Subject(learner_id=p.id, learner_key=p.key, platform=lms, context=course, email=None,
                        locale="en") for p in people]


@contextmanager
def fresh_database(database_url: str | None, folder: Path, prefix: str = "l2i_bench_xapi") -> Iterator[str]:
    """Yield the URL of an empty, migrated database: a SQLite file, or a new PostgreSQL database.

    The PostgreSQL database is named ``<prefix>_<random>`` and dropped afterwards.
    """
    if database_url is None:
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        upgrade_database(url)
        yield url
        return
    given = make_url(database_url)
    admin = given.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = given.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
        upgrade_database(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outbox_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Count the outbox's messages by status."""
    with factory() as session:
        rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: count for status, count in rows}


def database_label(engine: Engine) -> str:
    """Name the database and its version."""
    if engine.dialect.name == "sqlite":
        return f"sqlite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar_one()
    return f"postgresql {version}"


# --- Ralph ----------------------------------------------------------------------------------------

@contextmanager
def fresh_ralph(folder: Path, label: str) -> Iterator[RalphLRS]:
    """Start an empty Ralph LRS for one measurement; stop it afterwards."""
    ralph = RalphLRS(data_dir=folder / f"ralph-{label}").start()
    try:
        yield ralph
    finally:
        ralph.stop()


def ralph_version() -> str:
    """Return the version of Ralph in its venv."""
    script = "from importlib.metadata import version; print(version('ralph-malph'))"
    done = subprocess.run([str(ralph_python()), "-c", script], capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def check_stored(ralph: RalphLRS, expected_ids: Sequence[str], way: str) -> None:
    """Fail loudly unless Ralph stored exactly ``expected_ids``, each once."""
    stored = [statement["id"] for statement in ralph.read_statements()]
    if len(stored) != len(expected_ids) or set(stored) != set(expected_ids):
        raise SystemExit(f"{way}: Ralph stored {len(stored):,} statements ({len(set(stored)):,} distinct "
                         f"ids); expected these {len(expected_ids):,} distinct ids, each once")


def naive_lrs(ralph: RalphLRS) -> RemoteLRS:
    """Return tincan's client for ``ralph``."""
    return RemoteLRS(endpoint=ralph.endpoint, username=ralph.username, password=ralph.password,
                     version="1.0.3")


def naive_save(lrs: RemoteLRS, statement: Statement | dict[str, Any]) -> None:
    """POST one statement with tincan (a PUT with its id); fail loudly when the LRS refuses it."""
    response = lrs.save_statement(statement)
    if not response.success:
        raise SystemExit(f"the naive way: the LRS answered {response.response.status}: "
                         f"{response.data[:300]!r}")


# --- delivery -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Send:
    """One batch the worker POSTed: when, how long, how many statements."""

    start: float
    seconds: float
    statements: int


@dataclass(frozen=True)
class Drain:
    """One outbox drain: its batch size, duration, and every POST."""

    batch_size: int
    statements: int
    seconds: float
    fill_seconds: float
    retried: int
    sends: list[Send]

    @property
    def rate(self) -> float:
        """Statements delivered per second, from the first claim to the empty pass that ends it."""
        return self.statements / self.seconds

    @property
    def lrs_share(self) -> float:
        """The share of the drain spent waiting for the LRS's answers."""
        return sum(s.seconds for s in self.sends) / self.seconds

    @property
    def worker_rate(self) -> float:
        """Statements per second the worker's own work allows: the drain less the LRS's answering time."""
        return self.statements / (self.seconds - sum(s.seconds for s in self.sends))

    def half_rates(self) -> tuple[float, float]:
        """Statements per second over the first and over the second half of the batches."""
        half = len(self.sends) // 2
        if half == 0:
            return self.rate, self.rate
        first, second = self.sends[:half], self.sends[half:]
        end = self.sends[-1].start + self.sends[-1].seconds
        return (sum(s.statements for s in first) / (second[0].start - first[0].start),
                sum(s.statements for s in second) / (end - second[0].start))


@contextmanager
def recording_sends(sends: list[Send]) -> Iterator[None]:
    """Record each POST the worker's LRS client makes (the client itself is unchanged)."""
    original = LrsClient.send

    def send(client: LrsClient, target: LrsTarget, statements: Sequence[str]) -> SendResult:
        start = time.perf_counter()
        result = original(client, target, statements)
        sends.append(Send(start, time.perf_counter() - start, len(statements)))
        return result

    LrsClient.send = send  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        LrsClient.send = original  # type: ignore[method-assign]


@dataclass(frozen=True)
class Filled:
    """The outbox once filled: how long it took, and the statements it refused as invalid xAPI."""

    seconds: float
    dead: dict[str, str]

    def reasons(self) -> list[tuple[str, int]]:
        """The distinct reasons (numbers left out) with how many statements each, most frequent first."""
        found: dict[str, int] = {}
        for error in self.dead.values():
            reason = error.split("(expected")[0].strip()
            found[reason] = found.get(reason, 0) + 1
        return sorted(found.items(), key=lambda pair: -pair[1])


def fill_outbox(factory: sessionmaker[Session], envelopes: Sequence[Envelope]) -> Filled:
    """Empty the outbox, then queue ``envelopes`` (validated, chunk by chunk, one commit)."""
    with factory() as session:
        session.execute(delete(OutboxMessage))
        session.commit()
        start = time.perf_counter()
        for at in range(0, len(envelopes), FILL_CHUNK):
            enqueue(session, envelopes[at:at + FILL_CHUNK])
        session.commit()
        seconds = time.perf_counter() - start
        dead = session.execute(select(OutboxMessage.message_id, OutboxMessage.last_error)
                               .where(OutboxMessage.status == OutboxStatus.DEAD.value))
        return Filled(seconds, {message_id: error or "" for message_id, error in dead})


def drain_outbox(settings: Settings, engine: Engine, factory: sessionmaker[Session],
                 envelopes: Sequence[Envelope], folder: Path) -> tuple[Drain, Filled]:
    """Fill the outbox, drain it into a fresh Ralph with the real worker, and check Ralph's store.

    Ralph must then hold every statement the outbox took as valid, each once; the worker must
    have delivered them all.
    """
    filled = fill_outbox(factory, envelopes)
    size = settings.outbox_batch_size
    expected = [str(e.statement["id"]) for e in envelopes if str(e.statement["id"]) not in filled.dead]
    with fresh_ralph(folder, f"outbox-{size}") as ralph:
        settings = dataclasses.replace(settings, lrs_endpoint=ralph.endpoint, lrs_username=ralph.username,
                                       lrs_password=ralph.password)
        sends: list[Send] = []
        retried = 0
        with recording_sends(sends):
            start = time.perf_counter()
            while True:
                report = deliver_once(settings, engine)
                retried += report.retried
                if report.dead:
                    raise SystemExit(f"outbox: Ralph refused {report.dead} statements")
                if report.settled == 0 and not outbox_counts(factory).get(OutboxStatus.PENDING.value):
                    break
                if report.settled == 0:  # a failed batch waits out its backoff
                    time.sleep(0.2)
                if time.perf_counter() - start > DRAIN_DEADLINE_SECONDS:
                    raise SystemExit(f"outbox: not drained after {DRAIN_DEADLINE_SECONDS:g} s")
            seconds = time.perf_counter() - start
        check_stored(ralph, expected, f"outbox (batch {size})")
    counts = outbox_counts(factory)
    wanted = {OutboxStatus.DELIVERED.value: len(expected)}
    if filled.dead:
        wanted[OutboxStatus.DEAD.value] = len(filled.dead)
    if counts != wanted:
        raise SystemExit(f"outbox (batch {size}): expected {wanted}, found {counts}")
    return Drain(size, len(expected), seconds, filled.seconds, retried, sends), filled


def naive_delivery(statements: Statements, folder: Path) -> float:
    """POST each statement on its own with tincan into a fresh Ralph; return statements per second."""
    prepared = [Statement.from_json(json.dumps(statement)) for statement in statements]
    with fresh_ralph(folder, "naive-delivery") as ralph:
        lrs = naive_lrs(ralph)
        start = time.perf_counter()
        for statement in prepared:
            naive_save(lrs, statement)
        seconds = time.perf_counter() - start
        check_stored(ralph, [s["id"] for s in statements], "naive delivery")
    return len(statements) / seconds


# --- enqueue in the request -------------------------------------------------------------------------

@dataclass(frozen=True)
class Timed:
    """One request: its kind, how many statements, and the seconds each part took."""

    kind: str
    statements: int
    queue_seconds: float
    commit_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """The whole cost in the request."""
        return self.queue_seconds + self.commit_seconds


def time_enqueue(settings: Settings, framework: Framework, factory: sessionmaker[Session],
                 requests: Sequence[Request]) -> list[Timed]:
    """Queue each request's statements in its own transaction; time build+validate+insert, then commit.

    The transaction is open before the clock starts, as it is in a request that has just
    written the learner's work: what is timed is what the statements add to it.
    """
    timed = []
    for request in requests:
        tracker = Tracker(settings, framework, request.subject)
        with factory() as session:
            session.connection()
            start = time.perf_counter()
            count = tracker.queue(session, request.build)
            queued = time.perf_counter()
            session.commit()
            timed.append(Timed(request.kind, count, queued - start, time.perf_counter() - queued))
    return timed


def time_naive_requests(settings: Settings, framework: Framework, requests: Sequence[Request],
                        folder: Path) -> list[Timed]:
    """Build each request's statements and POST them one by one with tincan before answering."""
    timed = []
    with fresh_ralph(folder, "naive-requests") as ralph:
        lrs = naive_lrs(ralph)
        sent: list[str] = []
        for request in requests:
            scene = Tracker(settings, framework, request.subject).scene()
            start = time.perf_counter()
            statements = request.build(scene)
            for statement in statements:
                sent.append(statement["id"])
                naive_save(lrs, statement)
            timed.append(Timed(request.kind, len(statements), time.perf_counter() - start))
        check_stored(ralph, sent, "naive requests")
    return timed


# --- figures --------------------------------------------------------------------------------------

def percentile(samples: Sequence[float], share: float) -> float:
    """Return the ``share`` percentile of ``samples`` (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def request_rows(label: str, timed: Sequence[Timed]) -> list[tuple[str, list[Timed]]]:
    """Split requests by kind, then all together, for the table."""
    kinds = sorted({t.kind for t in timed}, key=lambda kind: kind != "quiz")
    rows = [(f"{label}: {'quiz hand-in' if kind == 'quiz' else 'page read'}",
             [t for t in timed if t.kind == kind]) for kind in kinds]
    return [*rows, (f"{label}: all", list(timed))]


def print_requests(label: str, timed: Sequence[Timed]) -> None:
    """Print p50/p95 per request and per statement, by kind."""
    print(f"{'request':34} {'n':>4} {'stmts':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'p50 ms/stmt':>11} {'p95 ms/stmt':>11}")
    for name, rows in request_rows(label, timed):
        total = [t.seconds for t in rows]
        per = [t.seconds / t.statements for t in rows]
        counts = sorted({t.statements for t in rows})
        spread = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
        print(f"{name:34} {len(rows):4d} {spread:>5} {percentile(total, .5):8.2f} "
              f"{percentile(total, .95):8.2f} {max(total) * 1000:8.2f} {percentile(per, .5):11.3f} "
              f"{percentile(per, .95):11.3f}")


def met(ok: bool) -> str:
    """Say whether a goal is met."""
    return "yes" if ok else "NO"


class Counting(logging.Filter):
    """Counts the outbox's "not valid xAPI" errors instead of printing each one."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.count += 1
        return False


def print_delivery(options: argparse.Namespace, drains: Sequence[Drain], main: Drain,
                   naive_rate: float) -> None:
    """Print each drain and the naive way."""
    print(f"\n1. delivery: {options.statements:,} statements (quiz hand-ins and page reads) queued, then "
          "drained by the worker; Ralph's store read back after each drain")
    print(f"{'way':38} {'stmts/s':>8} {'seconds':>8} {'batches':>7} {'LRS share':>9} {'worker/s':>8} "
          f"{'1st half/s':>10} {'2nd half/s':>10} {'queue/s':>8}")
    for drain in drains:
        first, second = drain.half_rates()
        way = f"outbox worker, batch {drain.batch_size}"
        print(f"{way:38} {drain.rate:8,.0f} {drain.seconds:8.2f} {len(drain.sends):7d} "
              f"{drain.lrs_share:9.0%} {drain.worker_rate:8,.0f} {first:10,.0f} {second:10,.0f} "
              f"{options.statements / drain.fill_seconds:8,.0f}")
    print(f"{'naive: 1 POST per statement (tincan)':38} {naive_rate:8,.0f} "
          f"{options.naive_statements / naive_rate:8.2f} {options.naive_statements:7d}")
    print(f"outbox (batch {main.batch_size}) is {main.rate / naive_rate:,.0f}x the naive way. The naive rate "
          f"is measured on {options.naive_statements:,} statements only and falls as Ralph's store grows, so "
          "the ratio is conservative.")
    print("stmts/s: statements delivered / time from the first claim to the pass that finds nothing. "
          "LRS share: time in the worker's LrsClient.send (JSON encoding, the POST, Ralph's answer; Ralph's "
          "file-system backend reads its whole file on every POST to look for the ids, so it slows as its "
          "store grows). worker/s: the rate the worker's database work (claim, mark delivered) allows, "
          "sending left out. halves: the rate "
          "over the first and the second half of the batches. queue/s: bulk enqueue (validate + insert, "
          "one commit).")
    if any(d.retried for d in drains):
        print("retried: " + ", ".join(f"batch {d.batch_size}: {d.retried}" for d in drains))


def print_invalid(filled: Filled, queued: int, logged: int) -> None:
    """Say loudly how many statements the outbox refused as invalid xAPI, and why."""
    if not filled.dead and not logged:
        return
    print(f"\nWARNING: the outbox kept {len(filled.dead):,} of {queued:,} statements "
          f"({len(filled.dead) / queued:.1%}) as dead messages, not valid xAPI; they are never delivered. "
          f"Reasons: " + "; ".join(f"{reason} ({count:,})" for reason, count in filled.reasons()))
    print(f"(the enqueue requests of section 2 queued {logged:,} such dead messages too)")


def run(database_url: str, folder: Path, options: argparse.Namespace) -> None:
    """Seed, measure both ways of both halves, and print the figures."""
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    checkpoints = start_wal_checkpointer(engine)     # as the web and outbox workers do (SQLite)
    invalid = Counting()
    logging.getLogger("xapi.outbox").addFilter(invalid)
    try:
        catalog, framework = load_catalog(), load_framework()
        subjects = seed(factory, LEARNERS)
        # Queueing never contacts the LRS: each drain below points the settings at its own Ralph.
        settings = Settings(base_url=BASE_URL, secret_key="x" * 40, database_url=database_url,
                            instance_path=folder, lrs_endpoint="http://127.0.0.1:9/xAPI/")
        learning = Learning(catalog, subjects, seed=7)
        database = database_label(engine)
        load = "/".join(f"{figure:.1f}" for figure in os.getloadavg())  # 1, 5, 15 minutes, at the start
        print(f"database: {database}; learners: {LEARNERS}; LRS: Ralph {ralph_version()} "
              "(file-system backend), a fresh, empty one for every measurement", flush=True)

        # 1. Delivery: the outbox worker against one POST per statement.
        envelopes = learning.envelopes(settings, framework, options.statements)
        drained = [drain_outbox(dataclasses.replace(settings, outbox_batch_size=size), engine, factory,
                                envelopes, folder) for size in options.batch_sizes]
        drains, filled = [d for d, _ in drained], drained[0][1]
        naive_statements = [dict(e.statement) for e in
                            learning.envelopes(settings, framework, options.naive_statements)]
        naive_rate = naive_delivery(naive_statements, folder)
        main = next((d for d in drains if d.batch_size == settings.outbox_batch_size), drains[0])
        ratio = main.rate / naive_rate
        print_delivery(options, drains, main, naive_rate)

        # 2. Enqueue: what a learner's request pays, against POSTing in the request.
        logged_before = invalid.count
        time_enqueue(settings, framework, factory, learning.mixed(WARM_UP_REQUESTS // 2))
        timed = time_enqueue(settings, framework, factory, learning.mixed(options.requests))
        naive_timed = time_naive_requests(settings, framework,
                                          learning.mixed(max(1, options.naive_requests // 2)), folder)
        print(f"\n2. enqueue in the learner's request: build + validate + insert + commit, each request in "
              f"its own transaction ({WARM_UP_REQUESTS} warm-up requests first; the outbox table holds "
              f"{options.statements:,} rows meanwhile)")
        print_requests("outbox", timed)
        print_requests("naive", naive_timed)
        queue_only = [t.queue_seconds for t in timed]
        commits = [t.commit_seconds for t in timed]
        print(f"outbox parts: Tracker.queue p50 {percentile(queue_only, .5):.2f} ms, "
              f"p95 {percentile(queue_only, .95):.2f} ms; commit p50 {percentile(commits, .5):.2f} ms, "
              f"p95 {percentile(commits, .95):.2f} ms")
        outbox_p50 = percentile([t.seconds for t in timed], .5)
        naive_p50 = percentile([t.seconds for t in naive_timed], .5)
        print(f"with the outbox a request's p50 is {naive_p50 / outbox_p50:,.0f}x shorter than POSTing its "
              f"statements (the naive way measured on {len(naive_timed)} requests only)")
        print_invalid(filled, options.statements, invalid.count - logged_before)

        # The table.
        quiz = percentile([t.seconds for t in timed if t.kind == "quiz"], .95)
        page = percentile([t.seconds for t in timed if t.kind == "page"], .95)
        valid = options.statements - len(filled.dead)
        per_statement = percentile([t.seconds / t.statements for t in timed], .95)
        table = [
            ("enqueue p95 per statement (all requests)", f"{per_statement:.2f} ms",
             f"<= {ENQUEUE_GOAL_MS:g} ms", met(per_statement <= ENQUEUE_GOAL_MS)),
            ("enqueue p95, quiz hand-in (12 stmts)", f"{quiz:.2f} ms", f"<= {ENQUEUE_GOAL_MS:g} ms",
             met(quiz <= ENQUEUE_GOAL_MS)),
            ("enqueue p95, page read (1-2 stmts)", f"{page:.2f} ms", f"<= {ENQUEUE_GOAL_MS:g} ms",
             met(page <= ENQUEUE_GOAL_MS)),
            ("naive request p95 (POST each stmt)",
             f"{percentile([t.seconds for t in naive_timed], .95):.1f} ms", "-", "-"),
            (f"delivery, outbox batch {main.batch_size}", f"{main.rate:,.0f} stmts/s",
             f">= {THROUGHPUT_GOAL:,.0f}/s", met(main.rate >= THROUGHPUT_GOAL)),
            *[(f"delivery, outbox batch {d.batch_size}", f"{d.rate:,.0f} stmts/s", "-", "-")
              for d in drains if d is not main],
            ("delivery, naive (1 POST per stmt)", f"{naive_rate:,.0f} stmts/s", "-", "-"),
            ("delivery, outbox / naive", f"{ratio:,.1f}x", f">= {RATIO_GOAL:g}x", met(ratio >= RATIO_GOAL)),
            ("queued statements valid xAPI", f"{valid:,} of {options.statements:,}", "all",
             met(valid == options.statements)),
            ("valid ones stored in Ralph, once each", f"{main.statements:,} of {valid:,}", "all", "yes"),
        ]
        print(f"\n{'measure':40} {'figure':>18} {'goal':>12} {'met?':>5}")
        for name, figure, goal, verdict in table:
            print(f"{name:40} {figure:>18} {goal:>12} {verdict:>5}")
        print(f"machine: {os.cpu_count()} CPUs (load average {load}), {platform.platform()}, "
              f"Python {platform.python_version()}; database: {database}; "
              f"date: {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    finally:
        if checkpoints is not None:
            checkpoints.set()
        logging.getLogger("xapi.outbox").removeFilter(invalid)
        engine.dispose()


def batch_sizes(text: str) -> list[int]:
    """Parse ``500,250,1000``."""
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError("give positive batch sizes, e.g. 500,250,1000")
    return sizes


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL: a fresh database is made on its server; default: temporary SQLite")
    parser.add_argument("--statements", type=int, default=20_000, help="statements the outbox delivers")
    parser.add_argument("--naive-statements", type=int, default=1_000,
                        help="statements the naive way POSTs one by one")
    parser.add_argument("--requests", type=int, default=300,
                        help="quiz hand-ins, and as many page reads, timed with the outbox")
    parser.add_argument("--naive-requests", type=int, default=30, help="requests timed the naive way")
    parser.add_argument("--batch-sizes", type=batch_sizes, default=[1000, 500],
                        help="batch sizes to try, each on its own Ralph; the first is held to the goal")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        with fresh_database(options.database_url, folder) as url:
            run(url, folder, options)


if __name__ == "__main__":
    main()
