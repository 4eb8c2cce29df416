"""Benchmark: the course dashboard, the programme view and the proficiency export, at programme scale.

    .venv/bin/python bench/dashboard.py [--database-url URL] [--learners 1000] [--others 49000]
                                        [--evidence 5000000]

Builds a programme of ``--learners`` + ``--others`` learners (default 50,000) in ten courses of
two institutions, with a framework of 30 competencies: the measured course has ``--learners``
learners, the others share nine other courses. Every learner has a standing in all 30
competencies (and its history), pages read, attempts, completed units and a share of
``--evidence`` evidence rows (default 5,000,000). It prints how long the fill took, then measures
in the same run (p50/p95):

* the course dashboard page (``GET /trainer`` as the course's trainer: filters, heatmap of one
  page of 100 learners, three charts and their tables), unfiltered, filtered, and sorted by a
  competency on a later page;
* its CSV export; the programme view page (every learner of the programme) with the figures the
  worker counted, and counting them (what every view of the page did before the worker did it);
* the API's proficiency export (``GET /api/v1/proficiency``, 1,000 rows a page): the first and the
  last page of the institution's rows, and the measured course's rows read page by page;
* the building of the dashboard's data alone (``build_course_view``);
* the course dashboard page again with the collector not frozen: each gunicorn worker freezes
  the objects it holds at start (``lti_tool.server.freeze_startup_objects``), and so does this
  benchmark, as the way before that;
* naive: the same rows read learner by learner (each learner's progress and standings with the
  per-learner queries the learner's own pages use).

The default is the full scale on SQLite (a temporary file): the fill takes a few minutes on two
cores and the whole run under ten. ``--others 4000 --evidence 100000`` gives a quick run.
Pass a PostgreSQL URL to run there (the database must exist and be empty; the schema is created
with the migrations and dropped afterwards); there the rows are written with COPY.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import json
import logging
import platform as host
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from proficiency import percentile, release, run_on_database, timed  # bench/ is on sys.path as a script
from sqlalchemy import Connection, Engine, insert, text

from competencies.framework import Framework, framework_from_dict, framework_to_dict, load_framework
from competencies.proficiency import proficiencies_of
from competencies.store import save_framework
from course_units.content import Catalog
from course_units.progress import programme_progress
from l2i_db import create_db_engine, create_session_factory, utcnow
from lti_tool import vocabulary as v
from lti_tool.api_keys import create_api_key
from lti_tool.app import create_app
from lti_tool.cohorts import CohortFilter, build_course_view
from lti_tool.migrate import upgrade_database
from lti_tool.models import Context, Deployment, Platform, ToolSession
from lti_tool.programme_snapshot import count_programme
from lti_tool.server import freeze_startup_objects
from lti_tool.settings import load_settings
from lti_tool.web.state import app_state

COURSES_PER_PLATFORM = 5
COMPETENCIES = 30
CHUNK = 2000            # learners generated and written at a time
PER_PAGE = 1000         # the API's largest page

Row = tuple[Any, ...]


# -- the programme's framework: the bundled one widened to 30 competencies --------------------

def widen_framework(competencies: int) -> Framework:
    """Return the bundled framework with domains copied from its last until it has ``competencies``."""
    document = framework_to_dict(load_framework())
    template = document["domains"][-1]
    count = sum(len(d["competencies"]) for d in document["domains"])
    domain_number = len(document["domains"])
    while count < competencies:
        domain_number += 1
        domain = copy.deepcopy(template)
        domain["idnumber"] = f"L2I-D{domain_number}"
        domain["competencies"] = domain["competencies"][:competencies - count]
        for index, competency in enumerate(domain["competencies"], start=1):
            competency["idnumber"] = f"L2I-C{domain_number}.{index}"
            for letter, indicator in zip("abcdefghij", competency["indicators"], strict=False):
                indicator["idnumber"] = f"L2I-C{domain_number}.{index}.{letter}"
        document["domains"].append(domain)
        count += len(domain["competencies"])
    return framework_from_dict(document, source="bench")


def store_framework(engine: Engine, framework: Framework) -> None:
    """Make ``framework`` the active one (the app reads it when it starts)."""
    with create_session_factory(engine)() as session:
        save_framework(session, framework, "bench/dashboard.py")
        session.commit()


# -- bulk writing: executemany on SQLite, COPY on PostgreSQL -----------------------------------

class BulkWriter:
    """Writes rows of plain values straight through the driver, inside the caller's transaction."""

    def __init__(self, conn: Connection) -> None:
        """Write through ``conn``'s driver connection."""
        self.postgres = conn.dialect.name == "postgresql"
        self.raw = conn.connection.dbapi_connection
        self.written = 0
        self._stamps: dict[dt.datetime, Any] = {}

    def stamp(self, moment: dt.datetime) -> Any:
        """Return an aware UTC time as the driver stores it (naive UTC; text on SQLite)."""
        stored = self._stamps.get(moment)
        if stored is None:
            naive = moment.astimezone(dt.UTC).replace(tzinfo=None)
            stored = naive if self.postgres else naive.strftime("%Y-%m-%d %H:%M:%S.%f")
            self._stamps[moment] = stored
        return stored

    def write(self, table: str, columns: tuple[str, ...], rows: list[Row]) -> None:
        """Append ``rows`` (tuples in the order of ``columns``) to ``table``."""
        if not rows:
            return
        names = ", ".join(columns)
        assert self.raw is not None
        cursor = self.raw.cursor()
        try:
            if self.postgres:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as stream:
                    for row in rows:
                        stream.write_row(row)
            else:
                marks = ", ".join("?" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        finally:
            cursor.close()
        self.written += len(rows)

    def finish(self, conn: Connection, tables_with_ids: tuple[str, ...]) -> None:
        """Move PostgreSQL's id sequences past the ids written explicitly, and gather statistics."""
        if not self.postgres:
            return
        for table in tables_with_ids:
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))


