"""Replays of the claim sets a real Moodle 4.5.6 sent (captured in /work/shared/moodle-4.5).

Each replay starts a real login at the tool with Moodle's login-initiation parameters,
then signs the captured claims with only ``iat``, ``exp``, ``nonce`` and
``target_link_uri`` replaced (the capture was made against another tool, at another time).
"""

from __future__ import annotations

import html
import json
import os
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from lti_tool import vocabulary as v
from lti_tool.models import (
    Context,
    Membership,
    PlatformUser,
    ResourceLink,
    ToolSession,
)
from tests.fixtures.captures import moodle_captures_dir
from tests.fixtures.lti import LoginStarted
from tests.fixtures.platforms import (
    MOODLE_CLIENT_ID,
    MOODLE_DEPLOYMENT_ID,
    MOODLE_ISSUER,
    TOOL_LAUNCH_URL,
    ReplayPlatform,
    read_login_redirect,
)

CAPTURES = moodle_captures_dir()

Claims = dict[str, Any]


@pytest.fixture(scope="module", autouse=True)
def _captures_present() -> None:
    if not (CAPTURES / "oidc_login_initiation.json").is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the Moodle 4.5 captures are not at {CAPTURES} (set L2I_MOODLE_CAPTURES)")
        pytest.skip(f"the Moodle 4.5 captures are not at {CAPTURES}; set L2I_MOODLE_CAPTURES")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A fresh browser on the tool."""
    return app.test_client()


def _load(name: str) -> Any:
    return json.loads((CAPTURES / name).read_text())


def _claims(name: str) -> Claims:
    claims: Claims = _load(name)
    return claims


def _moodle_login(client: FlaskClient, claims: Claims) -> LoginStarted:
    """POST Moodle's login initiation to the tool, as Moodle does, and read the redirect."""
    initiation = _load("oidc_login_initiation.json")
    assert initiation["method"] == "POST"
    params = dict(initiation["params"])
    params["target_link_uri"] = TOOL_LAUNCH_URL
    # The capture is the student's login; Moodle sends the launching user's id as login_hint.
    params["login_hint"] = claims["sub"]
    login = read_login_redirect(client.post("/lti/login", data=params))
    auth = urlsplit(login.auth_url)
    assert f"{auth.scheme}://{auth.netloc}{auth.path}" == f"{MOODLE_ISSUER}/mod/lti/auth.php"
    query = {k: vals[0] for k, vals in parse_qs(auth.query).items()}
    assert query["redirect_uri"] == TOOL_LAUNCH_URL
    assert query["client_id"] == MOODLE_CLIENT_ID
    assert query["login_hint"] == claims["sub"]
    assert query["lti_message_hint"] == params["lti_message_hint"]
    return login


def _refresh(claims: Claims, login: LoginStarted) -> Claims:
    """The captured claims with only iat, exp, nonce and target_link_uri replaced."""
    now = int(time.time())
    return {
        **claims,
        "iat": now,
        "exp": now + 60,
        "nonce": login.nonce,
        v.CLAIM_TARGET_LINK_URI: TOOL_LAUNCH_URL,
    }


def _replay(
    client: FlaskClient, platform: ReplayPlatform, claims: Claims, **changes: Any
) -> TestResponse:
    login = _moodle_login(client, claims)
    body = {**_refresh(claims, login), **changes}
    return client.post("/lti/launch", data={"id_token": platform.sign(body), "state": login.state})


def _footprint(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__name__: int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (PlatformUser, ToolSession, Membership, Context, ResourceLink)
    }


