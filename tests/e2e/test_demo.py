"""The demo (tool + LMS emulator) served for real on loopback, driven like a browser over HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import func, select

from course_units.loader import load_catalog
from course_units.text import localise
from l2i_db import create_db_engine, create_session_factory
from lti_tool.models import Deployment, Platform, PlatformUser, ToolKey, ToolSession
from tests.e2e.support import (
    HTTP_TIMEOUT,
    UNIT_ITEM,
    demo_settings,
    first_learner,
    headings,
    launch_from_emulator,
    running_demo,
    signed_in_name,
)
from tests.fixtures.servers import free_port

L2I = Path(sys.executable).with_name("l2i")


def _count(database_url: str, model: type, *where: object) -> int:
    engine = create_db_engine(database_url)
    try:
        with create_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
    finally:
        engine.dispose()


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


@pytest.mark.slow
def test_demo_launch_session_without_cookies_and_restart(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    port, lms_port = free_port(), free_port()
    settings = demo_settings(database_url, tmp_path, port)
    units = load_catalog().units
    assert len(units) == 5

    with running_demo(settings, port, lms_port) as demo:
        learner = first_learner(demo.emulator.institutions[0])
        with requests.Session() as browser:
            outcome = launch_from_emulator(browser, demo, learner)
            html = outcome.page.text
            assert len(UNIT_ITEM.findall(html)) == 5, html
            unit_headings = headings(html, "h2")
            assert len(unit_headings) == 5, unit_headings
            for unit, heading in zip(units, unit_headings, strict=True):
                assert heading.endswith(localise(unit.title, learner.locale)), (unit.id, heading)
            assert learner.name in (signed_in_name(html) or ""), html
            assert "trainer dashboard" not in html.lower()
            token = parse_qs(urlsplit(outcome.landing_url).query).get("s", [""])[0]
            assert token, f"the landing URL carries no session token: {outcome.landing_url}"

            # The same browser, its cookie alone (no token in the URL) also keeps the session.
            by_cookie = browser.get(_without_query(outcome.landing_url), timeout=HTTP_TIMEOUT)
            assert signed_in_name(by_cookie.text) == signed_in_name(html)
            jwks_before = browser.get(f"{demo.tool_url}/lti/jwks", timeout=HTTP_TIMEOUT).json()

        # A browser that keeps no cookies: the token in the URL is the session.
        with requests.Session() as cookieless:
            same = cookieless.get(outcome.landing_url, timeout=HTTP_TIMEOUT, allow_redirects=False)
            assert same.status_code == 200
            assert not cookieless.cookies, "the landing page should not need to set a cookie"
            assert same.text == html
        with requests.Session() as cookieless:
            anonymous = cookieless.get(_without_query(outcome.landing_url), timeout=HTTP_TIMEOUT,
                                       allow_redirects=False)
            assert anonymous.status_code == 200
            assert not UNIT_ITEM.search(anonymous.text), "units shown without a session"
            assert signed_in_name(anonymous.text) is None
            assert "It opens from your learning platform" in anonymous.text
            forged = cookieless.get(_without_query(outcome.landing_url), params={"s": token[:-2] + "xx"},
                                    timeout=HTTP_TIMEOUT)
            assert signed_in_name(forged.text) is None, "a tampered token was accepted"

    issuer = demo.emulator.institutions[0].issuer
    user_rows = _count(database_url, PlatformUser, PlatformUser.issuer == issuer)
    assert _count(database_url, Platform) == 1
    assert _count(database_url, PlatformUser, PlatformUser.sub == learner.sub) == 1

    # Restart on the same database and ports: the registration, the key and the user persist.
    with running_demo(settings, port, lms_port) as demo:
        with requests.Session() as cookieless:
            old = cookieless.get(outcome.landing_url, timeout=HTTP_TIMEOUT)
            assert learner.name in (signed_in_name(old.text) or ""), "the session did not survive"
        with requests.Session() as browser:
            again = launch_from_emulator(browser, demo, learner)
            assert len(UNIT_ITEM.findall(again.page.text)) == 5
            assert learner.name in (signed_in_name(again.page.text) or "")
            assert again.landing_url != outcome.landing_url, "a new launch should get a new session"
            jwks_after = browser.get(f"{demo.tool_url}/lti/jwks", timeout=HTTP_TIMEOUT).json()

    assert jwks_after == jwks_before, "the tool's signing key changed across a restart"
    assert _count(database_url, Platform) == 1, "the restart registered the emulator twice"
    assert _count(database_url, Platform, Platform.issuer == issuer) == 1
    assert _count(database_url, Deployment) == 1
    assert _count(database_url, ToolKey) == 1
    assert _count(database_url, PlatformUser, PlatformUser.issuer == issuer) == user_rows
    assert _count(database_url, PlatformUser, PlatformUser.sub == learner.sub) == 1
    assert _count(database_url, ToolSession) == 2


def test_l2i_demo_help() -> None:
    assert L2I.exists(), f"the console script is missing: {L2I}"
    result = subprocess.run([str(L2I), "demo", "--help"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    for option in ("--port", "--lms-port", "--host", "--institutions"):
        assert option in result.stdout
