"""Statements from real launches reach a real LRS (Ralph), complete, valid and once, under faults.

The tool runs on SQLite and on PostgreSQL; learners launch from the LMS emulator (a real LTI 1.3
platform); the worker delivers through a proxy that can play an LRS that is down, slow, or
answering errors. Afterwards every test reads the LRS's own store back.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from course_units.models import Attempt
from l2i_db import create_db_engine
from lms_emulator.lrs import RalphLRS
from lti_tool.learning import hand_in_quiz
from lti_tool.models import Learner, Platform
from lti_tool.settings import Settings
from lti_tool.tracking import PROGRAMME_DESTINATION, Tracker, platform_destination, subject_of_learner
from lti_tool.web.state import app_state
from lti_tool.worker import deliver_once
from tests.fixtures.lrs import LrsProxy
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.lti_tool.test_learning_flow import (
    UNIT,
    activity,
    csrf_of,
    enter,
    reflection_text,
    right_answers,
    start,
)
from xapi import vocabulary as x
from xapi.erasure import void_learner
from xapi.models import OutboxMessage
from xapi.validation import statement_problems

QUIZ = "u1-quiz"


@pytest.fixture(autouse=True)
def _statements_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests count statements; scores for the LMS have their own tests (tests/e2e/test_grades.py)."""
    monkeypatch.setattr("lti_tool.learning.score_envelope", lambda *_args: None)


@pytest.fixture
def tool_settings(database_url: str, tmp_path: Path, lrs_proxy: LrsProxy, ralph: RalphLRS) -> Settings:
    """The tool under test sends to Ralph through the proxy, with short backoffs and timeouts."""
    return make_settings(
        database_url, tmp_path, lrs_endpoint=lrs_proxy.endpoint, lrs_username=ralph.username,
        lrs_password=ralph.password, http_timeout=1.0, outbox_backoff_seconds=0.05,
        outbox_backoff_max_seconds=0.2, outbox_lease_seconds=2,
    )


def deliver(app: Flask) -> Any:
    """Run one worker pass (``l2i worker --once``) against the app's database."""
    settings = app_state(app).settings
    engine = create_db_engine(settings.database_url)
    try:
        return deliver_once(settings, engine)
    finally:
        engine.dispose()


def deliver_until_settled(app: Flask, passes: int = 40) -> None:
    """Deliver, waiting out backoffs, until nothing is pending."""
    for _ in range(passes):
        deliver(app)
        with app_state(app).session_factory() as session:
            pending = session.scalar(select(func.count()).select_from(OutboxMessage)
                                     .where(OutboxMessage.status == "pending"))
        if not pending:
            return
        time.sleep(0.1)
    raise AssertionError(f"{pending} statements still pending")


def study_a_quiz(app: Flask, driver: LaunchDriver, index: int = 0) -> None:
    """A learner launches into the unit, reads its first page and passes its quiz."""
    client, landing = enter(driver, "Learner", index=index)
    assert client.get(landing).status_code == 200
    first_page = app_state(app).catalog.unit(UNIT).pages[0]  # type: ignore[union-attr]
    assert client.get(f"/units/{UNIT}/pages/{first_page.id}").status_code == 200
    path, csrf = start(client, landing, QUIZ)
    submitted = client.post(f"{path}/submit", data={"csrf_token": csrf, **right_answers(activity(app, QUIZ))})
    assert submitted.status_code == 303, submitted.get_data(as_text=True)


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
    return {status: count for status, count in rows}


def verbs(statements: list[dict[str, Any]]) -> collections.Counter[str]:
    return collections.Counter(s["verb"]["id"] for s in statements)


