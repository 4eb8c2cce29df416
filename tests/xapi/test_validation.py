"""xAPI 1.0.3 statement checks: valid statements pass, each broken rule is reported at its JSON path,
and no JSON-like input makes the check raise anything but StatementError."""

from __future__ import annotations

import copy
import datetime as dt
import math
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tincan import (
    Activity,
    ActivityDefinition,
    ActivityList,
    Agent,
    AgentAccount,
    Context,
    ContextActivities,
    Extensions,
    LanguageMap,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
)

from xapi.validation import StatementError, remember_shared_part, statement_problems, validate_statement

BASE = "https://l2i.example.org"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# a generated valid statement takes some twenty draws: fewer examples keep these tests near a second each
GENERATED = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- valid statements ----------------------------------------------------------------------------


def tincan_statement(**overrides: Any) -> dict[str, Any]:
    """A learner's graded quiz attempt, as the engine builds it with tincan."""
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "timestamp": dt.datetime(2026, 3, 14, 9, 26, 53, 589000, tzinfo=dt.UTC),
        "actor": Agent(name="Ana Novak",
                       account=AgentAccount(home_page="https://lms.example.org", name="u-42")),
        "verb": Verb(id="http://adlnet.gov/expapi/verbs/passed", display=LanguageMap({"en-US": "passed"})),
        "object": Activity(
            id=f"{BASE}/units/u1/activities/quiz-1",
            definition=ActivityDefinition(
                name=LanguageMap({"en": "Quiz 1", "sl": "Kviz 1"}),
                type="http://adlnet.gov/expapi/activities/assessment",
                extensions=Extensions({f"{BASE}/xapi/extensions/attempt": 2}),
            ),
        ),
        "result": Result(
            score=Score(scaled=0.8, raw=8, min=0, max=10),
            success=True,
            completion=True,
            duration=dt.timedelta(minutes=1, seconds=5),
        ),
        "context": Context(
            registration=uuid.uuid4(),
            platform="L2I Engine",
            language="sl",
            context_activities=ContextActivities(
                parent=ActivityList([Activity(id=f"{BASE}/units/u1")]),
                category=ActivityList([Activity(id="https://w3id.org/xapi/cmi5/context/categories/moveon")]),
            ),
        ),
    }
    fields.update(overrides)
    statement: dict[str, Any] = Statement(**fields).as_version("1.0.3")
    return statement


