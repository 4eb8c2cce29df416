"""Benchmark: handing in a quiz with a million evidence rows in the database, against the naive way.

    .venv/bin/python bench/submission.py [--database-url URL] [--evidence 1000000] [--submissions 300]

Fills the database with ``--evidence`` evidence rows in bulk (about 50 a learner, so 20,000
learners for a million): each learner's graded attempts at the programme's activities in the
order a learner meets them, one evidence row per weighted competency of each, their standings
(one proficiency row and its history per competency) and their LMS account and membership.
Then learners who already have evidence hand in one more quiz each, and the run measures:

* the submission as the tool serves it: ``POST /attempts/<id>/submit`` through the Flask test
  client, by a learner with a launch session (started beforehand, untimed), with an LRS and
  the LMS's grade service configured, so every submission writes the attempt, its evidence,
  the learner's updated standings and their history, and 13 to 15 xAPI statements (one per
  quiz item, graded, terminated, progressed, maybe completed and mastered) and a score to the outbox;
* the domain call alone (``hand_in_quiz`` and the commit), to show what the web adds;
* the naive way, the same domain call with what the engine does incrementally or in batches
  done plainly: every competency the learner has evidence for recomputed from all of it
  (instead of the quiz's five to seven), and each evidence row and each outbox row inserted on
  its own (instead of one multi-row INSERT for the evidence and one for the statements and the
  score); both swaps separately, then together.

Each way is timed (wall clock and this process's CPU, which on SQLite is all of the work) in
turns with the others, so that the load of a shared machine weighs on all of them alike.

SQLite by default (a temporary file); pass a PostgreSQL URL to run there (the database must
exist and be empty; the schema is created with the migrations and dropped afterwards). Use
``--evidence 20000`` for a quick run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform as host
import random
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from proficiency import percentile, release, run_on_database  # bench/ is on sys.path as a script
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.datastructures import MultiDict

from competencies.models import Evidence, Proficiency, ProficiencyChange
from competencies.proficiency import (
    EvidencePoint,
    ProficiencyRule,
    StandingsUpdate,
    compute_standing,
    update_standings,
)
from course_units.attempts import Where, start_attempt
from course_units.content import Activity, Catalog, Unit
from course_units.models import Attempt
from l2i_db import Base, create_db_engine, create_session_factory, utcnow
from l2i_db import engine as l2i_engine
from l2i_db.engine import start_wal_checkpointer
from lti_tool import learning
from lti_tool import vocabulary as v
from lti_tool.app import create_app
from lti_tool.learning import hand_in_quiz
from lti_tool.migrate import upgrade_database
from lti_tool.models import (
    Context,
    Deployment,
    Learner,
    Membership,
    Platform,
    PlatformUser,
    ResourceLink,
    ToolSession,
)
from lti_tool.server import freeze_startup_objects
from lti_tool.settings import Settings, load_settings
from lti_tool.tracking import Tracker, subject_of
from lti_tool.web.forms import read_quiz_form
from lti_tool.web.state import app_state
from xapi import outbox

ISSUER = "https://lms.example.org"
CHUNK = 5000
ROWS_PER_LEARNER = (30, 70)  # each learner's evidence rows: uniform in this range (50 on average)
WARM_UP = 5
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000   # pages


@dataclass
class Programme:
    """The seeded course and the learners who will hand in a quiz during the run."""

    platform_id: int
    context_id: int
    resource_link_id: int
    learners: int = 0
    attempts: int = 0
    standings: int = 0
    sessions: dict[int, tuple[int, str]] = field(default_factory=dict)  # learner id: (user id, session id)
    handed_in: dict[tuple[int, str], int] = field(default_factory=dict)  # (learner id, quiz id): count


@dataclass
class _Batches:
    """Rows waiting to be inserted, by model; flushed to the database every :data:`CHUNK` rows."""

    conn: Any
    rows: dict[type[Base], list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, model: type[Base], row: dict[str, Any]) -> None:
        """Queue one row; once a model has a chunk's worth, insert everything pending, parents first."""
        pending = self.rows.setdefault(model, [])
        pending.append(row)
        if len(pending) >= CHUNK:
            self.flush_all()

    def flush(self, model: type[Base]) -> None:
        """Insert the pending rows of ``model``: one multi-row INSERT, or a COPY on PostgreSQL."""
        pending = self.rows.get(model)
        if not pending:
            return
        if self.conn.dialect.name == "postgresql":
            copy_rows(self.conn, str(model.__tablename__), pending)
        else:
            self.conn.execute(insert(model), pending)
        pending.clear()

    def flush_all(self) -> None:
        """Insert everything still pending, parents before children."""
        for model in (Learner, PlatformUser, Membership, Attempt, Evidence, Proficiency, ProficiencyChange):
            self.flush(model)


