"""The statement builders: the fast path equals tincan's own output, and scores stay consistent."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from competencies.framework import load_framework
from course_units.loader import load_catalog
from lti_tool.tracking import language_tag
from xapi import events
from xapi import vocabulary as x
from xapi.events import Scene
from xapi.statements import (
    ActivityRef,
    ActorRef,
    Outcome,
    Setting,
    build_statement,
    build_statement_with_tincan,
    lang,
    score_outcome,
)
from xapi.validation import statement_problems

BASE = "http://localhost"
NOW = dt.datetime(2026, 11, 21, 9, 30, 15, 250000, tzinfo=dt.UTC)
CATALOG = load_catalog()


def scene(form: str = "account", context_key: int | None = 3) -> Scene:
    actor = ActorRef(key="4f1c", home_page=BASE, form=form, email="Ana.Novak@example.edu")  # type: ignore[arg-type]
    return Scene(base_url=BASE, actor=actor, platform_name="Ljubljana Moodle",
                 issuer="https://moodle.example.si", context_key=context_key, lti_context_id="c-101",
                 course_title="Social innovation", language="sl")


def test_the_fast_path_builds_what_tincan_builds() -> None:
    unit = CATALOG.units[0]
    quiz = next(a for a in unit.activities if a.kind == "quiz")
    ref = events.activity_ref(BASE, quiz)
    setting = Setting(profile=BASE + x.PROFILE_PATH, registration=uuid.uuid4(),
                      parent=events.unit_ref(BASE, unit), grouping=(events.programme_ref(BASE),),
                      platform="Moodle", language="en-GB", extensions={BASE + "/x": [1, "a"]})
    outcome = Outcome(scaled=0.5, raw=5.0, minimum=0.0, maximum=10.0, success=True, completion=True,
                      duration=dt.timedelta(minutes=3, seconds=4.5), response="a[,]b",
                      extensions={x.EXT_PROGRESS: 40})
    for form in ("account", "mbox", "mbox_sha1sum"):
        actor = scene(form).actor
        for out in (outcome, None):
            statement_id = uuid.uuid4()
            fast = build_statement(x.VERB_PASSED, actor, ref, setting, timestamp=NOW, outcome=out,
                                   statement_id=statement_id)
            slow = build_statement_with_tincan(x.VERB_PASSED, actor, ref, setting, timestamp=NOW,
                                               outcome=out, statement_id=statement_id)
            assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)
            assert statement_problems(fast) == []


numbers = st.none() | st.integers(-10, 10) | st.floats(-10, 10, allow_nan=False)
extension_values = st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=3) \
    | st.booleans() | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)


@settings(max_examples=200, deadline=None)
@given(scaled=numbers, raw=numbers, minimum=numbers, maximum=numbers,
       success=st.none() | st.booleans(), completion=st.none() | st.booleans(),
       duration=st.none() | st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=400)),
       response=st.none() | st.text(max_size=10),
       extensions=st.dictionaries(st.sampled_from([x.EXT_PROGRESS, BASE + "/x", "_y"]), extension_values,
                                  max_size=3))
def test_any_result_is_built_as_tincan_builds_it(
    scaled: float | None, raw: float | None, minimum: float | None, maximum: float | None,
    success: bool | None, completion: bool | None, duration: dt.timedelta | None, response: str | None,
    extensions: dict[str, object],
) -> None:
    """The result is assembled without tincan objects: whatever the outcome, the JSON is tincan's."""
    unit = CATALOG.units[0]
    outcome = Outcome(scaled=scaled, raw=raw, minimum=minimum, maximum=maximum, success=success,
                      completion=completion, duration=duration, response=response, extensions=extensions)
    setting = Setting(profile=BASE + x.PROFILE_PATH)
    statement_id = uuid.uuid4()
    fast = build_statement(x.VERB_SCORED, scene().actor, events.unit_ref(BASE, unit), setting, timestamp=NOW,
                           outcome=outcome, statement_id=statement_id)
    slow = build_statement_with_tincan(x.VERB_SCORED, scene().actor, events.unit_ref(BASE, unit), setting,
                                       timestamp=NOW, outcome=outcome, statement_id=statement_id)
    assert json.dumps(fast, sort_keys=True) == json.dumps(slow, sort_keys=True)


def test_email_actors_follow_the_platforms_choice() -> None:
    unit = CATALOG.units[0]
    mbox = events.launched(scene("mbox"), unit, None, NOW)["actor"]
    sha = events.launched(scene("mbox_sha1sum"), unit, None, NOW)["actor"]
    account = events.launched(scene(), unit, None, NOW)["actor"]
    assert mbox == {"objectType": "Agent", "mbox": "mailto:ana.novak@example.edu"}
    assert len(sha["mbox_sha1sum"]) == 40 and "mbox" not in sha
    assert account["account"] == {"name": "4f1c", "homePage": BASE}


