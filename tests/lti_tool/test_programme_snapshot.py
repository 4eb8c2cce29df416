"""The programme view's stored figures: equal to counting now, served while fresh, counted again when due.

On SQLite and PostgreSQL, with the random programme of ``test_dashboard_counts`` and, for the page,
after real launches.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
import threading

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.framework import Framework
from competencies.models import Proficiency
from l2i_db import utcnow
from lti_tool.access import grant_programme
from lti_tool.models import Learner, ProgrammeSnapshot
from lti_tool.programme import ProgrammeView, build_programme_view
from lti_tool.programme_snapshot import (
    count_programme,
    dump_view,
    framework_signature,
    load_view,
    read_counted,
    read_programme,
    refresh_when_due,
)
from lti_tool.web.state import app_state
from lti_tool.worker import count_programme_if_due, keep_programme_counted
from tests.fixtures.lti import LaunchDriver
from tests.lti_tool.test_dashboard_counts import add_platform, build_programme, join
from tests.lti_tool.test_dashboards import do_quiz, trainer
from tests.lti_tool.test_learning_flow import csrf_of

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
FIVE_MINUTES = dt.timedelta(minutes=5)


def framework_of(app: Flask) -> Framework:
    """The app's framework."""
    return app_state(app).framework


def a_programme(app: Flask, session: Session, seed: int = 1) -> Framework:
    """Fill the database with the random programme; return the framework."""
    framework = framework_of(app)
    build_programme(session, random.Random(seed), app_state(app).catalog, framework)
    return framework


def add_proficient_learner(app: Flask, session: Session) -> None:
    """A new learner in a new institution's course, at the top level in every competency."""
    framework = framework_of(app)
    platform, courses = add_platform(session, 9)
    learner = Learner()
    session.add(learner)
    session.flush()
    join(session, learner.id, platform, courses[0], "newcomer")
    top = max(level.level for level in framework.scale.levels)
    session.add_all(Proficiency(learner_id=learner.id, competency_id=c.idnumber, score=1.0, level=top,
                                sources=2) for c in framework.competencies())
    session.commit()


@pytest.mark.parametrize("seed", [1, 2])
def test_stored_figures_equal_counting_now(app: Flask, db_session: Session, seed: int,
                                          caplog: pytest.LogCaptureFixture) -> None:
    framework = a_programme(app, db_session, seed)
    with caplog.at_level(logging.INFO, logger="lti_tool.programme_snapshot"):
        counted = count_programme(db_session, framework, T0)
    assert re.fullmatch(r"programme figures counted in \d+ ms", caplog.records[-1].getMessage())
    db_session.commit()
    db_session.expunge_all()
    stored = read_counted(db_session, framework)
    assert stored is not None and stored.built_at == T0
    live = build_programme_view(db_session, framework)
    assert stored.view == live == counted.view
    assert live.learners > 0 and any(row.proficient_pairs for row in live.courses)


def test_the_payload_survives_json_and_refuses_another_framework(app: Flask, db_session: Session) -> None:
    framework = a_programme(app, db_session)
    view = build_programme_view(db_session, framework)
    payload = json.loads(json.dumps(dump_view(view, framework)))
    assert load_view(payload, framework) == view
    fewer = {**payload, "framework": {**framework_signature(framework),
                                      "competencies": framework_signature(framework)["competencies"][:-1]}}
    assert load_view(fewer, framework) is None
    assert load_view({**payload, "version": 0}, framework) is None


def test_fresh_figures_are_served_and_old_ones_counted_again(app: Flask, db_session: Session) -> None:
    framework = a_programme(app, db_session)
    first = read_programme(db_session, framework, T0, FIVE_MINUTES)
    db_session.commit()
    assert first.built_at == T0
    add_proficient_learner(app, db_session)

    still = read_programme(db_session, framework, T0 + dt.timedelta(minutes=4), FIVE_MINUTES)
    assert still.built_at == T0 and still.view == first.view      # fresh: the stored figures

    later = read_programme(db_session, framework, T0 + FIVE_MINUTES, FIVE_MINUTES)
    db_session.commit()
    assert later.built_at == T0 + FIVE_MINUTES
    assert later.view.learners == first.view.learners + 1
    assert later.view == build_programme_view(db_session, framework)

    # figures stamped in the future (a clock set back) are not trusted
    assert read_programme(db_session, framework, T0, FIVE_MINUTES).built_at == T0


