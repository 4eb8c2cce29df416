"""Attempts, drafts, racing submissions, progress and completion, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from course_units.attempts import (
    AttemptClosedError,
    AttemptLimitError,
    Where,
    attempts_left,
    attempts_of,
    save_draft,
    start_attempt,
    submit_open,
    submit_quiz,
)
from course_units.content import Activity, Catalog, Unit
from course_units.loader import load_catalog
from course_units.models import Attempt, UnitCompletion
from course_units.progress import check_completion, record_page_visit, unit_progress
from lti_tool.models import Learner
from lti_tool.web.state import app_state

CATALOG: Catalog = load_catalog()


def unit_and_quiz(unit_id: str = "u1-challenges") -> tuple[Unit, Activity, Activity]:
    """Return a unit, its quiz and its reflection."""
    unit = CATALOG.unit(unit_id)
    assert unit is not None
    quiz = next(a for a in unit.activities if a.kind == "quiz")
    reflection = next(a for a in unit.activities if a.kind == "reflection")
    return unit, quiz, reflection


def answers_scoring(quiz: Activity, right_items: int) -> dict[str, object]:
    """Answer the first ``right_items`` single-choice items right and the others wrong."""
    answers: dict[str, object] = {}
    singles = [i for i in quiz.items if i.type == "single"]
    for n, item in enumerate(singles):
        wanted = n < right_items
        answers[item.id] = next(o.id for o in item.options if o.correct == wanted)
    return answers


def new_learner(session: Session) -> int:
    """Add a learner and return its id."""
    learner = Learner()
    session.add(learner)
    session.flush()
    return learner.id


def test_start_continues_the_open_draft_and_respects_the_limit(db_session: Session) -> None:
    unit, quiz, _ = unit_and_quiz()
    learner = new_learner(db_session)
    first = start_attempt(db_session, learner, unit.id, quiz, Where())
    assert start_attempt(db_session, learner, unit.id, quiz, Where()).id == first.id
    for n in range(quiz.max_attempts):
        attempt = start_attempt(db_session, learner, unit.id, quiz, Where())
        assert attempt.number == n + 1
        submit_quiz(db_session, attempt, quiz, {})
    assert attempts_left(quiz, attempts_of(db_session, learner, quiz.id)) == 0
    with pytest.raises(AttemptLimitError, match=f"all {quiz.max_attempts} attempts"):
        start_attempt(db_session, learner, unit.id, quiz, Where())


def test_a_draft_begun_on_an_older_version_continues_on_the_new_one(db_session: Session) -> None:
    unit, _, reflection = unit_and_quiz()
    learner = new_learner(db_session)
    attempt = start_attempt(db_session, learner, unit.id, reflection, Where())
    edited = replace(reflection, version=reflection.version + 1)
    save_draft(db_session, attempt, edited, "Still my draft")
    assert (attempt.activity_version, attempt.answers) == (reflection.version + 1, "Still my draft")


def test_a_closed_attempt_cannot_change(db_session: Session) -> None:
    unit, quiz, _ = unit_and_quiz()
    learner = new_learner(db_session)
    attempt = start_attempt(db_session, learner, unit.id, quiz, Where())
    submit_quiz(db_session, attempt, quiz, answers_scoring(quiz, 3))
    with pytest.raises(AttemptClosedError):
        save_draft(db_session, attempt, quiz, {})
    with pytest.raises(AttemptClosedError):
        submit_quiz(db_session, attempt, quiz, {})


def test_racing_submissions_grade_an_attempt_once(app: Flask) -> None:
    unit, _, reflection = unit_and_quiz()
    factory = app_state(app).session_factory
    with factory() as session:
        learner = new_learner(session)
        attempt_id = start_attempt(session, learner, unit.id, reflection, Where()).id
        session.commit()
    outcomes: list[str] = []
    first_closed = threading.Event()

    def submit(hold: bool) -> None:
        with factory() as session:
            attempt = session.get(Attempt, attempt_id)
            assert attempt is not None
            if not hold:
                first_closed.wait(5)
            try:
                submit_open(session, attempt, reflection, "text")
            except AttemptClosedError:
                outcomes.append("refused")
                session.rollback()
                return
            if hold:  # keep the row locked while the other submission arrives
                first_closed.set()
                threading.Event().wait(0.3)
            session.commit()
            outcomes.append("handed in")

    threads = [threading.Thread(target=submit, args=(hold,)) for hold in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(outcomes) == ["handed in", "refused"]


def test_progress_counts_pages_and_activities_and_resumes(db_session: Session) -> None:
    unit, quiz, _ = unit_and_quiz()
    learner = new_learner(db_session)
    empty = unit_progress(db_session, unit, learner)
    assert (empty.state, empty.percent, empty.resume) == ("not-started", 0, None)
    record_page_visit(db_session, learner, unit.id, unit.pages[0].id)
    record_page_visit(db_session, learner, unit.id, unit.pages[1].id)
    record_page_visit(db_session, learner, unit.id, unit.pages[0].id)  # a revisit counts once
    attempt = start_attempt(db_session, learner, unit.id, quiz, Where())
    submit_quiz(db_session, attempt, quiz, answers_scoring(quiz, 2))
    progress = unit_progress(db_session, unit, learner)
    total = len(unit.pages) + len(unit.activities)
    assert progress.pages_seen == {unit.pages[0].id, unit.pages[1].id}
    assert progress.activities_done == {quiz.id}
    assert progress.percent == round(100 * 3 / total)
    assert (progress.state, progress.resume) == ("in-progress", ("page", unit.pages[0].id))


def test_completion_needs_every_activity_and_the_quiz_pass_mark(db_session: Session) -> None:
    unit, quiz, reflection = unit_and_quiz()
    learner = new_learner(db_session)
    draft = start_attempt(db_session, learner, unit.id, reflection, Where())
    submit_open(db_session, draft, reflection, "my reflection")
    low = start_attempt(db_session, learner, unit.id, quiz, Where())
    submit_quiz(db_session, low, quiz, answers_scoring(quiz, 1))
    assert check_completion(db_session, unit, learner) is None  # below 70%
    good = start_attempt(db_session, learner, unit.id, quiz, Where())
    result = submit_quiz(db_session, good, quiz, {
        **{i.id: next(o.id for o in i.options if o.correct) for i in quiz.items if i.type == "single"},
        **{i.id: [o.id for o in i.options if o.correct] for i in quiz.items if i.type == "multiple"},
        **{i.id: {p.id: p.id for p in i.pairs} for i in quiz.items if i.type == "matching"},
        **{i.id: [s.id for s in i.steps] for i in quiz.items if i.type == "ordering"},
    })
    assert result.score == 1.0
    completion = check_completion(db_session, unit, learner)
    assert completion is not None and completion.unit_version == unit.version
    assert check_completion(db_session, unit, learner) is None  # recorded once
    assert db_session.scalar(select(func.count()).select_from(UnitCompletion)) == 1
    assert unit_progress(db_session, unit, learner).state == "complete"