@settings(max_examples=150, deadline=None)
@given(score=st.floats(min_value=0, max_value=1, allow_nan=False),
       passed=st.sampled_from([True, False, None]))
def test_any_grade_is_a_valid_statement(score: float, passed: bool | None) -> None:
    unit = CATALOG.units[0]
    for activity in unit.activities:
        statement = events.graded_attempt(scene(), unit, activity, score, passed=passed,
                                          duration=dt.timedelta(seconds=95), now=NOW)
        assert statement_problems(statement) == [], statement["result"]


@settings(max_examples=100, deadline=None)
@given(raw=st.floats(min_value=-5, max_value=200, allow_nan=False), maximum=st.integers(1, 100))
def test_score_outcomes_are_consistent_and_clamped(raw: float, maximum: int) -> None:
    outcome = score_outcome(raw, maximum)
    assert outcome.raw is not None and outcome.scaled is not None
    assert 0 <= outcome.raw <= maximum and 0 <= outcome.scaled <= 1
    assert abs(outcome.scaled - outcome.raw / maximum) < 1e-12


def test_registration_is_one_per_learner_course_and_unit() -> None:
    first, second = CATALOG.units[0], CATALOG.units[1]
    a = events.registration_of("k", 3, first.id)
    assert a == events.registration_of("k", 3, first.id)
    assert len({a, events.registration_of("k", 4, first.id), events.registration_of("k", 3, second.id),
                events.registration_of("other", 3, first.id)}) == 4


def test_a_statement_without_a_course_has_only_the_programme_as_grouping() -> None:
    unit = CATALOG.units[0]
    page = unit.pages[0]
    statement = events.experienced_page(scene(context_key=None), unit, page, NOW)
    grouping = statement["context"]["contextActivities"]["grouping"]
    assert [g["id"] for g in grouping] == [f"{BASE}/programme"]
    assert statement_problems(statement) == []
    programme = events.launched(scene(), None, None, NOW)
    assert [g["id"] for g in programme["context"]["contextActivities"]["grouping"]] == [f"{BASE}/courses/3"]


def test_activity_names_carry_every_language() -> None:
    ref = ActivityRef("urn:x", x.TYPE_MODULE, lang({"en": "Unit", "sl": "Enota", "sv": ""}))
    assert dict(ref.name) == {"en": "Unit", "sl": "Enota"}


# --- whatever the LMS sends: course title, platform name, ids, locale -------------------------

lms_text = st.text(max_size=40) | st.sampled_from(["", " ", "\x00", "\u202e", "x" * 5_000, "\U0001d518nit"])
lms_locale = st.none() | st.text(max_size=12) | st.sampled_from(
    ["en_US", "sl", "pt-BR", "zh-Hant-TW", "en-", "-en", "x" * 40, "de_DE@euro", " sv "])


@settings(max_examples=120, deadline=None)
@given(title=st.none() | lms_text, platform=lms_text, context_id=st.none() | lms_text, locale=lms_locale,
       context_key=st.none() | st.integers(1, 2**31), competency=lms_text.filter(bool))
def test_any_lms_supplied_text_gives_valid_statements(
    title: str | None, platform: str, context_id: str | None, locale: str | None, context_key: int | None,
    competency: str,
) -> None:
    """Course titles, platform names, context ids and locales come from the LMS: the statements stay valid."""
    actor = ActorRef(key="4f1c", home_page=BASE, form="account", email=None)
    where = Scene(base_url=BASE, actor=actor, platform_name=platform, issuer="https://lms.example",
                  context_key=context_key, lti_context_id=context_id, course_title=title,
                  language=language_tag(locale))
    unit = CATALOG.units[0]
    quiz = next(a for a in unit.activities if a.kind == "quiz")
    node = load_framework().competencies()[0]
    named = dataclasses.replace(node, shortname=competency)
    for statement in (events.launched(where, unit, None, NOW), events.launched(where, None, None, NOW),
                      events.experienced_page(where, unit, unit.pages[0], NOW),
                      events.graded_attempt(where, unit, quiz, 0.5, passed=True, duration=None, now=NOW),
                      events.mastered_competency(where, named, 3, 4, unit, NOW)):
        assert statement_problems(statement) == [], (statement.get("context"), statement["object"])
        json.dumps(statement, ensure_ascii=False).encode("utf-8")