def test_a_learners_work_arrives_valid_and_complete(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, lrs_proxy: LrsProxy, db_session: Session,
) -> None:
    study_a_quiz(app, driver)
    assert lrs_proxy.requests_seen == 0, "a learner's request must never call the LRS"
    queued = db_session.scalars(select(OutboxMessage)).all()
    report = deliver(app)
    assert report.delivered == len(queued) and report.dead == 0

    stored = ralph.read_statements()
    assert sorted(s["id"] for s in stored) == sorted(m.message_id for m in queued)
    counted = verbs(stored)
    quiz = activity(app, QUIZ)
    assert counted[x.VERB_LAUNCHED] == 1
    assert counted[x.VERB_EXPERIENCED] == 1 and counted[x.VERB_PROGRESSED] == 2  # a page read, the quiz
    assert counted[x.VERB_INITIALIZED] == 1 and counted[x.VERB_TERMINATED] == 1
    assert counted[x.VERB_ANSWERED] == len(quiz.items)
    assert counted[x.VERB_PASSED] == 1 and counted[x.VERB_FAILED] == 0

    key = db_session.scalars(select(Learner.key)).one()
    base = app_state(app).settings.base_url
    for statement in stored:
        mine = {k: v for k, v in statement.items() if k not in ("stored", "authority")}
        assert statement_problems(mine) == [], statement
        assert statement["actor"]["account"] == {"homePage": base, "name": key}
        assert "mbox" not in statement["actor"]
        context = statement["context"]
        assert context["contextActivities"]["category"][0]["id"] == base + x.PROFILE_PATH
        assert {a["id"] for a in context["contextActivities"]["grouping"]} >= {f"{base}/programme"}
        assert context["extensions"][base + x.EXTENSION_PATHS["platform_issuer"]].startswith("http")
    assert len({s["context"]["registration"] for s in stored}) == 1, "one enrolment in one unit"

    passed = next(s for s in stored if s["verb"]["id"] == x.VERB_PASSED)
    assert passed["result"]["score"]["scaled"] == 1.0 and passed["result"]["success"] is True
    assert passed["object"]["id"] == f"{base}/units/{UNIT}/activities/{QUIZ}"
    assert passed["context"]["contextActivities"]["parent"][0]["id"] == f"{base}/units/{UNIT}"
    assert passed["context"]["extensions"][base + x.EXTENSION_PATHS["competencies"]] == sorted(
        c.id for c in quiz.competencies)
    answered = next(s for s in stored if s["verb"]["id"] == x.VERB_ANSWERED)
    assert answered["object"]["definition"]["type"] == x.TYPE_INTERACTION
    assert answered["result"]["success"] is True and answered["result"]["response"]

    assert deliver(app).delivered == 0, "a second pass has nothing left to send"
    assert len(ralph.read_statements()) == len(queued)


def test_an_lrs_that_is_down_gets_everything_once_it_is_back(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, lrs_proxy: LrsProxy, db_session: Session,
) -> None:
    study_a_quiz(app, driver)
    expected = db_session.scalar(select(func.count()).select_from(OutboxMessage))
    ralph.stop()
    report = deliver(app)
    assert report.delivered == 0 and report.retried == expected
    db_session.expire_all()
    waiting = db_session.scalars(select(OutboxMessage)).all()
    assert all(m.status == "pending" and m.tries == 1 and m.last_error for m in waiting)
    assert "502" in (waiting[0].last_error or "")

    lrs_proxy.mode = "down"           # the connection is cut without an answer
    time.sleep(0.25)
    assert deliver(app).delivered == 0
    ralph.restart()
    lrs_proxy.mode = "pass"
    deliver_until_settled(app)
    stored = ralph.read_statements()
    assert len(stored) == expected == len({s["id"] for s in stored})


def test_a_slow_lrs_times_out_and_the_retry_does_not_duplicate(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, lrs_proxy: LrsProxy, db_session: Session,
) -> None:
    study_a_quiz(app, driver)
    expected = db_session.scalar(select(func.count()).select_from(OutboxMessage))
    lrs_proxy.fail_next(1, "delay:2")  # longer than the worker's 1 s timeout; Ralph still stores it
    report = deliver(app)
    assert report.delivered == 0 and report.retried == expected
    assert "no answer within 1 s" in next(iter(report.failed_destinations.values()))
    time.sleep(2.2)                    # the slow request lands in Ralph meanwhile
    deliver_until_settled(app)
    stored = ralph.read_statements()
    assert len(stored) == expected == len({s["id"] for s in stored})


def test_an_answer_lost_after_storing_is_resent_harmlessly(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, lrs_proxy: LrsProxy, db_session: Session,
) -> None:
    study_a_quiz(app, driver)
    expected = db_session.scalar(select(func.count()).select_from(OutboxMessage))
    lrs_proxy.fail_next(1, "lost")
    assert deliver(app).retried == expected
    time.sleep(0.25)
    deliver_until_settled(app)
    assert len(ralph.read_statements()) == expected