def test_student_resource_link_launch(
    client: FlaskClient, moodle_platform: ReplayPlatform, db_session: Session
) -> None:
    claims = _claims("student_resource_link_launch.claims.json")
    response = _replay(client, moodle_platform, claims)
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))
    page = client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.count('<li class="unit') == 5
    assert "Student1 Probe" in text
    assert "Open the trainer dashboard" not in text

    user = db_session.scalars(select(PlatformUser)).one()
    assert (user.issuer, user.sub, user.name) == (MOODLE_ISSUER, "4", "Student1 Probe")
    assert (user.given_name, user.family_name, user.email) == ("Student1", "Probe", "student1@example.com")
    context = db_session.scalars(select(Context)).one()
    assert (context.context_id, context.label, context.title) == ("2", "LTIPROBE", "LTI Probe Course")
    assert context.types == ["CourseSection"]
    assert context.deployment.deployment_id == MOODLE_DEPLOYMENT_ID
    assert context.deployment.platform.client_id == MOODLE_CLIENT_ID
    membership = db_session.scalars(select(Membership)).one()
    assert (membership.user_id, membership.context_id) == (user.id, context.id)
    assert membership.roles == [v.ROLE_LEARNER]
    link = db_session.scalars(select(ResourceLink)).one()
    assert (link.link_id, link.title, link.context_id) == ("1", "Probe LTI activity", context.id)
    ags = claims[v.CLAIM_AGS_ENDPOINT]
    assert link.lineitem_url == ags["lineitem"]
    assert link.lineitem_url == "http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1"
    assert link.lineitems_url == ags["lineitems"]
    assert link.memberships_url == (
        "http://127.0.0.1:8080/mod/lti/services.php/CourseSection/2/bindings/1/memberships"
    )
    assert link.custom["activity_param"] == "42"
    tool_session = db_session.scalars(select(ToolSession)).one()
    assert (tool_session.message_type, tool_session.locale) == (v.MESSAGE_RESOURCE_LINK, "en")


def test_teacher_deep_linking_request(
    client: FlaskClient, moodle_platform: ReplayPlatform, db_session: Session
) -> None:
    claims = _claims("teacher_deep_linking_request.claims.json")
    response = _replay(client, moodle_platform, claims)
    assert response.status_code == 303, html.unescape(response.get_data(as_text=True))
    location = response.headers["Location"]
    assert urlsplit(location).path == "/deep-linking"
    page = client.get(location)
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for unit in ("u1-challenges", "u2-social-innovation", "u3-labs", "u4-teams-and-users", "u5-impact"):
        assert f"unit={unit}" in text
    assert "Teacher1 Probe" in text

    user = db_session.scalars(select(PlatformUser)).one()
    assert (user.issuer, user.sub, user.name) == (MOODLE_ISSUER, "3", "Teacher1 Probe")
    membership = db_session.scalars(select(Membership)).one()
    assert membership.user_id == user.id
    assert membership.context.context_id == "2"
    assert membership.roles == [v.ROLE_INSTRUCTOR]
    # A deep-linking request places no resource link yet.
    assert db_session.scalar(select(func.count(ResourceLink.id))) == 0
    tool_session = db_session.scalars(select(ToolSession)).one()
    assert tool_session.message_type == v.MESSAGE_DEEP_LINKING


def test_several_audiences_without_azp_are_refused(
    client: FlaskClient, moodle_platform: ReplayPlatform, db_session: Session
) -> None:
    claims = _claims("student_resource_link_launch.claims.json")
    assert "azp" not in claims
    before = _footprint(db_session)
    response = _replay(client, moodle_platform, claims, aud=[MOODLE_CLIENT_ID, "other"])
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400, text
    assert "several audiences" in text and "azp" in text
    assert _footprint(db_session) == before


def test_resourcekey_audience_tells_the_admin_what_to_register(
    client: FlaskClient, moodle_platform: ReplayPlatform, db_session: Session
) -> None:
    # Moodle puts an activity's resourcekey, when set, in aud instead of the client_id.
    claims = _claims("student_resource_link_launch.claims.json")
    before = _footprint(db_session)
    response = _replay(client, moodle_platform, claims, aud="probe-resource-key")
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400, text
    assert (
        f"client_id 'probe-resource-key' is not registered for issuer '{MOODLE_ISSUER}'" in text
    )
    assert f"l2i platform add --issuer {MOODLE_ISSUER} --client-id probe-resource-key" in text
    assert _footprint(db_session) == before