# -- the programme's rows -------------------------------------------------------------------

@dataclass
class Shape:
    """How big the programme is and where its learners study."""

    learners: int
    others: int
    evidence: int
    course_ids: list[tuple[int, int]]      # (platform id, context id), the measured course first

    @property
    def everyone(self) -> int:
        """Return how many learners the programme has."""
        return self.learners + self.others

    def course_of(self, n: int) -> tuple[int, int]:
        """Return the (platform id, context id) of the ``n``-th learner's course."""
        if n < self.learners:
            return self.course_ids[0]
        return self.course_ids[1 + n % (len(self.course_ids) - 1)]

    def evidence_of(self, n: int) -> int:
        """Return how many evidence rows the ``n``-th learner has (the total spread evenly)."""
        share, extra = divmod(self.evidence, self.everyone)
        return share + (1 if n < extra else 0)


TABLES: dict[str, tuple[str, ...]] = {
    "learner": ("id", "key", "created_at"),
    "platform_user": ("id", "issuer", "sub", "learner_id", "name", "family_name", "created_at",
                      "last_launch_at"),
    "membership": ("user_id", "context_id", "roles", "studies", "updated_at"),
    "competency_proficiency": ("learner_id", "competency_id", "score", "level", "sources", "overridden",
                               "updated_at"),
    "proficiency_history": ("learner_id", "competency_id", "score", "level", "sources", "overridden", "at"),
    "page_visit": ("learner_id", "unit_id", "page_id", "first_at", "last_at"),
    "attempt": ("learner_id", "unit_id", "activity_id", "activity_version", "number", "status", "score",
                "answers", "platform_id", "context_id", "created_at", "saved_at"),
    "unit_completion": ("learner_id", "unit_id", "unit_version", "completed_at"),
    "competency_evidence": ("learner_id", "competency_id", "kind", "score", "weight", "activity_id",
                            "platform_id", "context_id", "created_at"),
}


