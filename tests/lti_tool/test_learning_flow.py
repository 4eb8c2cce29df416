"""A learner works through a unit after a real launch; a trainer assesses; evidence follows.

Runs on SQLite and PostgreSQL, with launches from the emulator (a real LTI 1.3 platform).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competencies.models import Evidence, Proficiency
from course_units.content import Activity
from course_units.models import Attempt, PageVisit, UnitCompletion
from lti_tool.app import create_app
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver

UNIT = "u1-challenges"


def session_token(location: str) -> str:
    """Return the session token a launch redirect carries."""
    return parse_qs(urlsplit(location).query)["s"][0]


def enter(driver: LaunchDriver, role: str, unit: str | None = UNIT,
          index: int = 0) -> tuple[FlaskClient, str]:
    """Launch ``role`` into ``unit`` with a fresh browser; return the client and landing path."""
    driver.client = driver.client.application.test_client()
    response = driver.launch(driver.user(role, index), driver.link(unit))
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client, response.headers["Location"]


def csrf_of(html: str) -> str:
    """Return the CSRF token in a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def activity(app: Flask, activity_id: str) -> Activity:
    """Return an activity of the loaded catalogue."""
    found = app_state(app).catalog.activity(activity_id)
    assert found is not None
    return found


def right_answers(quiz: Activity) -> dict[str, Any]:
    """Return form fields answering every item of ``quiz`` correctly."""
    fields: dict[str, Any] = {}
    for item in quiz.items:
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


def start(client: FlaskClient, path: str, activity_id: str) -> tuple[str, str]:
    """Open an activity, press Start, and return the attempt's path and its form's CSRF token."""
    page = client.get(f"/units/{UNIT}/activities/{activity_id}")
    assert page.status_code == 200
    started = client.post(f"/units/{UNIT}/activities/{activity_id}/attempts",
                          data={"csrf_token": csrf_of(page.get_data(as_text=True))})
    assert started.status_code == 303, started.get_data(as_text=True)
    attempt_page = client.get(started.headers["Location"])
    assert attempt_page.status_code == 200
    return urlsplit(started.headers["Location"]).path, csrf_of(attempt_page.get_data(as_text=True))


