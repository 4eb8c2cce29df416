"""``/api/v1``: learners' real work (launches from the emulator, quizzes, a reflection a trainer
assesses) read back through the API with per-platform keys, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from competencies.models import Proficiency
from l2i_db import utcnow
from lti_tool.access_models import ApiKey
from lti_tool.api_keys import ApiKeyError, authenticate, create_api_key, revoke_api_key
from lti_tool.cohorts import CourseView, build_course_view, proficient_share, read_filter, set_group
from lti_tool.models import Context, Deployment, Platform, PlatformUser
from lti_tool.platforms import find_platform
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver
from tests.fixtures.servers import TOOL_BASE_URL
from tests.lti_tool.test_learning_flow import activity, csrf_of, right_answers, start

UNIT = "u1-challenges"
REALM = 'Bearer realm="l2i"'


# --- a learner's and a trainer's real work, through the tool's pages ---------------------------

def enter(driver: LaunchDriver, role: str, index: int = 0, institution: int = 0) -> FlaskClient:
    """Launch ``role`` into the unit with a fresh browser; return the browser."""
    driver.client = driver.client.application.test_client()
    response = driver.launch(driver.user(role, index, institution), driver.link(UNIT, institution),
                             institution)
    assert response.status_code == 303, response.get_data(as_text=True)
    return driver.client






def do_quiz(app: Flask, client: FlaskClient, right: bool = True) -> None:
    quiz = activity(app, "u1-quiz")
    path, csrf = start(client, "", quiz.id)
    answers = right_answers(quiz) if right else {}
    assert client.post(f"{path}/submit", data={**answers, "csrf_token": csrf}).status_code == 303


def hand_in_reflection(client: FlaskClient) -> int:
    path, csrf = start(client, "", "u1-reflection")
    text = " ".join(["Our team supports older people living at home and their carers."] * 40)
    assert client.post(f"{path}/submit", data={"csrf_token": csrf, "answer": text}).status_code == 303
    return int(path.rsplit("/", 1)[1])


def assess(app: Flask, trainer: FlaskClient, attempt_id: int) -> None:
    form = trainer.get(f"/trainer/attempts/{attempt_id}").get_data(as_text=True)
    ratings = {f"criterion-{c.id}": "3" for c in activity(app, "u1-reflection").rubric}
    saved = trainer.post(f"/trainer/attempts/{attempt_id}",
                         data={**ratings, "csrf_token": csrf_of(form), "feedback": "Clear."})
    assert saved.status_code == 303, saved.get_data(as_text=True)


@dataclass
class World:
    """Two institutions' courses with work in them, and an API key for each platform."""

    app: Flask
    api: FlaskClient
    a_context: int
    b_context: int
    a_token: str
    b_token: str
    a_issuer: str
    b_issuer: str

    def get(self, path: str, token: str | None = None, **headers: str) -> TestResponse:
        """GET ``path`` with the A key (or ``token``; "" for none)."""
        token = self.a_token if token is None else token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.api.get(path, headers=headers)


def platform_of(session: Session, driver: LaunchDriver, institution: int) -> Platform:
    inst = driver.institution(institution)
    found = find_platform(session, inst.issuer, inst.client_id)
    assert found is not None
    return found


def context_of(session: Session, platform: Platform) -> int:
    return session.scalars(select(Context.id).join(Deployment, Deployment.id == Context.deployment_id)
                           .where(Deployment.platform_id == platform.id)).one()


