"""Roles map to capabilities; the session travels without cookies; views check authorisation."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Blueprint, Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from lti_tool import vocabulary as v
from lti_tool.models import ToolSession
from lti_tool.principal import LEAST_PRIVILEGE, AbsentLaunch, Capability, capabilities_for
from lti_tool.web.auth import SESSION_COOKIE, csrf_token, launch_required
from tests.fixtures.lti import LaunchDriver


@pytest.mark.parametrize(
    ("roles", "allowed", "denied"),
    [
        ([v.ROLE_LEARNER], {Capability.STUDY}, {Capability.VIEW_COURSE_DASHBOARD}),
        ([v.ROLE_INSTRUCTOR], {Capability.VIEW_COURSE_DASHBOARD, Capability.ASSESS_WORK},
         {Capability.STUDY, Capability.ADMINISTER}),
        ([v.ROLE_TEACHING_ASSISTANT], {Capability.ASSESS_WORK}, {Capability.PLACE_CONTENT}),
        ([v.ROLE_CONTENT_DEVELOPER], {Capability.PLACE_CONTENT}, {Capability.ASSESS_WORK}),
        ([v.ROLE_INSTITUTION_ADMINISTRATOR], set(Capability), set()),
        ([v.ROLE_SYSTEM_ADMINISTRATOR], {Capability.ADMINISTER}, set()),
        (["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"], {Capability.VIEW_UNITS},
         {Capability.STUDY}),
        (["urn:made-up:role"], {Capability.VIEW_UNITS}, {Capability.STUDY}),
        ([], {Capability.VIEW_UNITS}, {Capability.STUDY}),
    ],
)
def test_role_capabilities(roles: list[str], allowed: set[Capability], denied: set[Capability]) -> None:
    granted = capabilities_for(roles)
    assert allowed <= granted
    assert not denied & granted


def test_unknown_roles_get_the_least() -> None:
    assert capabilities_for(["urn:x", "Guest"]) == LEAST_PRIVILEGE
    assert not AbsentLaunch().can(Capability.VIEW_UNITS)


def _session_url(driver: LaunchDriver, role: str) -> str:
    response = driver.launch(driver.user(role), driver.link(None))
    assert response.status_code == 303
    location: str = response.headers["Location"]
    return location


def test_session_token_works_without_cookies(app: Flask, driver: LaunchDriver) -> None:
    url = _session_url(driver, "Learner")
    cookieless = app.test_client(use_cookies=False)
    page = cookieless.get(url)
    assert page.status_code == 200 and "your units" in page.get_data(as_text=True)
    without = cookieless.get("/")
    assert "opens from your learning platform" in without.get_data(as_text=True)


def test_session_cookie_works_in_a_new_window(driver: LaunchDriver) -> None:
    _session_url(driver, "Learner")
    assert driver.client.get_cookie(SESSION_COOKIE) is not None
    page = driver.client.get("/")
    assert "your units" in page.get_data(as_text=True)


def test_instructor_links_carry_the_token(app: Flask, driver: LaunchDriver) -> None:
    url = _session_url(driver, "Instructor")
    cookieless = app.test_client(use_cookies=False)
    html = cookieless.get(url).get_data(as_text=True)
    token = url.split("s=", 1)[1].split("&", 1)[0]
    assert f"/trainer?s={token}" in html
    assert cookieless.get(f"/trainer?s={token}").status_code == 200


def test_learner_cannot_open_the_trainer_page(app: Flask, driver: LaunchDriver) -> None:
    url = _session_url(driver, "Learner")
    token = url.split("s=", 1)[1].split("&", 1)[0]
    response = app.test_client(use_cookies=False).get(f"/trainer?s={token}")
    assert response.status_code == 403
    assert "role" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["forged", "x" * 600, ""])
def test_forged_tokens_get_401(app: Flask, token: str) -> None:
    response = app.test_client().get(f"/trainer?s={token}")
    assert response.status_code == 401
    assert "Open the activity again" in response.get_data(as_text=True)


def test_expired_session_gets_401(app: Flask, driver: LaunchDriver, db_session: Session) -> None:
    url = _session_url(driver, "Instructor")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db_session.execute(update(ToolSession).values(expires_at=past))
    db_session.commit()
    response = app.test_client(use_cookies=False).get(url.replace("/?", "/trainer?"))
    assert response.status_code == 401


def test_forms_need_the_csrf_token(app: Flask, driver: LaunchDriver) -> None:
    probe = Blueprint("probe", __name__)

    @probe.post("/probe")
    @launch_required(Capability.VIEW_UNITS)
    def submit() -> str:
        return "accepted"

    @probe.get("/probe-token")
    @launch_required(Capability.VIEW_UNITS)
    def token() -> str:
        return csrf_token()

    app.register_blueprint(probe)
    url = _session_url(driver, "Learner")
    session_token = url.split("s=", 1)[1].split("&", 1)[0]
    client = app.test_client(use_cookies=False)
    assert client.post("/probe", data={"s": session_token}).status_code == 400
    wrong = client.post("/probe", data={"s": session_token, "csrf_token": "0" * 64})
    assert wrong.status_code == 400 and "security token" in wrong.get_data(as_text=True)
    good = client.get(f"/probe-token?s={session_token}").get_data(as_text=True)
    ok = client.post("/probe", data={"s": session_token, "csrf_token": good})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "accepted"