class RowMaker:
    """Makes one learner's rows of every table, of a random pace, as plain tuples."""

    def __init__(self, writer: BulkWriter, shape: Shape, catalog: Catalog, framework: Framework,
                 now: dt.datetime) -> None:
        """Remember what the rows refer to; precompute the times they use."""
        self.writer, self.shape, self.catalog = writer, shape, catalog
        self.competency_ids = [c.idnumber for c in framework.competencies()]
        self.activities = [a.id for u in catalog.units for a in u.activities]
        self.rng = random.Random(5)
        self.days = [writer.stamp(now - dt.timedelta(days=d)) for d in range(120)]
        self.now = writer.stamp(now)
        self.learner_roles = json.dumps([v.ROLE_LEARNER])

    def rows_of(self, n: int, tables: dict[str, list[Row]]) -> None:
        """Append the ``n``-th learner's rows (learner id ``n + 1``) to ``tables``."""
        rng, now, days = self.rng, self.now, self.days
        learner_id = n + 1
        platform_id, context_id = self.shape.course_of(n)
        tables["learner"].append((learner_id, secrets.token_hex(16), now))
        issuer = f"https://lms{platform_id}.example.org"
        tables["platform_user"].append((learner_id, issuer, str(n), learner_id,
                                        f"Learner {n:05d}", f"{n:05d}", now, now))
        tables["membership"].append((learner_id, context_id, self.learner_roles, True, now))
        pace = rng.random()
        for competency_id in self.competency_ids:
            level = min(4, max(1, round(pace * 4 + rng.uniform(-1, 1)))) if pace > 0.15 else None
            at = rng.randint(0, 80)
            tables["competency_proficiency"].append(
                (learner_id, competency_id, pace, level, 2, False, days[at]))
            tables["proficiency_history"].extend(
                (learner_id, competency_id, pace, step, 2, False,
                 days[min(119, at + 7 * ((level or 1) - step))])
                for step in range(1, (level or 0) + 1))
        self._progress_rows(learner_id, platform_id, context_id, pace, tables)
        activities, competencies = self.activities, self.competency_ids
        tables["competency_evidence"].extend(
            (learner_id, competencies[k % len(competencies)], "attempt", round(rng.random(), 3), 1.0,
             activities[k % len(activities)], platform_id, context_id, days[k % 90])
            for k in range(self.shape.evidence_of(n)))

    def _progress_rows(self, learner_id: int, platform_id: int, context_id: int, pace: float,
                       tables: dict[str, list[Row]]) -> None:
        rng, now, units = self.rng, self.now, self.catalog.units
        units_done = int(pace * len(units))
        for index, unit in enumerate(units[:units_done + 1]):
            seen = unit.pages if index < units_done else unit.pages[:rng.randint(0, len(unit.pages))]
            tables["page_visit"].extend((learner_id, unit.id, p.id, now, self.days[rng.randint(0, 30)])
                                        for p in seen)
            if index < units_done:
                tables["attempt"].extend((learner_id, unit.id, a.id, 1, 1, "graded", pace, "{}", platform_id,
                                          context_id, now, now) for a in unit.activities)
                tables["unit_completion"].append((learner_id, unit.id, 1, now))


def _chunks(total: int) -> Iterator[range]:
    for start in range(0, total, CHUNK):
        yield range(start, min(total, start + CHUNK))


def _add_courses(conn: Connection, now: dt.datetime) -> list[tuple[int, int]]:
    courses = []
    for p in range(2):
        platform_id = conn.execute(insert(Platform).values(
            name=f"Institution {p + 1}", issuer=f"https://lms{p}.example.org", client_id="bench",
            auth_login_url="https://x/a", auth_token_url="https://x/t", key_set_url="https://x/k",
            xapi_actor="account", created_at=now).returning(Platform.id)).scalar_one()
        deployment_id = conn.execute(insert(Deployment).values(
            platform_id=platform_id, deployment_id="1", created_at=now,
        ).returning(Deployment.id)).scalar_one()
        courses += [(platform_id, conn.execute(insert(Context).values(
            deployment_id=deployment_id, context_id=f"c{p}-{c}", title=f"Course {p}-{c}", types=[],
            created_at=now).returning(Context.id)).scalar_one()) for c in range(COURSES_PER_PLATFORM)]
    return courses


def _add_trainer(conn: Connection, writer: BulkWriter, shape: Shape, now: dt.datetime) -> str:
    """Add the measured course's trainer and their tool session; return the session's id."""
    trainer = shape.everyone + 1
    platform_id, context_id = shape.course_ids[0]
    stamp = writer.stamp(now)
    writer.write("learner", TABLES["learner"], [(trainer, "trainer", stamp)])
    writer.write("platform_user", TABLES["platform_user"], [
        (trainer, f"https://lms{platform_id}.example.org", "trainer", trainer, "The Trainer", "Trainer",
         stamp, stamp)])
    writer.write("membership", TABLES["membership"], [
        (trainer, context_id, json.dumps([v.ROLE_INSTRUCTOR]), False, stamp)])
    session_id = secrets.token_urlsafe(32)
    conn.execute(insert(ToolSession).values(
        id=session_id, user_id=trainer, platform_id=platform_id, context_id=context_id,
        roles=[v.ROLE_INSTRUCTOR, v.ROLE_INSTITUTION_ADMINISTRATOR], message_type="LtiResourceLinkRequest",
        locale="en", custom={}, created_at=now, expires_at=now + dt.timedelta(hours=8)))
    return session_id