def make_world(app: Flask, driver: LaunchDriver, session: Session, *, work: bool) -> World:
    """Launch learners at both institutions (with ``work``: quizzes, a page, an assessed reflection)."""
    if work:
        ana, lars, _marta = (enter(driver, "Learner", i) for i in range(3))
        do_quiz(app, ana)
        reflection_id = hand_in_reflection(ana)
        first_page = app_state(app).catalog.unit(UNIT).pages[0]  # type: ignore[union-attr]
        assert lars.get(f"/units/{UNIT}/pages/{first_page.id}").status_code == 200
        do_quiz(app, lars, right=False)
        assess(app, enter(driver, "Instructor"), reflection_id)
        do_quiz(app, enter(driver, "Learner", 0, institution=1))
        enter(driver, "Learner", 1, institution=1)
    else:
        enter(driver, "Learner", 0)
        enter(driver, "Learner", 0, institution=1)
    a, b = platform_of(session, driver, 0), platform_of(session, driver, 1)
    _, a_token = create_api_key(session, a, "A's reporting")
    _, b_token = create_api_key(session, b, "B's reporting")
    a_context = context_of(session, a)
    if work:
        lars_id = session.scalars(select(PlatformUser.learner_id).where(
            PlatformUser.issuer == a.issuer, PlatformUser.sub == driver.user("Learner", 1).sub)).one()
        set_group(session, a_context, lars_id, "Evening")
    session.commit()
    return World(app=app, api=app.test_client(), a_context=a_context, b_context=context_of(session, b),
                 a_token=a_token, b_token=b_token, a_issuer=a.issuer, b_issuer=b.issuer)


@pytest.fixture
def world(app: Flask, driver: LaunchDriver, db_session: Session) -> World:
    """Three learners at A (one assessed), two at B, a group, and a key for each platform."""
    return make_world(app, driver, db_session, work=True)


@pytest.fixture
def bare(app: Flask, driver: LaunchDriver, db_session: Session) -> World:
    """One learner launched at each institution, no work, and a key for each platform."""
    return make_world(app, driver, db_session, work=False)


def course_view(app: Flask, session: Session, context_id: int, args: dict[str, str]) -> CourseView:
    state = app_state(app)
    session.expire_all()
    return build_course_view(session, state.catalog, state.framework, [context_id],
                             read_filter(args, state.catalog, state.framework))


def sub_of(session: Session, learner_id: int, issuer: str) -> str:
    return session.scalars(select(PlatformUser.sub).where(PlatformUser.learner_id == learner_id,
                                                          PlatformUser.issuer == issuer)).one()


def proficiency_rows(session: Session, issuer: str) -> set[tuple[str, str, int | None]]:
    """The proficiency rows of learners known to ``issuer``, as (sub, competency, level)."""
    session.expire_all()
    rows = session.execute(select(PlatformUser.sub, Proficiency.competency_id, Proficiency.level)
                           .join(PlatformUser, PlatformUser.learner_id == Proficiency.learner_id)
                           .where(PlatformUser.issuer == issuer))
    return {(sub, competency, level) for sub, competency, level in rows}


def all_items(world: World, path: str, token: str | None = None) -> list[dict[str, Any]]:
    """Follow ``next`` from ``path`` to the last page; return every item."""
    items: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        response = world.get(url.removeprefix(TOOL_BASE_URL), token)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items += body["items"]
        url = body["next"]
    return items


# --- the numbers are the dashboard's ------------------------------------------------------------

FILTERS = [
    {},
    {"sort": "progress", "desc": "1"},
    {"sort": "last"},
    {"unit": UNIT},
    {"competency": "L2I-C1.1", "level": "0"},
    {"group": "evening"},
    {"q": "an"},
]


def test_learners_and_summary_equal_the_dashboards(world: World, db_session: Session) -> None:
    for args in FILTERS:
        check_against_dashboard(world, db_session, args)