def test_a_statement_the_lrs_refuses_is_dead_lettered_with_its_reason_and_the_rest_go_through(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, lrs_proxy: LrsProxy, db_session: Session,
) -> None:
    study_a_quiz(app, driver)
    messages = db_session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    victim = messages[len(messages) // 2]
    clash = dict(victim.payload, verb={"id": x.VERB_EXPERIENCED})   # same id, other content
    planted = requests.post(ralph.endpoint + "statements", json=[clash], auth=ralph.auth,
                            headers={x.VERSION_HEADER: x.XAPI_VERSION}, timeout=5)
    assert planted.status_code == 200
    lrs_proxy.fail_next(1, "status:400")   # and a whole batch refused once, to be split

    report = deliver(app)
    assert report.dead == 1 and report.delivered == len(messages) - 1
    db_session.expire_all()
    dead = db_session.scalars(select(OutboxMessage).where(OutboxMessage.status == "dead")).one()
    assert dead.message_id == victim.message_id
    assert dead.last_error and "409" in dead.last_error and victim.message_id in dead.last_error
    stored_ids = collections.Counter(s["id"] for s in ralph.read_statements())
    assert set(stored_ids) == {m.message_id for m in messages} and max(stored_ids.values()) == 1


def test_each_lrs_gets_its_own_copy_and_an_institution_may_ask_for_email(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, db_session: Session, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RalphLRS(tmp_path / "institution") as institution:
        platform = db_session.scalars(select(Platform).order_by(Platform.id)).first()
        assert platform is not None
        platform.lrs_endpoint, platform.lrs_username = institution.endpoint, institution.username
        platform.lrs_password_env, platform.xapi_actor = "L2I_TEST_LRS_PASSWORD", "mbox"
        db_session.commit()
        monkeypatch.setenv("L2I_TEST_LRS_PASSWORD", institution.password)
        study_a_quiz(app, driver)
        deliver_until_settled(app)
        programme, own = ralph.read_statements(), institution.read_statements()
    assert len(programme) == len(own) > 0
    assert all("account" in s["actor"] for s in programme)
    assert all(s["actor"]["mbox"].startswith("mailto:") for s in own)
    rows = collections.Counter(db_session.scalars(select(OutboxMessage.destination)))
    assert rows == {PROGRAMME_DESTINATION: len(programme), platform_destination(platform.id): len(own)}


def test_erasing_a_learner_voids_what_was_sent(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, db_session: Session,
) -> None:
    study_a_quiz(app, driver)
    deliver(app)
    sent = {s["id"] for s in ralph.read_statements()}
    learner_id = db_session.scalars(select(Learner.id)).one()
    queued = void_learner(db_session, learner_id, app_state(app).settings.actor_home_page)
    db_session.commit()
    assert queued == len(sent)
    assert db_session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.learner_id == learner_id)) == 0
    deliver_until_settled(app)
    voids = [s for s in ralph.read_statements() if s["verb"]["id"] == x.VERB_VOIDED]
    assert {s["object"]["id"] for s in voids} == sent
    assert all(s["object"]["objectType"] == "StatementRef" for s in voids)
    assert all(s["actor"]["account"]["name"] == "l2i-engine" for s in voids)


def test_open_work_is_tracked_through_assessment(
    app: Flask, driver: LaunchDriver, ralph: RalphLRS, db_session: Session,
) -> None:
    client, landing = enter(driver, "Learner")
    reflection = next(a for a in app_state(app).catalog.unit(UNIT).activities  # type: ignore[union-attr]
                      if a.kind == "reflection")
    path, csrf = start(client, landing, reflection.id)
    words = reflection_text(reflection.min_words + 5)
    assert client.post(f"{path}/submit", data={"csrf_token": csrf, "answer": words}).status_code == 303
    deliver(app)
    handed = [s for s in ralph.read_statements() if s["verb"]["id"] == x.VERB_COMPLETED]
    assert handed and handed[0]["result"]["completion"] is True

    trainer, _ = enter(driver, "Instructor")
    attempt_id = db_session.scalars(select(Attempt.id)).one()
    page = trainer.get(f"/trainer/attempts/{attempt_id}").get_data(as_text=True)
    form = {"csrf_token": csrf_of(page), "feedback": "Clear and well argued."}
    form.update({f"criterion-{c.id}": "3" for c in reflection.rubric})
    assert trainer.post(f"/trainer/attempts/{attempt_id}", data=form).status_code == 303
    deliver(app)
    stored = ralph.read_statements()
    graded = [s for s in stored if s["verb"]["id"] in (x.VERB_PASSED, x.VERB_SCORED, x.VERB_FAILED)]
    assert len(graded) == 1 and graded[0]["result"]["score"]["scaled"] == 1.0
    key = db_session.scalars(select(Learner.key).join(Attempt, Attempt.learner_id == Learner.id)).one()
    assert graded[0]["actor"]["account"]["name"] == key, "statements are about the learner, not the trainer"


def test_queued_statements_are_stored_with_the_work_or_not_at_all(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, landing = enter(driver, "Learner")
    start(client, landing, QUIZ)
    state = app_state(app)
    attempt = db_session.scalars(select(Attempt)).one()
    platform = db_session.get(Platform, attempt.platform_id)
    assert platform is not None
    tracker = Tracker(state.settings, state.framework,
                      subject_of_learner(db_session, attempt.learner_id, platform, None))
    unit = state.catalog.unit(UNIT)
    assert unit is not None
    answers = {item.id: _right(item) for item in activity(app, QUIZ).items}
    before = outbox_counts(db_session)
    hand_in_quiz(db_session, unit, activity(app, QUIZ), attempt, answers, state.settings.proficiency, tracker)
    db_session.flush()
    assert sum(outbox_counts(db_session).values()) > sum(before.values()), "queued in the same transaction"
    db_session.rollback()                  # the request fails after grading: nothing of it stays
    assert outbox_counts(db_session) == before
    assert db_session.scalar(select(Attempt.status)) == "draft"


def _right(item: Any) -> Any:
    if item.type == "single":
        return next(o.id for o in item.options if o.correct)
    if item.type == "multiple":
        return [o.id for o in item.options if o.correct]
    if item.type == "matching":
        return {p.id: p.id for p in item.pairs}
    return [step.id for step in item.steps]