def rich_statement() -> dict[str, Any]:
    """A hand-written statement that uses most of xAPI 1.0.3: an interaction, groups, an attachment."""
    return {
        "id": "8f2b3c4d-1e5f-4a6b-9c7d-0e1f2a3b4c5d",
        "timestamp": "2026-03-14T09:26:53.589Z",
        "version": "1.0.3",
        "actor": {"objectType": "Agent", "name": "Ana", "mbox": "mailto:ana@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
        "object": {
            "objectType": "Activity",
            "id": f"{BASE}/units/u1/activities/quiz-1/items/q1",
            "definition": {
                "name": {"en": "Which colour?"},
                "description": {"en": "Pick one colour."},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "moreInfo": f"{BASE}/units/u1",
                "interactionType": "choice",
                "correctResponsesPattern": ["blue"],
                "choices": [
                    {"id": "blue", "description": {"en": "Blue", "sl": "Modra"}},
                    {"id": "red", "description": {"en": "Red"}},
                ],
                "extensions": {f"{BASE}/xapi/extensions/weight": 1.5},
            },
        },
        "result": {
            "score": {"scaled": 1.0, "raw": 1, "min": 0, "max": 1},
            "success": True,
            "completion": True,
            "response": "blue",
            "duration": "PT12.5S",
            "extensions": {f"{BASE}/xapi/extensions/hints": 0},
        },
        "context": {
            "registration": "0adbb32d-7f53-4bad-948e-b1ecc419f383",
            "instructor": {"objectType": "Agent", "account": {"homePage": "https://lms.example.org",
                                                              "name": "trainer-7"}},
            "team": {"objectType": "Group", "name": "Team A",
                     "member": [{"mbox_sha1sum": "a" * 40}, {"openid": "https://id.example.org/bo"}]},
            "contextActivities": {
                "parent": [{"objectType": "Activity", "id": f"{BASE}/units/u1/activities/quiz-1"}],
                "grouping": {"id": f"{BASE}/units/u1"},
                "category": [],
            },
            "revision": "3",
            "platform": "L2I Engine",
            "language": "en-US",
            "statement": {"objectType": "StatementRef", "id": "1c3e5a7b-2d4f-4e6a-8b0c-9d1e2f3a4b5c"},
            "extensions": {f"{BASE}/xapi/extensions/session": "s-1"},
        },
        "attachments": [{
            "usageType": "http://adlnet.gov/expapi/attachments/signature",
            "display": {"en": "Signature"},
            "contentType": "application/octet-stream",
            "length": 4235,
            "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
        }],
    }


def test_a_tincan_statement_passes() -> None:
    statement = tincan_statement()
    assert statement["actor"]["objectType"] == "Agent"
    assert statement["result"]["duration"] == "PT01M05S"
    assert isinstance(statement["result"]["score"]["raw"], float)
    assert statement_problems(statement) == []
    validate_statement(statement)


def test_a_tincan_voiding_statement_passes() -> None:
    statement = tincan_statement(
        verb=Verb(id=VOIDED, display=LanguageMap({"en-US": "voided"})),
        object=StatementRef(id=uuid.uuid4()),
        result=None,
        context=Context(registration=uuid.uuid4(), language="en"),
    )
    assert statement["object"]["objectType"] == "StatementRef"
    assert statement_problems(statement) == []


def test_a_hand_written_rich_statement_passes() -> None:
    assert statement_problems(rich_statement()) == []


# --- what is reported, and where -----------------------------------------------------------------

DROP = object()
Change = dict[tuple[str | int, ...], Any]


def changed(statement: dict[str, Any], changes: Change) -> dict[str, Any]:
    """Return a copy of ``statement`` with each path set to its value (or removed, for DROP)."""
    result = copy.deepcopy(statement)
    for path, value in changes.items():
        parent: Any = result
        for step in path[:-1]:
            parent = parent[step]
        if value is DROP:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return result


AGENT = {"mbox": "mailto:bo@example.org"}
REF = {"objectType": "StatementRef", "id": "1c3e5a7b-2d4f-4e6a-8b0c-9d1e2f3a4b5c"}
SUB = {"objectType": "SubStatement", "actor": AGENT, "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
       "object": {"id": f"{BASE}/units/u1"}}
DEFINITION = ("object", "definition")
SCORE = ("result", "score")

# (id, changes to rich_statement(), JSON path of the expected problem, words the problem must hold)
BROKEN: list[tuple[str, Change, str, str]] = [
    ("not-an-object", {("actor",): "ana"}, "actor", "must be a JSON object"),
    ("verb-relative-iri", {("verb", "id"): "verbs/answered"}, "verb.id", "absolute IRI"),
    ("verb-iri-with-space", {("verb", "id"): "http://x.example/an swered"}, "verb.id", "absolute IRI"),
    ("verb-id-missing", {("verb", "id"): DROP}, "verb.id", "is required"),
    ("verb-unknown-key", {("verb", "label"): "x"}, "verb.label", "not a property of a Verb"),
    ("homepage-not-http", {("actor",): {"account": {"homePage": "ftp://lms.example.org", "name": "u"}}},
     "actor.account.homePage", "http or https"),
    ("homepage-no-host", {("actor",): {"account": {"homePage": "https:///u", "name": "u"}}},
     "actor.account.homePage", "with a host"),
    ("account-empty-name", {("actor",): {"account": {"homePage": "https://lms.example.org", "name": ""}}},
     "actor.account.name", "non-empty string"),
    ("account-extra-key", {("actor",): {"account": {"homePage": "https://lms.example.org", "name": "u",
                                                    "email": "u@example.org"}}},
     "actor.account.email", "not a property"),
    ("two-ifis", {("actor", "openid"): "https://id.example.org/ana"}, "actor", "exactly one"),
    ("no-ifi", {("actor", "mbox"): DROP}, "actor", "must have one of"),
    ("mbox-without-mailto", {("actor", "mbox"): "ana@example.org"}, "actor.mbox", "mailto:"),
    ("mbox-two-ats", {("actor", "mbox"): "mailto:ana@x@example.org"}, "actor.mbox", "mailto:"),
    ("sha1-too-short", {("actor",): {"mbox_sha1sum": "abc123"}}, "actor.mbox_sha1sum", "SHA-1"),
    ("sha1-not-hex", {("actor",): {"mbox_sha1sum": "g" * 40}}, "actor.mbox_sha1sum", "SHA-1"),
    ("openid-relative", {("actor",): {"openid": "ana"}}, "actor.openid", "absolute IRI"),
    ("actor-kind", {("actor", "objectType"): "Person"}, "actor.objectType", '"Agent" or "Group"'),
    ("anonymous-group-no-members", {("actor",): {"objectType": "Group", "member": []}}, "actor.member",
     "anonymous Group"),
    ("group-in-group", {("actor",): {"objectType": "Group", "member": [{"objectType": "Group", **AGENT}]}},
     "actor.member[0].objectType", "cannot be Groups"),
    ("member-without-ifi", {("context", "team", "member", 0): {"name": "x"}}, "context.team.member[0]",
     "must have one of"),
    ("scaled-above-one", {SCORE: {"scaled": 1.5}}, "result.score.scaled", "between -1 and 1, got 1.5"),
    ("scaled-below-minus-one", {SCORE: {"scaled": -1.01}}, "result.score.scaled", "between -1 and 1"),
    ("scaled-disagrees", {SCORE: {"scaled": 0.5, "raw": 8, "max": 10}}, "result.score.scaled",
     "agree with raw"),
    ("scaled-disagrees-negative-min", {SCORE: {"scaled": 0.9, "raw": -5, "min": -10, "max": 10}},
     "result.score.scaled", "agree with raw"),
    ("raw-above-max", {SCORE: {"raw": 11, "max": 10}}, "result.score.raw", "above max"),
    ("raw-below-min", {SCORE: {"raw": 1, "min": 2, "max": 10}}, "result.score.raw", "below min"),
    ("min-equals-max", {SCORE: {"min": 10, "max": 10}}, "result.score.min", "less than max"),
    ("min-above-max", {SCORE: {"min": 11, "max": 10}}, "result.score.min", "less than max"),
    ("raw-a-boolean", {SCORE: {"raw": True}}, "result.score.raw", "finite number"),
    ("raw-a-string", {SCORE: {"raw": "8"}}, "result.score.raw", "finite number"),
    ("raw-not-finite", {SCORE: {"raw": math.inf}}, "result.score.raw", "finite number"),
    ("score-unknown-key", {SCORE: {"percent": 80}}, "result.score.percent", "not a property of a Score"),
    ("success-a-string", {("result", "success"): "yes"}, "result.success", "true or false"),
    ("response-a-list", {("result", "response"): ["blue"]}, "result.response", "string"),
    ("result-unknown-key", {("result", "grade"): "A"}, "result.grade", "not a property of a Result"),
    ("result-extension-relative", {("result", "extensions"): {"hints": 0}}, "result.extensions",
     "absolute IRIs"),
    ("registration-not-uuid", {("context", "registration"): "reg-1"}, "context.registration", "UUID"),
    ("registration-unhyphenated", {("context", "registration"): uuid.uuid4().hex}, "context.registration",
     "UUID"),
    ("context-language", {("context", "language"): "english"}, "context.language", "RFC 5646"),
    ("platform-on-statement-ref", {("verb", "id"): VOIDED, ("object",): REF, ("context", "revision"): DROP},
     "context.platform", "only allowed when the object is an Activity"),
    ("revision-on-agent", {("object",): {"objectType": "Agent", **AGENT}, ("context", "platform"): DROP},
     "context.revision", "only allowed when the object is an Activity"),
    ("voided-without-ref", {("verb", "id"): VOIDED}, "object", "StatementRef"),
    ("context-unknown-key", {("context", "mood"): "calm"}, "context.mood", "not a property of a Context"),
    ("context-activities-unknown-key", {("context", "contextActivities", "siblings"): []},
     "context.contextActivities.siblings", "not a property"),
    ("context-activity-a-string", {("context", "contextActivities", "parent"): f"{BASE}/units/u1"},
     "context.contextActivities.parent", "Activity or a list"),
    ("context-activity-an-agent", {("context", "contextActivities", "parent", 0, "objectType"): "Agent"},
     "context.contextActivities.parent[0].objectType", '"Activity"'),
    ("context-activity-no-id", {("context", "contextActivities", "grouping"): {"objectType": "Activity"}},
     "context.contextActivities.grouping.id", "is required"),
    ("team-an-agent", {("context", "team"): {"objectType": "Agent", **AGENT}}, "context.team.objectType",
     '"Group"'),
    ("instructor-bad-mbox", {("context", "instructor"): {"mbox": "trainer"}}, "context.instructor.mbox",
     "mailto:"),
    ("context-statement-not-ref", {("context", "statement", "objectType"): "Activity"},
     "context.statement.objectType", '"StatementRef"'),
    ("stored-set", {("stored",): "2026-03-14T09:26:54Z"}, "stored", "set by the learning record store"),
    ("authority-set", {("authority",): AGENT}, "authority", "set by the learning record store"),
    ("top-level-unknown-key", {("colour",): "blue"}, "colour", "not a property of a Statement"),
    ("id-missing", {("id",): DROP}, "id", "is required"),
    ("id-unhyphenated", {("id",): "8f2b3c4d1e5f4a6b9c7d0e1f2a3b4c5d"}, "id", "UUID"),
    ("id-braced", {("id",): "{8f2b3c4d-1e5f-4a6b-9c7d-0e1f2a3b4c5d}"}, "id", "UUID"),
    ("timestamp-missing", {("timestamp",): DROP}, "timestamp", "is required"),
    ("timestamp-without-zone", {("timestamp",): "2026-03-14T09:26:53"}, "timestamp", "time zone"),
    ("timestamp-date-only", {("timestamp",): "2026-03-14"}, "timestamp", "time zone"),
    ("timestamp-space", {("timestamp",): "2026-03-14 09:26:53Z"}, "timestamp", "time zone"),
    ("timestamp-negative-zero", {("timestamp",): "2026-03-14T09:26:53-00:00"}, "timestamp",
     "negative zero"),
    ("timestamp-not-a-day", {("timestamp",): "2026-02-30T09:26:53Z"}, "timestamp", "real date"),
    ("version-2", {("version",): "2.0.0"}, "version", "1.0.x"),
    ("object-kind", {("object", "objectType"): "Thing"}, "object.objectType", "must be one of"),
    ("agent-object-without-ifi", {("object",): {"objectType": "Agent", "name": "Bo"}}, "object",
     "must have one of"),
    ("group-object-without-members", {("object",): {"objectType": "Group", "name": "Team B"}},
     "object.member", "anonymous Group"),
    ("activity-id-missing", {("object", "id"): DROP}, "object.id", "is required"),
    ("definition-type-relative", {(*DEFINITION, "type"): "assessment"}, "object.definition.type",
     "absolute IRI"),
    ("more-info-not-http", {(*DEFINITION, "moreInfo"): "mailto:x@example.org"}, "object.definition.moreInfo",
     "http or https"),
    ("definition-extension-relative", {(*DEFINITION, "extensions"): {"weight": 1}},
     "object.definition.extensions", "absolute IRIs"),
    ("name-a-string", {(*DEFINITION, "name"): "Which colour?"}, "object.definition.name", "JSON object"),
    ("interaction-type-unknown", {(*DEFINITION, "interactionType"): "multiple-choice"},
     "object.definition.interactionType", "must be one of"),
    ("choices-on-likert", {(*DEFINITION, "interactionType"): "likert"}, "object.definition.choices",
     "not a component of a 'likert'"),
    ("scale-on-choice", {(*DEFINITION, "scale"): [{"id": "1"}]}, "object.definition.scale",
     "not a component of a 'choice'"),
    ("source-on-performance", {(*DEFINITION, "interactionType"): "performance",
                               (*DEFINITION, "choices"): DROP, (*DEFINITION, "source"): [{"id": "a"}]},
     "object.definition.source", "not a component"),
    ("components-without-type", {(*DEFINITION, "interactionType"): DROP}, "object.definition.interactionType",
     "is required"),
    ("component-ids-repeat", {(*DEFINITION, "choices", 1, "id"): "blue"}, "object.definition.choices[1].id",
     "repeats"),
    ("component-id-whitespace", {(*DEFINITION, "choices", 0, "id"): "light blue"},
     "object.definition.choices[0].id", "without whitespace"),
    ("component-id-missing", {(*DEFINITION, "choices", 0, "id"): DROP}, "object.definition.choices[0].id",
     "is required"),
    ("component-description-tag", {(*DEFINITION, "choices", 0, "description"): {"blue": "Blue"}},
     "object.definition.choices[0].description", "RFC 5646"),
    ("components-not-a-list", {(*DEFINITION, "choices"): {"id": "blue"}}, "object.definition.choices",
     "JSON array"),
    ("responses-not-strings", {(*DEFINITION, "correctResponsesPattern"): [1]},
     "object.definition.correctResponsesPattern[0]", "string"),
    ("statement-ref-bad-id", {("verb", "id"): VOIDED, ("object",): {**REF, "id": "s-1"},
                              ("context", "platform"): DROP, ("context", "revision"): DROP},
     "object.id", "UUID"),
    ("substatement-in-substatement", {("object",): {**SUB, "object": SUB}, ("context", "platform"): DROP,
                                      ("context", "revision"): DROP},
     "object.object.objectType", "cannot hold a SubStatement"),
    ("substatement-with-id", {("object",): {**SUB, "id": str(uuid.uuid4())}, ("context", "platform"): DROP,
                              ("context", "revision"): DROP},
     "object.id", "not allowed in a SubStatement"),
    ("substatement-without-verb", {("object",): {key: SUB[key] for key in ("objectType", "actor", "object")}},
     "object.verb", "is required"),
    ("attachment-length-negative", {("attachments", 0, "length"): -1}, "attachments[0].length", "0 or more"),
    ("attachment-usage-relative", {("attachments", 0, "usageType"): "signature"}, "attachments[0].usageType",
     "absolute IRI"),
    ("attachment-sha2-missing", {("attachments", 0, "sha2"): DROP}, "attachments[0].sha2", "is required"),
    ("attachments-not-a-list", {("attachments",): {}}, "attachments", "JSON array"),
]


@pytest.mark.parametrize(("changes", "path", "words"), [case[1:] for case in BROKEN],
                         ids=[case[0] for case in BROKEN])
def test_a_broken_rule_is_reported_at_its_path(changes: Change, path: str, words: str) -> None:
    problems = statement_problems(changed(rich_statement(), changes))
    at_path = [problem for problem in problems if problem.startswith(f"{path}: ")]
    assert at_path, problems
    assert any(words in problem for problem in at_path), at_path


def test_there_are_enough_broken_cases() -> None:
    assert len(BROKEN) >= 40
    assert len({case[0] for case in BROKEN}) == len(BROKEN)


BAD_DURATIONS = ["P", "PT", "1M", "PT-5S", "P1S", "P1DT", "PT1.S", "P1W2D", "pt1m", " PT1M", "PT1M5S "]


@pytest.mark.parametrize("duration", BAD_DURATIONS, ids=repr)
def test_a_malformed_duration_is_reported(duration: str) -> None:
    problems = statement_problems(changed(rich_statement(), {("result", "duration"): duration}))
    assert [p for p in problems if p.startswith("result.duration: must be an ISO 8601 duration")], problems


BAD_TAGS = ["english", "en_US", "e", "", "en-", "-en", "en--US", "en-US-", "x", "1en", "en US"]


@pytest.mark.parametrize("tag", BAD_TAGS, ids=repr)
def test_a_malformed_language_tag_is_reported(tag: str) -> None:
    problems = statement_problems(changed(rich_statement(), {("verb", "display"): {tag: "answered"}}))
    assert problems == [f"verb.display: keys must be RFC 5646 language tags, got {tag!r}"]


# --- what is accepted ----------------------------------------------------------------------------

GOOD_TAGS = ["en", "en-US", "sl", "sv-SE", "zh-Hant-TW", "es-419", "und", "EN-us", "de-CH-1901",
             "sl-rozaj-biske", "zh-yue-HK", "en-a-bbb-x-l2i", "x-l2i", "i-klingon", "qaa"]


@pytest.mark.parametrize("tag", GOOD_TAGS)
def test_a_well_formed_language_tag_is_accepted(tag: str) -> None:
    statement = changed(rich_statement(),
                        {("verb", "display"): {tag: "answered"}, ("context", "language"): tag})
    assert statement_problems(statement) == []


GOOD_DURATIONS = ["PT1M5S", "PT01M05S", "P1DT2H", "PT0.5S", "P3W", "P1Y2M3DT4H5M6.25S", "PT0S", "P0D"]


@pytest.mark.parametrize("duration", GOOD_DURATIONS)
def test_a_well_formed_duration_is_accepted(duration: str) -> None:
    assert statement_problems(changed(rich_statement(), {("result", "duration"): duration})) == []


ACCEPTED: list[tuple[str, Change]] = [
    ("urn-verb", {("verb", "id"): "urn:x-l2i:verbs:reviewed"}),
    ("unicode-iri", {("object", "id"): f"{BASE}/enote/učenje"}),
    ("upper-case-uuid", {("id",): "8F2B3C4D-1E5F-4A6B-9C7D-0E1F2A3B4C5D"}),
    ("timestamp-offset", {("timestamp",): "2026-03-14T10:26:53+01:00"}),
    ("timestamp-negative-offset", {("timestamp",): "2026-03-14T04:26:53.5-05:00"}),
    ("timestamp-compact-offset", {("timestamp",): "2026-03-14T14:56:53+0530"}),
    ("no-version", {("version",): DROP}),
    ("empty-language-map", {("verb", "display"): {}}),
    ("single-context-activity", {("context", "contextActivities", "parent"): {"id": f"{BASE}/units/u1"}}),
    ("anonymous-group", {("actor",): {"objectType": "Group", "member": [AGENT]}}),
    ("identified-group-without-members", {("actor",): {"objectType": "Group", **AGENT}}),
    ("sha1-agent", {("actor",): {"mbox_sha1sum": "A" * 40}}),
    ("openid-agent", {("actor",): {"openid": "https://id.example.org/ana"}}),
    ("homepage-with-port", {("actor",): {"account": {"homePage": "http://127.0.0.1:8080/lms", "name": "u"}}}),
    ("scaled-raw-over-max-with-min", {SCORE: {"scaled": 0.8, "raw": 8, "min": 5, "max": 10}}),
    ("scaled-between-min-and-max", {SCORE: {"scaled": 0.6, "raw": 8, "min": 5, "max": 10}}),
    ("scaled-negative-raw-over-min", {SCORE: {"scaled": -0.5, "raw": -5, "min": -10, "max": 30}}),
    ("scaled-centred-range", {SCORE: {"scaled": -0.75, "raw": -5, "min": -10, "max": 30}}),
    ("scaled-positive-raw-over-max", {SCORE: {"scaled": 1 / 3, "raw": 10, "min": -10, "max": 30}}),
    ("score-floats", {SCORE: {"scaled": 0.8, "raw": 8.0, "min": 0.0, "max": 10.0}}),
    ("scaled-alone", {SCORE: {"scaled": -1}}),
    ("statement-ref-voided", {("verb", "id"): VOIDED, ("object",): REF, ("context", "platform"): DROP,
                              ("context", "revision"): DROP}),
    ("substatement", {("object",): SUB, ("context", "platform"): DROP, ("context", "revision"): DROP}),
    ("agent-object", {("object",): {"objectType": "Agent", **AGENT}, ("context", "platform"): DROP,
                      ("context", "revision"): DROP}),
    ("group-object", {("object",): {"objectType": "Group", "member": [AGENT]}, ("context", "platform"): DROP,
                      ("context", "revision"): DROP}),
    ("matching", {(*DEFINITION, "interactionType"): "matching", (*DEFINITION, "choices"): DROP,
                  (*DEFINITION, "source"): [{"id": "a"}], (*DEFINITION, "target"): [{"id": "a"}]}),
    ("true-false-pattern-only", {(*DEFINITION, "interactionType"): "true-false",
                                 (*DEFINITION, "choices"): DROP,
                                 (*DEFINITION, "correctResponsesPattern"): ["true"]}),
]


@pytest.mark.parametrize("changes", [case[1] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED])
def test_a_valid_variant_is_accepted(changes: Change) -> None:
    assert statement_problems(changed(rich_statement(), changes)) == []


# score 1/3 must not be read as inconsistent: the tolerance is 1e-6, not exact equality
def test_scaled_within_a_millionth_is_consistent() -> None:
    close = changed(rich_statement(), {SCORE: {"scaled": 0.3333333, "raw": 1, "max": 3}})
    far = changed(rich_statement(), {SCORE: {"scaled": 0.33333, "raw": 1, "max": 3}})
    assert statement_problems(close) == []
    assert statement_problems(far) == [
        "result.score.scaled: must agree with raw, min and max (expected 0.333333), got 0.33333"]


# --- the error and its message -------------------------------------------------------------------


def test_validate_statement_raises_with_every_problem() -> None:
    statement = changed(rich_statement(), {SCORE: {"scaled": 1.5}, ("stored",): "2026-03-14T09:26:54Z"})
    with pytest.raises(StatementError) as raised:
        validate_statement(statement)
    assert raised.value.problems == statement_problems(statement)
    assert len(raised.value.problems) == 2
    assert isinstance(raised.value, ValueError)
    assert "result.score.scaled: must be between -1 and 1, got 1.5" in str(raised.value)


def test_a_shown_value_is_cut_to_80_characters() -> None:
    problems = statement_problems(changed(rich_statement(), {("verb", "id"): "x" * 500}))
    assert len(problems) == 1
    shown = problems[0].split(", got ", 1)[1]
    assert len(shown) <= 80
    assert shown.startswith("'xxx")


def test_a_statement_that_is_not_an_object_is_one_problem() -> None:
    problems = statement_problems([rich_statement()])  # type: ignore[arg-type]
    assert len(problems) == 1
    assert problems[0].startswith("statement: must be a JSON object, got [{'")
    assert len(problems[0]) == len("statement: must be a JSON object, got ") + 80
    with pytest.raises(StatementError) as raised:
        validate_statement(None)  # type: ignore[arg-type]
    assert raised.value.problems == ["statement: must be a JSON object, got None"]


def test_an_empty_statement_lists_what_is_required() -> None:
    assert statement_problems({}) == [f"{key}: is required" for key in
                                      ("id", "actor", "verb", "object", "timestamp")]


# --- hypothesis: nothing raises, valid statements pass, a scaled out of range is caught ---------

JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
KEYS = st.sampled_from(["id", "actor", "verb", "object", "objectType", "result", "context", "score", "member",
                        "account", "definition", "interactionType", "choices", "scaled", "raw", "min", "max",
                        "contextActivities", "parent", "mbox", "display", "extensions"])
# JSON whose keys are often xAPI property names, so it reaches deeper into the checks
XAPI_LIKE_JSON = st.recursive(
    JSON_SCALARS | st.sampled_from(["Agent", "Group", "Activity", "SubStatement", "StatementRef", "choice",
                                    "mailto:a@b.c", VOIDED]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def assert_checks_cleanly(value: Any) -> list[str]:
    problems = statement_problems(value)
    assert isinstance(problems, list)
    assert all(isinstance(problem, str) for problem in problems)
    try:
        validate_statement(value)
    except StatementError as error:
        assert error.problems == problems
    else:
        assert problems == []
    return problems


@FUZZ
@given(JSON | XAPI_LIKE_JSON)
def test_any_json_value_gives_a_list_and_never_raises(value: Any) -> None:
    assert_checks_cleanly(value)


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value``."""
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths_in(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths_in(inner, (*prefix, index))
    return found


@FUZZ
@given(st.data())
def test_a_valid_statement_with_any_part_replaced_never_raises(data: st.DataObject) -> None:
    statement = rich_statement()
    path = data.draw(st.sampled_from(paths_in(statement)))
    replacement = data.draw(XAPI_LIKE_JSON | st.just(DROP))
    if replacement is DROP and isinstance(path[-1], int):
        replacement = None
    mutated = changed(statement, {path: replacement})
    assert_checks_cleanly(mutated)


LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
SEGMENT_CHARS = LOWER + "ABCXYZ._~-čšžéßøñ漢字"
SEGMENTS = st.lists(st.text(SEGMENT_CHARS, min_size=1, max_size=8), max_size=3)
HOSTS = st.text(LOWER, min_size=1, max_size=10).map(lambda name: f"h{name}.example.org")
IRLS = st.builds(lambda host, segments: "/".join([f"https://{host}", *segments]), HOSTS, SEGMENTS)
URNS = st.lists(st.text(LOWER, min_size=1, max_size=8), min_size=1, max_size=3).map(
    lambda parts: "urn:l2i:" + ":".join(parts))
IRIS = IRLS | URNS
TAGS = st.sampled_from(GOOD_TAGS)
LANGUAGE_MAPS = st.dictionaries(TAGS, st.text(max_size=20), max_size=3)
UUIDS = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
ACCOUNTS = st.fixed_dictionaries({"homePage": IRLS, "name": st.text(min_size=1, max_size=20)})
AGENTS = st.one_of(
    st.fixed_dictionaries({"account": ACCOUNTS},
                          optional={"name": st.text(max_size=20), "objectType": st.just("Agent")}),
    st.text(LOWER + ".", min_size=1, max_size=10).map(lambda user: {"mbox": f"mailto:{user}@example.org"}),
    st.binary(min_size=20, max_size=20).map(lambda digest: {"mbox_sha1sum": digest.hex()}),
    IRIS.map(lambda iri: {"openid": iri}),
)
ZONES = st.integers(-12 * 60, 14 * 60).map(lambda minutes: dt.timezone(dt.timedelta(minutes=minutes)))
TIMESTAMPS = st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), st.datetimes(), ZONES) \
    | st.datetimes().map(lambda moment: moment.isoformat() + "Z")
DURATIONS = st.one_of(
    st.builds(lambda h, m, s: f"PT{h}H{m}M{s}S", st.integers(0, 99), st.integers(0, 59), st.integers(0, 59)),
    st.builds(lambda d, s, f: f"P{d}DT{s}.{f}S", st.integers(0, 400), st.integers(0, 86399),
              st.integers(0, 999)),
    st.integers(0, 52).map(lambda w: f"P{w}W"),
    st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=9)).map(
        lambda t: f"P{t.days}DT{t.seconds}S"),
)


@st.composite
def scores(draw: st.DrawFn) -> dict[str, float]:
    """A score whose scaled is raw/max, or raw/|min| below zero, as the engine reports them."""
    finite = {"allow_nan": False, "allow_infinity": False}
    low = draw(st.none() | st.floats(-1000, 1000, **finite))
    high = (low or 0.0) + draw(st.floats(0.001, 1000, **finite))
    if high <= 0:
        high = draw(st.floats(0.001, 1000, **finite))
    start = 0.0 if low is None else low
    raw = min(max(start + draw(st.floats(0, 1)) * (high - start), start), high)
    scaled = raw / high if raw >= 0 or low is None else raw / -low
    score = {"scaled": scaled, "raw": raw, "max": high}
    if low is not None:
        score["min"] = low
    return score


@st.composite
def valid_statements(draw: st.DrawFn) -> dict[str, Any]:
    activity = {"id": draw(IRIS), "definition": {"name": draw(LANGUAGE_MAPS), "type": draw(IRIS),
                                                 "extensions": draw(st.dictionaries(IRIS, JSON, max_size=2))}}
    statement: dict[str, Any] = {
        "id": draw(UUIDS),
        "timestamp": draw(TIMESTAMPS),
        "actor": draw(AGENTS),
        "verb": {"id": draw(IRIS), "display": draw(LANGUAGE_MAPS)},
        "object": {"objectType": "Activity", **activity} if draw(st.booleans()) else activity,
        "result": {"score": draw(scores()), "success": draw(st.booleans()), "completion": draw(st.booleans()),
                   "duration": draw(DURATIONS), "response": draw(st.text(max_size=20))},
        "context": {"registration": draw(UUIDS), "platform": draw(st.text(max_size=20)),
                    "language": draw(TAGS),
                    "contextActivities": {"parent": [{"id": draw(IRIS)}], "category": {"id": draw(IRIS)}},
                    "instructor": {"objectType": "Group",
                                   "member": draw(st.lists(AGENTS, min_size=1, max_size=3))}},
    }
    if draw(st.booleans()):
        statement["version"] = "1.0.3"
    return statement


@GENERATED
@given(valid_statements())
def test_a_generated_valid_statement_has_no_problems(statement: dict[str, Any]) -> None:
    assert statement_problems(statement) == []


@GENERATED
@given(valid_statements(), st.floats(1, 1e300, exclude_min=True) | st.integers(2, 10**30), st.booleans())
def test_scaled_out_of_range_is_always_reported(statement: dict[str, Any], size: float,
                                                negative: bool) -> None:
    scaled = -size if negative else size
    statement["result"]["score"]["scaled"] = scaled
    problems = statement_problems(statement)
    assert any(problem.startswith("result.score.scaled: must be between -1 and 1") for problem in problems), \
        problems


# --- parts many statements share ------------------------------------------------------------------


def test_a_shared_part_is_checked_once_and_only_that_very_object_skips_the_check() -> None:
    statement = tincan_statement()
    activity = statement["object"]
    assert remember_shared_part("activity", activity) == []
    assert remember_shared_part("verb", statement["verb"]) == []
    assert remember_shared_part("actor", statement["actor"]) == []
    assert statement_problems(statement) == []
    broken = copy.deepcopy(activity)
    broken["id"] = "not an IRI"
    problems = statement_problems({**statement, "object": broken, "context": {
        "contextActivities": {"parent": [broken]}}})
    assert problems == ["object.id: must be an absolute IRI, got 'not an IRI'",
                        "context.contextActivities.parent[0].id: must be an absolute IRI, got 'not an IRI'"]


def test_a_shared_part_with_problems_is_not_remembered() -> None:
    activity = {"id": "no IRI", "objectType": "Activity"}
    problem = "activity.id: must be an absolute IRI, got 'no IRI'"
    assert remember_shared_part("activity", activity) == [problem]
    statement = tincan_statement()
    assert statement_problems({**statement, "object": activity}) == [
        "object.id: must be an absolute IRI, got 'no IRI'"]
    verb = {"id": "voided"}
    assert remember_shared_part("verb", verb) != []
    assert statement_problems({**statement, "verb": verb}) == [
        "verb.id: must be an absolute IRI, got 'voided'"]


def test_a_shared_part_counts_only_as_the_kind_it_was_checked_as() -> None:
    statement = tincan_statement()
    actor = statement["actor"]
    assert remember_shared_part("actor", actor) == []
    problems = statement_problems({**statement, "verb": actor})
    assert "verb.id: is required" in problems