def check_against_dashboard(world: World, db_session: Session, args: dict[str, str]) -> None:
    view = course_view(world.app, db_session, world.a_context, args)
    query = "&".join(f"{k}={v}" for k, v in args.items())
    learners = world.get(f"/api/v1/contexts/{world.a_context}/learners?{query}")
    assert learners.status_code == 200, learners.get_json()
    body = learners.get_json()
    assert body["total"] == len(view.rows) and body["page"] == 1 and body["next"] is None
    assert len(body["items"]) == len(view.rows)
    for item, row in zip(body["items"], view.rows, strict=True):
        assert item["user_id"] == sub_of(db_session, row.member.learner_id, world.a_issuer)
        assert (item["name"], item["group"], item["institution"]) == (
            row.member.name, row.member.group, row.member.institution)
        last = dt.datetime.fromisoformat(item["last_activity"]) if item["last_activity"] else None
        assert last == row.last_activity
        assert item["progress"] == {u.id: {"percent": row.progress[u.id].percent,
                                           "state": row.progress[u.id].state} for u in view.units}
        assert item["competencies"] == {
            c.idnumber: {"level": row.level(c.idnumber), "score": row.cells[c.idnumber].score if c.idnumber
                         in row.cells else None, "overridden": c.idnumber in row.cells
                         and row.cells[c.idnumber].overridden} for c in view.competencies}

    summary = world.get(f"/api/v1/contexts/{world.a_context}/summary?{query}")
    assert summary.status_code == 200, summary.get_json()
    data = summary.get_json()
    proficient = app_state(world.app).framework.scale.proficient_level
    assert (data["learners_shown"], data["learners_total"], data["proficient_level"]) == (
        len(view.rows), view.total, proficient)
    shares = proficient_share(view, proficient)
    assert [(c["competency_id"], c["levels"]) for c in data["competencies"]] == [
        (c.idnumber, view.levels[c.idnumber]) for c in view.competencies]
    assert [c["proficient_share"] for c in data["competencies"]] == pytest.approx(
        [shares[c.idnumber] for c in view.competencies])
    assert [(u["unit_id"], u["in_course"], u["started"], u["handed_in"], u["completed"])
            for u in data["units"]] == [(u.id, *view.funnels[u.id]) for u in view.units]
    assert [(p["week"], p["reached"]) for p in data["trend"]] == [
        (p.week.isoformat(), p.reached) for p in view.trend]


def test_the_numbers_are_not_all_zero(world: World) -> None:
    body = world.get(f"/api/v1/contexts/{world.a_context}/learners").get_json()
    assert body["total"] == 3
    by_name = {item["name"]: item for item in body["items"]}
    ana = by_name["Ana Novak"]
    assert ana["progress"][UNIT]["percent"] > 0 and ana["progress"][UNIT]["state"] != "not-started"
    assert any(standing["level"] for standing in ana["competencies"].values())
    assert by_name["Lars Berg"]["group"] == "Evening"
    assert by_name["Marta Puig"]["progress"][UNIT] == {"percent": 0, "state": "not-started"}
    summary = world.get(f"/api/v1/contexts/{world.a_context}/summary").get_json()
    unit = next(u for u in summary["units"] if u["unit_id"] == UNIT)
    assert (unit["in_course"], unit["handed_in"]) == (3, 2)
    assert all(sum(c["levels"]) == 3 for c in summary["competencies"])


def test_contexts_lists_the_platforms_courses_with_learner_counts(world: World, db_session: Session) -> None:
    body = world.get("/api/v1/contexts").get_json()
    assert body["total"] == 1 and body["next"] is None
    [course] = body["items"]
    context = db_session.get(Context, world.a_context)
    assert context is not None
    assert course == {"id": context.id, "lms_context_id": context.context_id, "title": context.title,
                      "label": context.label, "learners": 3}
    [other] = world.get("/api/v1/contexts", world.b_token).get_json()["items"]
    assert (other["id"], other["learners"]) == (world.b_context, 2)


def test_competencies_give_the_framework_with_case_identifiers(bare: World) -> None:
    framework = app_state(bare.app).framework
    body = bare.get("/api/v1/competencies").get_json()
    assert body["idnumber"] == framework.idnumber and body["case"]["identifier"] == framework.uuid
    assert body["scale"]["proficient_level"] == framework.scale.proficient_level
    assert [level["name"] for level in body["scale"]["levels"]] == list(framework.scale.names)
    assert [d["idnumber"] for d in body["domains"]] == [d.idnumber for d in framework.domains()]
    assert [c["idnumber"] for c in body["competencies"]] == [c.idnumber for c in framework.competencies()]
    domains = {d["idnumber"] for d in body["domains"]}
    for item in body["competencies"]:
        node = framework.node(item["idnumber"])
        assert node is not None and item["parent"] in domains and item["shortname"] == node.shortname
        assert item["case"]["identifier"] == node.uuid
        assert item["case"]["uri"].endswith(f"/CFItems/{node.uuid}")


# --- one platform per key ------------------------------------------------------------------------

