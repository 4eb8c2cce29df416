"""Every route of the tool, times every kind of visitor: who gets in and who is kept out.

The table below has one entry per endpoint of the app's URL map, so a new route without an entry
fails :func:`test_every_route_has_an_entry`. Each visitor carries a real launch session (from the
emulator's two institutions) and, for POSTs, a valid CSRF token of their own, so a refusal can
only come from authorisation. "deny" means 401, 403 or 404; "allow" means anything below 500
that is not one of those (a form without its fields may well answer 400 or 422 after the door).
Resources (the learner, the attempt, the course) belong to institution 0's first learner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from course_units.models import Attempt
from lti_tool.api_keys import create_api_key
from lti_tool.models import Context, Platform, PlatformUser
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver
from tests.lti_tool.test_credentials import issue_for_matrix
from tests.lti_tool.test_learning_flow import activity, reflection_text, right_answers, start
from tests.lti_tool.test_learning_flow import session_token as token_of

UNIT = "u1-challenges"
PRINCIPALS = ("anonymous", "learner", "other_learner", "instructor", "foreign_instructor", "admin",
              "foreign_learner", "foreign_api_key")
DENIED = {401, 403, 404}


@dataclass
class Visitor:
    """A principal: request headers that carry their session (or API key), and their CSRF token."""

    headers: dict[str, str]
    csrf: str | None = None


@dataclass
class World:
    """The ids the routes are tried with."""

    learner_id: int
    quiz_attempt: int
    reflection_attempt: int
    context_id: int
    credential_id: str = ""    # the learner's credential (issued in the fixture), and its key
    credential_kid: str = ""
    user_id: int = 0           # the learner's platform identity


Rule = tuple[str, str, dict[str, str]]   # "allow" / "deny" per principal; missing = deny

EVERYONE = dict.fromkeys(PRINCIPALS, "allow")
LAUNCHED = {p: "allow" for p in PRINCIPALS if p not in ("anonymous", "foreign_api_key")}
STUDENTS = {"learner": "allow", "other_learner": "allow", "foreign_learner": "allow", "admin": "allow"}
OWN_WORK = {"learner": "allow", "admin": "deny"}
TRAINERS_HERE = {"instructor": "allow", "admin": "allow"}
ADMIN_ONLY = {"admin": "allow"}
API_OWN_PLATFORM: dict[str, str] = {}   # the only key tried is another platform's: it sees none of this
# collections scoped to the key's platform: the other platform's key is let in and sees its own rows
# (tests/lti_tool/test_api.py shows none of institution 0's rows reach it)
API_SCOPED = {"foreign_api_key": "allow"}

URLS: dict[str, Callable[[World], str]] = {
    "home.index": lambda w: "/",
    "health.healthz": lambda w: "/healthz",
    "lti.jwks": lambda w: "/lti/jwks",
    "lti.login": lambda w: "/lti/login",
    "lti.launch": lambda w: "/lti/launch",
    "registration.register": lambda w: "/lti/register",
    "registration.config_json": lambda w: "/lti/config.json",
    "static": lambda w: "/static/l2i.css",
    "units.unit_overview": lambda w: f"/units/{UNIT}",
    "units.unit_page": lambda w: f"/units/{UNIT}/pages/u1-p2-ageing",
    "units.activity_overview": lambda w: f"/units/{UNIT}/activities/u1-quiz",
    "units.begin_attempt": lambda w: f"/units/{UNIT}/activities/u1-quiz/attempts",
    "units.show_attempt": lambda w: f"/attempts/{w.quiz_attempt}",
    "units.save_attempt": lambda w: f"/attempts/{w.quiz_attempt}/save",
    "units.submit_attempt": lambda w: f"/attempts/{w.quiz_attempt}/submit",
    "profile.my_competencies": lambda w: "/competencies",
    "profile.change_sharing": lambda w: "/competencies/sharing",
    "profile.download_my_data": lambda w: "/competencies/my-data.json",
    "trainer.dashboard": lambda w: "/trainer",
    "trainer.export_dashboard": lambda w: "/trainer/export.csv",
    "trainer.course_dashboard": lambda w: f"/trainer/courses/{w.context_id}",
    "trainer.export_course": lambda w: f"/trainer/courses/{w.context_id}/export.csv",
    "trainer.course_learner": lambda w: f"/trainer/courses/{w.context_id}/learners/{w.learner_id}",
    "trainer.learner_profile": lambda w: f"/trainer/learners/{w.learner_id}",
    "trainer.rate_competency": lambda w: f"/trainer/learners/{w.learner_id}/ratings",
    "trainer.set_learner_group": lambda w: f"/trainer/learners/{w.learner_id}/group",
    "trainer.show_assessment": lambda w: f"/trainer/attempts/{w.reflection_attempt}",
    "trainer.save_assessment": lambda w: f"/trainer/attempts/{w.reflection_attempt}",
    "trainer.refresh_course_roster": lambda w: "/trainer/roster",
    "programme.overview": lambda w: "/programme",
    "programme.refresh": lambda w: "/programme/refresh",
    "admin.outbox": lambda w: "/admin/outbox",
    "admin.retry": lambda w: "/admin/outbox/retry",
    "deep_linking.picker": lambda w: "/deep-linking",
    "deep_linking.place": lambda w: "/deep-linking",
    "api.openapi": lambda w: "/api/v1/openapi.json",
    "api.competencies": lambda w: "/api/v1/competencies",
    "api.contexts": lambda w: "/api/v1/contexts",
    "api.learners": lambda w: f"/api/v1/contexts/{w.context_id}/learners",
    "api.summary": lambda w: f"/api/v1/contexts/{w.context_id}/summary",
    "api.proficiency": lambda w: "/api/v1/proficiency",
    "credentials.issuer": lambda w: "/credentials/issuer",
    "credentials.public_key": lambda w: f"/credentials/keys/{w.credential_kid}",
    "credentials.show_credential": lambda w: f"/credentials/{w.credential_id}",
    "credentials.download_credential": lambda w: f"/credentials/{w.credential_id}.jwt",
    "credentials.credential_status": lambda w: f"/credentials/{w.credential_id}/status",
    "credentials.verify_form": lambda w: "/credentials/verify",
    "credentials.verify_presented_credential": lambda w: "/credentials/verify",
    "credentials.issue": lambda w: "/competencies/credentials",
    "credentials.download_bundle": lambda w: "/competencies/credentials/bundle.json",
    "credentials.revoke": lambda w: f"/trainer/learners/{w.learner_id}/credentials/{w.credential_id}/revoke",
    "links.my_links": lambda w: "/account/links",
    "links.make_code": lambda w: "/account/links/code",
    "links.check_code": lambda w: "/account/links/check",
    "links.confirm_code": lambda w: "/account/links/confirm",
    "links.unlink_mine": lambda w: f"/account/links/{w.user_id}/unlink",
    "links.all_links": lambda w: "/programme/links",
    "links.unlink_any": lambda w: f"/programme/links/{w.user_id}/unlink",
}

FORMS = {"admin.retry": {"destination": "lrs:programme"}}

# endpoint -> who may pass. Public pages answer everyone (their own checks make some answer 400).
EXPECTED: dict[str, dict[str, str]] = {
    "home.index": EVERYONE, "health.healthz": EVERYONE, "lti.jwks": EVERYONE, "lti.login": EVERYONE,
    "lti.launch": EVERYONE, "registration.register": EVERYONE, "registration.config_json": EVERYONE,
    "static": EVERYONE, "api.openapi": EVERYONE,
    "units.unit_overview": LAUNCHED, "units.unit_page": LAUNCHED, "units.activity_overview": LAUNCHED,
    "units.begin_attempt": STUDENTS,
    # an attempt is its learner's alone (an admin studies too, but not in that attempt)
    "units.show_attempt": OWN_WORK, "units.save_attempt": OWN_WORK, "units.submit_attempt": OWN_WORK,
    "profile.my_competencies": STUDENTS, "profile.change_sharing": STUDENTS,
    "profile.download_my_data": LAUNCHED,
    # a course's pages: its trainers and admins; another institution's trainer never
    "trainer.dashboard": {**TRAINERS_HERE, "foreign_instructor": "allow"},   # their own course
    "trainer.export_dashboard": {**TRAINERS_HERE, "foreign_instructor": "allow"},
    "trainer.course_dashboard": TRAINERS_HERE, "trainer.export_course": TRAINERS_HERE,
    "trainer.course_learner": TRAINERS_HERE, "trainer.learner_profile": TRAINERS_HERE,
    "trainer.rate_competency": TRAINERS_HERE, "trainer.set_learner_group": TRAINERS_HERE,
    "trainer.show_assessment": TRAINERS_HERE, "trainer.save_assessment": TRAINERS_HERE,
    "trainer.refresh_course_roster": {**TRAINERS_HERE, "foreign_instructor": "allow"},
    # the institution administrator role brings the programme view; no trainer here has a grant
    "programme.overview": ADMIN_ONLY, "programme.refresh": ADMIN_ONLY,
    "admin.outbox": ADMIN_ONLY, "admin.retry": ADMIN_ONLY,
    # these need a deep-linking launch; resource-link sessions are refused whatever the role
    "deep_linking.picker": {}, "deep_linking.place": {},
    "api.competencies": API_SCOPED, "api.contexts": API_SCOPED, "api.proficiency": API_SCOPED,
    "api.learners": API_OWN_PLATFORM, "api.summary": API_OWN_PLATFORM,
    # credentials: checking one is public (the verifier has no launch); issuing and the bundle are
    # the learner's own; revoking needs a trainer (or admin) who may see the learner. The revoke
    # POST carries no reason here, so those let in answer 422 and nothing is revoked.
    "credentials.issuer": EVERYONE, "credentials.public_key": EVERYONE,
    "credentials.show_credential": EVERYONE, "credentials.download_credential": EVERYONE,
    "credentials.credential_status": EVERYONE,
    "credentials.verify_form": EVERYONE, "credentials.verify_presented_credential": EVERYONE,
    "credentials.issue": STUDENTS, "credentials.download_bundle": STUDENTS,
    "credentials.revoke": TRAINERS_HERE,
    # linking: a learner's own identities; the admin view needs programme access. Unlinking the
    # learner's only identity answers 409 to those let in, so nothing changes.
    "links.my_links": STUDENTS, "links.make_code": STUDENTS, "links.check_code": STUDENTS,
    "links.confirm_code": STUDENTS, "links.unlink_mine": OWN_WORK,
    "links.all_links": ADMIN_ONLY, "links.unlink_any": ADMIN_ONLY,
}


def _launch(driver: LaunchDriver, role: str, index: int, institution: int) -> Visitor:
    driver.client = driver.client.application.test_client()
    user = driver.user(role, index, institution)
    response = driver.launch(user, driver.link(UNIT, institution), institution)
    assert response.status_code == 303, response.get_data(as_text=True)
    token = token_of(response.headers["Location"])
    tokens = app_state(driver.client.application).tokens
    session_id = tokens.read(token)
    assert session_id is not None
    return Visitor({"X-L2I-Session": token}, tokens.csrf_token(session_id))


def _hand_in(app: Flask, client: FlaskClient, activity_id: str, data: dict[str, Any]) -> None:
    path, csrf = start(client, "", activity_id)
    assert client.post(f"{path}/submit", data={**data, "csrf_token": csrf}).status_code == 303


@pytest.fixture
def world(app: Flask, driver: LaunchDriver, db_session: Session) -> tuple[World, dict[str, Visitor]]:
    """Institution 0's first learner hands in a reflection and starts a quiz; every visitor launches."""
    visitors = {"anonymous": Visitor({})}
    visitors["learner"] = _launch(driver, "Learner", 0, 0)
    learner_client = driver.client
    reflection = activity(app, "u1-reflection")
    _hand_in(app, learner_client, reflection.id, {"answer": reflection_text(reflection.min_words + 10)})
    start(learner_client, "", "u1-quiz")   # a draft quiz, so save/submit have something to refuse
    visitors["other_learner"] = _launch(driver, "Learner", 1, 0)
    visitors["instructor"] = _launch(driver, "Instructor", 0, 0)
    visitors["admin"] = _launch(driver, "Administrator", 0, 0)
    visitors["foreign_instructor"] = _launch(driver, "Instructor", 0, 1)
    visitors["foreign_learner"] = _launch(driver, "Learner", 0, 1)
    foreign = db_session.scalars(select(Platform).where(
        Platform.issuer == driver.institution(1).issuer)).one()
    _key, token = create_api_key(db_session, foreign, "their BI")
    db_session.commit()
    visitors["foreign_api_key"] = Visitor({"Authorization": f"Bearer {token}"})
    learner_id = db_session.scalars(select(PlatformUser.learner_id).where(
        PlatformUser.sub == driver.user("Learner", 0).sub,
        PlatformUser.issuer == driver.institution(0).issuer)).one()
    attempts = {a.activity_id: a.id for a in db_session.scalars(select(Attempt))}
    context_id = db_session.scalars(select(Context.id).where(
        Context.context_id == driver.institution(0).courses[0].context_id)).one()
    assert right_answers(activity(app, "u1-quiz"))  # the quiz has items to answer
    credential_id, kid = issue_for_matrix(app, db_session, learner_id)
    user_id = db_session.scalars(select(PlatformUser.id).where(PlatformUser.learner_id == learner_id)).one()
    return World(learner_id, attempts["u1-quiz"], attempts["u1-reflection"], context_id, credential_id,
                 kid, user_id), visitors


