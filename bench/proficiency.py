"""Benchmark: updating proficiency when evidence arrives, against recomputing everyone.

    .venv/bin/python bench/proficiency.py [--database-url URL] [--learners 200] [--rows 10000]

Builds a database with one learner holding ``--rows`` evidence rows (24 competencies, 12
activities, several attempts each) among ``--learners`` other learners with 500 rows each, then
measures, in the same run:

* incremental: one new graded attempt (5 competencies) written and that learner's proficiency
  updated, the way the engine does it on every submission;
* one learner: recomputing all of that learner's competencies from their 10,000 rows;
* naive: recomputing every learner's proficiency from all evidence after one new attempt.

SQLite by default (a temporary file); pass a PostgreSQL URL to run there (the database must
exist and be empty; the schema is created with the migrations and dropped afterwards).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, insert, select, text

from competencies.evidence import Origin, write_attempt_evidence
from competencies.models import Evidence
from competencies.proficiency import ProficiencyRule, recompute_learner
from l2i_db import Base, create_db_engine, create_session_factory, utcnow
from lti_tool.migrate import load_metadata, upgrade_database
from lti_tool.models import Learner

COMPETENCIES = [f"L2I-C{d}.{c}" for d in range(1, 9) for c in range(1, 4)]
ACTIVITIES = [f"u{u}-{kind}" for u in range(1, 6) for kind in ("quiz", "reflection")] + ["u3-lab-canvas", "x"]
RULE = ProficiencyRule()


def percentile(samples: list[float], share: float) -> float:
    """Return the ``share`` percentile of ``samples`` (nearest rank), in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def seed(engine: Engine, learners: int, rows: int) -> tuple[int, list[int]]:
    """Insert the learners and their evidence; return the heavy learner's id and all ids."""
    rng = random.Random(7)
    now = utcnow()
    with engine.begin() as conn:
        ids = [conn.execute(insert(Learner).values(key=f"bench-{i}", created_at=now)
                            .returning(Learner.id)).scalar_one() for i in range(learners + 1)]
        batch: list[dict[str, object]] = []
        for learner_id, count in [(ids[0], rows)] + [(i, 500) for i in ids[1:]]:
            for _ in range(count):
                batch.append({"learner_id": learner_id, "competency_id": rng.choice(COMPETENCIES),
                              "kind": "attempt", "score": round(rng.random(), 4), "weight": 1.0,
                              "activity_id": rng.choice(ACTIVITIES), "created_at": now})
                if len(batch) >= 5000:
                    conn.execute(insert(Evidence), batch)
                    batch = []
        if batch:
            conn.execute(insert(Evidence), batch)
    return ids[0], ids


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    """Run ``action`` ``repeat`` times and return each duration in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def run(database_url: str, learners: int, rows: int) -> None:
    """Seed, measure and print the three ways."""
    upgrade_database(database_url)
    engine = create_db_engine(database_url)
    factory = create_session_factory(engine)
    try:
        heavy, everyone = seed(engine, learners, rows)
        with factory() as session:
            total = session.scalar(select(Evidence.id).order_by(Evidence.id.desc()).limit(1))
        rng = random.Random(11)

        def incremental() -> None:
            with factory() as session:
                chosen = rng.sample(COMPETENCIES, 5)
                write_attempt_evidence(
                    session, learner_id=heavy, activity_id="u1-quiz", attempt_id=None,
                    competency_scores={c: rng.random() for c in chosen}, weights=dict.fromkeys(chosen, 1.0),
                    origin=Origin(), rule=RULE)
                session.commit()

        def one_learner() -> None:
            with factory() as session:
                recompute_learner(session, heavy, RULE)
                session.commit()

        def naive_everyone() -> None:
            incremental()
            with factory() as session:
                for learner_id in everyone:
                    recompute_learner(session, learner_id, RULE)
                session.commit()

        one_learner()  # warm up: creates the proficiency rows once
        figures = {
            "incremental (new attempt, 1 learner, 5 competencies)": timed(incremental, 200),
            f"recompute one learner ({rows:,} rows, 24 competencies)": timed(one_learner, 20),
            f"naive: recompute all {len(everyone)} learners": timed(naive_everyone, 3),
        }
        print(f"database: {engine.dialect.name}; evidence rows: {total:,}; learners: {len(everyone)}")
        print(f"{'way':58} {'p50 ms':>9} {'p95 ms':>9} {'runs':>5}")
        for name, samples in figures.items():
            print(f"{name:58} {percentile(samples, 0.5):9.2f} {percentile(samples, 0.95):9.2f} "
                  f"{len(samples):5d}")
        naive = statistics.median(figures[f"naive: recompute all {len(everyone)} learners"])
        incr = statistics.median(figures["incremental (new attempt, 1 learner, 5 competencies)"])
        print(f"incremental is {naive / incr:,.0f}x faster than recomputing everyone")
    finally:
        release(engine)


def release(engine: Engine) -> None:
    """Drop the benchmark's schema from PostgreSQL (a SQLite file goes with its folder); dispose."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            load_metadata()
            Base.metadata.drop_all(conn)
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


def run_on_database(run: Callable[..., None], database_url: str | None, *args: object) -> None:
    """Run a benchmark on ``database_url``, or on a temporary SQLite file when it is None."""
    if database_url:
        run(database_url, *args)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", *args)


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--learners", type=int, default=200)
    parser.add_argument("--rows", type=int, default=10_000)
    options = parser.parse_args()
    run_on_database(run, options.database_url, options.learners, options.rows)


if __name__ == "__main__":
    main()