def test_a_key_sees_only_its_own_platform(world: World, db_session: Session) -> None:
    for path in (f"/api/v1/contexts/{world.a_context}/learners",
                 f"/api/v1/contexts/{world.a_context}/summary",
                 f"/api/v1/proficiency?context={world.a_context}"):
        refused = world.get(path, world.b_token)
        assert refused.status_code == 404, path
        assert "has no course" in refused.get_json()["message"]
        assert world.get(path).status_code == 200  # A's own key
    assert world.get("/api/v1/contexts/987654/learners").status_code == 404  # unknown looks the same

    a_rows = {(p["user_id"], p["competency_id"], p["level"]) for p in all_items(world, "/api/v1/proficiency")}
    b_rows = {(p["user_id"], p["competency_id"], p["level"])
              for p in all_items(world, "/api/v1/proficiency", world.b_token)}
    assert a_rows == proficiency_rows(db_session, world.a_issuer) and a_rows
    assert b_rows == proficiency_rows(db_session, world.b_issuer) and b_rows
    # the subs overlap (both LMSs number their users from 2), so count the learners behind them
    a_learners = {p["user_id"] for p in all_items(world, "/api/v1/proficiency")}
    b_learners = {p["user_id"] for p in all_items(world, "/api/v1/proficiency", world.b_token)}
    assert len(a_learners) == 2 and len(b_learners) == 1  # Marta has no evidence yet
    in_course = all_items(world, f"/api/v1/proficiency?context={world.a_context}")
    assert {(p["user_id"], p["competency_id"], p["level"]) for p in in_course} == a_rows


def test_proficiency_items_carry_the_rows_fields(world: World, db_session: Session) -> None:
    items = all_items(world, "/api/v1/proficiency?per_page=1000")
    rows = {(sub_of(db_session, p.learner_id, world.a_issuer), p.competency_id): p
            for p in db_session.scalars(select(Proficiency))
            if any(pu.issuer == world.a_issuer for pu in db_session.scalars(
                select(PlatformUser).where(PlatformUser.learner_id == p.learner_id)))}
    assert len(items) == len(rows)
    for item in items:
        row = rows[(item["user_id"], item["competency_id"])]
        assert (item["level"], item["score"], item["overridden"], item["sources"]) == (
            row.level, row.score, row.overridden, row.sources)
        assert dt.datetime.fromisoformat(item["updated_at"]) == row.updated_at


# --- keys ----------------------------------------------------------------------------------------

def revoked_token(world: World, db_session: Session) -> str:
    platform = db_session.scalars(select(Platform).where(Platform.issuer == world.a_issuer)).one()
    key, token = create_api_key(db_session, platform, "old")
    revoke_api_key(db_session, key.key_id)
    db_session.commit()
    return token


@pytest.mark.parametrize(("header", "says", "challenge"), [
    (None, "Send an API key as 'Authorization: Bearer", REALM),
    ("Basic dXNlcjpwYXNz", "must read 'Bearer", f'{REALM}, error="invalid_request"'),
    ("Bearer", "must read 'Bearer", f'{REALM}, error="invalid_request"'),
    ("Bearer garbage", "malformed", f'{REALM}, error="invalid_token"'),
    ("Bearer l2i_" + "A" * 12 + "_" + "b" * 43, "not known or its secret", f'{REALM}, error="invalid_token"'),
    ("WRONG-SECRET", "not known or its secret is wrong", f'{REALM}, error="invalid_token"'),
    ("REVOKED", "was revoked on", f'{REALM}, error="invalid_token"'),
    ("Bearer " + "x" * 60_000, "malformed", f'{REALM}, error="invalid_token"'),
    ("Bearer l2i_\u00e9\u00e9\u00e9", "malformed", f'{REALM}, error="invalid_token"'),
])
def test_requests_without_a_usable_key_get_401_with_a_challenge(
    bare: World, db_session: Session, header: str | None, says: str, challenge: str,
) -> None:
    if header == "WRONG-SECRET":
        header = "Bearer " + bare.a_token[:-6] + "abcdef"
    elif header == "REVOKED":
        header = "Bearer " + revoked_token(bare, db_session)
    headers = {"Authorization": header} if header is not None else {}
    for path in ("/api/v1/contexts", "/api/v1/proficiency", f"/api/v1/contexts/{bare.a_context}/learners",
                 "/api/v1/competencies", "/api/v1/contexts/987654/summary"):
        response = bare.api.get(path, headers=headers)
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"] == challenge
        assert response.is_json and says in response.get_json()["message"]