def seed(engine: Engine, catalog: Catalog, framework: Framework,
         shape_wanted: Shape) -> tuple[Shape, str, int]:
    """Write the programme; return its shape, the trainer's tool session id and how many rows were written."""
    now = utcnow()
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")   # a throw-away file: no need to wait for the disk
        shape = Shape(shape_wanted.learners, shape_wanted.others, shape_wanted.evidence,
                      _add_courses(conn, now))
        writer = BulkWriter(conn)
        maker = RowMaker(writer, shape, catalog, framework, now)
        for chunk in _chunks(shape.everyone):
            tables: dict[str, list[Row]] = {name: [] for name in TABLES}
            for n in chunk:
                maker.rows_of(n, tables)
            for name, rows in tables.items():
                writer.write(name, TABLES[name], rows)
        session_id = _add_trainer(conn, writer, shape, now)
        writer.finish(conn, ("learner", "platform_user", "membership"))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # What autovacuum does soon after a bulk load (PostgreSQL 13 and later vacuum after
            # inserts too): statistics, and the visibility map that lets index-only scans skip the table.
            conn.exec_driver_sql("VACUUM ANALYZE")
    return shape, session_id, writer.written


def add_api_token(engine: Engine, platform_id: int) -> str:
    """Create an API key of the measured course's institution; return its bearer token."""
    with create_session_factory(engine)() as session:
        platform = session.get(Platform, platform_id)
        assert platform is not None
        _, token = create_api_key(session, platform, "bench")
        session.commit()
    return token


# -- measuring -------------------------------------------------------------------------------

def report(figures: dict[str, list[float]]) -> None:
    """Print p50/p95 of each way."""
    print(f"{'way':66} {'p50 ms':>9} {'p95 ms':>9} {'runs':>5}")
    for name, samples in figures.items():
        print(f"{name:66} {percentile(samples, 0.5):9.1f} {percentile(samples, 0.95):9.1f} {len(samples):5d}")


