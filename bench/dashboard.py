"""Benchmark: the trainer's course dashboard and the programme view, against reading learner by learner.

    .venv/bin/python bench/dashboard.py [--database-url URL] [--learners 1000] [--others 4000]

Builds a programme with one course of ``--learners`` learners (the one measured) among
``--others`` learners in nine other courses of two institutions, each learner with a standing
in all 30 competencies (and its history), pages read, attempts and completed units, then measures
in the same run:

* the course dashboard page (``GET /trainer`` through the app, as the course's trainer: filters,
  heatmap of the first 100 learners, three charts and their tables), unfiltered and filtered;
* its CSV export, and the programme view page;
* the building of the dashboard's data alone (``build_course_view``);
* naive: the same rows read learner by learner (each learner's progress and standings with the
  per-learner queries the learner's own pages use).

SQLite by default (a temporary file); pass a PostgreSQL URL to run there (the database must
exist and be empty; the schema is created with the migrations and dropped afterwards).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform as host
import random
import secrets
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from proficiency import percentile, release, run_on_database, timed  # bench/ is on sys.path as a script
from sqlalchemy import Engine, insert, text

from competencies.framework import Framework
from competencies.models import Proficiency, ProficiencyChange
from competencies.proficiency import proficiencies_of
from course_units.content import Catalog
from course_units.models import Attempt, PageVisit, UnitCompletion
from course_units.progress import programme_progress
from l2i_db import Base, create_db_engine, create_session_factory, utcnow
from lti_tool import vocabulary as v
from lti_tool.app import create_app
from lti_tool.cohorts import CohortFilter, build_course_view
from lti_tool.migrate import upgrade_database
from lti_tool.models import Context, Deployment, Learner, Membership, Platform, PlatformUser, ToolSession
from lti_tool.settings import load_settings
from lti_tool.web.state import app_state

COURSES_PER_PLATFORM = 5


def _insert(conn: Any, model: type[Base], rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        conn.execute(insert(model), rows[start:start + 5000])


def _learner_rows(rng: random.Random, learner_id: int, catalog: Catalog, framework: Framework,
                  now: dt.datetime) -> dict[type[Base], list[dict[str, Any]]]:
    """One learner's standings, history, pages, attempts and completions, of a random pace."""
    pace = rng.random()
    units_done = int(pace * len(catalog.units))
    rows: dict[type[Base], list[dict[str, Any]]] = {m: [] for m in (Proficiency, ProficiencyChange, PageVisit,
                                                                    Attempt, UnitCompletion)}
    for competency in framework.competencies():
        level = min(4, max(1, round(pace * 4 + rng.uniform(-1, 1)))) if pace > 0.15 else None
        at = now - dt.timedelta(days=rng.randint(0, 80))
        rows[Proficiency].append({"learner_id": learner_id, "competency_id": competency.idnumber,
                                  "level": level,
                                  "score": pace, "sources": 2, "overridden": False, "updated_at": at})
        rows[ProficiencyChange].extend(
            {"learner_id": learner_id, "competency_id": competency.idnumber, "level": step, "score": pace,
             "sources": 2, "overridden": False, "at": at - dt.timedelta(days=7 * (level or 1) - 7 * step)}
            for step in range(1, (level or 0) + 1))
    for index, unit in enumerate(catalog.units[:units_done + 1]):
        seen = unit.pages if index < units_done else unit.pages[:rng.randint(0, len(unit.pages))]
        rows[PageVisit].extend({"learner_id": learner_id, "unit_id": unit.id, "page_id": p.id,
                                "first_at": now,
                                "last_at": now - dt.timedelta(days=rng.randint(0, 30))} for p in seen)
        for activity in unit.activities if index < units_done else ():
            rows[Attempt].append({"learner_id": learner_id, "unit_id": unit.id, "activity_id": activity.id,
                                  "activity_version": 1, "number": 1, "status": "graded", "score": pace,
                                  "answers": {}, "created_at": now, "saved_at": now})
        if index < units_done:
            rows[UnitCompletion].append({"learner_id": learner_id, "unit_id": unit.id, "unit_version": 1,
                                         "completed_at": now})
    return rows