def reflection_text(words: int) -> str:
    """Return a reflection of ``words`` words."""
    return " ".join(["Our team supports older people living at home and their carers."] * (words // 11 + 1))


def test_a_unit_link_lands_on_the_unit_with_an_empty_state(driver: LaunchDriver) -> None:
    client, landing = enter(driver, "Learner")
    assert urlsplit(landing).path == f"/units/{UNIT}"
    html = client.get(landing).get_data(as_text=True)
    assert "You have not started this unit yet" in html
    assert "Start the unit" in html
    assert 'value="0"' in html  # the progress bar


def test_quiz_is_scored_on_the_server_and_feeds_evidence(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, _ = enter(driver, "Learner")
    quiz = activity(app, "u1-quiz")
    path, csrf = start(client, "", quiz.id)
    answers = right_answers(quiz)
    answers.update({"csrf_token": csrf, "score": "0.01", "passed": "false"})  # a forged score is ignored
    result = client.post(f"{path}/submit", data=answers)
    assert result.status_code == 303
    page = client.get(result.headers["Location"]).get_data(as_text=True)
    assert "Your score: 100%" in page
    for item in quiz.items:  # feedback comes after submission, one explanation per answer
        for option in item.options:
            assert unescape(option.explanation["en"]) in unescape(page)
    attempt = db_session.scalars(select(Attempt)).one()
    assert (attempt.status, attempt.score, attempt.activity_version) == ("graded", 1.0, quiz.version)
    evidence = db_session.scalars(select(Evidence).where(Evidence.attempt_id == attempt.id)).all()
    assert {e.competency_id for e in evidence} == set(quiz.weights)
    assert all(e.score == 1.0 and e.context_id == attempt.context_id for e in evidence)
    assert db_session.scalar(select(func.count()).select_from(Proficiency)) == len(quiz.weights)


def test_replayed_submission_changes_nothing(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    client, _ = enter(driver, "Learner")
    quiz = activity(app, "u1-quiz")
    path, csrf = start(client, "", quiz.id)
    form = {**right_answers(quiz), "csrf_token": csrf}
    assert client.post(f"{path}/submit", data=form).status_code == 303
    wrong = {"csrf_token": csrf}  # a replay with other answers
    assert client.post(f"{path}/submit", data=wrong).status_code == 303
    assert client.post(f"{path}/save", data=wrong).status_code == 409
    assert db_session.scalars(select(Attempt.score)).one() == 1.0
    assert db_session.scalar(select(func.count()).select_from(Evidence)) == len(quiz.weights)


def test_retries_follow_the_policy(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    client, _ = enter(driver, "Learner")
    quiz = activity(app, "u1-quiz")
    for _ in range(quiz.max_attempts):
        path, csrf = start(client, "", quiz.id)
        assert client.post(f"{path}/submit", data={"csrf_token": csrf}).status_code == 303
    page = client.get(f"/units/{UNIT}/activities/{quiz.id}").get_data(as_text=True)
    assert "You have used all your attempts" in page
    refused = client.post(f"/units/{UNIT}/activities/{quiz.id}/attempts", data={"csrf_token": csrf})
    assert refused.status_code == 409
    assert "used all 3 attempts" in refused.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Attempt)) == quiz.max_attempts


def test_another_learners_attempt_is_not_found(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    client, _ = enter(driver, "Learner", index=0)
    path, _csrf = start(client, "", "u1-reflection")
    other, _ = enter(driver, "Learner", index=1)
    other_page = other.get(f"/units/{UNIT}/activities/u1-reflection").get_data(as_text=True)
    stolen = other.post(f"{path}/save", data={"csrf_token": csrf_of(other_page), "answer": "mine now"})
    assert stolen.status_code == 404
    assert other.get(path).status_code == 404
    assert db_session.scalars(select(Attempt.answers)).one() == {}


@pytest.mark.parametrize("target", [
    f"/units/{UNIT}/activities/u9-quiz", "/units/u9-nowhere", f"/units/{UNIT}/pages/../../etc",
    f"/units/{UNIT}/activities/u2-quiz",  # an activity of another unit
])
def test_tampered_ids_are_refused_with_a_way_back(driver: LaunchDriver, target: str) -> None:
    client, _ = enter(driver, "Learner")
    response = client.get(target)
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_reflection_keeps_a_short_draft_and_hands_in_a_full_one(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, _ = enter(driver, "Learner")
    reflection = activity(app, "u1-reflection")
    path, csrf = start(client, "", reflection.id)
    autosaved = client.post(f"{path}/save", data={"csrf_token": csrf, "answer": "First thoughts"},
                            headers={"Accept": "application/json"})
    assert autosaved.status_code == 200 and "saved_at" in autosaved.get_json()
    short = client.post(f"{path}/submit", data={"csrf_token": csrf, "answer": "Too short to hand in."})
    assert short.status_code == 422
    assert f"{reflection.min_words}" in short.get_data(as_text=True)
    attempt = db_session.scalars(select(Attempt)).one()
    assert (attempt.status, attempt.answers) == ("draft", "Too short to hand in.")
    handed = client.post(f"{path}/submit", data={"csrf_token": csrf,
                                                 "answer": reflection_text(reflection.min_words + 10)})
    assert handed.status_code == 303
    db_session.expire_all()
    assert db_session.scalars(select(Attempt.status)).one() == "submitted"


def test_script_laden_text_is_stored_as_typed_and_shown_escaped(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, _ = enter(driver, "Learner")
    path, csrf = start(client, "", "u1-reflection")
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> ' + reflection_text(400)
    assert client.post(f"{path}/submit", data={"csrf_token": csrf, "answer": hostile}).status_code == 303
    assert db_session.scalars(select(Attempt.answers)).one() == hostile
    html = client.get(path).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html


def test_oversized_answers_are_refused_and_the_draft_survives(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, _ = enter(driver, "Learner")
    path, csrf = start(client, "", "u1-reflection")
    client.post(f"{path}/save", data={"csrf_token": csrf, "answer": "A careful draft"})
    too_long = client.post(f"{path}/save", data={"csrf_token": csrf, "answer": "word " * 20_000})
    assert too_long.status_code == 422
    assert "limit" in too_long.get_data(as_text=True)
    huge = client.post(f"{path}/save", data={"csrf_token": csrf, "answer": "x" * 3_000_000})
    assert huge.status_code == 413
    assert db_session.scalars(select(Attempt.answers)).one() == "A careful draft"


def test_forms_without_the_csrf_token_are_refused(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    client, _ = enter(driver, "Learner")
    path, _csrf = start(client, "", "u1-reflection")
    refused = client.post(f"{path}/save", data={"answer": "no token"})
    assert refused.status_code == 400
    assert db_session.scalars(select(Attempt.answers)).one() == {}


def test_trainer_assesses_and_the_unit_completes(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    learner, _ = enter(driver, "Learner")
    quiz, reflection = activity(app, "u1-quiz"), activity(app, "u1-reflection")
    path, csrf = start(learner, "", quiz.id)
    learner.post(f"{path}/submit", data={**right_answers(quiz), "csrf_token": csrf})
    path, csrf = start(learner, "", reflection.id)
    learner.post(f"{path}/submit", data={"csrf_token": csrf, "answer": reflection_text(400)})
    assert db_session.scalar(select(func.count()).select_from(UnitCompletion)) == 1  # handed in + quiz >= 70%

    trainer, _ = enter(driver, "Instructor")
    dashboard = trainer.get("/trainer").get_data(as_text=True)
    assert "1 submission to assess" in dashboard
    attempt = db_session.scalars(select(Attempt).where(Attempt.activity_id == reflection.id)).one()
    form_page = trainer.get(f"/trainer/attempts/{attempt.id}").get_data(as_text=True)
    ratings = {f"criterion-{c.id}": "3" for c in reflection.rubric}
    incomplete = trainer.post(f"/trainer/attempts/{attempt.id}",
                              data={"csrf_token": csrf_of(form_page), "criterion-r1": "2"})
    assert incomplete.status_code == 422
    saved = trainer.post(f"/trainer/attempts/{attempt.id}", data={
        **ratings, "csrf_token": csrf_of(form_page), "feedback": "Clear & <b>specific</b>."})
    assert saved.status_code == 303
    db_session.expire_all()
    graded = db_session.get(Attempt, attempt.id)
    assert graded is not None and (graded.status, graded.score) == ("graded", 1.0)
    reflection_evidence = db_session.scalars(select(Evidence).where(Evidence.attempt_id == attempt.id)).all()
    assert {e.competency_id for e in reflection_evidence} == set(reflection.weights)
    both = set(quiz.weights) & set(reflection.weights)
    levels = dict(db_session.execute(select(Proficiency.competency_id, Proficiency.level)).tuples().all())
    assert all(levels[c] == 4 for c in both)  # two sources, both full marks
    learner_view = learner.get(f"/attempts/{attempt.id}").get_data(as_text=True)
    assert "Clear &amp; &lt;b&gt;specific&lt;/b&gt;." in learner_view


def test_a_learner_cannot_assess_and_a_trainer_of_another_course_cannot_see(
    app: Flask, driver: LaunchDriver, db_session: Session,
) -> None:
    learner, _ = enter(driver, "Learner")
    path, csrf = start(learner, "", "u1-reflection")
    learner.post(f"{path}/submit", data={"csrf_token": csrf, "answer": reflection_text(400)})
    attempt_id = db_session.scalars(select(Attempt.id)).one()
    assert learner.get(f"/trainer/attempts/{attempt_id}").status_code == 403
    assert learner.post(f"/trainer/attempts/{attempt_id}", data={"csrf_token": csrf}).status_code == 403
    driver.client = app.test_client()
    other = driver.launch(driver.user("Instructor", institution=1), driver.link(UNIT, institution=1),
                          institution=1)
    assert other.status_code == 303
    assert driver.client.get(f"/trainer/attempts/{attempt_id}").status_code == 404
    learner_id = db_session.scalars(select(Attempt.learner_id)).one()
    assert driver.client.get(f"/trainer/learners/{learner_id}").status_code == 404


def test_progress_and_attempts_survive_a_restart(app: Flask, driver: LaunchDriver) -> None:
    client, _ = enter(driver, "Learner")
    first_page = app_state(app).catalog.unit(UNIT).pages[0]  # type: ignore[union-attr]
    assert client.get(f"/units/{UNIT}/pages/{first_page.id}").status_code == 200
    path, csrf = start(client, "", "u1-reflection")
    client.post(f"{path}/save", data={"csrf_token": csrf, "answer": "Kept across restarts"})

    restarted = create_app(app_state(app).settings, TESTING=True)
    try:
        again = restarted.test_client()
        again.set_cookie("l2i_session", client.get_cookie("l2i_session").value)  # type: ignore[union-attr]
        overview = again.get(f"/units/{UNIT}").get_data(as_text=True)
        assert f"Resume: {first_page.title['en']}" not in overview  # the activity was opened after the page
        assert "Resume: Reflection" in overview
        assert "Kept across restarts" in again.get(path).get_data(as_text=True)
        with app_state(restarted).session_factory() as session:
            assert session.scalar(select(func.count()).select_from(PageVisit)) == 1
    finally:
        app_state(restarted).engine.dispose()