def copy_rows(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` (all with the same keys) into ``table`` with PostgreSQL's COPY, in the transaction."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = map(row.get, columns)
            copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v for v in values])


def _seed_course(conn: Any, now: dt.datetime) -> Programme:
    """Insert the platform (with an LRS of its own left unset), its course and a graded link."""
    platform_id = conn.execute(insert(Platform).values(
        name="Institution", issuer=ISSUER, client_id="bench", auth_login_url=f"{ISSUER}/auth",
        auth_token_url=f"{ISSUER}/token", key_set_url=f"{ISSUER}/jwks", xapi_actor="account",
        created_at=now).returning(Platform.id)).scalar_one()
    deployment_id = conn.execute(insert(Deployment).values(
        platform_id=platform_id, deployment_id="1", created_at=now).returning(Deployment.id)).scalar_one()
    context_id = conn.execute(insert(Context).values(
        deployment_id=deployment_id, context_id="course-1", title="Course 1", types=[],
        created_at=now).returning(Context.id)).scalar_one()
    link_id = conn.execute(insert(ResourceLink).values(
        deployment_id=deployment_id, context_id=context_id, link_id="programme", title="Programme",
        custom={}, lineitem_url=f"{ISSUER}/course-1/lineitems/1",
        lineitems_url=f"{ISSUER}/course-1/lineitems", updated_at=now).returning(ResourceLink.id)).scalar_one()
    return Programme(platform_id, context_id, link_id)


def _seed_learner(batches: _Batches, programme: Programme, activities: list[tuple[str, Activity]],
                  rng: random.Random,
                  rule: ProficiencyRule, now: dt.datetime) -> int:
    """Queue one learner's account, attempts, evidence and standings; return their evidence rows."""
    programme.learners += 1
    learner_id = user_id = programme.learners
    batches.add(Learner, {"id": learner_id, "key": f"bench-{learner_id}", "created_at": now})
    batches.add(PlatformUser, {"id": user_id, "issuer": ISSUER, "sub": f"user-{learner_id}",
                               "learner_id": learner_id, "name": f"Learner {learner_id}",
                               "created_at": now, "last_launch_at": now})
    batches.add(Membership, {"user_id": user_id, "context_id": programme.context_id,
                             "roles": [v.ROLE_LEARNER], "studies": True, "updated_at": now})
    ability, target, written = rng.random(), rng.randint(*ROWS_PER_LEARNER), 0
    points: dict[str, list[EvidencePoint]] = {}
    at = now - dt.timedelta(days=90)
    for unit_id, activity in activities * 2:  # the programme in order, then second tries
        if written >= target:
            break
        programme.attempts += 1
        number = programme.handed_in.get((learner_id, activity.id), 0) + 1
        programme.handed_in[(learner_id, activity.id)] = number
        at += dt.timedelta(hours=rng.randint(1, 96))
        scores = {c: round(min(1.0, max(0.0, rng.gauss(ability, 0.15))), 4) for c in activity.weights}
        batches.add(Attempt, {"id": programme.attempts, "learner_id": learner_id, "unit_id": unit_id,
                              "activity_id": activity.id, "activity_version": activity.version,
                              "number": number, "status": "graded", "answers": {},
                              "score": round(sum(scores.values()) / len(scores), 4),
                              "result": {"competencies": scores}, "platform_id": programme.platform_id,
                              "context_id": programme.context_id, "created_at": at, "saved_at": at,
                              "submitted_at": at, "graded_at": at})
        for competency_id, score in sorted(scores.items()):
            weight = activity.weights[competency_id]
            batches.add(Evidence, {"learner_id": learner_id, "competency_id": competency_id,
                                   "kind": "attempt", "score": score, "weight": weight,
                                   "activity_id": activity.id,
                                   "attempt_id": programme.attempts, "platform_id": programme.platform_id,
                                   "context_id": programme.context_id, "created_at": at})
            points.setdefault(competency_id, []).append(
                EvidencePoint("attempt", score, weight, None, activity.id, None))
            written += 1
    for competency_id, timeline in points.items():
        standing = compute_standing(timeline, rule)
        values = {"learner_id": learner_id, "competency_id": competency_id, "score": standing.score,
                  "level": standing.level, "sources": standing.sources, "overridden": False}
        batches.add(Proficiency, {**values, "updated_at": at})
        batches.add(ProficiencyChange, {**values, "at": at})
        programme.standings += 1
    return written


def _unit_id_of(catalog: Catalog, activity_id: str) -> str:
    unit = catalog.unit_of_activity(activity_id)
    assert unit is not None
    return unit.id


def sync_sequences(conn: Any, tables: Iterable[str]) -> None:
    """On PostgreSQL, move each table's id sequence past the ids the seed gave explicitly."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"(SELECT max(id) FROM {table}))"))


def seed(engine: Engine, catalog: Catalog, rule: ProficiencyRule, evidence: int) -> Programme:
    """Fill the database with at least ``evidence`` evidence rows over as many learners as that takes."""
    rng, now = random.Random(17), utcnow()
    activities = [(unit.id, a) for unit in catalog.units for a in unit.activities]
    with engine.begin() as conn:
        programme = _seed_course(conn, now)
        batches, written = _Batches(conn), 0
        while written < evidence:
            written += _seed_learner(batches, programme, activities, rng, rule, now)
        batches.flush_all()
        sync_sequences(conn, ["learner", "platform_user", "attempt"])
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return programme


def open_sessions(engine: Engine, programme: Programme, count: int) -> None:
    """Give ``count`` learners, spread over the whole id range, a launch session in the course."""
    now = utcnow()
    chosen = random.Random(3).sample(range(1, programme.learners + 1), min(count, programme.learners))
    rows = []
    for learner_id in chosen:
        session_id = secrets.token_urlsafe(32)
        programme.sessions[learner_id] = (learner_id, session_id)
        rows.append({"id": session_id, "user_id": learner_id, "platform_id": programme.platform_id,
                     "context_id": programme.context_id, "resource_link_id": programme.resource_link_id,
                     "roles": [v.ROLE_LEARNER], "message_type": "LtiResourceLinkRequest", "locale": "en",
                     "custom": {}, "created_at": now, "expires_at": now + dt.timedelta(hours=8)})
    with engine.begin() as conn:
        conn.execute(insert(ToolSession), rows)


def quiz_form(activity: Activity, rng: random.Random) -> dict[str, Any]:
    """Return form fields answering each item of ``activity`` right or leaving it out, at random."""
    fields: dict[str, Any] = {}
    for item in activity.items:
        if rng.random() < 0.35:
            continue
        name = f"item-{item.id}"
        if item.type == "single":
            fields[name] = next(o.id for o in item.options if o.correct)
        elif item.type == "multiple":
            fields[name] = [o.id for o in item.options if o.correct]
        elif item.type == "matching":
            fields.update({f"{name}-{p.id}": p.id for p in item.pairs})
        else:
            fields.update({f"{name}-{s.id}": str(n) for n, s in enumerate(item.steps, 1)})
    return fields


@dataclass
class Turns:
    """Hands out (learner, quiz) pairs: learners in turn, each at the quiz they have tried least."""

    programme: Programme
    quizzes: list[Activity]
    order: list[int] = field(default_factory=list)

    def next(self) -> tuple[int, Activity]:
        """Return the next learner and a quiz they may still attempt, and count the attempt."""
        if not self.order:
            self.order = list(self.programme.sessions)
        learner_id = self.order.pop()
        tried = self.programme.handed_in
        quiz = min(self.quizzes, key=lambda q: tried.get((learner_id, q.id), 0))
        if tried.get((learner_id, quiz.id), 0) >= quiz.max_attempts:
            raise SystemExit("the learners ran out of quiz attempts: ask for fewer --submissions")
        tried[(learner_id, quiz.id)] = tried.get((learner_id, quiz.id), 0) + 1
        return learner_id, quiz


@dataclass
class Samples:
    """Each timed run's wall-clock and CPU seconds (CPU of this process: all of it on SQLite)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def measure(ways: Mapping[str, Callable[[], Callable[[], object]]], repeat: int) -> dict[str, Samples]:
    """Time each way ``repeat`` times, taking turns so that a change of load on the machine hits all alike.

    A way is a function that prepares one submission (untimed) and returns the action to time.
    """
    for prepare in ways.values():
        for _ in range(WARM_UP):
            prepare()()
    figures = {name: Samples() for name in ways}
    for _ in range(repeat):
        for name, prepare in ways.items():
            action = prepare()
            cpu, wall = time.process_time(), time.perf_counter()
            action()
            figures[name].wall.append(time.perf_counter() - wall)
            figures[name].cpu.append(time.process_time() - cpu)
    return figures


def web_submission(client: FlaskClient, tokens: Any, turns: Turns, catalog: Catalog,
                   rng: random.Random) -> Callable[[], object]:
    """Start an attempt through the app (untimed); return the timed POST that hands it in."""
    learner_id, quiz = turns.next()
    _, session_id = turns.programme.sessions[learner_id]
    headers = {"X-L2I-Session": tokens.sign(session_id)}
    csrf = tokens.csrf_token(session_id)
    started = client.post(f"/units/{_unit_id_of(catalog, quiz.id)}/activities/{quiz.id}/attempts",
                          data={"csrf_token": csrf}, headers=headers)
    assert started.status_code == 303, started.status_code
    path = urlsplit(started.headers["Location"]).path
    form = {**quiz_form(quiz, rng), "csrf_token": csrf}

    def submit() -> None:
        response = client.post(f"{path}/submit", data=form, headers=headers)
        assert response.status_code == 303, response.status_code
        response.close()
    return submit


def domain_submission(factory: sessionmaker[Session], settings: Settings, app: Flask, turns: Turns,
                      rng: random.Random, swaps: contextlib.AbstractContextManager[object]
                      ) -> Callable[[], object]:
    """Start an attempt and load what a view has at hand (untimed); return the timed hand-in."""
    state = app_state(app)
    learner_id, quiz = turns.next()
    programme = turns.programme
    unit = state.catalog.unit_of_activity(quiz.id)
    assert unit is not None
    where = Where(programme.platform_id, programme.context_id, programme.resource_link_id)
    session = factory()
    attempt = start_attempt(session, learner_id, unit.id, quiz, where)
    session.commit()
    user = session.get(PlatformUser, turns.programme.sessions[learner_id][0])
    platform = session.get(Platform, programme.platform_id)
    context = session.get(Context, programme.context_id)
    assert user is not None and platform is not None
    tracker = Tracker(settings, state.framework, subject_of(user, platform, context, "en"))
    _ = tracker.subject.learner_key, context and context.title
    answers = read_quiz_form(quiz, MultiDict(quiz_form(quiz, rng)))
    return lambda: _hand_in(session, unit, quiz, attempt, answers, settings.proficiency, tracker, swaps)


def _hand_in(session: Session, unit: Unit, quiz: Activity, attempt: Attempt,
             answers: Mapping[str, Any], rule: ProficiencyRule, tracker: Tracker,
             swaps: contextlib.AbstractContextManager[object]) -> None:
    with session, swaps:
        hand_in_quiz(session, unit, quiz, attempt, answers, rule, tracker)
        session.commit()


def _recompute_everything(session: Session, learner_id: int, competency_ids: Iterable[str],
                          rule: ProficiencyRule, *, evidence_id: int | None = None,
                          at: dt.datetime | None = None) -> StandingsUpdate:
    """Naive: recompute every competency the learner has evidence for, from all of it."""
    del competency_ids
    everything = session.scalars(select(Evidence.competency_id).where(Evidence.learner_id == learner_id)
                                 .distinct())
    return update_standings(session, learner_id, list(everything), rule, evidence_id=evidence_id, at=at)


def _insert_row_by_row(session: Session, rows: Iterable[Mapping[str, Any]]) -> list[Evidence]:
    """Naive: each evidence row inserted and flushed on its own."""
    inserted = []
    for row in rows:
        evidence = Evidence(**row)
        session.add(evidence)
        session.flush()
        inserted.append(evidence)
    return inserted


def _enqueue_row_by_row(session: Session, envelopes: Iterable[outbox.Envelope], *,
                        now: dt.datetime | None = None, check: Callable[..., list[str]] | None = None) -> int:
    """Naive: each outbox message validated and inserted with its own INSERT."""
    count = 0
    for envelope in envelopes:
        queued = outbox.enqueue(session, [envelope], now=now, **({"check": check} if check else {}))
        session.flush()
        count += queued
    return count


@contextlib.contextmanager
def naive(recompute: bool, row_by_row: bool) -> Iterator[None]:
    """Swap the engine's incremental update and/or batched inserts for the naive ones."""
    with contextlib.ExitStack() as stack:
        if recompute:
            stack.enter_context(mock.patch("competencies.evidence.update_standings", _recompute_everything))
        if row_by_row:
            stack.enter_context(mock.patch("competencies.evidence.insert_evidence", _insert_row_by_row))
            stack.enter_context(mock.patch.object(learning, "enqueue", _enqueue_row_by_row))
        yield


def count_rows(engine: Engine) -> dict[str, int]:
    """Return the row counts of the tables a submission writes."""
    tables = ["competency_evidence", "attempt", "competency_proficiency", "proficiency_history",
              "outbox_message", "learner"]
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def report(figures: Mapping[str, Samples], engine_way: str) -> None:
    """Print each way's wall-clock p50/p95/p99 and CPU p50/p95, and its ratio to the engine's domain call."""
    base = figures[engine_way].wall
    print(f"{'way':58} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'cpu p50':>7} {'cpu p95':>7} "
          f"{'runs':>5} {'x p50':>6} {'x p95':>6}")
    for name, samples in figures.items():
        p50, p95, p99 = (percentile(samples.wall, share) for share in (0.5, 0.95, 0.99))
        print(f"{name:58} {p50:7.2f} {p95:7.2f} {p99:7.2f} {percentile(samples.cpu, 0.5):7.2f} "
              f"{percentile(samples.cpu, 0.95):7.2f} {len(samples.wall):5d} "
              f"{p50 / percentile(base, 0.5):6.2f} {p95 / percentile(base, 0.95):6.2f}")


def checkpointing_in_the_request(settings: Settings, checkpoints: threading.Event, turns: Turns,
                                 rng: random.Random, submissions: int) -> dict[str, Samples]:
    """Time submissions through an app whose connections checkpoint SQLite's WAL themselves, as before.

    The checkpointer thread is stopped and SQLite's default of 1,000 pages restored for this
    second app's connections; measured after the other ways, so not in turns with them.
    """
    checkpoints.set()
    ours, l2i_engine.AUTOCHECKPOINT_PAGES = l2i_engine.AUTOCHECKPOINT_PAGES, SQLITE_DEFAULT_AUTOCHECKPOINT
    before = create_app(settings)
    try:
        state = app_state(before)
        client = before.test_client()
        return measure({"through the app, checkpoints in the request (before)": lambda: web_submission(
            client, state.tokens, turns, state.catalog, rng)}, submissions)
    finally:
        app_state(before).engine.dispose()
        l2i_engine.AUTOCHECKPOINT_PAGES = ours


def run(database_url: str, evidence: int, submissions: int) -> None:
    """Seed, measure and print."""
    upgrade_database(database_url)
    settings = load_settings({"L2I_SECRET_KEY": secrets.token_urlsafe(48), "L2I_DATABASE_URL": database_url,
                              "L2I_LRS_ENDPOINT": "https://lrs.example.org/xapi/",
                              "L2I_INSTANCE_PATH": str(Path(tempfile.gettempdir()) / "l2i-bench")})
    app = create_app(settings)
    state = app_state(app)
    engine = create_db_engine(database_url)
    try:
        started = time.perf_counter()
        programme = seed(engine, state.catalog, settings.proficiency, evidence)
        fill = time.perf_counter() - started
        open_sessions(engine, programme, submissions)
        before = count_rows(engine)
        client, rng, factory = app.test_client(), random.Random(23), create_session_factory(engine)
        quizzes = [a for a in state.catalog.activities() if a.auto_graded]
        turns = Turns(programme, quizzes)
        engine_way = "domain call alone (hand_in_quiz + commit)"

        def domain(recompute: bool = False, row_by_row: bool = False) -> Callable[[], Callable[[], object]]:
            return lambda: domain_submission(factory, settings, app, turns, rng, naive(recompute, row_by_row))
        checkpoints = start_wal_checkpointer(state.engine)   # as each gunicorn worker does (SQLite)
        freeze_startup_objects()    # as each gunicorn worker does once the app is built
        load = os.getloadavg()[0]
        figures = measure({
            "through the app (POST /attempts/<id>/submit)": lambda: web_submission(
                client, state.tokens, turns, state.catalog, rng),
            engine_way: domain(),
            "naive: recompute all the learner's competencies": domain(recompute=True),
            "naive: one INSERT per evidence and outbox row": domain(row_by_row=True),
            "naive: both": domain(recompute=True, row_by_row=True),
        }, submissions)
        if checkpoints is not None:
            figures.update(checkpointing_in_the_request(settings, checkpoints, turns, rng, submissions))
        after = count_rows(engine)
        print(f"database: {engine.dialect.name}; machine: {host.machine()}, {os.cpu_count()} cores, "
              f"{host.python_implementation()} {host.python_version()}; load average {load:.1f} before "
              f"the runs, {os.getloadavg()[0]:.1f} after")
        print(f"filled in {fill:.1f} s: {before['competency_evidence']:,} evidence rows, "
              f"{programme.learners:,} learners, {before['attempt']:,} attempts, "
              f"{before['competency_proficiency']:,} standings (and as many history rows)")
        runs = sum(len(s.wall) + WARM_UP for s in figures.values())
        print(f"{runs} submissions wrote {after['competency_evidence'] - before['competency_evidence']:,} "
              f"evidence rows, {after['proficiency_history'] - before['proficiency_history']:,} history rows "
              f"and {after['outbox_message'] - before['outbox_message']:,} outbox rows")
        report(figures, engine_way)
    finally:
        state.engine.dispose()
        release(engine)


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--evidence", type=int, default=1_000_000, help="evidence rows to fill in first")
    parser.add_argument("--submissions", type=int, default=300, help="timed submissions of each way")
    options = parser.parse_args()
    if options.evidence < 1000 or options.submissions < 20:
        parser.error("use at least --evidence 1000 and --submissions 20")
    run_on_database(run, options.database_url, options.evidence, options.submissions)


if __name__ == "__main__":
    main()