def seed(engine: Engine, catalog: Catalog, framework: Framework, learners: int,
         others: int) -> tuple[int, str]:
    """Write the programme; return the measured course's id and its trainer's tool session id."""
    rng, now = random.Random(5), utcnow()
    with engine.begin() as conn:
        contexts = []
        for p in range(2):
            platform_id = conn.execute(insert(Platform).values(
                name=f"Institution {p + 1}", issuer=f"https://lms{p}.example.org", client_id="bench",
                auth_login_url="https://x/a", auth_token_url="https://x/t", key_set_url="https://x/k",
                xapi_actor="account", created_at=now).returning(Platform.id)).scalar_one()
            deployment_id = conn.execute(insert(Deployment).values(
                platform_id=platform_id, deployment_id="1", created_at=now,
            ).returning(Deployment.id)).scalar_one()
            contexts += [(p, platform_id, conn.execute(insert(Context).values(
                deployment_id=deployment_id, context_id=f"c{p}-{c}", title=f"Course {p}-{c}", types=[],
                created_at=now).returning(Context.id)).scalar_one()) for c in range(COURSES_PER_PLATFORM)]
        batches: dict[type[Base], list[dict[str, Any]]] = {}
        users: list[dict[str, Any]] = []
        members: list[dict[str, Any]] = []
        for n in range(learners + others):
            index, _, context_id = contexts[0] if n < learners else contexts[1 + n % (len(contexts) - 1)]
            learner_id = conn.execute(insert(Learner).values(key=secrets.token_hex(16), created_at=now)
                                      .returning(Learner.id)).scalar_one()
            users.append({"id": n + 1, "issuer": f"https://lms{index}.example.org", "sub": str(n),
                          "learner_id": learner_id, "name": f"Learner {n:05d}", "family_name": f"{n:05d}",
                          "created_at": now, "last_launch_at": now})
            members.append({"user_id": n + 1, "context_id": context_id, "roles": [v.ROLE_LEARNER],
                            "studies": True, "updated_at": now})
            for model, rows in _learner_rows(rng, learner_id, catalog, framework, now).items():
                batches.setdefault(model, []).extend(rows)
        trainer_learner = conn.execute(insert(Learner).values(key="trainer", created_at=now)
                                       .returning(Learner.id)).scalar_one()
        users.append({"id": len(users) + 1, "issuer": "https://lms0.example.org", "sub": "trainer",
                      "learner_id": trainer_learner, "name": "The Trainer", "family_name": "Trainer",
                      "created_at": now, "last_launch_at": now})
        members.append({"user_id": len(users), "context_id": contexts[0][2], "roles": [v.ROLE_INSTRUCTOR],
                        "studies": False, "updated_at": now})
        _insert(conn, PlatformUser, users)
        _insert(conn, Membership, members)
        for model, rows in batches.items():
            _insert(conn, model, rows)
        session_id = secrets.token_urlsafe(32)
        conn.execute(insert(ToolSession).values(
            id=session_id, user_id=len(users), platform_id=contexts[0][1], context_id=contexts[0][2],
            roles=[v.ROLE_INSTRUCTOR, v.ROLE_INSTITUTION_ADMINISTRATOR],
            message_type="LtiResourceLinkRequest",
            locale="en", custom={}, created_at=now, expires_at=now + dt.timedelta(hours=8)))
    return contexts[0][2], session_id


def report(figures: dict[str, list[float]]) -> None:
    """Print p50/p95 of each way."""
    print(f"{'way':64} {'p50 ms':>9} {'p95 ms':>9} {'runs':>5}")
    for name, samples in figures.items():
        print(f"{name:64} {percentile(samples, 0.5):9.1f} {percentile(samples, 0.95):9.1f} {len(samples):5d}")


def run(database_url: str, learners: int, others: int) -> None:
    """Seed, measure and print."""
    upgrade_database(database_url)
    settings = load_settings({"L2I_SECRET_KEY": secrets.token_urlsafe(48), "L2I_DATABASE_URL": database_url,
                              "L2I_INSTANCE_PATH": str(Path(tempfile.gettempdir()) / "l2i-bench")})
    app: Flask = create_app(settings)
    state = app_state(app)
    engine = create_db_engine(database_url)
    try:
        context_id, session_id = seed(engine, state.catalog, state.framework, learners, others)
        client = app.test_client()
        headers = {"X-L2I-Session": state.tokens.sign(session_id)}

        def page(path: str, **query: str) -> Callable[[], object]:
            def get() -> object:
                response = client.get(path, query_string=query, headers=headers)
                assert response.status_code == 200, response.status_code
                return response.close()
            return get

        factory = create_session_factory(engine)

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

        page("/trainer")()  # warm up
        figures = {
            f"course dashboard page, {learners:,} learners": timed(page("/trainer"), 20),
            "course dashboard page, filtered (competency + level)": timed(
                page("/trainer", competency="L2I-C1.1", level="3"), 20),
            "course dashboard CSV export": timed(page("/trainer/export.csv"), 10),
            f"programme view page, {learners + others:,} learners": timed(page("/programme"), 10),
            "dashboard data alone (build_course_view)": timed(view_only, 20),
            "naive: the same rows read learner by learner": timed(naive, 3),
        }
        print(f"database: {engine.dialect.name}; machine: {host.machine()}, {host.python_implementation()} "
              f"{host.python_version()}; learners in the course: {learners:,}; in the programme: "
              f"{learners + others:,}; competencies: {len(state.framework.competencies())}")
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
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--others", type=int, default=4000)
    options = parser.parse_args()
    run_on_database(run, options.database_url, options.learners, options.others)


if __name__ == "__main__":
    main()