def test_figures_of_another_framework_are_counted_again(app: Flask, db_session: Session) -> None:
    framework = a_programme(app, db_session)
    count_programme(db_session, framework, T0)
    row = db_session.get(ProgrammeSnapshot, "programme")
    assert row is not None
    row.payload = {**row.payload, "framework": {"competencies": ["GONE"], "levels": 2, "proficient": 1}}
    db_session.commit()
    assert read_counted(db_session, framework) is None
    again = read_programme(db_session, framework, T0 + dt.timedelta(seconds=1), FIVE_MINUTES)
    assert again.built_at == T0 + dt.timedelta(seconds=1)


def test_the_worker_counts_at_half_the_interval(app: Flask, db_session: Session) -> None:
    framework = a_programme(app, db_session)
    assert refresh_when_due(db_session, framework, T0, FIVE_MINUTES)            # none yet
    db_session.commit()
    assert not refresh_when_due(db_session, framework, T0 + dt.timedelta(minutes=2), FIVE_MINUTES)
    assert refresh_when_due(db_session, framework, T0 + dt.timedelta(minutes=3), FIVE_MINUTES)
    db_session.commit()
    counted = read_counted(db_session, framework)
    assert counted is not None and counted.built_at == T0 + dt.timedelta(minutes=3)


def test_the_worker_thread_counts_and_stops(app: Flask, db_session: Session) -> None:
    framework = a_programme(app, db_session)
    state = app_state(app)
    assert count_programme_if_due(state.settings, state.engine)
    assert not count_programme_if_due(state.settings, state.engine)       # fresh now
    db_session.expire_all()
    counted = read_counted(db_session, framework)
    assert counted is not None and counted.view == build_programme_view(db_session, framework)

    stop = threading.Event()
    thread = threading.Thread(target=keep_programme_counted, args=(state.settings, state.engine, stop))
    thread.start()
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def stamp(html: str) -> str:
    """The time the page says its figures were counted."""
    found = re.search(r"Figures counted at (\d{4}-\d\d-\d\d \d\d:\d\d) UTC; they are counted again every "
                      r"5 min\.", html)
    assert found, html
    return found.group(1)


def test_the_page_shows_when_it_counted_and_counts_on_request(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    do_quiz(app, driver, 0)
    grant_programme(db_session, driver.institution(0).issuer, driver.user("Instructor", 0).sub)
    db_session.commit()
    granted = trainer(driver)
    page = granted.get("/programme")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    shown = dt.datetime.strptime(stamp(html), "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
    assert dt.timedelta(0) <= utcnow() - shown < dt.timedelta(minutes=2)
    assert "1 learner in all" in html

    # figures counted long ago are served as they are while fresh: set the stored time back by 2 minutes
    row = db_session.scalars(select(ProgrammeSnapshot)).one()
    row.built_at = utcnow() - dt.timedelta(minutes=2)
    db_session.commit()
    do_quiz(app, driver, 1)
    granted = trainer(driver)
    html = granted.get("/programme").get_data(as_text=True)
    assert "1 learner in all" in html
    assert stamp(html) == row.built_at.strftime("%Y-%m-%d %H:%M")

    refused = granted.post("/programme/refresh", data={})
    assert refused.status_code == 400 and "security token" in refused.get_data(as_text=True)
    counted = granted.post("/programme/refresh", data={"csrf_token": csrf_of(html)})
    assert counted.status_code == 303 and counted.headers["Location"].split("?")[0].endswith("/programme")
    html = granted.get(counted.headers["Location"]).get_data(as_text=True)
    assert "2 learners in all" in html


def test_a_view_built_by_hand_round_trips(app: Flask) -> None:
    framework = framework_of(app)
    empty = ProgrammeView(competencies=list(framework.competencies()), institutions=[], courses=[],
                          levels={}, learners=0)
    assert load_view(dump_view(empty, framework), framework) == empty