def test_the_openapi_document_needs_no_key(bare: World) -> None:
    assert bare.get("/api/v1/openapi.json", token="").status_code == 200


def test_a_disabled_platforms_key_is_refused(bare: World, db_session: Session) -> None:
    platform = db_session.scalars(select(Platform).where(Platform.issuer == bare.a_issuer)).one()
    platform.disabled_at = utcnow()
    db_session.commit()
    refused = bare.get("/api/v1/contexts")
    assert refused.status_code == 401 and "disabled" in refused.get_json()["message"]


def test_last_use_is_noted_at_most_once_a_minute(bare: World, db_session: Session) -> None:
    key_id = bare.a_token[4:16]
    assert bare.get("/api/v1/contexts").status_code == 200
    db_session.expire_all()
    key = db_session.scalars(select(ApiKey).where(ApiKey.key_id == key_id)).one()
    first = key.last_used_at
    assert first is not None and utcnow() - first < dt.timedelta(minutes=1)
    authenticate(db_session, bare.a_token, first + dt.timedelta(seconds=59))
    assert key.last_used_at == first
    later = first + dt.timedelta(seconds=61)
    authenticate(db_session, bare.a_token, later)
    assert key.last_used_at == later


def test_authenticate_compares_the_hash_and_names_the_fault(bare: World, db_session: Session) -> None:
    with pytest.raises(ApiKeyError, match="malformed"):
        authenticate(db_session, "l2i_short_secret", utcnow())
    with pytest.raises(ApiKeyError, match="not known"):
        authenticate(db_session, bare.a_token[:17] + bare.a_token[17:].swapcase(), utcnow())
    token = revoked_token(bare, db_session)
    with pytest.raises(ApiKeyError, match=r"revoked on \d{4}-\d\d-\d\d \d\d:\d\d UTC"):
        authenticate(db_session, token, utcnow())
    assert bare.a_token not in {k.secret_hash for k in db_session.scalars(select(ApiKey))}


# --- paging --------------------------------------------------------------------------------------

def test_paging_follows_next_links_to_the_end(world: World) -> None:
    everything = world.get("/api/v1/proficiency?per_page=1000").get_json()
    total = everything["total"]
    assert total == len(everything["items"]) >= 5
    first = world.get("/api/v1/proficiency?per_page=2")
    body = first.get_json()
    assert (body["page"], body["per_page"], body["total"], len(body["items"])) == (1, 2, total, 2)
    assert body["next"] == f"{TOOL_BASE_URL}/api/v1/proficiency?page=2&per_page=2"
    assert first.headers["Link"] == f'<{body["next"]}>; rel="next"'
    paged = all_items(world, "/api/v1/proficiency?per_page=2")
    assert paged == everything["items"]  # stable order, nothing twice, nothing missed
    last_page = (total + 1) // 2
    last = world.get(f"/api/v1/proficiency?per_page=2&page={last_page}")
    assert last.get_json()["next"] is None and "Link" not in last.headers
    beyond = world.get(f"/api/v1/proficiency?per_page=2&page={last_page + 5}").get_json()
    assert beyond["items"] == [] and beyond["total"] == total


def test_learners_are_paged_after_filtering_and_keep_the_filter_in_next(world: World) -> None:
    path = f"/api/v1/contexts/{world.a_context}/learners"
    page = world.get(f"{path}?sort=progress&desc=1&per_page=2").get_json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert parse_qs(urlsplit(page["next"]).query) == {"sort": ["progress"], "desc": ["1"], "page": ["2"],
                                                      "per_page": ["2"]}
    whole = world.get(f"{path}?sort=progress&desc=1").get_json()["items"]
    assert all_items(world, f"{path}?sort=progress&desc=1&per_page=2") == whole
    assert all_items(world, f"{path}?per_page=1") == world.get(path).get_json()["items"]