def test_every_route_has_an_entry(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(URLS), "add the new route to URLS and EXPECTED"
    assert set(EXPECTED) == set(URLS)


def header_problems(response: TestResponse, frame_origins: set[str]) -> list[str]:
    """Return what is wrong with a response's security headers (empty when nothing is)."""
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    ancestors = set(directives.get("frame-ancestors", []))
    if "'self'" not in ancestors or not frame_origins <= ancestors or "*" in ancestors:
        problems.append(f"frame-ancestors {sorted(ancestors)}, expected 'self' and {sorted(frame_origins)}")
    if directives.get("script-src") != ["'self'"] or directives.get("object-src") != ["'none'"]:
        problems.append(f"script-src/object-src too loose: {csp!r}")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.headers.get("Referrer-Policy") != "same-origin":
        problems.append("no Referrer-Policy: same-origin")
    return problems


def test_every_route_admits_exactly_whom_it_should(
    app: Flask, driver: LaunchDriver, world: tuple[World, dict[str, Visitor]],
) -> None:
    """Each cell: the expected allow or deny, never a 5xx, and the security headers on every answer."""
    ids, visitors = world
    client = app.test_client()
    frame_origins = {driver.emulator.url}
    wrong: list[str] = []
    cells = 0
    for rule in app.url_map.iter_rules():
        url = URLS[rule.endpoint](ids)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for principal in PRINCIPALS:
                visitor = visitors[principal]
                headers = dict(visitor.headers)
                if visitor.csrf and method == "POST":
                    headers["X-CSRF-Token"] = visitor.csrf
                response = client.open(url, method=method, headers=headers,
                                       data=FORMS.get(rule.endpoint) if method == "POST" else None)
                response.close()
                cells += 1
                expected = EXPECTED[rule.endpoint].get(principal, "deny")
                status = response.status_code
                wrong.extend(f"{method} {rule.rule} as {principal}: {problem}"
                             for problem in header_problems(response, frame_origins))
                if status >= 500:
                    wrong.append(f"{method} {rule.rule} as {principal}: {status} (a server error)")
                elif (status in DENIED) != (expected == "deny"):
                    wrong.append(f"{method} {rule.rule} as {principal}: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    assert cells >= len(URLS) * len(PRINCIPALS)
