"""Every event's statements stay the same JSON: pinned against ``expected_statements.json``.

The fixture was written by the builders as they were before statements were assembled without
tincan objects (quiz items of every type, every actor form, with and without a course, language
and duration). A change to a statement's content must be deliberate: rewrite the fixture with
``python -m tests.xapi.test_statement_fixture`` and review its diff.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from competencies.framework import load_framework
from course_units.content import Activity, Unit
from course_units.loader import load_catalog
from course_units.scoring import score_quiz
from xapi import events
from xapi import vocabulary as x
from xapi.events import Scene
from xapi.statements import ActorRef, build_voiding
from xapi.validation import statement_problems

FIXTURE = Path(__file__).with_name("expected_statements.json")
BASE = "http://localhost"
NOW = dt.datetime(2026, 11, 21, 9, 30, 15, 250000, tzinfo=dt.UTC)
ON_THE_SECOND = dt.datetime(2026, 11, 21, 9, 30, 15, tzinfo=dt.UTC)
DURATIONS = (None, dt.timedelta(0), dt.timedelta(minutes=3, seconds=4.5),
             dt.timedelta(days=1, hours=2, microseconds=7), dt.timedelta(seconds=59, microseconds=999999))


def _scene(form: str, context_key: int | None, language: str | None) -> Scene:
    actor = ActorRef(key="4f1c", home_page=BASE, form=form, email=" Ana.Novak@Example.edu")  # type: ignore[arg-type]
    return Scene(base_url=BASE, actor=actor, platform_name="Ljubljana Moodle",
                 issuer="https://moodle.example.si", context_key=context_key,
                 lti_context_id="c-101" if context_key else None,
                 course_title="Social innovation" if context_key == 3 else None, language=language)


def _answers(quiz: Activity) -> dict[str, Any]:
    """Answer a third of the items right, a third wrong or in part, and leave a third out."""
    answers: dict[str, Any] = {}
    for index, item in enumerate(quiz.items):
        right = index % 3 == 1
        if index % 3 == 0:
            continue
        if item.type == "single":
            answers[item.id] = next(o.id for o in item.options if o.correct == right)
        elif item.type == "multiple":
            answers[item.id] = [o.id for o in item.options if o.correct or not right]
        elif item.type == "matching":
            ids = [p.id for p in item.pairs]
            answers[item.id] = dict(zip(ids, ids if right else ids[1:] + ids[:1], strict=True))
        else:
            ids = [s.id for s in item.steps]
            answers[item.id] = ids if right else list(reversed(ids))
    return answers


def _scenes() -> list[Scene]:
    return [_scene("account", 3, "sl"), _scene("account", None, None), _scene("mbox", 7, "en-GB"),
            _scene("mbox_sha1sum", 3, None)]


Built = list[tuple[str, dict[str, Any]]]


def _quiz_statements(where: Scene, unit: Unit, quiz: Activity, what: str) -> Built:
    result = score_quiz(quiz, _answers(quiz))
    built = [(f"{what} answered {number}", item)
             for number, item in enumerate(events.answered_items(where, unit, quiz, result.items, NOW))]
    grades = ((result.score, None), (0.70005, True), (1 / 3, False), (1.0, True))
    for number, (score, passed) in enumerate(grades):
        built.append((f"{what} graded {number}", events.graded_attempt(
            where, unit, quiz, score, passed=passed, duration=DURATIONS[number % 5], now=NOW)))
    return built


def _activity_statements(where: Scene, unit: Unit, activity: Activity, what: str) -> Built:
    built = [(f"{what} launched", events.launched(where, unit, activity, NOW)),
             (f"{what} initialized", events.initialized_attempt(where, unit, activity, NOW))]
    built.extend((f"{what} terminated {number}",
                  events.terminated_attempt(where, unit, activity, duration, NOW))
                 for number, duration in enumerate(DURATIONS))
    if activity.kind == "quiz":
        return built + _quiz_statements(where, unit, activity, what)
    return [*built, (f"{what} handed in", events.handed_in(where, unit, activity, DURATIONS[2], NOW))]


def _unit_statements(where: Scene, unit: Unit, who: str) -> Built:
    built = [(f"{who} launched {unit.id}", events.launched(where, unit, None, NOW)),
             (f"{who} experienced {unit.id}",
              events.experienced_page(where, unit, unit.pages[0], ON_THE_SECOND)),
             (f"{who} progressed {unit.id}", events.progressed_unit(where, unit, 140, NOW)),
             (f"{who} completed {unit.id}", events.completed_unit(where, unit, NOW))]
    for activity in unit.activities:
        built.extend(_activity_statements(where, unit, activity, f"{who} {activity.id}"))
    return built


def _programme_statements(where: Scene, units: Sequence[Unit], who: str) -> Built:
    built = [(f"{who} launched programme", events.launched(where, None, None, NOW))]
    for number, node in enumerate(load_framework().competencies()[:4]):
        unit = units[number] if number % 2 else None
        built.append((f"{who} mastered {node.idnumber}",
                      events.mastered_competency(where, node, 3 + number % 2, 4, unit, NOW)))
    built.append((f"{who} voided", build_voiding(str(uuid.UUID(int=5)), where.actor, timestamp=NOW)))
    return built


def build_all() -> list[dict[str, Any]]:
    """Build every kind of statement for a spread of inputs, each as a ``{"case", "statement"}`` pair."""
    catalog = load_catalog()
    built: Built = []
    for index, where in enumerate(_scenes()):
        who = f"{where.actor.form}/{where.context_key}/{where.language}"
        for unit in catalog.units if index == 0 else catalog.units[:1]:  # unit 1's quiz has every item type
            built.extend(_unit_statements(where, unit, who))
        built.extend(_programme_statements(where, catalog.units, who))
    return [{"case": case, "statement": _without_id(statement)} for case, statement in built]


def _without_id(statement: dict[str, Any]) -> dict[str, Any]:
    """Return the statement without its random ``id`` (checked on its own to be a UUID)."""
    uuid.UUID(statement["id"])
    return {key: value for key, value in statement.items() if key != "id"}


def test_every_statement_is_what_it_was() -> None:
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(build_all()))
    assert [e["case"] for e in actual] == [e["case"] for e in expected]
    for now, before in zip(actual, expected, strict=True):
        assert now == before, now["case"]


def test_every_pinned_statement_is_valid() -> None:
    for entry in build_all():
        assert statement_problems({"id": str(uuid.uuid4()), **entry["statement"]}) == [], entry["case"]


def test_the_pinned_statements_name_every_verb_the_profile_uses() -> None:
    verbs = {entry["statement"]["verb"]["id"] for entry in json.loads(FIXTURE.read_text(encoding="utf-8"))}
    assert {x.VERB_ANSWERED, x.VERB_PASSED, x.VERB_FAILED, x.VERB_SCORED, x.VERB_TERMINATED,
            x.VERB_PROGRESSED, x.VERB_COMPLETED, x.VERB_MASTERED, x.VERB_LAUNCHED, x.VERB_EXPERIENCED,
            x.VERB_INITIALIZED, x.VERB_VOIDED} <= verbs


if __name__ == "__main__":
    lines = (json.dumps(entry, ensure_ascii=False, sort_keys=True) for entry in build_all())
    FIXTURE.write_text("[\n" + ",\n".join(lines) + "\n]\n", encoding="utf-8")