@pytest.mark.parametrize(("query", "names"), [
    ("page=0", "page"), ("page=abc", "page"), ("page=", "page"), ("page=1.5", "page"), ("page=-1", "page"),
    ("per_page=0", "per_page"), ("per_page=1001", "per_page"), ("per_page=many", "per_page"),
    ("per_page=" + "9" * 5000, "per_page"), ("page=" + "9" * 40, "page"),
])
def test_bad_paging_is_400_naming_the_parameter(bare: World, query: str, names: str) -> None:
    for path in ("/api/v1/contexts", "/api/v1/proficiency", f"/api/v1/contexts/{bare.a_context}/learners"):
        response = bare.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        message = response.get_json()["message"]
        assert f"The query parameter {names} must be a whole number" in message


# --- conditional GET -----------------------------------------------------------------------------

def test_an_unchanged_selection_answers_304_and_new_evidence_200(
    app: Flask, world: World, driver: LaunchDriver,
) -> None:
    first = world.get("/api/v1/proficiency")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and first.headers["Cache-Control"] == "private, no-cache"
    same = world.get("/api/v1/proficiency", **{"If-None-Match": etag})
    assert same.status_code == 304 and same.data == b"" and same.headers["ETag"] == etag
    assert world.get("/api/v1/proficiency", **{"If-None-Match": f"W/{etag}"}).status_code == 304
    assert world.get("/api/v1/proficiency", **{"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert world.get("/api/v1/proficiency", **{"If-Modified-Since": modified}).status_code == 304
    older = world.get("/api/v1/proficiency", **{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert older.status_code == 200 and older.get_json()["items"]
    # If-None-Match wins over If-Modified-Since
    assert world.get("/api/v1/proficiency", **{"If-None-Match": '"other"', "If-Modified-Since": modified}
                     ).status_code == 200
    # another page, or another filter, is another entity
    assert world.get("/api/v1/proficiency?per_page=2").headers["ETag"] != etag
    assert world.get("/api/v1/proficiency?per_page=2", **{"If-None-Match": etag}).status_code == 200

    do_quiz(app, enter(driver, "Learner", 2))  # Marta's first evidence
    changed = world.get("/api/v1/proficiency", **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["total"] > first.get_json()["total"]
    again = world.get("/api/v1/proficiency", **{"If-None-Match": changed.headers["ETag"]})
    assert again.status_code == 304


def test_updated_since_narrows_the_selection(world: World) -> None:
    total = world.get("/api/v1/proficiency").get_json()["total"]
    assert world.get("/api/v1/proficiency?updated_since=2000-01-01").get_json()["total"] == total
    assert world.get("/api/v1/proficiency?updated_since=2000-01-01T00:00:00Z").get_json()["total"] == total
    future = (utcnow() + dt.timedelta(days=1)).isoformat().replace("+00:00", "%2B00:00")
    empty = world.get(f"/api/v1/proficiency?updated_since={future}")
    assert empty.status_code == 200 and empty.get_json() == {"items": [], "page": 1, "per_page": 100,
                                                              "total": 0, "next": None}
    assert "Last-Modified" not in empty.headers and empty.headers["ETag"]


# --- bad input is a 400 (or 401/404) with a message, never a 500 -----------------------------------

@pytest.mark.parametrize(("query", "says"), [
    ("unit=u9-nowhere", "There is no unit u9-nowhere"),
    ("competency=L2I-X", "There is no competency L2I-X"),
    ("level=abc", "The level must be a whole number"),
    ("level=99", "The scale has levels 1 to"),
    ("sort=shoe-size", "cannot sort by shoe-size"),
    ("institution=x", "Choose an institution"),
    ("q=" + "x" * 5000, "Search for at most"),
    ("unit=%00", "There is no unit"),
])
def test_bad_filters_are_400_with_a_message(bare: World, query: str, says: str) -> None:
    for endpoint in ("learners", "summary"):
        response = bare.get(f"/api/v1/contexts/{bare.a_context}/{endpoint}?{query}")
        assert response.status_code == 400, (endpoint, query)
        assert response.is_json and says in response.get_json()["message"]


@pytest.mark.parametrize(("query", "says"), [
    ("updated_since=yesterday", "updated_since"),
    ("updated_since=" + "2" * 5000, "updated_since"),
    ("updated_since=0001-01-01T00:00:00%2B01:00", "updated_since"),
    ("updated_since=2026-01-01T00:00:00+00:00", "%2B"),
    ("context=abc", "The query parameter context must be a whole number"),
    ("context=" + "9" * 30, "The query parameter context must be a whole number"),
    ("context=0", "The query parameter context must be a whole number"),
])
def test_bad_proficiency_arguments_are_400(bare: World, query: str, says: str) -> None:
    response = bare.get(f"/api/v1/proficiency?{query}")
    assert response.status_code == 400, query
    assert says in response.get_json()["message"]


def test_oversized_or_odd_values_never_500(bare: World) -> None:
    assert bare.get("/api/v1/contexts/99999999999999999999/learners").status_code == 404
    assert bare.get("/api/v1/contexts/2147483648/summary").status_code == 404
    assert bare.get("/api/v1/proficiency", **{"If-None-Match": '"' + "a" * 50_000 + '"'}).status_code == 200
    assert bare.get("/api/v1/proficiency", **{"If-Modified-Since": "x" * 10_000}).status_code == 200
    assert bare.get(f"/api/v1/contexts/{bare.a_context}/learners?group={'g' * 10_000}").status_code == 200
    assert bare.get(f"/api/v1/contexts/{bare.a_context}/learners?q=%00").status_code == 200
    assert bare.get("/api/v1/contexts?" + "&".join(f"x{n}=y" for n in range(2000))).status_code == 200


def test_unknown_addresses_and_methods_answer_json(bare: World) -> None:
    missing = bare.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.is_json and missing.get_json()["message"]
    wrong_method = bare.api.post("/api/v1/contexts", headers={"Authorization": f"Bearer {bare.a_token}"})
    assert wrong_method.status_code == 405 and wrong_method.is_json


# --- the OpenAPI document ------------------------------------------------------------------------

def test_the_openapi_document_describes_every_route(bare: World) -> None:
    response = bare.get("/api/v1/openapi.json", token="")
    doc = response.get_json()
    validate(doc)  # structurally valid OpenAPI 3.1
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"], "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    routes = {re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule.rule)
              for rule in bare.app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert routes == set(doc["paths"]) and len(routes) == 6
    for path, item in doc["paths"].items():
        operation = item["get"]
        assert operation["summary"] and operation["operationId"]
        if path == "/api/v1/openapi.json":
            assert operation["security"] == []
            continue
        assert operation["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}
        names = {p.get("name") or p["$ref"].rsplit("/", 1)[1] for p in operation.get("parameters", [])}
        if "{context_id}" in path:
            assert "ContextId" in names
        if path.endswith(("/contexts", "/learners", "/proficiency")):
            assert {"page", "per_page"} <= names
    assert {"page", "per_page", "context", "updated_since", "If-None-Match"} <= {
        p["name"] for p in doc["paths"]["/api/v1/proficiency"]["get"]["parameters"]}


def test_the_documented_schemas_match_the_answers(world: World) -> None:
    schemas = world.get("/api/v1/openapi.json", token="").get_json()["components"]["schemas"]
    learner = world.get(f"/api/v1/contexts/{world.a_context}/learners").get_json()["items"][0]
    assert set(learner) == set(schemas["Learner"]["properties"])
    proficiency = world.get("/api/v1/proficiency").get_json()
    assert set(proficiency) == set(schemas["ProficiencyPage"]["properties"])
    assert set(proficiency["items"][0]) == set(schemas["Proficiency"]["properties"])
    summary = world.get(f"/api/v1/contexts/{world.a_context}/summary").get_json()
    assert set(summary) == set(schemas["CourseSummary"]["properties"])
    unauthorized = world.get("/api/v1/contexts", token="").get_json()
    assert set(unauthorized) == set(schemas["Error"]["properties"])
