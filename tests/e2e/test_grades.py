"""Grades back to the LMS: a learner's quiz and reflection reach the emulator's gradebook over AGS.

The demo (tool + LMS emulator) is served for real on loopback, because the platform checks the
tool's client assertion against the tool's published key set; the worker posts the scores.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from sqlalchemy import func, select

from course_units.models import Attempt
from l2i_db import create_db_engine, create_session_factory
from lms_emulator.platform import Course, LineItem
from lms_emulator.seed_data import UNITS
from lti_tool.demo import DemoServers
from lti_tool.grades import ags_destination
from lti_tool.settings import Settings
from lti_tool.web.state import app_state
from lti_tool.worker import deliver_once
from tests.e2e.support import (
    HTTP_TIMEOUT,
    demo_settings,
    first_learner,
    first_trainer,
    launch_from_emulator,
    running_demo,
)
from tests.fixtures.servers import free_port
from tests.lti_tool.test_learning_flow import csrf_of, reflection_text, right_answers
from xapi.models import OutboxMessage
from xapi.outbox import retry_dead

UNIT_ID, UNIT_TITLE = UNITS[0]


def deliver(settings: Settings) -> None:
    engine = create_db_engine(settings.database_url)
    try:
        deliver_once(settings, engine)
    finally:
        engine.dispose()


def course_of(demo: DemoServers) -> Course:
    return demo.emulator.institutions[0].courses[0]


def item_for(course: Course, resource_id: str) -> LineItem:
    found = [i for i in course.line_items.values() if i.resource_id == resource_id]
    assert len(found) == 1, [(i.label, i.resource_id) for i in course.line_items.values()]
    return found[0]


def start_attempt(browser: requests.Session, demo: DemoServers, landing_url: str, activity_id: str) -> str:
    token = re.search(r"[?&]s=([^&]+)", landing_url)
    assert token, landing_url
    base = f"{demo.tool_url}/units/{UNIT_ID}/activities/{activity_id}"
    page = browser.get(f"{base}?s={token.group(1)}", timeout=HTTP_TIMEOUT)
    started = browser.post(f"{base}/attempts?s={token.group(1)}", data={"csrf_token": csrf_of(page.text)},
                           allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert started.status_code == 303, started.text
    return urljoin(base, started.headers["Location"])


def submit(browser: requests.Session, attempt_url: str, fields: dict[str, object]) -> None:
    page = browser.get(attempt_url, timeout=HTTP_TIMEOUT)
    action = attempt_url.split("?")[0] + "/submit?" + attempt_url.split("?", 1)[1]
    done = browser.post(action, data={"csrf_token": csrf_of(page.text), **fields}, allow_redirects=False,
                        timeout=HTTP_TIMEOUT)
    assert done.status_code == 303, done.text


@pytest.mark.slow
def test_quiz_and_reflection_scores_reach_the_gradebook(tmp_path: Path) -> None:
    port, lms_port = free_port(), free_port()
    settings = demo_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path, port)
    with running_demo(settings, port, lms_port) as demo:
        catalog = app_state(demo.tool.app).catalog  # type: ignore[attr-defined]
        unit = catalog.unit(UNIT_ID)
        assert unit is not None
        quiz = next(a for a in unit.activities if a.kind == "quiz")
        reflection = next(a for a in unit.activities if a.kind == "reflection")
        learner = first_learner(demo.emulator.institutions[0])
        with requests.Session() as browser:
            outcome = launch_from_emulator(browser, demo, learner, link_title=UNIT_TITLE)
            submit(browser, start_attempt(browser, demo, outcome.landing_url, quiz.id), right_answers(quiz))
            submit(browser, start_attempt(browser, demo, outcome.landing_url, reflection.id),
                   {"answer": reflection_text(reflection.min_words + 5)})
        deliver(settings)
        course = course_of(demo)
        quiz_item, reflection_item = item_for(course, quiz.id), item_for(course, reflection.id)
        assert quiz_item.tag == "l2i" and quiz_item.score_maximum == 100
        quiz_result = quiz_item.results[learner.sub]
        assert (quiz_result.score_given, quiz_result.score_maximum) == (100.0, 100.0)
        assert (quiz_result.activity_progress, quiz_result.grading_progress) == ("Completed", "FullyGraded")
        pending = reflection_item.results[learner.sub]
        assert (pending.grading_progress, pending.score_given) == ("PendingManual", None)

        trainer = first_trainer(demo.emulator.institutions[0])
        with requests.Session() as browser:
            outcome = launch_from_emulator(browser, demo, trainer, link_title=UNIT_TITLE)
            token = re.search(r"[?&]s=([^&]+)", outcome.landing_url)
            assert token
            engine = create_db_engine(settings.database_url)
            with create_session_factory(engine)() as session:
                attempt_id = session.scalars(
                    select(Attempt.id).where(Attempt.activity_id == reflection.id)).one()
            engine.dispose()
            url = f"{demo.tool_url}/trainer/attempts/{attempt_id}?s={token.group(1)}"
            form = {"csrf_token": csrf_of(browser.get(url, timeout=HTTP_TIMEOUT).text), "feedback": "Good."}
            form.update({f"criterion-{c.id}": "2" for c in reflection.rubric})
            rated = browser.post(url, data=form, allow_redirects=False, timeout=HTTP_TIMEOUT)
            assert rated.status_code == 303, rated.text
        deliver(settings)
        graded = reflection_item.results[learner.sub]
        assert graded.grading_progress == "FullyGraded" and graded.score_given is not None
        assert 0 < graded.score_given < 100
        tokens = [r for r in demo.emulator.institutions[0].record()["token_requests"] if r["outcome"] == "ok"]
        assert len(tokens) == 2, "one access token per worker pass, cached across its calls"

    engine = create_db_engine(settings.database_url)
    with create_session_factory(engine)() as session:
        statuses = dict(session.execute(
            select(OutboxMessage.status, func.count()).where(OutboxMessage.destination == ags_destination(1))
            .group_by(OutboxMessage.status)).all())
    engine.dispose()
    assert statuses == {"delivered": 3}


@pytest.mark.slow
def test_an_lms_that_is_down_or_refuses_loses_no_score(tmp_path: Path) -> None:
    port, lms_port = free_port(), free_port()
    settings = demo_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path, port)
    with running_demo(settings, port, lms_port) as demo:
        unit = app_state(demo.tool.app).catalog.unit(UNIT_ID)  # type: ignore[attr-defined]
        assert unit is not None
        quiz = next(a for a in unit.activities if a.kind == "quiz")
        institution = demo.emulator.institutions[0]
        learners = [u for u in institution.users if any(r.endswith("#Learner") for r in u.roles)][:2]
        for learner in learners:
            with requests.Session() as browser:
                outcome = launch_from_emulator(browser, demo, learner, link_title=UNIT_TITLE)
                attempt_url = start_attempt(browser, demo, outcome.landing_url, quiz.id)
                submit(browser, attempt_url, right_answers(quiz))
        engine = create_db_engine(settings.database_url)
        factory = create_session_factory(engine)
        with factory() as session:   # the LMS will not know the second learner any more
            message = session.scalars(select(OutboxMessage).where(
                OutboxMessage.destination == ags_destination(1)).order_by(OutboxMessage.id.desc())).first()
            assert message is not None
            message.payload = {**message.payload, "score": {**message.payload["score"], "userId": "999"}}
            session.commit()

        deliver(settings)                             # the LMS refuses the tampered score
        with factory() as session:
            rows = session.scalars(select(OutboxMessage).where(
                OutboxMessage.destination == ags_destination(1)).order_by(OutboxMessage.id)).all()
            assert [r.status for r in rows] == ["delivered", "dead"]
            assert "HTTP 400" in (rows[1].last_error or "") and "999" in (rows[1].last_error or "")
            assert retry_dead(session) == 1
            session.commit()
        demo.lms.stop()                               # the LMS is down: the score waits, kept
        deliver(settings)
        with factory() as session:
            waiting = session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending",
                                      OutboxMessage.destination == ags_destination(1))).one()
            assert waiting.tries == 1 and "cannot connect" in (waiting.last_error or ""), waiting.last_error
        engine.dispose()
    assert learners[0].sub in item_for(course_of(demo), quiz.id).results
