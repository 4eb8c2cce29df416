"""The cookies a launch sets: ``Secure; HttpOnly; SameSite=None`` when the tool is served over HTTPS.

Inside an LMS iframe the tool is a third-party site, so its state and session cookies only come
back to it when they are ``SameSite=None``, which browsers accept only with ``Secure``. Over plain
HTTP (a developer's machine) they fall back to ``SameSite=Lax`` without ``Secure``. Either way no
script may read them (``HttpOnly``). The launches here are real: the emulator's keys sign the
id_token, the tool's login stores the state and nonce, and the tool's launch validates it all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.test import TestResponse

from l2i_db import utcnow
from lti_tool import vocabulary as v
from lti_tool.app import create_app
from lti_tool.demo import register_emulator
from lti_tool.models import Platform
from lti_tool.web.auth import SESSION_COOKIE
from lti_tool.web.security import FrameAncestors
from lti_tool.web.state import app_state
from tests.fixtures.lti import LaunchDriver, make_settings
from tests.fixtures.servers import Emulator

HTTPS_TOOL = "https://localhost"


def cookie_attributes(response: TestResponse, prefix: str) -> dict[str, str]:
    """Return the attributes (lower-cased names) of the one cookie whose name starts with ``prefix``."""
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(prefix)]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    attributes = {}
    for part in found[0].split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value
    return attributes


@pytest.fixture
def https_app(database_url: str, tmp_path: Path, emulator: Emulator) -> Iterator[Flask]:
    """The tool configured at an https:// base URL, with the emulator's institutions registered."""
    application = create_app(make_settings(database_url, tmp_path, base_url=HTTPS_TOOL), TESTING=True)
    state = app_state(application)
    with state.session_factory() as session:
        register_emulator(session, emulator.config)
        session.commit()
    yield application
    state.engine.dispose()


def _launch_over_https(app: Flask, emulator: Emulator) -> tuple[TestResponse, TestResponse]:
    driver = LaunchDriver(app.test_client(), emulator)
    inst, user, link = driver.institution(), driver.user("Learner"), driver.link(None)
    login = driver.client.get("/lti/login", base_url=HTTPS_TOOL, query_string={
        "iss": inst.issuer, "login_hint": user.sub, "client_id": inst.client_id,
        "lti_message_hint": link.id, "target_link_uri": f"{HTTPS_TOOL}/lti/launch",
    })
    assert login.status_code == 302, login.get_data(as_text=True)
    query = parse_qs(urlsplit(login.headers["Location"]).query)
    claims = inst.build_launch_claims(user, link, nonce=query["nonce"][0])
    claims[v.CLAIM_TARGET_LINK_URI] = f"{HTTPS_TOOL}/lti/launch"
    launch = driver.client.post("/lti/launch", base_url=HTTPS_TOOL, data={
        "id_token": inst.sign_id_token(claims), "state": query["state"][0],
    })
    assert launch.status_code == 303, launch.get_data(as_text=True)
    return login, launch


def test_over_https_the_state_cookie_is_secure_httponly_and_samesite_none(
    https_app: Flask, emulator: Emulator
) -> None:
    login, _launch = _launch_over_https(https_app, emulator)
    state = cookie_attributes(login, "lti1p3-")
    assert "secure" in state and "httponly" in state
    assert state["samesite"] == "None"


def test_over_https_the_session_cookie_is_secure_httponly_and_samesite_none(
    https_app: Flask, emulator: Emulator
) -> None:
    _login, launch = _launch_over_https(https_app, emulator)
    session = cookie_attributes(launch, SESSION_COOKIE + "=")
    assert "secure" in session and "httponly" in session
    assert session["samesite"] == "None"
    assert session["path"] == "/"
    assert int(session["max-age"]) == app_state(https_app).settings.session_lifetime


def test_over_plain_http_cookies_are_lax_and_still_httponly(driver: LaunchDriver) -> None:
    login = driver.start_login(driver.user("Learner"), driver.link(None))
    launch = driver.post_launch(driver.authorize(login))
    assert launch.status_code == 303
    session = cookie_attributes(launch, SESSION_COOKIE + "=")
    assert "secure" not in session and "httponly" in session
    assert session["samesite"] == "Lax"


def test_a_launch_sets_no_cookie_a_script_could_read(https_app: Flask, emulator: Emulator) -> None:
    login, launch = _launch_over_https(https_app, emulator)
    for response in (login, launch):
        for cookie in response.headers.getlist("Set-Cookie"):
            assert "httponly" in cookie.lower(), cookie


def test_a_disabled_platform_may_no_longer_frame_the_tool(https_app: Flask, emulator: Emulator) -> None:
    """``frame-ancestors`` is built from the enabled platforms only."""
    state = app_state(https_app)
    ancestors = FrameAncestors(state.session_factory)
    assert emulator.url in ancestors.origins()
    with state.session_factory() as session:
        for platform in session.scalars(select(Platform)):
            platform.disabled_at = utcnow()
        session.commit()
    assert FrameAncestors(state.session_factory).origins() == ()