def getter(client: FlaskClient, headers: dict[str, str]) -> Callable[..., Callable[[], object]]:
    """Return a maker of GET actions that check for 200."""
    def page(path: str, **query: str) -> Callable[[], object]:
        def get() -> object:
            response = client.get(path, query_string=query, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            response.close()
            return None
        return get
    return page


def export_walker(client: FlaskClient, token: str, context_id: int) -> Callable[[], object]:
    """Return an action reading all of one course's proficiency rows from the API, page by page."""
    headers = {"Authorization": f"Bearer {token}"}

    def walk() -> object:
        page, rows = 1, 0
        while True:
            response = client.get("/api/v1/proficiency", headers=headers,
                                  query_string={"context": str(context_id), "per_page": str(PER_PAGE),
                                                "page": str(page)})
            assert response.status_code == 200, response.status_code
            body = response.get_json()
            rows += len(body["items"])
            if body["next"] is None:
                return rows
            page += 1
    return walk


def unfrozen(action: Callable[[], object], runs: int) -> list[float]:
    """Time ``action`` with the startup objects back in the collector's walks (as before the freeze)."""
    gc.unfreeze()
    try:
        return timed(action, runs)
    finally:
        freeze_startup_objects()


def run(database_url: str, learners: int, others: int, evidence: int) -> None:
    """Seed, measure and print."""
    # each count logs its duration; the figures below say it for all of them
    logging.getLogger("lti_tool.programme_snapshot").setLevel(logging.WARNING)
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    framework = widen_framework(COMPETENCIES)
    store_framework(engine, framework)
    settings = load_settings({"L2I_SECRET_KEY": secrets.token_urlsafe(48), "L2I_DATABASE_URL": database_url,
                              "L2I_INSTANCE_PATH": str(Path(tempfile.gettempdir()) / "l2i-bench")})
    app: Flask = create_app(settings)
    state = app_state(app)
    try:
        assert len(state.framework.competencies()) == COMPETENCIES, "the app did not pick the framework"
        started = time.perf_counter()
        shape, session_id, written = seed(engine, state.catalog, state.framework,
                                          Shape(learners, others, evidence, []))
        fill = time.perf_counter() - started
        print(f"filled {written:,} rows in {fill:.1f} s ({written / fill:,.0f} rows/s)", flush=True)
        platform_id, context_id = shape.course_ids[0]
        token = add_api_token(engine, platform_id)
        client = app.test_client()
        page = getter(client, {"X-L2I-Session": state.tokens.sign(session_id)})
        api = getter(client, {"Authorization": f"Bearer {token}"})
        factory = create_session_factory(engine)
        with factory() as session:
            platform_rows = session.scalar(text(
                "SELECT count(*) FROM competency_proficiency WHERE learner_id IN (SELECT u.learner_id "
                "FROM platform_user u JOIN membership m ON m.user_id = u.id "
                "JOIN context c ON c.id = m.context_id "
                "JOIN deployment d ON d.id = c.deployment_id WHERE d.platform_id = :p AND m.studies)"
            ).bindparams(p=platform_id)) or 0
        last_page = str(max(1, -(-platform_rows // PER_PAGE)))

        def view_only() -> None:
            with factory() as session:
                build_course_view(session, state.catalog, state.framework, [context_id], CohortFilter())

        def naive() -> None:
            with factory() as session:
                ids = session.scalars(text("SELECT u.learner_id FROM platform_user u JOIN membership m "
                                           "ON m.user_id = u.id WHERE m.context_id = :c AND m.studies")
                                      .bindparams(c=context_id)).all()
                for learner_id in ids:
                    programme_progress(session, state.catalog, learner_id)
                    proficiencies_of(session, learner_id)

        def count_now() -> None:
            with factory() as session:
                count_programme(session, state.framework, utcnow())
                session.commit()

        page("/trainer")()  # warm up
        count_now()         # what the worker does before the page is opened
        freeze_startup_objects()    # as each gunicorn worker does once the app is built
        figures = {
            f"course dashboard page, {learners:,} learners": timed(page("/trainer"), 20),
            "course dashboard page, filtered (competency + level)": timed(
                page("/trainer", competency="L2I-C1.1", level="3"), 20),
            "course dashboard page 5, sorted by a competency, highest first": timed(
                page("/trainer", sort="L2I-C2.1", desc="1", page="5"), 20),
            "course dashboard CSV export": timed(page("/trainer/export.csv"), 10),
            f"programme view page, {shape.everyone:,} learners, stored figures": timed(
                page("/programme"), 20),
            "programme counted now (the worker's job; before: every view)": timed(
                count_now, 10),
            f"API proficiency, first page of {platform_rows:,} rows ({PER_PAGE:,} a page)": timed(
                api("/api/v1/proficiency", per_page=str(PER_PAGE)), 10),
            f"API proficiency, last page (page {last_page})": timed(
                api("/api/v1/proficiency", per_page=str(PER_PAGE), page=last_page), 10),
            f"API proficiency, the course's {learners * COMPETENCIES:,} rows, page by page": timed(
                export_walker(client, token, context_id), 5),
            "dashboard data alone (build_course_view)": timed(view_only, 20),
            "course dashboard page, collector not frozen (before)": unfrozen(page("/trainer"), 20),
            "naive: the same rows read learner by learner": timed(naive, 3),
        }
        print(f"database: {engine.dialect.name}; machine: {host.machine()}, {host.python_implementation()} "
              f"{host.python_version()}; learners in the course: {learners:,}; in the programme: "
              f"{shape.everyone:,}; competencies: {len(state.framework.competencies())}; "
              f"evidence rows: {evidence:,}")
        report(figures)
        data = statistics.median(figures["dashboard data alone (build_course_view)"])
        slow = statistics.median(figures["naive: the same rows read learner by learner"])
        print(f"the grouped queries are {slow / data:,.0f}x faster than reading learner by learner")
    finally:
        state.engine.dispose()
        release(engine)


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--learners", type=int, default=1000, help="learners of the measured course")
    parser.add_argument("--others", type=int, default=49_000, help="learners of the nine other courses")
    parser.add_argument("--evidence", type=int, default=5_000_000, help="evidence rows, spread over everyone")
    options = parser.parse_args()
    run_on_database(run, options.database_url, options.learners, options.others, options.evidence)


if __name__ == "__main__":
    main()
